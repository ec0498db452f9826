"""Synthetic yard and gate-camera scenes with COCO annotations and code crops: the sector's embedded data.

Scenes are drawn with Pillow from a list of objects placed on a ground plane
seen by a pinhole camera: the scale in pixels per metre grows linearly below
the horizon, so far containers are small and near ones large. Objects are
painted far to near, which gives occlusion for free; an instance-id image
drawn alongside gives each object's *visible* box (COCO convention) and how
much of it is hidden. Containers carry ISO 6346 codes (valid check digits)
painted with Pillow's default font, so code crops come with their text.

Dimensions are real (ISO 668 container sizes, a cab-over tractor, EUR
pallets, people 1.6–1.9 m); colours are typical shipping-line liveries, not
a standard. See ``datasets/logistics/README.md`` for the card.

Modules, in the order a data set is made: ``scene`` (the scene model, sizes
and colours), ``layout`` (placing objects), ``lighting`` (light and camera
effects), ``painting`` (drawing each kind of object), ``rendering`` (a scene
to an image and visible boxes), ``code_crops``, ``sequence`` (a
fixed-camera clip), ``clip`` (that clip as a video file with its truth) and
``dataset`` (:func:`generate`, the COCO folder).
"""
from kit.vision.synthetic.clip import truth_detector, write_clip
from kit.vision.synthetic.code_crops import render_code_crop
from kit.vision.synthetic.dataset import CATEGORIES, DATA_VERSION, SPLITS, generate
from kit.vision.synthetic.layout import layout_scene
from kit.vision.synthetic.rendering import render
from kit.vision.synthetic.scene import Scene, SceneObject, random_code
from kit.vision.synthetic.sequence import iter_sequence, render_sequence

__all__ = [
    "CATEGORIES",
    "DATA_VERSION",
    "SPLITS",
    "Scene",
    "SceneObject",
    "generate",
    "layout_scene",
    "random_code",
    "render",
    "render_code_crop",
    "iter_sequence",
    "render_sequence",
    "truth_detector",
    "write_clip",
]
