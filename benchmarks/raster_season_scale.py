"""A season of Sentinel-2 COGs into per-field NDVI: the Dask chunked path on a quarter tile, beside the in-memory path.

Writes (``kit.raster.synthetic.write_season``) ``--dates`` uint16 COGs of
``--size`` × ``--size`` pixels (B04, B08, SCL; deflate, 512 px tiles, no
overviews; GDAL scale 1e-4 and offset -0.1 as from processing baseline 04.00)
and a label raster of ``--fields`` parcels, then runs the yield notebook's
chain (``read_sentinel2`` → ``read_field_labels`` → ``index_series_from_stack``:
reflectance with the declared scale/offset, SCL 4/5 clear, NDVI, mean over a
field's clear pixels per date) three times, each in its own process so its
peak RSS is its own:

1. Dask, ``--chunk`` px blocks, threaded scheduler with ``--workers``, on the full tile;
2. in memory (NumPy, one thread) on a crop of 1/``--crop``² of the area (the top-left corner, its own COGs);
3. Dask on the same crop; its table must equal (2)'s: same field-dates (the same NaN pattern) and NDVI within 1e-6.

    OMP_NUM_THREADS=1 /work/main/.venv/bin/python benchmarks/raster_season_scale.py [--size 5490] [--dates 12] \\
        [--fields 20000] [--crop 3] [--chunk 1024] [--workers 2] [--workdir DIR] [--keep]

Each path runs once (a run of minutes is long against a busy moment of the
shared machine). Peak RSS is the child's ``ru_maxrss`` (``os.wait4``); all
children get the same ``GDAL_CACHEMAX`` (``--gdal-cache-mb``), GDAL's block
cache, which otherwise grows to 5 % of RAM whatever the path. The in-memory
reader also checks every product's reflectances are plausible, which the
lazy reader leaves out.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def run_path(folder: Path, chunk: int, workers: int, out: Path) -> None:
    """In a child process: the chain on ``folder`` (``chunk`` 0: in memory), the table to ``out``, the time to stdout."""
    import resource

    import array_api_compat.numpy
    import dask

    from kit import raster
    from kit.backend import Backend
    from kit.yieldpred.imagery import index_series_from_stack

    # By hand, not as_backend(None): that asks Torch for a training precision, and Torch's import alone
    # would be most of the peak RSS of a run that trains nothing.
    backend = Backend("cpu", array_api_compat.numpy, "cpu", "benchmark: NumPy on the CPU")
    start_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    chunks = chunk or None
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=workers):
        stack = raster.read_sentinel2(folder / "images", chunks=chunks)
        fields = raster.read_field_labels(folder / "fields.tif", chunks=chunks)
        table = index_series_from_stack(stack, None, indices=("ndvi",), field_index=fields, min_valid_fraction=0.0,
                                        backend=backend)
    seconds = time.perf_counter() - t0
    table.attrs = {}  # the field index stays in this process
    table.to_pickle(out)
    print(json.dumps({"seconds": seconds, "start_mb": start_mb, "rows": len(table), "pixels": int(stack.sizes["y"] * stack.sizes["x"]),
                      "dates": int(stack.sizes["time"])}))


def measure(folder: Path, chunk: int, workers: int, out: Path, gdal_cache_mb: int) -> dict:
    """One path in a child process: its printed figures and its peak RSS (MB)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GDAL_CACHEMAX": str(gdal_cache_mb)}
    cmd = [sys.executable, __file__, "--run", str(folder), "--chunk", str(chunk), "--workers", str(workers), "--out", str(out)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    stdout = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {child.returncode}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["rss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    return result


def crop_season(src: Path, dst: Path, side: int) -> Path:
    """The top-left ``side`` × ``side`` pixels of every file of a season, as COGs with the same band metadata."""
    import rasterio
    import rasterio.shutil
    from rasterio.windows import Window

    window = Window(0, 0, side, side)
    for path in [*sorted((src / "images").glob("*.tif")), src / "fields.tif"]:
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        with rasterio.open(path) as s:
            profile = {**s.profile, "driver": "GTiff", "width": side, "height": side,
                       "transform": s.window_transform(window)}
            tmp = target.with_name(f".{target.name}.tmp.tif")
            with rasterio.open(tmp, "w", **profile) as d:
                d.write(s.read(window=window))
                d.scales, d.offsets = s.scales, s.offsets
                for b, text in enumerate(s.descriptions, start=1):
                    d.set_band_description(b, text or "")
        rasterio.shutil.copy(tmp, target, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=512, OVERVIEWS="NONE")
        tmp.unlink()
    return dst


def same_tables(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """The largest NDVI difference of two tables with the same field-dates; an AssertionError when the rows differ."""
    key = ["field_id", "date"]
    a, b = a.sort_values(key, ignore_index=True), b.sort_values(key, ignore_index=True)
    assert a[key].equals(b[key]), f"different field-dates: {len(a)} rows in memory, {len(b)} with Dask"
    assert not a["ndvi"].isna().any() and not b["ndvi"].isna().any()
    diff = float(np.max(np.abs(a["ndvi"].to_numpy(np.float64) - b["ndvi"].to_numpy(np.float64))))
    assert diff <= 1e-6, f"NDVI differs by {diff:.2e} between the paths (tolerance 1e-6)"
    return diff


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=5490, help="pixels per side of the full tile (5490: a quarter tile at 10 m)")
    ap.add_argument("--dates", type=int, default=12)
    ap.add_argument("--fields", type=int, default=20000)
    ap.add_argument("--crop", type=int, default=3, help="the crop's side is size / crop (3: 1/9 of the area)")
    ap.add_argument("--chunk", type=int, default=1024, help="rows and columns of a Dask block")
    ap.add_argument("--workers", type=int, default=2, help="threads of Dask's scheduler")
    ap.add_argument("--gdal-cache-mb", type=int, default=64)
    ap.add_argument("--workdir", type=Path, help="where the COGs go (default a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the COGs")
    ap.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        return run_path(args.run, args.chunk, args.workers, args.out)

    from kit.raster.synthetic import write_season

    work = Path(args.workdir or tempfile.mkdtemp(prefix="season-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    need = args.dates * 3 * args.size**2 * 2 * 1.2  # uint16 bands, at worst uncompressed, plus the crop
    if shutil.disk_usage(work).free < need:
        raise SystemExit(f"{work} has {shutil.disk_usage(work).free / 1e9:.1f} GB free, the season needs up to "
                         f"{need / 1e9:.1f} GB: give --workdir on a larger disk or a smaller --size")
    try:
        report(args, work, write_season)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def report(args, work: Path, write_season):
    t0 = time.perf_counter()
    full = write_season(work / "full", size=args.size, dates=args.dates, n_fields=args.fields, seed=0)
    on_disk = sum(p.stat().st_size for p in (full / "images").glob("*.tif")) / 1e9
    side = args.size // args.crop
    crop = crop_season(full, work / "crop", side)
    print(f"wrote {args.dates} COGs of {args.size} x {args.size} px (B04, B08, SCL; {on_disk:.2f} GB on disk), "
          f"{args.fields} fields and a {side} x {side} crop in {time.perf_counter() - t0:.0f} s")
    print(f"Dask: {args.chunk} px blocks, threaded scheduler, {args.workers} workers; in memory: NumPy, one thread; "
          f"GDAL_CACHEMAX {args.gdal_cache_mb} MB")
    runs = [("Dask", "full tile", full, args.chunk, args.workers), ("in memory", "crop", crop, 0, 1),
            ("Dask", "crop", crop, args.chunk, args.workers)]
    rows, tables = [], {}
    for name, area, folder, chunk, workers in runs:
        out = work / f"{name.replace(' ', '_')}-{area.replace(' ', '_')}.table"
        r = measure(folder, chunk, workers, out, args.gdal_cache_mb)
        tables[(name, area)] = pd.read_pickle(out)
        side_px = int(np.sqrt(r["pixels"]))
        rows.append((name, f"{area} {side_px}²", r["seconds"], r["rss_mb"], r["start_mb"],
                     r["pixels"] * r["dates"] / r["seconds"] / 1e6, r["rows"]))
    diff = same_tables(tables[("in memory", "crop")], tables[("Dask", "crop")])
    print(f"\n{'path':10s} {'area':16s} {'time s':>8s} {'peak RSS MB':>12s} {'after imports':>14s} {'Mpx·date/s':>11s} "
          f"{'field-dates':>12s}")
    for name, area, sec, rss, start, rate, n in rows:
        print(f"{name:10s} {area:16s} {sec:8.1f} {rss:12.0f} {start:14.0f} {rate:11.1f} {n:12d}")
    (_, _, _, m_full, *_), (_, _, t_mem, m_mem, *_), (_, _, t_dask, m_dask, *_) = rows
    print(f"\ncrop, in memory / Dask: time {t_mem / t_dask:.2f}x, peak RSS {m_mem / m_dask:.2f}x; "
          f"identical field-dates, max |NDVI difference| {diff:.1e} (tolerance 1e-6)")
    stack_gb = args.dates * 3 * args.size**2 * 2 / 1e9
    print(f"full tile with Dask: {args.crop ** 2}x the crop's pixels at {m_full / m_mem:.2f}x the in-memory path's peak RSS "
          f"on the crop; its uint16 stack alone would be {stack_gb:.1f} GB in memory")


if __name__ == "__main__":
    main()
