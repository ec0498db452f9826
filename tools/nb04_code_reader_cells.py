"""One-off: put the ``code_reader`` parameter and its code-reading cell into notebook 04 (issue 21, item 3).

Branch i21-ocr adds ``code_reader`` to ``kit.vision.notebook.PARAMETERS``
but leaves the notebook alone, as other branches change it too: after
merging, run this once, then re-execute the notebook
(``tools/execute_notebooks.py notebooks/04_logistics_vision.ipynb``) and
delete this file. Sources only are changed; outputs come from the re-execution.

    python tools/nb04_code_reader_cells.py [notebooks/04_logistics_vision.ipynb] [--out PATH]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

PARAM_LINE = ('code_reader = "small"  # container-code reader: small (a CTC reader trained on the code crops, about 50 '
              'CPU-s) or ppocr (PP-OCRv4 from rapidocr-onnxruntime, pretrained, nothing downloaded; also finds codes in '
              'whole door images); both decode under the ISO 6346 check digit')

CODE_CELL = '''from kit.vision import codes as vcodes

if (folder / "code_crops.json").is_file():
    crops = {s: recognizer.load_code_crops(folder, s) for s in ("train", "val", "test")}
    codes, reader_history = vcodes.read_test_codes(p.code_reader, crops, backend=backend, seed=p.seed,
                                                   epochs=max(4, round(10 * min(p.scale, 1) ** 0.5)))
    code_accuracy = float((codes["code"] == codes["true_code"]).mean())
    raw_accuracy = float((codes["raw"] == codes["true_code"]).mean())
    print(f"{p.code_reader}: {len(codes)} test crops: whole-code accuracy {code_accuracy:.1%} after check-digit correction "
          f"({raw_accuracy:.1%} before), {len(codes) / codes.attrs['read_s']:.0f} codes/s")
else:
    codes = pd.DataFrame(columns=vcodes.COLUMNS)
    code_accuracy = float("nan")
    print("no code_crops.json in the data set: code reading skipped")
with kit.io.atomic_path(f"{p.output_dir}/codes.csv") as tmp:
    codes.to_csv(tmp, index=False)
kit.report.record("code_accuracy", round(code_accuracy, 4))
if p.code_reader == "ppocr":  # whole door images, no crops: only PP-OCRv4 has a text detector
    doors = vcodes.door_codes(vcodes.door_images(max(6, round(30 * min(p.scale, 1))), p.seed))
    door_accuracy = float((doors["code"] == doors["true_code"]).mean())
    kit.report.record("door_code_accuracy", round(door_accuracy, 4))
    print(f"{len(doors)} whole door images: code read in {door_accuracy:.1%}; by layout: "
          + ", ".join(f"{k} {v:.0%}" for k, v in (doors["code"] == doors["true_code"]).groupby(doors["layout"]).mean().items()))
codes.head(8)'''

MARKDOWN_ADD = (" With `code_reader=ppocr` PP-OCRv4 (inside the rapidocr-onnxruntime wheel, nothing downloaded) reads "
                "the crops instead, its character probabilities decoded under the same check digit, and also finds "
                "codes in whole door images (one-line, two-line and stacked codes, with the size-type line).")


def patch(nb: dict) -> dict:
    cells = nb["cells"]
    params = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    lines = "".join(params["source"]).splitlines()
    if not any(ln.startswith("code_reader =") for ln in lines):
        at = next(i for i, ln in enumerate(lines) if ln.startswith("device ="))
        lines.insert(at, PARAM_LINE)
    params["source"] = "\n".join(lines)
    code = next(c for c in cells if c["cell_type"] == "code" and "recognizer.load_code_crops" in "".join(c["source"]))
    code["source"] = CODE_CELL
    idx = cells.index(code)
    md = cells[idx - 1]
    if md["cell_type"] == "markdown" and "code_reader=ppocr" not in "".join(md["source"]):
        md["source"] = "".join(md["source"]).rstrip() + MARKDOWN_ADD
    return nb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook", nargs="?", default="notebooks/04_logistics_vision.ipynb")
    ap.add_argument("--out", help="write here instead of in place")
    args = ap.parse_args()
    nb = patch(json.loads(Path(args.notebook).read_text()))
    Path(args.out or args.notebook).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
