"""The ``kit`` command: run, list, doctor, bench, report index."""
from __future__ import annotations

import argparse
import sys

from kit.errors import KitError

EXIT_FAILED_RUN = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, like every other bad input
        self.exit(EXIT_BAD_INPUT, f"kit: error: {message}; see `{self.prog} --help`\n")


def _cmd_run(args) -> int:
    from kit import runner

    cli_params = [*(args.param or ()), *([("lang", args.lang)] if args.lang else [])]
    plan = runner.plan(args.notebook, cli_params, args.param_file, args.out)
    manifest = runner.execute(plan, show_code=args.show_code, progress=not args.no_progress, timeout_s=args.timeout)
    if manifest["status"] != "ok":
        err = manifest["error"] or {}
        print(
            f"kit: run of {plan.name} failed: {err.get('type')}: {err.get('message')} "
            f"(executed cells kept in {plan.out / runner.NOTEBOOK_FILE})",
            file=sys.stderr,
        )
        return EXIT_FAILED_RUN
    print(f"{plan.name}: ok in {manifest['duration_s']:.1f} s -> {plan.out / runner.REPORT_FILE}")
    return 0


def _cmd_demo(args) -> int:
    from kit import demo

    runs, index, total_s = demo.run_demo(args.out, names=args.notebooks or None, progress=not args.no_progress,
                                         lang=args.lang)
    print("\n".join(demo.summary_lines(runs, index, total_s)))
    return EXIT_FAILED_RUN if any(r.status != "ok" for r in runs) else 0


def _cmd_list(args) -> int:
    from kit import notebooks

    for path in notebooks.list_notebooks():
        info = notebooks.inspect(path)
        if args.names:
            print(info.name)
            continue
        print(f"{info.name}  ({path.name})\n    {info.purpose}")
        from kit.params import COMMON

        for p in [*info.spec, *(c for c in COMMON if c.name not in info.spec.names)]:  # lang: every notebook's
            extra = f" [{', '.join(map(str, p.choices))}]" if p.choices else ""
            print(f"    {p.name:<24} {p.type_name:<18} = {p.default!r}{extra}\n        {p.doc}")
    return 0


def _cmd_doctor(args) -> int:
    from kit import doctor

    print("\n".join(doctor.report_lines()))
    return 0


def _cmd_report_index(args) -> int:
    from kit.index import write_index

    print(write_index(args.dir, title=args.title))
    return 0


def _cmd_pipeline_run(args) -> int:
    import datetime as dt

    from kit.pipeline import load_pipeline
    from kit.pipeline.execute import run_pipeline

    pipeline = load_pipeline(args.spec)
    try:
        run_date = dt.date.fromisoformat(args.date) if args.date else None
    except ValueError:
        raise KitError(f"--date expects YYYY-MM-DD, got {args.date!r}") from None
    results = run_pipeline(
        pipeline, executor=args.executor, scheduler=args.scheduler, run_date=run_date,
        force=args.force, dry_run=args.dry_run, progress=not args.no_progress,
    )
    if args.dry_run:
        return 0
    failed = [r for r in results if r["status"] != "ok"]
    for r in results:
        how = "reused" if r["reused_from"] else f"{r['duration_s'] or 0:.1f} s, {r['attempts']} attempt(s)"
        line = f"{r['status']:<6} {r['run_id']:<48} {how}"
        print(line if r["status"] == "ok" else f"{line}  {r['error']}")
    index = pipeline.output / (run_date or dt.date.today()).isoformat() / "index.html"
    print(f"{len(results) - len(failed)} ok, {len(failed)} failed -> {index}")
    return EXIT_FAILED_RUN if failed else 0


def _cmd_pipeline_schedule(args) -> int:
    from kit.pipeline import load_pipeline
    from kit.pipeline.cron import crontab_line, systemd_units

    pipeline = load_pipeline(args.spec)
    if args.systemd:
        service, timer = systemd_units(pipeline)
        slug = pipeline.name.replace(" ", "-")
        print(f"# /etc/systemd/system/kit-{slug}.service\n{service}\n# /etc/systemd/system/kit-{slug}.timer\n{timer}")
        print(f"# then: systemctl daemon-reload && systemctl enable --now kit-{slug}.timer")
    else:
        print(crontab_line(pipeline))
    return 0


