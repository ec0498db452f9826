"""Does distillation help the small CPU detector? Student mAP@0.5 with and without a teacher, same student budget.

Usage::

    python benchmarks/vision_distill.py [--seeds 0,1] [--scale 0.25] [--epochs 12] [--teacher-epochs 12]
                                        [--teacher centernet_wide | PATH] [--teacher-width 32]
                                        [--unlabelled 1.0] [--arms alone,distilled] [--precision fp32]
                                        [--jobs 2] [--data-dir DIR] [--set KEY=VALUE ...]

Per seed: synthetic scenes of that seed (``kit.vision.notebook.prepare_dataset``
at ``--scale``), and as many scenes again of another seed (``seed + 1000``)
whose labels are withheld (``--unlabelled`` × the training split's size).
The teacher (a CenterNet of width ``--teacher-width``, 4× the student's
parameters at 32, trained on the labelled split alone; or a checkpoint file)
is trained once; its training time is printed. Then the student (the kit's
default CenterNet, width 16) is trained with the notebook's recipe
(``train_detector``: batch 4, lr 3e-3, patience 4) for the same epochs on the
same labelled images, in up to three arms:

- ``alone``: no teacher (the kit's detector as it is);
- ``distilled``: teacher's soft targets on the labelled and the unlabelled images;
- ``distilled_labelled``: teacher's soft targets on the labelled images only
  (the same images per step as ``alone``).

It prints test mAP@0.5 per seed and arm side by side, the mean, the ratio
distilled / alone, the training time of each (wall and process CPU seconds,
with the load average: the machine is shared), then deploys the first
seed's students as ``notebook.onnx_deployment`` does (ONNX fp32 and static
int8, ``kit.vision.bench.benchmark`` with one thread) and prints int8 mAP@0.5
and images/s of Torch fp32, ONNX Runtime fp32 and int8. ``--jobs 2``
(default) trains two seeds at once, one process and one Torch thread each,
so the default run takes about 10 minutes on 2 idle cores (17 CPU-min in
all); wall times then include the contention, so compare CPU seconds. For
a baseline at the distilled student's CPU time, run ``--teacher none
--arms alone --epochs 36 --no-deploy``.
"""
from __future__ import annotations

import argparse
import ast
import os
import tempfile
import time
from pathlib import Path

ARMS = ("alone", "distilled", "distilled_labelled")


def data(seed: int, data_dir: Path, scale: float, image_size: int, unlabelled: float):
    """Labelled splits of ``seed`` and the scenes of ``seed + 1000`` whose labels are withheld."""
    from kit.vision import notebook as nbk
    from kit.vision.data import CocoDetection, eval_transforms
    from kit.vision.distill import unlabelled_scenes

    folder = nbk.prepare_dataset(None, data_dir / f"seed{seed}", scale, seed, image_size)
    train, val = CocoDetection(folder, "train"), CocoDetection(folder, "val")
    test = CocoDetection(folder, "test", transforms=eval_transforms(image_size))
    n_unl = int(round(unlabelled * len(train)))
    unl = unlabelled_scenes(data_dir / f"seed{seed}_unlabelled", n_unl, seed + 1000, image_size) if n_unl else None
    return train, val, test, unl


