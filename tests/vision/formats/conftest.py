"""Exports of a tiny synthetic data set in the layouts YOLO (Ultralytics, Roboflow), Pascal VOC and CVAT write.

Each writer follows its tool's own layout and number formatting (YOLO: six
decimals, normalized; VOC: 1-based integer pixel indices; CVAT: two
decimals), so a reader that mixes up a convention gets the boxes wrong.
"""
import json
import shutil
from pathlib import Path

import pytest

SPLIT_DIRS = {"train": "train", "val": "valid", "test": "test"}  # Roboflow's folder names
CVAT_SUBSETS = {"train": "Train", "val": "Validation", "test": "Test"}


@pytest.fixture(scope="session")
def scenes(tmp_path_factory):
    """A COCO folder of 12 synthetic 64-px scenes (6 train, 3 val, 3 test) and its annotations."""
    from kit.vision.synthetic import generate

    folder = generate(tmp_path_factory.mktemp("scenes"), n_images=12, image_size=64, seed=3, n_code_crops=0,
                      sequence_frames=0, split_fractions=(0.5, 0.25, 0.25))
    return folder, json.loads((folder / "annotations.json").read_text())


def _per_image(coco):
    anns = {}
    for a in coco["annotations"]:
        anns.setdefault(a["image_id"], []).append(a)
    return anns


def write_yolo(scenes, dst: Path, layout: str = "ultralytics", names_as: str = "list") -> Path:
    """A YOLO export: Ultralytics (images/<split>, labels/<split>) or Roboflow (<split>/images, ../ paths)."""
    folder, coco = scenes
    cats = sorted(coco["categories"], key=lambda c: c["id"])
    cls = {c["id"]: i for i, c in enumerate(cats)}
    anns = _per_image(coco)
    for im in coco["images"]:
        split = im["split"]
        sub = f"{{}}/{split}" if layout == "ultralytics" else f"{SPLIT_DIRS[split]}/{{}}"
        img = dst / sub.format("images") / Path(im["file_name"]).name
        img.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / im["file_name"], img)
        lines = []
        for a in anns.get(im["id"], []):
            x, y, w, h = a["bbox"]
            lines.append(f"{cls[a['category_id']]} {(x + w / 2) / im['width']:.6f} {(y + h / 2) / im['height']:.6f} "
                         f"{w / im['width']:.6f} {h / im['height']:.6f}")
        if lines:  # Ultralytics writes no file for an image without objects
            lab = dst / sub.format("labels") / (img.stem + ".txt")
            lab.parent.mkdir(parents=True, exist_ok=True)
            lab.write_text("\n".join(lines) + "\n")
    names = [c["name"] for c in cats]
    names_yaml = (f"names: [{', '.join(names)}]" if names_as == "list"
                  else "names:\n" + "".join(f"  {i}: {n}\n" for i, n in enumerate(names)))
    if layout == "ultralytics":
        text = f"path: .\ntrain: images/train\nval: images/val\ntest: images/test\n\n{names_yaml}\n"
    else:
        text = (f"train: ../train/images\nval: ../valid/images\ntest: ../test/images\n\nnc: {len(names)}\n{names_yaml}\n\n"
                "roboflow:\n  workspace: yard\n  project: cameras\n  version: 1\n  license: CC BY 4.0\n")
    (dst / "data.yaml").write_text(text)
    return dst


