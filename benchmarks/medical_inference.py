"""Triage classifier inference, images per second: Torch fp32 vs ONNX Runtime fp32 vs ONNX Runtime int8.

Run:  python benchmarks/medical_inference.py [--studies 1500] [--epochs 8] [--image-size 64] [--threads 1]

Trains the kit's small CNN briefly on generated chest radiographs (the
network must carry signal for int8 rounding to be judged), exports it to
ONNX, quantizes it statically to int8 (QDQ, calibrated on validation images)
and times the three back ends on the same held-out images, single-threaded by
default so the ratio measures the kernels, not the core count. It prints the
AUROC of each back end on the held-out images too: speed is only worth having
at the same accuracy (the target: int8 at least 2x Torch fp32 with AUROC lower
by at most 0.01).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--arch", default="small_cnn", choices=("small_cnn", "mobilenet_v3_small"))
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from kit.medical import ingest_folder, read_labels, synth_chest_xrays
    from kit.medical.evaluate import auroc
    from kit.medical.notebook import attach_labels, split_by_patient
    from kit.medical.onnx import OnnxTriageModel, export_onnx, images_per_second, quantize_int8, torch_predictor
    from kit.medical.train import TriageClassifier, to_tensor

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synth_chest_xrays(tmp / "pacs", n_studies=args.studies, image_size=128, prevalence=0.4, seed=0)
        data = ingest_folder(tmp / "pacs", image_size=args.image_size)
        y = attach_labels(data.table, read_labels(tmp / "pacs" / "labels.csv"))
        split = split_by_patient(data.table, seed=0)
        tr, va, te = (split == s for s in ("train", "val", "test"))
        X = data.images
        t0 = time.perf_counter()
        clf = TriageClassifier(arch=args.arch, image_size=args.image_size, epochs=args.epochs, progress=False)
        clf.fit(X[tr], y[tr])
        train_s = time.perf_counter() - t0
        x_val = to_tensor(X[va], args.image_size)[:, 0].numpy()
        x_te = to_tensor(X[te], args.image_size)[:, 0].numpy()
        fp32 = export_onnx(clf.model_, tmp / "m.onnx", args.image_size)
        int8 = quantize_int8(fp32, tmp / "m8.onnx", x_val[:256])
        ort32, ort8 = OnnxTriageModel(fp32, threads=args.threads), OnnxTriageModel(int8, threads=args.threads)
        runners = {
            "torch fp32": torch_predictor(clf.model_, args.image_size, threads=args.threads),
            "ORT fp32": ort32.decision_function,
            "ORT int8": ort8.decision_function,
        }
        results = {}
        for name, fn in runners.items():
            ips = images_per_second(fn, x_te, batch_size=args.batch, repeats=3, min_seconds=1.0)
            results[name] = (ips, auroc(y[te], np.asarray(fn(x_te)).ravel()))

    print(f"{args.arch} at {args.image_size} px, {clf.n_parameters() / 1e6:.2f} M parameters, trained "
          f"{args.epochs} epochs on {tr.sum()} images in {train_s:.0f} s; {te.sum()} test images, "
          f"batch {args.batch}, {args.threads} thread(s)")
    base_ips, base_auc = results["torch fp32"]
    for name, (ips, auc) in results.items():
        print(f"{name:11s}: {ips:8.0f} images/s  ({ips / base_ips:4.1f}x torch fp32)  "
              f"AUROC {auc:.4f} ({auc - base_auc:+.4f})")


if __name__ == "__main__":
    main()
