"""The results table's columns, and its summaries over repeats."""
from __future__ import annotations

__all__ = ["COLUMNS", "KEYS", "spread_table"]

#: results.csv: one row per model, runtime, precision, provider, threads, scenario, metric and repeat.
COLUMNS = ["model", "runtime", "precision", "provider", "threads", "scenario", "metric", "unit", "value", "repeat",
           "valid", "why"]
#: What a figure was measured on, without the repeat.
KEYS = ["model", "runtime", "precision", "provider", "threads", "scenario", "metric", "unit"]


def spread_table(df):
    """Minimum, median, maximum and spread ((max - min) / median) over repeats of each measured figure."""
    perf = df[(df.scenario != "Accuracy") & df.value.notna()]
    g = perf.groupby(KEYS, sort=False)["value"]
    table = g.agg(["min", "median", "max", "count"]).reset_index()
    table["spread"] = (table["max"] - table["min"]) / table["median"].where(table["median"] != 0)
    return table
