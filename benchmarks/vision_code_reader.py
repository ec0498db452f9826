"""Container codes: the small CTC reader against PP-OCRv4 (``code_reader=ppocr``), side by side.

On the notebook's synthetic data (``kit.vision.synthetic.generate`` at
``--scale``): whole-code accuracy on the test crops after check-digit
correction (and before it, the greedy reading), split by where the crop
comes from (``rendered`` by ``render_code_crop``, the issue's goal, or cut
from a 256-px ``scene``), and codes per second on one thread; then codes
found by PP-OCRv4 in whole door images (``kit.vision.synthetic.doors``, no
crops) per layout. Each line names its seed; a wrong code whose check
digit is valid is counted apart (a recomputed check digit would hide it).
The small reader reads crops only. The ratio line compares the two on the
rendered crops.

    OMP_NUM_THREADS=1 /work/main/.venv/bin/python benchmarks/vision_code_reader.py [--scale 1] [--doors 60] [--seeds 0 1 2] [--doors-only] [--door-layouts rotated rotated_two_line]

Measured December 2026, ``--doors-only --doors 30 --seeds 0`` and ``--seeds 1``
(2 shared cores), codes read per layout one_line / two_line / stacked:
seed 0 0.9 / 0.9 / 0.9 (before the stacked column was cut on its fitted
grid: 0.9 / 0.8 / 0.8), seed 1 0.9 / 1.0 / 0.9 (before 0.9 / 1.0 / 0.7);
all 0.900 and 0.933 (before 0.833, 0.867), 1.2-1.4 s CPU an image (before
2.3-2.5). Misses left: two images too dark for the detector to find any
text, a one-line code in 16-px glyphs misread (wrong code reported once).

Codes turned by 90° (``render_door(..., "rotated")``, the one-line code
running up or down the door's right edge), December 2026,
``--doors-only --doors 30 --seeds 0 --door-layouts rotated`` and ``--seeds 1``:
before (no rotated pass in ``find_codes``) 0.000 and 0.000 read,
6.7-7.3 s CPU an image (every stacked cut of the tall line is read); after
(the image turned both ways and detected again when no upright candidate
gives a code) 0.933 and 0.967, size-type 0.900 and 0.900, no wrong code,
5.1-5.2 s CPU an image (the upright candidates are read first, in vain).
The upright doors with the rotated pass in place, same commands without
``--door-layouts``: 0.900 and 0.933, per layout as above (unchanged),
0.95-1.1 s CPU an image.

With dark strips read in the denoised view too (``kit.vision.ppocr.reading.DARK_VIEWS``,
December 2026, same commands, 3-4 runs sharing the 2 cores): upright doors seed 0
0.933 (one_line / two_line / stacked 1.0 / 0.9 / 0.9, was 0.9 / 0.9 / 0.9), seed 1
0.933 (0.9 / 1.0 / 0.9, unchanged; one wrong one-line code reported, as before),
0.96 and 1.16 s CPU an image. The notebook set's crops (``--doors 0 --seeds 0``):
ppocr 0.950 on the 219 rendered crops (was 0.941; greedy 0.516), 187 ms CPU a
crop; the small reader 0.941. Rotated doors (``--door-layouts rotated``) unchanged:
0.933 and 0.967 read, size-type 0.900 and 0.900, 5.1 and 4.8 s CPU an image.

Two-line codes turned by 90° (``--door-layouts rotated_two_line``, December 2026,
``--doors 30 --seeds 0`` and ``--seeds 1``, 2 runs sharing the 2 cores): 0.900 and
0.933 read, size-type 0.900 and 0.933, no wrong code, 4.3 and 5.1 s CPU an image
(the turned pass already read pairs of rows; the layout to measure them on was missing).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def _accuracy(codes, mask):
    """(crops, accuracy after correction, greedy accuracy, wrong but valid, unread) over ``codes[mask]``."""
    sub = codes[mask]
    right = sub["code"] == sub["true_code"]
    # A code that passes its check digit and is still not the truth: what a recomputed check digit would hide.
    wrong_valid = (sub["code"] != "") & ~right
    return (len(sub), float(right.mean()), float((sub["raw"] == sub["true_code"]).mean()), float(wrong_valid.mean()),
            float((sub["code"] == "").mean()))


def run_seed(args, seed: int):
    """One seed: the crops (unless ``--doors-only``), then the door images."""
    if not args.doors_only:
        _crops(args, seed)
    if args.doors > 0:  # --doors 0: the crops alone
        _doors(args, seed)


def _crops(args, seed: int):
    """The two readers on the data set's test crops (trains the small one)."""
    import torch

    from kit.vision import codes as vcodes
    from kit.vision import recognizer
    from kit.vision.synthetic import generate

    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp()) / "synthetic"
    generate(folder, n_images=max(20, int(round(600 * args.scale))), image_size=256, seed=seed,
             n_code_crops=max(50, int(round(1500 * args.scale))), sequence_frames=0)
    crops = {s: recognizer.load_code_crops(folder, s) for s in ("train", "val", "test")}
    source = {c["file_name"]: c.get("source", "") for c in json.loads((folder / "code_crops.json").read_text())["crops"]}
    epochs = max(4, round(10 * min(args.scale, 1) ** 0.5))
    rows = {}
    for reader in vcodes.CODE_READERS:
        t0, c0 = time.perf_counter(), time.process_time()
        codes, _ = vcodes.read_test_codes(reader, crops, seed=seed, epochs=epochs)
        total_s, total_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        read_s = codes.attrs["read_s"]
        src = codes["file_name"].map(source)
        rows[reader] = {"read_s": read_s, **{s: _accuracy(codes, src == s) for s in ("rendered", "scene")}}
        for s in ("rendered", "scene"):
            n, acc, raw, wrong, unread = rows[reader][s]
            print(f"seed {seed} {reader:6s} {s:8s} crops: {n:4d}  whole-code accuracy {acc:.3f} after check-digit "
                  f"correction ({raw:.3f} greedy); wrong code with a valid check digit {wrong:.3f}, unread {unread:.3f}")
        print(f"seed {seed} {reader:6s} {len(codes) / read_s:7.1f} codes/s reading (wall {read_s:.1f} s); with training "
              f"wall {total_s:.1f} s, CPU {total_cpu_s:.1f} s")
    n = len(crops["test"])
    small_acc = rows["small"]["rendered"][1]
    print(f"seed {seed} ratio ppocr / small on rendered crops: accuracy "
          f"{rows['ppocr']['rendered'][1] / small_acc if small_acc else float('inf'):.3f}, "
          f"codes/s {(n / rows['ppocr']['read_s']) / (n / rows['small']['read_s']):.3f}")


