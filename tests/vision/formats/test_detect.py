"""Recognising the format from the folder, and the notebook's dataset parameter."""
import pytest

from kit.errors import InputDataError
from kit.vision.formats import detect
from kit.vision.notebook import PARAMETERS, prepare_dataset


def test_each_format_is_recognised(scenes, export):
    folder, _ = scenes
    assert detect(folder) == ("coco", folder)
    assert detect(folder / "annotations.json") == ("coco", folder / "annotations.json")
    for fmt in ("yolo", "voc", "cvat"):
        d = export(fmt)
        assert detect(d)[0] == fmt
        assert prepare_dataset(d, "unused", 1.0, 0, 64) == d  # the notebook takes it as it is


def test_unknown_folder_and_file(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputDataError, match=r"no known format \(found \['notes.txt'\]\); expected COCO"):
        detect(tmp_path)
    with pytest.raises(InputDataError, match="not COCO .json, YOLO .yaml or CVAT .xml"):
        detect(tmp_path / "notes.txt")
    with pytest.raises(InputDataError, match="does not exist"):
        prepare_dataset(tmp_path / "nowhere", "unused", 1.0, 0, 64)


def test_the_parameter_names_every_format():
    help_text = PARAMETERS["dataset"].doc
    for word in ("COCO", "YOLO", "Pascal VOC", "CVAT"):
        assert word in help_text
    assert "=" not in help_text  # papermill skips a parameter line with '=' in its comment