def run_seed(seed: int, args, extra: dict, deploy_students: bool = False) -> dict:
    """Teacher once, then each arm's student; test mAP@0.5 and times (and the students deployed, when asked)."""
    import torch

    from kit.backend import get_backend
    from kit.vision.distill import DistilledDetector

    backend = get_backend("cpu", args.precision)
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    train, val, test, unl = data(seed, Path(args.data_dir), args.scale, args.image_size, args.unlabelled)
    common = dict(epochs=args.epochs, image_size=args.image_size, seed=seed, backend=backend, train_options=extra,
                  teacher_epochs=args.teacher_epochs, teacher_width=args.teacher_width,
                  teacher_head_channels=2 * args.teacher_width, weight=args.weight)
    load0 = os.getloadavg()[0]
    rows = {"seed": seed, "n_train": len(train), "n_unlabelled": 0 if unl is None else len(unl), "arms": {}}
    teacher = None
    if args.teacher != "none":  # trained (or loaded) once, scored, then handed to every distilled arm
        t = DistilledDetector(args.teacher, **common).fit_teacher(train, val)
        teacher, rows["teacher_s"] = t.teacher_, t.teacher_train_s_
        rows["teacher_map50"] = _score(teacher, test, args.image_size, backend)
        rows["teacher_params"] = sum(p.numel() for p in teacher.parameters())
        print(f"seed {seed}: teacher ({rows['teacher_params'] / 1e6:.2f} M parameters) test mAP@0.5 "
              f"{rows['teacher_map50']:.3f}, trained in {t.teacher_train_s_['cpu'] / 60:.1f} CPU-min", flush=True)
    for arm in args.arms:
        est = DistilledDetector("none" if arm == "alone" else teacher, **common)
        est.fit(train, val, unlabelled=unl if arm == "distilled" else None)
        rows["arms"][arm] = {"map50": est.score(test), "s": est.student_train_s_, "best_epoch": est.result_.best_epoch,
                             "epochs_run": len(est.result_.history), "model": est.model_}
    rows["load"] = (load0, os.getloadavg()[0])
    rows["speed"] = deploy(rows, test, val, args.image_size) if deploy_students else {}
    for r in rows["arms"].values():
        r.pop("model")  # rows cross process boundaries with --jobs
    print(f"seed {seed}: " + ", ".join(f"{a} {v['map50']:.3f}" for a, v in rows["arms"].items())
          + (f", teacher {rows['teacher_map50']:.3f}" if "teacher_map50" in rows else ""), flush=True)
    return rows


def _score(model, test, image_size, backend) -> float:
    from kit.vision import evaluate

    ids, dets = evaluate.predict(model, test, image_size=image_size, backend=backend)
    return evaluate.coco_evaluate(evaluate.to_coco_results(dets, ids, test.index.category_ids), test.index).map50


def deploy(rows: dict, test, val, image_size: int) -> dict:
    """Each arm's student of one seed through ONNX fp32 and int8 (notebook.onnx_deployment); images/s of one."""
    import torch

    from kit.vision import bench
    from kit.vision.data import CocoDetection, eval_transforms
    from kit.vision.notebook import onnx_deployment

    val_eval = CocoDetection.from_index(val.index, eval_transforms(image_size))
    sample = torch.stack([test[i]["image"].as_subclass(torch.Tensor) for i in range(min(16, len(test)))])
    out, table = {}, None
    for arm, r in rows["arms"].items():
        model = r["model"].cpu().eval()
        with tempfile.TemporaryDirectory() as tmp:
            dep = onnx_deployment(model, sample, test, val_eval, image_size=image_size, output_dir=tmp, threads=1)
            out[arm] = dep["int8_scores"].map50
            if table is None:  # every arm is the same network: speed is measured once
                engines = {("torch", "fp32"): bench.torch_engine(model), **dep["engines"]}
                with bench.torch_threads(1):
                    table = bench.benchmark(engines, sample.numpy(), threads=1, offline_batch=16, min_queries=30,
                                            min_seconds=1.0)
    return {"int8_map50": out, "table": table}


