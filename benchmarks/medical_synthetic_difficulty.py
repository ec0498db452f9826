"""How hard the embedded chest-radiograph set is: the notebook's classifier at its defaults, per seed.

Run:  python benchmarks/medical_synthetic_difficulty.py [--seeds 0 1 2] [--scale 1.0] [--n-sites 3]

For each seed: the embedded set (:func:`kit.medical.notebook.embedded_dicom_dir`,
or with ``--n-sites`` other than 3 a set generated with that many sites, a
different device and portable-film mix), ingested at 64 px, split by patient
40/30/30, the small CNN trained at the notebook's defaults (8 epochs),
temperature-scaled and thresholded on validation as the notebook does. Prints
test AUROC (bootstrap 95 % interval), ECE before and after scaling, test
sensitivity (Wilson 95 %) against the target and the subgroup AUROC spread
(view, age band, site), beside the peer figure the set is tuned to:
MedMNIST v2 PneumoniaMNIST, ResNet-18 (28 px) AUROC 0.944 and (224 px) 0.956.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def _one(seed: int, scale: float, n_sites: int, cache: Path, target: float, rule: str) -> dict:
    from kit.medical import evaluate, ingest_folder
    from kit.medical import notebook as nbk
    from kit.medical.calibrate import apply_temperature, expected_calibration_error
    from kit.medical.dataset import read_labels
    from kit.medical.train import TriageClassifier

    if n_sites == 3:
        folder = nbk.embedded_dicom_dir(scale, seed, cache_dir=cache)
    else:
        from kit.medical.synthetic import synth_chest_xrays

        folder = cache / f"sites{n_sites}-scale{scale}-seed{seed}"
        if not (folder / "labels.csv").exists():
            synth_chest_xrays(folder, n_studies=int(round(nbk.EMBEDDED_STUDIES * scale)),
                              prevalence=nbk.EMBEDDED_PREVALENCE,
                              n_sites=n_sites, seed=seed)
    data = ingest_folder(folder, image_size=64)
    labels = read_labels(folder / "labels.csv")
    y = nbk.attach_labels(data.table, labels)
    split = nbk.split_by_patient(data.table, seed=seed)
    tr, va, te = (split == s for s in ("train", "val", "test"))
    t0 = time.perf_counter()
    clf = TriageClassifier(image_size=64, epochs=8, seed=seed, progress=False)
    clf.fit(data.images[tr], y[tr]).calibrate(data.images[va], y[va])
    clf.set_operating_point(data.images[va], y[va], target, rule=rule)
    train_s = time.perf_counter() - t0
    z = clf.decision_function(data.images[te])
    auc = evaluate.auroc_bootstrap(y[te], z, n_boot=1000, seed=seed)
    op = evaluate.operating_point_metrics(y[te], z, clf.logit_threshold_)
    groups = data.table[te].assign(age_band=evaluate.age_band(data.table.age_years[te]))
    sub = evaluate.subgroup_metrics(groups, y[te], z, clf.logit_threshold_, by=("view_position", "age_band", "site"))
    spread = {a: (round(g.auroc.min(), 3), round(g.auroc.max(), 3)) for a, g in sub.groupby("attribute")}
    return {"seed": seed, "auroc": auc, "ece_raw": expected_calibration_error(apply_temperature(z, 1.0), y[te]),
            "ece": expected_calibration_error(apply_temperature(z, clf.temperature_), y[te]), "op": op,
            "spread": spread, "train_s": train_s}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--n-sites", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--rule", default="lower_bound", choices=("lower_bound", "quantile"))
    parser.add_argument("--cache", default=None, help="folder for the generated sets (default: a temporary one)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    cache = Path(args.cache or tempfile.mkdtemp(prefix="rad-difficulty-"))
    print(f"peer: MedMNIST v2 PneumoniaMNIST ResNet-18 AUROC 0.944 (28 px) - 0.956 (224 px); band asked 0.85-0.97; "
          f"precision {os.environ.get('KIT_PRECISION', 'default')}")
    for seed in args.seeds:
        r = _one(seed, args.scale, args.n_sites, cache, args.target, args.rule)
        op = r["op"]
        print(f"seed {seed} (scale {args.scale}, {args.n_sites} sites): AUROC {r['auroc'][0]:.3f} "
              f"({r['auroc'][1]:.3f}-{r['auroc'][2]:.3f}); ECE {r['ece_raw']:.3f} -> {r['ece']:.3f} scaled; "
              f"sensitivity {op['sensitivity']:.3f} ({op['sensitivity_low']:.3f}-{op['sensitivity_high']:.3f}) "
              f"target {args.target} ({args.rule}); specificity {op['specificity']:.3f}; "
              f"subgroup AUROC min-max {r['spread']}; "
              f"training {r['train_s']:.0f} s")


if __name__ == "__main__":
    main()
