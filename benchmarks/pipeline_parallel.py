"""Eight runs of a few seconds of compute: one at a time, then on two Dask workers.

    .venv/bin/python benchmarks/pipeline_parallel.py [--runs 8] [--work-s 3]

Prints the wall times and the ratio against the same spec run one at a time
on one worker (2x is the limit on two cores; the target is at least
1.6x), and, for reference, against one-at-a-time local subprocesses. Each
run is a full run (kernel start, execution, report, manifest).
"""
import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import yaml

BUSY = """
import numpy as np
rng = np.random.default_rng(x)
a = rng.standard_normal((1000, 1000))
for _ in range(iterations):   # element-wise work: single-threaded, the same in every run
    a = np.tanh(a * 1.0001 + 0.1)
kit.report.record("checksum", float(a.sum()))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=250, help="about 3 s of one core each")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kit-bench-"))
    nbdir = root / "notebooks"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(f"x = 0  # seed\niterations = {args.iterations}  # work\noutput_dir = 'out'  # folder",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import kit\nkit.report.bind(output_dir)"),
        nbformat.v4.new_code_cell(BUSY),
    ]
    nbformat.write(nb, nbdir / "busy.ipynb")
    os.environ["KIT_NOTEBOOK_DIR"] = str(nbdir)
    os.chdir(root)

    from kit.pipeline import load_pipeline
    from kit.pipeline.execute import run_pipeline

    times = {}
    plans = (
        ("one at a time (dask, 1 worker)", "dask", 1),
        ("dask, 2 workers", "dask", 2),
        ("one at a time (local subprocesses)", "local", 1),
    )
    for label, executor, parallel in plans:
        spec = {"name": f"bench-{executor}-{parallel}", "output": f"out-{executor}-{parallel}", "executor": executor, "max_parallel": parallel,
                "runs": [{"notebook": "busy", "matrix": {"x": list(range(args.runs))}}]}
        path = root / f"{executor}-{parallel}.yaml"
        path.write_text(yaml.safe_dump(spec))
        t0 = time.perf_counter()
        results = run_pipeline(load_pipeline(path), run_date=dt.date.today(), force=True, progress=False)
        times[label] = time.perf_counter() - t0
        failed = [r for r in results if r["status"] != "ok"]
        print(f"{label:<34} {times[label]:6.1f} s  ({len(results) - len(failed)} ok, {len(failed)} failed)")
    seq, par, local = times.values()
    print(f"cores: {os.cpu_count()}; {args.runs} runs of {args.iterations} iterations each")
    print(f"speedup, 2 Dask workers against the same spec one at a time: {seq / par:.2f}x (2x is the limit on two cores)")
    print(f"against one-at-a-time local subprocesses (each pays interpreter start-up and imports): {local / par:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