def _cpu_s() -> float:
    """CPU seconds of this process and of its finished children (the --jobs workers)."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def report(all_rows: list, arms, speed: dict) -> None:
    print("\nstudent test mAP@0.5 (same epochs and labelled images per arm):")
    print("  seed  teacher  " + "  ".join(f"{a:>18}" for a in arms))
    for r in all_rows:
        t = f"{r['teacher_map50']:.3f}" if "teacher_map50" in r else "  -  "
        print(f"  {r['seed']:>4}  {t:>7}  " + "  ".join(f"{r['arms'][a]['map50']:>18.3f}" for a in arms))
    means = {a: sum(r["arms"][a]["map50"] for r in all_rows) / len(all_rows) for a in arms}
    print("  mean           " + "  ".join(f"{means[a]:>18.3f}" for a in arms))
    if "alone" in arms:
        for a in arms:
            if a != "alone":
                print(f"  ratio {a} / alone: {_ratio(means[a], means['alone']):.3f} (mean of seeds); per seed "
                      + ", ".join(f"{_ratio(r['arms'][a]['map50'], r['arms']['alone']['map50']):.3f}" for r in all_rows))
    print("\ntraining time per seed (wall / process CPU, min; load average before -> after):")
    for r in all_rows:
        t = r.get("teacher_s")
        parts = [f"teacher {t['wall'] / 60:.1f} / {t['cpu'] / 60:.1f}"] if t else []
        parts += [f"{a} {r['arms'][a]['s']['wall'] / 60:.1f} / {r['arms'][a]['s']['cpu'] / 60:.1f} "
                  f"(best epoch {r['arms'][a]['best_epoch']}/{r['arms'][a]['epochs_run']})" for a in arms]
        print(f"  seed {r['seed']} ({r['n_train']} labelled, {r['n_unlabelled']} unlabelled): " + "; ".join(parts)
              + f"; load {r['load'][0]:.1f} -> {r['load'][1]:.1f}")
    if speed:
        print(f"\nseed {all_rows[0]['seed']} students deployed: int8 test mAP@0.5 "
              + ", ".join(f"{a} {v:.3f}" for a, v in speed["int8_map50"].items()))
        tab = speed["table"]
        off = tab[tab["scenario"] == "Offline"].set_index(["backend", "precision"])["images_per_s"]
        ss = tab[tab["scenario"] == "SingleStream"].set_index(["backend", "precision"])["latency_p50_ms"]
        print(f"student inference, 1 thread, {tab.attrs['cpu_model']}: "
              + "; ".join(f"{b} {p} {off[b, p]:.0f} images/s (batch 16), {ss[b, p]:.1f} ms p50 (batch 1)"
                          for b, p in off.index))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--teacher-epochs", type=int, default=None)
    ap.add_argument("--teacher", default="centernet_wide")
    ap.add_argument("--teacher-width", type=int, default=32)
    ap.add_argument("--weight", type=float, default=1.0)
    ap.add_argument("--unlabelled", type=float, default=1.0, help="unlabelled scenes, as a multiple of the training split")
    ap.add_argument("--arms", default="alone,distilled")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--data-dir", default="outputs/vision_distill")
    ap.add_argument("--no-deploy", action="store_true")
    ap.add_argument("--jobs", type=int, default=2, help="seeds trained at once, one process and one Torch thread each")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    args.arms = args.arms.split(",")
    if set(args.arms) - set(ARMS):
        ap.error(f"--arms must be among {', '.join(ARMS)}")
    if args.teacher == "none" and args.arms != ["alone"]:
        ap.error("--teacher none leaves only the arm alone; give --arms alone or a teacher")
    extra = {k: ast.literal_eval(v) for k, v in (s.split("=", 1) for s in args.set)}
    from kit.vision.bench import cpu_model

    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; one Torch thread; {args.precision}; teacher "
          f"{args.teacher} (width {args.teacher_width}); student epochs {args.epochs}, teacher epochs "
          f"{args.teacher_epochs or args.epochs}; scale {args.scale}; extra {extra}", flush=True)
    cpu0, t0 = _cpu_s(), time.perf_counter()
    seeds = [int(x) for x in args.seeds.split(",")]
    for s in seeds:  # data first, in this process: parallel runs must not write the same scenes
        data(s, Path(args.data_dir), args.scale, args.image_size, args.unlabelled)
    jobs = [(s, args, extra, i == 0 and not args.no_deploy) for i, s in enumerate(seeds)]
    if args.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(min(args.jobs, len(jobs))) as pool:
            rows = pool.starmap(run_seed, jobs)
    else:
        rows = [run_seed(*j) for j in jobs]
    report(rows, args.arms, rows[0]["speed"])
    print(f"\ntotal {(time.perf_counter() - t0) / 60:.1f} min wall, {(_cpu_s() - cpu0) / 60:.1f} min CPU (this process and its workers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
