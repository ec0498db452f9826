"""Writing a synthetic logistics data set as a COCO folder: scenes, code crops and a clip."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from kit.errors import ParameterError
from kit.io import atomic_path, write_json
from kit.vision.synthetic.code_crops import render_code_crop
from kit.vision.synthetic.layout import layout_scene
from kit.vision.synthetic.rendering import render
from kit.vision.synthetic.scene import random_code
from kit.vision.synthetic.sequence import render_sequence

CATEGORIES = [
    {"id": 1, "name": "container", "supercategory": "cargo"},
    {"id": 2, "name": "truck", "supercategory": "vehicle"},
    {"id": 3, "name": "pallet", "supercategory": "cargo"},
    {"id": 4, "name": "person", "supercategory": "person"},
]
_CAT_ID = {c["name"]: c["id"] for c in CATEGORIES}
SPLITS = ("train", "val", "test")
#: Bumped when the same seed gives different scenes (2: yard camera set-up, one-way truck lanes;
#: 3: the clip's trucks drive on a cleared road in the near part of the view).
DATA_VERSION = 3


def _assign_split(rng, fractions):
    """One of :data:`SPLITS`, drawn with probabilities proportional to ``fractions``."""
    return SPLITS[int(rng.choice(3, p=np.asarray(fractions) / np.sum(fractions)))]


def generate(
    output_dir,
    n_images: int = 600,
    image_size: int = 256,
    seed: int = 0,
    split_fractions=(0.7, 0.15, 0.15),
    gate_fraction: float = 0.35,
    n_code_crops: int = 1500,
    crop_size=(32, 160),
    sequence_frames: int = 40,
    image_format: str = "jpg",
):
    """Write a synthetic logistics data set as a COCO folder.

    Layout written::

        output_dir/
          annotations.json      COCO: images (with "split"), annotations, categories
          images/000001.jpg ...
          code_crops.json       [{"file_name", "text", "split", "source", ...}]
          crops/000001.png ...
          sequence/annotations.json, sequence/images/...   (a fixed-camera clip)

    Parameters
    ----------
    output_dir : path
    n_images : int
        Still scenes.
    image_size : int, px
    seed : int
        Same seed, same files (on the same Pillow and FreeType versions, which
        render the font).
    split_fractions : tuple of 3 floats
        Train, val, test shares; assigned per image (and per crop).
    gate_fraction : float, 0–1
        Share of gate-camera scenes; the rest are yard scenes.
    n_code_crops : int
        Rendered code crops, on top of the crops cut from scenes where the
        painted code is at least 8 px high.
    crop_size : (height, width), px
    sequence_frames : int
        Frames of the fixed-camera clip; 0 for none.
    image_format : {"jpg", "png"}

    Returns
    -------
    pathlib.Path
        ``output_dir``.

    Examples
    --------
    >>> import tempfile, json
    >>> out = generate(tempfile.mkdtemp(), n_images=4, n_code_crops=2, sequence_frames=0, image_size=96)
    >>> coco = json.loads((out / "annotations.json").read_text())
    >>> len(coco["images"]), [c["name"] for c in coco["categories"]]
    (4, ['container', 'truck', 'pallet', 'person'])
    """
    _check_parameters(n_images, image_size, split_fractions, n_code_crops, sequence_frames, image_format)
    out = Path(output_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "crops").mkdir(exist_ok=True)
    images, annotations, crops = _write_scenes(out, np.random.default_rng(seed), n_images, image_size, split_fractions,
                                               gate_fraction, crop_size, image_format)
    _write_rendered_crops(out, crops, np.random.default_rng([seed, 1]), n_code_crops, crop_size, split_fractions)
    info = {"description": "kit.vision.synthetic synthetic logistics scenes", "generator": "kit.vision.synthetic.generate",
            "seed": seed, "image_size": image_size, "version": DATA_VERSION}
    write_json(out / "code_crops.json", {"info": info, "crops": crops})
    if sequence_frames:
        _write_sequence(out / "sequence", sequence_frames, image_size, [seed, 2], image_format)
    # Written last: a folder with annotations.json is complete.
    write_json(out / "annotations.json", {"info": info, "images": images, "annotations": annotations, "categories": CATEGORIES})
    return out


def _check_parameters(n_images, image_size, split_fractions, n_code_crops, sequence_frames, image_format):
    """Refuse parameters :func:`generate` cannot honour, before anything is written."""
    if n_images < 0 or n_code_crops < 0 or sequence_frames < 0:
        raise ParameterError("n_images, n_code_crops and sequence_frames must be >= 0")
    if image_size < 32:
        raise ParameterError(f"image_size must be >= 32 px, got {image_size}")
    if image_format not in ("jpg", "png"):
        raise ParameterError(f"image_format must be 'jpg' or 'png', got {image_format!r}")
    if len(split_fractions) != 3 or min(split_fractions) < 0 or sum(split_fractions) <= 0:
        raise ParameterError(f"split_fractions must be three non-negative shares (train, val, test), got {split_fractions!r}")


def _write_scenes(out, rng, n_images, image_size, split_fractions, gate_fraction, crop_size, image_format):
    """Still scenes into ``out/images``, and code crops cut from them where the painted code is at least 8 px high.

    Per scene, ``rng`` draws the camera kind, then the split, then the layout.

    Returns
    -------
    (images, annotations, crops) : lists of dict
        COCO image and annotation records, and the crop records (``source`` ``"scene"``).
    """
    images, annotations, crops = [], [], []
    for i in range(1, n_images + 1):
        kind = "gate" if rng.random() < gate_fraction else "yard"
        split = _assign_split(rng, split_fractions)
        scene = layout_scene(kind, image_size, rng=rng)
        img, objs = render(scene)
        name = f"images/{i:06d}.{image_format}"
        _save(img, out / name)
        images.append({"id": i, "file_name": name, "width": image_size, "height": image_size, "split": split, "scene": kind})
        for o in objs:
            ann = _scene_annotation(o, len(annotations) + 1, i)
            if "code_box" in o and o["code_height_px"] >= 8:
                crops.append(_cut_code_crop(out, img, o["code_box"], crop_size, len(crops) + 1,
                                            {"text": o["code"], "split": split, "source": "scene", "image_id": i,
                                             "annotation_id": ann["id"]}))
            annotations.append(ann)
    return images, annotations, crops


def _scene_annotation(o, ann_id, image_id):
    """The COCO annotation of one object rendered in a still scene (with its code and code box when it has them)."""
    ann = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": _CAT_ID[o["category"]],
        "bbox": o["bbox"],
        "area": o["area"],
        "iscrowd": 0,
        "visible_fraction": o["visible_fraction"],
    }
    if "code" in o:
        ann["code"] = o["code"]
    if "code_box" in o:
        ann["code_box"] = o["code_box"]
    return ann


def _cut_code_crop(out, img, code_box, crop_size, crop_id, fields):
    """Cut ``code_box`` ([x, y, w, h], px) from a scene, resized to ``crop_size``, into ``out/crops``; its record."""
    ch, cw = crop_size
    x, y, w, h = code_box
    crop = img.crop((x, y, x + w, y + h)).resize((cw, ch), Image.BILINEAR)
    cname = f"crops/{crop_id:06d}.png"
    _save(crop, out / cname)
    return {"id": crop_id, "file_name": cname, **fields}


def _write_rendered_crops(out, crops, rng, n_code_crops, crop_size, split_fractions):
    """Append ``n_code_crops`` crops of random codes (:func:`render_code_crop`) to ``crops``, files into ``out/crops``.

    Per crop, ``rng`` draws the code, then the painting, then the split.
    """
    ch, cw = crop_size
    for _ in range(n_code_crops):
        code = random_code(rng)
        img = render_code_crop(code, rng, ch, cw)
        cname = f"crops/{len(crops) + 1:06d}.png"
        _save(img, out / cname)
        crops.append({"id": len(crops) + 1, "file_name": cname, "text": code,
                      "split": _assign_split(rng, split_fractions), "source": "rendered"})


def _write_sequence(folder, n_frames, image_size, seed, image_format):
    """A fixed-camera clip (:func:`render_sequence`) as a COCO folder of test images with ``track_id`` per annotation."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    frames = render_sequence(n_frames, image_size, seed=int(np.random.default_rng(seed).integers(2**31)), kind="yard")
    images, annotations, ann_id = [], [], 1
    for f, (img, objs) in enumerate(frames):
        name = f"images/{f:06d}.{image_format}"
        _save(img, folder / name)
        images.append({"id": f + 1, "file_name": name, "width": image_size, "height": image_size, "split": "test",
                       "sequence_id": 1, "frame_index": f})
        for o in objs:
            annotations.append({"id": ann_id, "image_id": f + 1, "category_id": _CAT_ID[o["category"]], "bbox": o["bbox"],
                                "area": o["area"], "iscrowd": 0, "track_id": o["track_id"],
                                "visible_fraction": o["visible_fraction"], **({"code": o["code"]} if "code" in o else {})})
            ann_id += 1
    write_json(folder / "annotations.json", {"info": {"description": "fixed-camera clip, kit.vision.synthetic"},
                                             "images": images, "annotations": annotations, "categories": CATEGORIES})


def _save(img: Image.Image, path: Path):
    """Write ``img`` atomically: JPEG (quality 90) for ``.jpg``, else PNG (fast compression)."""
    with atomic_path(path) as tmp:
        if path.suffix == ".jpg":
            img.save(tmp, format="JPEG", quality=90)
        else:
            img.save(tmp, format="PNG", compress_level=1)
