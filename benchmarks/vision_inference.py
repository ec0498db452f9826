"""Inference speed of the detector and the code reader: Torch vs ONNX Runtime fp32 vs int8.

Usage: python benchmarks/vision_inference.py [threads] [weights.pt]

MLPerf-style scenarios: SingleStream (batch 1, latency p50/p90/p99) and
Offline (batches of 16, images per second), every engine at the same thread
count, on real synthetic scenes (int8 calibrated on other scenes). Without a
weight file the detector is briefly trained (about a minute of CPU) so the
activations that int8 calibration sees are realistic; speed does not depend
on the weights otherwise. Prints the CPU model and thread count beside the
figures, and the ratios to Torch fp32 (the target: the best ONNX Runtime
path reaches at least 2x Torch throughput on this CPU). For fairness Torch
also runs in its best CPU set-up (inference mode, channels-last layout);
ONNX Runtime sessions are kit.onnx.ort_session: the same thread count,
sequential execution, ORT_ENABLE_ALL graph optimisations.

A third table covers torchvision's SSDlite (untrained: speed does not depend
on the weights), deployed split as the notebook does it
(:mod:`kit.vision.tv_onnx`): its backbone in ONNX Runtime, resize, heads,
anchors and NMS in Torch; every engine returns final detections.
"""
from __future__ import annotations

import copy
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from kit.vision import bench
from kit.vision import onnx as vonnx
from kit.vision.data import CocoDetection, eval_transforms
from kit.vision import tv_onnx
from kit.vision.models import centernet, ssdlite
from kit.vision.recognizer import code_reader, load_code_crops
from kit.vision.recognizer.crops import _to_batch
from kit.vision.synthetic import generate
from kit.vision.train import train_detector


def _ratios(df):
    off = df[df["scenario"] == "Offline"].set_index(["backend", "precision"])["images_per_s"]
    base = off["torch", "fp32"]
    return {f"{b} {p}": off[b, p] / base for b, p in off.index}


def main(threads: int = 1, weights: str | None = None):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    work = Path(tempfile.mkdtemp(prefix="vision-bench-"))
    folder = generate(work / "data", n_images=120, image_size=256, seed=1, n_code_crops=300, sequence_frames=0)
    test = CocoDetection(folder, "test", transforms=eval_transforms(256))
    val = CocoDetection(folder, "val", transforms=eval_transforms(256))
    images = torch.stack([test[i]["image"].as_subclass(torch.Tensor) for i in range(min(16, len(test)))]).numpy()
    calib = torch.stack([val[i]["image"].as_subclass(torch.Tensor) for i in range(min(32, len(val)))]).numpy()

    if weights:
        det = centernet(4, weights=weights).eval()
    else:
        det = train_detector(centernet(4), CocoDetection(folder, "train"), CocoDetection(folder, "val"), epochs=2,
                             progress=False).model.cpu().eval()
    crops = load_code_crops(folder)
    reader = code_reader().eval()
    with torch.no_grad():  # realistic BatchNorm statistics for int8 calibration
        reader.train()
        reader(_to_batch([c["image"] for c in crops[:64]]))
        reader.eval()
    crop_x = _to_batch([c["image"] for c in crops[:32]]).numpy()

    print(f"CPU: {bench.cpu_model()}, {os.cpu_count()} logical cores; {threads} thread(s) for every engine")
    for name, model, x, cal, inp, outs in (
        ("detector (CenterNet, 256 px)", det, images, calib, "images", ("heatmap", "size", "offset")),
        ("code reader (CRNN, 32x160)", reader, crop_x[:16], crop_x[16:], "crops", ("logits",)),
    ):
        fp32_path = vonnx.export_onnx(model, work / f"{inp}.onnx", torch.from_numpy(x[:1]), input_name=inp, output_names=outs)
        int8_path = vonnx.quantize_int8(fp32_path, work / f"{inp}_int8.onnx", cal)
        fp32 = vonnx.OrtRunner(vonnx.ort_session(fp32_path, threads))
        int8 = vonnx.OrtRunner(vonnx.ort_session(int8_path, threads))

        # Torch's best CPU set-up as a fairness check: inference mode and the channels-last layout
        # (oneDNN's preferred one); ONNX Runtime does the same layout change inside its graph (NCHWc).
        model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)

        def torch_cl(a, model=model_cl):
            with torch.inference_mode():
                x = torch.from_numpy(a)
                return model(x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x)

        with torch.no_grad():
            diff = vonnx.max_abs_diff(model(torch.from_numpy(x)), fp32(torch.from_numpy(x)))
        with bench.torch_threads(threads):
            df = bench.benchmark({("torch", "fp32"): bench.torch_engine(model),
                                  ("torch", "fp32 channels-last"): torch_cl,
                                  ("onnxruntime", "fp32"): fp32.numpy, ("onnxruntime", "int8"): int8.numpy},
                                 x, threads=threads, offline_batch=16, min_queries=50, min_seconds=2.0)
        print(f"\n{name}: ONNX Runtime fp32 vs Torch max |diff| {diff:.1e}")
        print(df.drop(columns=["threads"]).round(2).to_string(index=False))
        print("Offline throughput vs Torch fp32: " + ", ".join(f"{k} {v:.2f}x" for k, v in _ratios(df).items()))

    ssd = ssdlite(4, image_size=256).eval()
    path, names = tv_onnx.export_backbone(ssd, work / "ssd_backbone.onnx", torch.from_numpy(images[:1]))
    int8_path = vonnx.quantize_int8(path, work / "ssd_backbone_int8.onnx",
                                    tv_onnx.backbone_inputs(ssd, torch.from_numpy(calib)).numpy())
    engines = {("torch", "fp32"): ssd}
    for precision, p in (("fp32", path), ("int8", int8_path)):
        engines["onnxruntime", precision] = tv_onnx.with_ort_backbone(ssd, vonnx.ort_session(p, threads), names)
    engines = {k: bench.torch_engine(m) for k, m in engines.items()}
    with bench.torch_threads(threads):
        df = bench.benchmark(engines, images, threads=threads, offline_batch=16, min_queries=50, min_seconds=2.0)
    print("\ndetector (torchvision SSDlite, 256 px; backbone in ONNX Runtime, heads and NMS in Torch)")
    print(df.drop(columns=["threads"]).round(2).to_string(index=False))
    print("Offline throughput vs Torch fp32: " + ", ".join(f"{k} {v:.2f}x" for k, v in _ratios(df).items()))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1, sys.argv[2] if len(sys.argv) > 2 else None)
