"""Distillation into the CenterNet student: the loss, the frozen teacher, a short fit, teacher files."""
import pytest

torch = pytest.importorskip("torch")

from kit.errors import InputDataError, ParameterError  # noqa: E402
from kit.vision.data import CocoDetection, eval_transforms  # noqa: E402
from kit.vision.distill import DistilledDetector, Distillation, Withheld, load_teacher  # noqa: E402
from kit.vision.distill_loss import centernet_soft_targets, distillation_loss, render_detections  # noqa: E402
from kit.vision.models import centernet, ssdlite  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from kit.vision.synthetic import generate

    return generate(tmp_path_factory.mktemp("distill"), n_images=12, image_size=64, seed=3, n_code_crops=0,
                    sequence_frames=0, split_fractions=(0.5, 0.25, 0.25))


def _outputs(seed, width=8):
    torch.manual_seed(seed)
    net = centernet(4, width=width, head_channels=16).eval()
    with torch.no_grad():
        return net(torch.rand(2, 3, 64, 64))


def test_loss_is_zero_when_the_student_is_the_teacher_and_positive_otherwise():
    out = _outputs(0)
    total, parts = distillation_loss(out, centernet_soft_targets(out))
    assert float(total) == pytest.approx(0.0, abs=1e-7)
    other = _outputs(1)
    total, parts = distillation_loss(other, centernet_soft_targets(out))
    assert float(total) > 1e-3 and parts["distill_heatmap"] > 0
    # Only the boxes differ: the box term alone is positive.
    moved = {**out, "size": out["size"] + 0.5}
    total, parts = distillation_loss(moved, centernet_soft_targets(out))
    assert parts["distill_heatmap"] == pytest.approx(0.0, abs=1e-7)
    assert parts["distill_box"] == pytest.approx(1.0, rel=1e-4)  # 0.5 cell in width plus 0.5 in height


def test_rendered_detections_peak_at_the_score_with_the_box_size_in_cells():
    det = {"boxes": torch.tensor([[8.0, 8.0, 40.0, 24.0], [40.0, 40.0, 60.0, 60.0]]),
           "scores": torch.tensor([0.8, 0.02]), "labels": torch.tensor([2, 1])}
    soft = render_detections([det], 3, (64, 64))
    assert soft["heatmap"].shape == (1, 3, 16, 16)
    assert float(soft["heatmap"][0, 1].max()) == pytest.approx(0.8)
    assert float(soft["heatmap"][0, 0].max()) == 0.0  # under min_score: not drawn
    assert soft["size"][0, :, 4, 6].tolist() == [8.0, 4.0]
    assert float(soft["weight"].sum()) == pytest.approx(0.8)


def test_gradients_reach_the_student_only(folder):
    torch.manual_seed(0)
    teacher, student = centernet(4, width=8, head_channels=16), centernet(4, width=8, head_channels=16)
    d = Distillation(teacher)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    forward, loss = d.wrap(lambda m, b: m(b[0]), lambda out, b: out["heatmap"].float().mean() * 0)
    x = torch.rand(2, 3, 64, 64)
    outputs = forward(student.train(), (x, [], [], None))
    loss(outputs, (x, [], [], None)).backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert sum(float(p.grad.abs().sum()) for p in student.parameters() if p.grad is not None) > 0


def test_withheld_images_carry_no_labels(folder):
    ds = Withheld(CocoDetection(folder, "train"))
    s = ds[0]
    assert len(s["boxes"]) == 0 and len(s["labels"]) == 0 and s["image"].shape[0] == 3


def test_short_fit_with_a_wide_teacher_and_unlabelled_images(folder, tmp_path):
    torch.set_num_threads(1)
    train, val = CocoDetection(folder, "train"), CocoDetection(folder, "val")
    test = CocoDetection(folder, "test", transforms=eval_transforms(64))
    est = DistilledDetector("centernet_wide", student_width=4, teacher_width=8, teacher_head_channels=16, epochs=1,
                            image_size=64, batch_size=2, seed=1)
    est.fit(train, val, unlabelled=CocoDetection(folder, "val"), checkpoint_dir=tmp_path)
    assert (tmp_path / "best.pt").is_file() and (tmp_path / "teacher" / "best.pt").is_file()
    assert est.teacher_result_ is not None and est.teacher_train_s_["cpu"] > 0
    assert not any(p.requires_grad for p in est.teacher_.parameters())
    assert est.teacher_.stem[0][0].out_channels == 8 and est.model_.stem[0][0].out_channels == 4
    ids, dets = est.predict(test)
    assert sorted(ids) == sorted(int(im["id"]) for im in test.index.images)
    for d in dets:
        assert d["boxes"].shape == (len(d["scores"]), 4) and d["labels"].shape == d["scores"].shape
        assert d["labels"].numel() == 0 or 1 <= int(d["labels"].min()) <= int(d["labels"].max()) <= 4
    assert 0.0 <= est.score(test) <= 1.0
    # The teacher's checkpoint is a teacher file itself.
    again = load_teacher(tmp_path / "teacher" / "best.pt", 4)
    assert sum(p.numel() for p in again.parameters()) == sum(p.numel() for p in est.teacher_.parameters())