def _doors(args, seed: int):
    """Codes found by PP-OCRv4 in whole door images, per layout."""
    from kit.vision import codes as vcodes

    doors = vcodes.door_images(args.doors, seed, args.door_layouts)
    t0, c0 = time.perf_counter(), time.process_time()
    found = vcodes.door_codes(doors)
    door_s, door_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    ok = found["code"] == found["true_code"]
    for layout, hit in ok.groupby(found["layout"]):
        sub = found[found["layout"] == layout]
        print(f"seed {seed} ppocr  door images, {layout:8s}: {len(hit):3d}  code read {hit.mean():.3f}  size-type read "
              f"{(sub['size_type'] == sub['true_size_type']).mean():.3f}  wrong code reported {((sub['code'] != '') & ~hit[sub.index]).mean():.3f}")
    print(f"seed {seed} ppocr  door images, all     : {len(ok):3d}  code read {ok.mean():.3f}  {len(found) / door_s:.2f} images/s "
          f"(CPU {door_cpu_s / len(found):.2f} s an image); small: reads crops only (no text detector)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0, help="the notebook's scale: 1500 code crops at 1")
    ap.add_argument("--doors", type=int, default=60, help="whole door images read by ppocr")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="data sets (and door images) generated per seed")
    ap.add_argument("--door-layouts", nargs="+", default=None, choices=["one_line", "two_line", "stacked", "rotated", "rotated_two_line"],
                    help="door layouts in turn (default: the three upright ones, as measured before 'rotated' existed)")
    ap.add_argument("--doors-only", action="store_true", help="only the door images (no data set, no training)")
    args = ap.parse_args()
    for seed in args.seeds:
        run_seed(args, seed)


if __name__ == "__main__":
    main()
