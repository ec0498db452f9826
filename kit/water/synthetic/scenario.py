"""What a leak scenario is: the leaks asked for, and the SCADA records and truth it produced.

:class:`LeakSpec` places a leak or burst in wall-clock terms;
:class:`Scenario` holds what the sensors saw and what really happened, and
writes them as the files a utility would hand over.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kit.errors import ParameterError
from kit.io import atomic_path

__all__ = ["LeakSpec", "Scenario", "TRUTH_COLUMNS"]

TRUTH_COLUMNS = ["event_id", "node", "type", "is_leak", "start", "peak", "end", "peak_flow_lps",
                 "mean_flow_lps", "area_m2"]


@dataclass(frozen=True)
class LeakSpec:
    """A leak or burst to place, in wall-clock terms.

    Parameters
    ----------
    node : str
        Junction id.
    start : str or Timestamp
        Local time of ``tz`` (or any time with an offset).
    flow_lps : float, L/s
        Leak flow at the junction's mean pressure once at full size; turned
        into a hole area, so the simulated flow varies with pressure.
    type : {"abrupt", "incipient", "burst"}
    peak : str or Timestamp, optional
        Incipient leaks: when they reach full size (default start + 5 days).
    end : str or Timestamp, optional
        Repair (or end of a burst; default start + 2 h for bursts).
    """

    node: str
    start: object
    flow_lps: float
    type: str = "abrupt"
    peak: object = None
    end: object = None

    def __post_init__(self):
        if self.type not in ("abrupt", "incipient", "burst"):
            raise ParameterError(f"leak type must be abrupt, incipient or burst, got {self.type!r}")
        if not self.flow_lps > 0:
            raise ParameterError(f"leak at {self.node}: flow_lps must be > 0, got {self.flow_lps}")


@dataclass
class Scenario:
    """A generated scenario: what the sensors saw and what really happened.

    Attributes
    ----------
    scada : pandas.DataFrame
        As written: ``timestamp`` column (tz-aware) and one column per sensor
        in its declared unit, with noise, gaps, stuck periods and duplicates.
    sensors : pandas.DataFrame
        ``sensor_id, kind, element, unit`` (declared units).
    truth : pandas.DataFrame
        One row per leak or burst (columns ``TRUTH_COLUMNS``).
    faults : pandas.DataFrame
        Injected data faults: ``sensor_id, start, end, fault``.
    readings : pandas.DataFrame
        Noise-free simulated values in m and L/s, tz-aware index.
    leak_flow_lps : pandas.DataFrame
        Simulated flow of each event (columns ``event_id``), L/s.
    demand_factors, roughness_factors : pandas.Series
        How the simulated network differs from the nominal model.
    """

    scada: pd.DataFrame
    sensors: pd.DataFrame
    truth: pd.DataFrame
    faults: pd.DataFrame
    readings: pd.DataFrame
    leak_flow_lps: pd.DataFrame
    demand_lps: pd.Series
    demand_factors: pd.Series = field(repr=False)
    roughness_factors: pd.Series = field(repr=False)
    config: dict = field(default_factory=dict)

    def write(self, folder, *, scada_format: str = "csv") -> dict:
        """Write ``scada.csv`` (or ``.parquet``), ``sensors.csv``, ``truth.csv``, ``injected_faults.csv``.

        Returns
        -------
        dict of name to Path
        """
        folder = Path(folder)
        paths = {
            "scada": folder / f"scada.{scada_format}",
            "sensors": folder / "sensors.csv",
            "truth": folder / "truth.csv",
            "faults": folder / "injected_faults.csv",
        }
        with atomic_path(paths["scada"]) as tmp:
            if scada_format == "csv":
                out = self.scada.copy()
                out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat())
                out.to_csv(tmp, index=False, float_format="%.4f")
            elif scada_format == "parquet":
                self.scada.to_parquet(tmp, index=False)
            else:
                raise ParameterError(f"scada_format must be 'csv' or 'parquet', got {scada_format!r}")
        for name in ("sensors", "truth", "faults"):
            with atomic_path(paths[name]) as tmp:
                getattr(self, name).to_csv(tmp, index=False)
        return paths