def test_a_fine_tuned_torchvision_checkpoint_teaches_through_its_boxes(tmp_path):
    torch.manual_seed(0)
    net = ssdlite(4, image_size=64)
    path = tmp_path / "best.pt"
    torch.save({"model": net.state_dict(), "num_classes": 4, "image_size": 64}, path)
    teacher = load_teacher(path, 4)
    assert teacher.name == "ssdlite" and not teacher.training
    soft = Distillation(teacher).soft_targets(torch.rand(2, 3, 64, 64))
    assert soft["heatmap"].shape == (2, 4, 16, 16) and soft["weight"].shape == (2, 16, 16)
    assert 0.0 <= float(soft["heatmap"].min()) and float(soft["heatmap"].max()) <= 1.0


@pytest.mark.parametrize("what", ["missing", "not_a_detector", "other_classes", "missing_layer"])
def test_bad_teacher_file_is_one_line(tmp_path, what):
    path = tmp_path / "teacher.pt"
    if what == "not_a_detector":
        torch.save({"layer.weight": torch.zeros(2, 2)}, path)
    elif what == "other_classes":
        torch.save(centernet(3, width=8, head_channels=16).state_dict(), path)
    elif what == "missing_layer":
        state = centernet(4, width=8, head_channels=16).state_dict()
        torch.save({k: v for k, v in state.items() if k != "lat16.bias"}, path)
    with pytest.raises(InputDataError) as err:
        load_teacher(path, 4)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_torchvision_student_is_refused(folder):
    from kit.vision.train import train_detector

    with pytest.raises(ParameterError, match="CenterNet student"):
        train_detector(ssdlite(4, image_size=64), CocoDetection(folder, "train"), epochs=1, image_size=64,
                       progress=False, distill=Distillation(centernet(4, width=8, head_channels=16)))


def test_notebook_teacher_parameter(tmp_path):
    from kit.vision.distill import for_notebook
    from kit.vision.notebook import PARAMETERS

    assert PARAMETERS.validate({})["teacher"] == "none"
    assert for_notebook("none", None, None, dataset=None, output_dir=tmp_path, seed=0, image_size=64, epochs=1) is None
    with pytest.raises(ParameterError, match="teacher"):
        PARAMETERS.validate({"teacher": str(tmp_path / "no_such.pt")})
    with pytest.raises(ParameterError, match="centernet"):
        PARAMETERS.validate({"teacher": "centernet_wide", "model": "ssdlite"})
    path = tmp_path / "t.pt"
    torch.save(centernet(4, width=8, head_channels=16).state_dict(), path)
    assert PARAMETERS.validate({"teacher": str(path)})["teacher"] == str(path)


def test_the_notebook_step_loads_a_teacher_file_and_withholds_fresh_scenes(folder, tmp_path):
    from kit.vision.distill import for_notebook

    path = tmp_path / "t.pt"
    torch.save(centernet(4, width=8, head_channels=16).state_dict(), path)
    train = CocoDetection(folder, "train")
    d = for_notebook(str(path), train, None, dataset=None, output_dir=tmp_path, seed=0, image_size=64, epochs=1)
    assert isinstance(d, Distillation) and not any(p.requires_grad for p in d.teacher.parameters())
    assert len(d.unlabelled) == len(train) and len(d.unlabelled[0]["boxes"]) == 0
    assert for_notebook(str(path), train, None, dataset=folder, output_dir=tmp_path, seed=0, image_size=64,
                        epochs=1).unlabelled is None  # the user's data set: the training images only


def test_unlabelled_scenes_are_written_once_and_carry_no_labels(tmp_path):
    from kit.vision.distill import unlabelled_scenes

    first = unlabelled_scenes(tmp_path / "u", 3, seed=1001, image_size=64)
    stamp = (tmp_path / "u" / "annotations.json").stat().st_mtime_ns
    again = unlabelled_scenes(tmp_path / "u", 3, seed=1001, image_size=64)
    assert (tmp_path / "u" / "annotations.json").stat().st_mtime_ns == stamp
    assert len(first) == len(again) == 3 and all(len(again[i]["boxes"]) == 0 for i in range(3))