def write_voc(scenes, dst: Path, difficult_ids=()) -> Path:
    """A VOC2012-style folder: Annotations/*.xml, JPEGImages/, ImageSets/Main/{train,val,test}.txt."""
    folder, coco = scenes
    names = {c["id"]: c["name"] for c in coco["categories"]}
    anns = _per_image(coco)
    for d in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (dst / d).mkdir(parents=True, exist_ok=True)
    lists = {}
    for im in coco["images"]:
        stem = Path(im["file_name"]).stem
        shutil.copy(folder / im["file_name"], dst / "JPEGImages" / f"{stem}.jpg")
        lists.setdefault(im["split"], []).append(stem)
        objects = []
        for a in anns.get(im["id"], []):
            x, y, w, h = a["bbox"]
            # 1-based pixel indices, both ends inside: pixels x .. x+w-1 are columns x+1 .. x+w.
            objects.append(
                f"\t<object>\n\t\t<name>{names[a['category_id']]}</name>\n\t\t<pose>Unspecified</pose>\n"
                f"\t\t<truncated>0</truncated>\n\t\t<difficult>{int(a['id'] in difficult_ids)}</difficult>\n"
                f"\t\t<bndbox>\n\t\t\t<xmin>{round(x) + 1}</xmin>\n\t\t\t<ymin>{round(y) + 1}</ymin>\n"
                f"\t\t\t<xmax>{round(x + w)}</xmax>\n\t\t\t<ymax>{round(y + h)}</ymax>\n\t\t</bndbox>\n\t</object>\n")
        (dst / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation>\n\t<folder>VOC2012</folder>\n\t<filename>{stem}.jpg</filename>\n"
            f"\t<source>\n\t\t<database>yard</database>\n\t</source>\n"
            f"\t<size>\n\t\t<width>{im['width']}</width>\n\t\t<height>{im['height']}</height>\n\t\t<depth>3</depth>\n\t</size>\n"
            f"\t<segmented>0</segmented>\n{''.join(objects)}</annotation>\n")
    for split, stems in lists.items():
        (dst / "ImageSets/Main" / f"{split}.txt").write_text("\n".join(stems) + "\n")
    return dst


def write_cvat(scenes, dst: Path, subsets: bool = True, extra_shapes: str = "") -> Path:
    """A CVAT for images 1.1 export: annotations.xml and images/ (images/<Subset>/ for a project export)."""
    folder, coco = scenes
    names = {c["id"]: c["name"] for c in coco["categories"]}
    anns = _per_image(coco)
    labels = "".join(f"        <label>\n          <name>{n}</name>\n          <color>#ff0000</color>\n          <type>rectangle</type>\n"
                     f"          <attributes>\n          </attributes>\n        </label>\n" for n in names.values())
    images = []
    for k, im in enumerate(coco["images"]):
        name = Path(im["file_name"]).name
        subset = CVAT_SUBSETS[im["split"]]
        out = dst / "images" / (subset if subsets else "") / name
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / im["file_name"], out)
        attrs = f'id="{k}" name="{name}"' + (f' subset="{subset}" task_id="1"' if subsets else "")
        boxes = "".join(
            f'    <box label="{names[a["category_id"]]}" source="manual" occluded="{int(a.get("visible_fraction", 1) < 1)}" '
            f'xtl="{a["bbox"][0]:.2f}" ytl="{a["bbox"][1]:.2f}" xbr="{a["bbox"][0] + a["bbox"][2]:.2f}" '
            f'ybr="{a["bbox"][1] + a["bbox"][3]:.2f}" z_order="0">\n    </box>\n' for a in anns.get(im["id"], []))
        images.append(f'  <image {attrs} width="{im["width"]}" height="{im["height"]}">\n{boxes}'
                      f'{extra_shapes if k == 0 else ""}  </image>\n')
    meta = "project" if subsets else "task"
    xml = (f'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n  <meta>\n    <{meta}>\n'
           f'      <id>1</id>\n      <name>yard</name>\n      <labels>\n{labels}      </labels>\n    </{meta}>\n'
           f'    <dumped>2026-01-01 00:00:00.000000+00:00</dumped>\n  </meta>\n{"".join(images)}</annotations>\n')
    (dst / "annotations.xml").write_text(xml)
    return dst


@pytest.fixture
def export(scenes, tmp_path):
    """``export("yolo" | "voc" | "cvat", **options)`` -> a fresh export folder of the scenes under tmp_path."""
    writers = {"yolo": write_yolo, "voc": write_voc, "cvat": write_cvat}

    def make(fmt, name=None, **kw):
        return writers[fmt](scenes, tmp_path / (name or fmt), **kw)

    return make