def _cmd_teach_student(args) -> int:
    from kit import notebooks
    from kit.teach.student import make_student

    for name in args.notebooks:
        print(make_student(notebooks.find_notebook(name), args.out, lang=args.lang))
    return 0


def _cmd_teach_challenge(args) -> int:
    from kit.teach.challenges import make_pack

    out = make_pack(args.name, args.out, seed=args.seed)
    print(f"{out}/public  -> give to the students\n{out}/private -> keep: the hidden labels")
    return 0


def _cmd_teach_score(args) -> int:
    from kit.teach.challenges import score_submissions

    board = score_submissions(args.dir, args.submissions)
    print(board.to_string(index=False))
    return 0


def _floats(text: str, what: str, cast=float) -> list:
    try:
        return [cast(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise KitError(f"{what} expects comma-separated numbers, got {text!r}") from None


def _bounds(items) -> dict:
    out = {}
    for item in items or ():
        name, _, ms = item.partition("=")
        if not ms:
            raise KitError(f"--server-bound expects MODEL=MS (e.g. detector=100), got {item!r}")
        out[name] = _floats(ms, "--server-bound")[0]
    return out


def _cmd_bench(args) -> int:
    from kit import bench

    if args.run_dirs[0] == "compare":
        if len(args.run_dirs) != 3:
            raise KitError("kit bench compare takes two result folders: kit bench compare A B")
        table, out = bench.compare(args.run_dirs[1], args.run_dirs[2], args.out if args.out != "bench" else None)
        cols = ["model", "runtime", "precision", "scenario", "metric", "threads_a", "threads_b", "a", "b", "ratio"]
        print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"{len(table)} rows compared -> {out / 'compare.html'}")
        return 0
    opts = bench.BenchOptions(
        scenarios=tuple(args.scenarios.split(",")), threads=tuple(_floats(args.threads, "--threads", int)),
        providers=args.providers.split(",") if args.providers else None, repeats=args.repeats,
        duration_s=args.duration, price_per_hour=args.price_per_hour, bound_ms=_bounds(args.server_bound))
    df = bench.run_bench(args.run_dirs, args.out, opts)
    from kit.bench.tables import spread_table

    spread = spread_table(df)
    if opts.repeats > 1:
        print(spread.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    acc = df[df.scenario == "Accuracy"][["model", "runtime", "precision", "provider", "threads", "metric", "value", "valid", "why"]]
    print(acc.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    spread_text = f"largest run-to-run spread {spread.spread.max():.1%}" if opts.repeats > 1 else "one repeat (--repeats N for the spread)"
    print(f"{len(df)} rows, {spread_text} -> {args.out}/results.csv, report.html")
    return 0


def _add_bench(sub):
    b = sub.add_parser("bench", help="benchmark the deployed models of run folders through MLPerf LoadGen; "
                                     "`kit bench compare A B` compares two result folders")
    b.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders (kit run --out), or: compare A B")
    b.add_argument("--out", default="bench", help="output folder (default bench)")
    b.add_argument("--scenarios", default="SingleStream,MultiStream,Server,Offline", help="comma-separated")
    b.add_argument("--threads", default="1", help="thread counts, comma-separated (e.g. 1,2)")
    b.add_argument("--providers", help="ONNX Runtime execution providers, comma-separated (default: all here)")
    b.add_argument("--repeats", type=int, default=1, help="repeats of each performance test")
    b.add_argument("--duration", type=float, default=1.0, help="LoadGen minimum duration of each test, s")
    b.add_argument("--price-per-hour", type=float, help="machine price per hour, for the cost per million inferences")
    b.add_argument("--server-bound", action="append", metavar="MODEL=MS",
                   help="Server p99 latency bound per model, ms (default detector=100, code_reader=15, triage=15)")
    b.set_defaults(func=_cmd_bench)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kit", description="sector-kit: run the sector notebooks and index their reports.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="execute a notebook into a report folder")
    run.add_argument("notebook", help="name (quickstart, 00_quickstart) or path of a notebook")
    run.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"), help="set a parameter")
    run.add_argument("-f", "--param-file", metavar="YAML", help="parameters from a YAML mapping")
    run.add_argument("--out", metavar="DIR", help="run folder (default reports/NAME)")
    run.add_argument("--show-code", action="store_true", help="show code cells in report.html")
    run.add_argument("--timeout", type=float, metavar="S", help="per-cell time limit, seconds")
    run.add_argument("--no-progress", action="store_true", help="no cell progress bar")
    run.add_argument("--lang", metavar="LANG", help="language of the report: en (default) or fr; same as -p lang LANG")
    run.set_defaults(func=_cmd_run)

    dem = sub.add_parser("demo", help="run every notebook at its defaults into one folder, index and summarize")
    dem.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="only these (default: all)")
    dem.add_argument("--out", default="reports", metavar="DIR", help="folder for the run folders (default reports)")
    dem.add_argument("--no-progress", action="store_true", help="no cell progress bar")
    dem.add_argument("--lang", metavar="LANG", help="language of the reports and index: en (default) or fr")
    dem.set_defaults(func=_cmd_demo)

    lst = sub.add_parser("list", help="the notebooks, their purpose and parameters")
    lst.add_argument("--names", action="store_true", help="names only, one per line")
    lst.set_defaults(func=_cmd_list)

    doc = sub.add_parser("doctor", help="versions, device resolution and why")
    doc.set_defaults(func=_cmd_doctor)

    pipe = sub.add_parser("pipeline", help="scheduled runs from a YAML spec")
    pipe_sub = pipe.add_subparsers(dest="pipeline_command", required=True, parser_class=_Parser)
    prun = pipe_sub.add_parser("run", help="run every notebook of a pipeline spec")
    prun.add_argument("spec", help="pipelines/NAME.yaml")
    prun.add_argument("--executor", choices=("local", "dask"), help="override the spec's executor")
    prun.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (default: a LocalCluster)")
    prun.add_argument("--dry-run", action="store_true", help="show the runs and what would be reused; run nothing")
    prun.add_argument("--force", action="store_true", help="re-execute runs that match a previous success")
    prun.add_argument("--date", metavar="YYYY-MM-DD", help="execution date for {run_date} and the folder (default today)")
    prun.add_argument("--no-progress", action="store_true")
    prun.set_defaults(func=_cmd_pipeline_run)
    psch = pipe_sub.add_parser("schedule", help="print the crontab line (or systemd units) for a spec")
    psch.add_argument("spec")
    psch.add_argument("--systemd", action="store_true", help="a service and timer pair instead of a crontab line")
    psch.set_defaults(func=_cmd_pipeline_schedule)

    teach = sub.add_parser("teach", help="student versions, challenge packs, scoring")
    teach_sub = teach.add_subparsers(dest="teach_command", required=True, parser_class=_Parser)
    tst = teach_sub.add_parser("student", help="write student versions of notebooks")
    tst.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    tst.add_argument("--out", required=True, metavar="DIR")
    tst.add_argument("--lang", metavar="LANG", help="the student version in this language: en or fr (default: both languages' cells)")
    tst.set_defaults(func=_cmd_teach_student)
    tch = teach_sub.add_parser("challenge", help="write a challenge pack (public/ and private/)")
    tch.add_argument("name", help="a notebook name with a challenge, e.g. irrigation_planning")
    tch.add_argument("--out", required=True, metavar="DIR")
    tch.add_argument("--seed", type=int, default=0)
    tch.set_defaults(func=_cmd_teach_challenge)
    tsc = teach_sub.add_parser("score", help="score submissions and write the leaderboard")
    tsc.add_argument("dir", help="the challenge pack folder")
    tsc.add_argument("submissions", nargs="+", metavar="FILE")
    tsc.set_defaults(func=_cmd_teach_score)

    _add_bench(sub)
    rep = sub.add_parser("report", help="report utilities")
    rep_sub = rep.add_subparsers(dest="report_command", required=True, parser_class=_Parser)
    idx = rep_sub.add_parser("index", help="write DIR/index.html over the run folders below DIR")
    idx.add_argument("dir")
    idx.add_argument("--title")
    idx.set_defaults(func=_cmd_report_index)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KitError as exc:
        print(f"kit: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("kit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
