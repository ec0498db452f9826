"""The quickstart notebook's logic: a spectral index on the embedded scene.

It proves the loop every sector notebook follows: validated parameters, a
resolved device, a kernel on that device, a GeoTIFF and metrics in
``output_dir``, and a figure.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from kit.params import Param, Spec

PARAMETERS = Spec(
    (
        Param("seed", "int", 0, "random seed of the embedded scene", min=0),
        Param("size", "int", 128, "scene width and height, pixels (20 m each)", min=16, max=4096),
        Param("device", "device", "auto", "auto, cpu or cuda (env KIT_DEVICE overrides)", choices=("auto", "cpu", "cuda")),
        Param("output_dir", "output_dir", "outputs/quickstart", "folder for ndvi.tif and metrics.json"),
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
    axes[0].set_title("True colour")
    im = axes[1].imshow(ndvi.values, cmap="RdYlGn", vmin=-0.2, vmax=0.9)
    axes[1].set_title("NDVI")
    fig.colorbar(im, ax=axes[1], shrink=0.85, label="NDVI")
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    values = ndvi.values[np.isfinite(ndvi.values)]
    axes[2].hist(values, bins=40, color="#009E73")
    axes[2].axvline(VEGETATED_NDVI, color="#D55E00", ls="--", label=f"vegetated > {VEGETATED_NDVI}")
    axes[2].set_xlabel("NDVI")
    axes[2].set_ylabel("pixels")
    axes[2].set_title("NDVI distribution")
    axes[2].legend(frameon=False)
    fig.tight_layout()
    return fig
