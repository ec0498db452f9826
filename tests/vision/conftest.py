"""Fixtures shared by the vision tests."""
import pytest

#: torchvision builds these with frozen batch norm when it loads weights: their published files have no num_batches_tracked.
FROZEN_BN = {"fcos", "faster_rcnn_resnet50", "faster_rcnn_mobilenet_v3_large"}


@pytest.fixture
def published_file(tmp_path):
    """``published_file(arch, kind) -> (path, state)``: a random-weight file laid out like torchvision's published
    one (built by torchvision's own constructors), saved under the file name its weights enum gives."""
    torch = pytest.importorskip("torch")

    def make(arch: str, kind: str):
        from torchvision import models
        from torchvision.models import detection

        from kit.vision.models.pretrained import published

        pub = published()[arch, kind]
        torch.manual_seed(1)
        if kind == "detector":
            state = getattr(detection, pub.builder)(weights=None, weights_backbone=None, num_classes=91).state_dict()
            if arch in FROZEN_BN:
                state = {k: v for k, v in state.items()
                         if not (k.startswith("backbone.body.") and k.endswith("num_batches_tracked"))}
        else:
            state = getattr(models, pub.file_name.split("-")[0])().state_dict()
        path = tmp_path / pub.file_name
        torch.save(state, path)
        return path, state

    return make
