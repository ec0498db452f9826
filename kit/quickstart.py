"""The quickstart notebook's logic: a spectral index on the embedded scene.

It proves the loop every sector notebook follows: validated parameters, a
resolved device, a kernel on that device, a GeoTIFF and metrics in
``output_dir``, and a figure.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from kit.backend import device_line  # noqa: F401 (the notebook's)
from kit.i18n import N_, _, format_number, format_percent, ngettext
from kit.params import LANG, Param, Spec

PARAMETERS = Spec(
    (
        Param("seed", "int", 0, N_("random seed of the embedded scene"), min=0),
        Param("size", "int", 128, N_("scene width and height, pixels (20 m each)"), min=16, max=4096),
        Param("device", "device", "auto", N_("auto, cpu or cuda (env KIT_DEVICE overrides)"), choices=("auto", "cpu", "cuda")),
        Param("output_dir", "output_dir", "outputs/quickstart", N_("folder for ndvi.tif and metrics.json")),
        LANG,
    ),
    purpose="Check the setup: device, a spectral index on an embedded scene, a GeoTIFF, a metric and a map.",
)

VEGETATED_NDVI = 0.4  # above this a 20 m pixel is mostly green canopy


def field_summary(ndvi: xr.DataArray, field_id: xr.DataArray) -> "pd.DataFrame":
    """Mean NDVI and area per field.

    Parameters
    ----------
    ndvi : DataArray (y, x), unitless
    field_id : DataArray (y, x), int, 0 outside fields

    Returns
    -------
    pandas.DataFrame
        ``field_id, pixels, mean_ndvi`` sorted by field.
    """
    import pandas as pd

    ids = np.asarray(field_id).ravel()
    values = np.asarray(ndvi).ravel()
    keep = (ids > 0) & np.isfinite(values)
    counts = np.bincount(ids[keep])
    sums = np.bincount(ids[keep], weights=values[keep])
    present = np.nonzero(counts)[0]
    return pd.DataFrame({"field_id": present, "pixels": counts[present], "mean_ndvi": sums[present] / counts[present]})


def plot_scene(scene: xr.Dataset, ndvi: xr.DataArray):
    """True colour, NDVI map and NDVI histogram side by side."""
    import matplotlib.pyplot as plt

    rgb = np.stack([scene[b].values for b in ("red", "green", "blue")], axis=-1)
    rgb = np.clip(rgb / np.percentile(rgb, 99), 0, 1)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), gridspec_kw={"width_ratios": [1, 1.2, 1.1]})
    axes[0].imshow(rgb)
    axes[0].set_title(_("True colour"))
    im = axes[1].imshow(ndvi.values, cmap="RdYlGn", vmin=-0.2, vmax=0.9)
    axes[1].set_title("NDVI")
    fig.colorbar(im, ax=axes[1], shrink=0.85, label="NDVI")
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    values = ndvi.values[np.isfinite(ndvi.values)]
    axes[2].hist(values, bins=40, color="#009E73")
    axes[2].axvline(VEGETATED_NDVI, color="#D55E00", ls="--",
                    label=_("vegetated > {ndvi}").format(ndvi=format_number(VEGETATED_NDVI, 1)))
    axes[2].set_xlabel("NDVI")
    axes[2].set_ylabel(_("pixels"))
    axes[2].set_title(_("NDVI distribution"))
    axes[2].legend(frameon=False)
    fig.tight_layout()
    return fig


#: Columns of ``fields.csv`` (the file keeps them; the report shows them translated).
COLUMN_NAMES = (N_("field_id"), N_("pixels"), N_("mean_ndvi"))


def describe_scene(size: int, n_fields: int, crs) -> str:
    """One line: the scene's size, its fields and CRS."""
    return _("{size} x {size} pixels, {fields}, CRS {crs}").format(
        size=size, fields=ngettext("{n} field", "{n} fields", n_fields).format(n=n_fields), crs=crs)


def key_figures(mean_ndvi: float, vegetated_fraction: float) -> str:
    """The scene's mean NDVI and vegetated share, in one sentence."""
    return _("mean NDVI {ndvi}; {share} of the scene is vegetated (NDVI > {threshold})").format(
        ndvi=format_number(mean_ndvi, 3), share=format_percent(100 * vegetated_fraction, 1),
        threshold=format_number(VEGETATED_NDVI, 1))
