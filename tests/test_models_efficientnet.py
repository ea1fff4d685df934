"""EfficientNet-Lite0: TF "SAME" padding, exactness of the port, ImageNet predictions on birds.

Preprocessing for the bird check (documented in the module docstring of the test helpers below):
the scene is ImageNet-normalised by ``load_image``; a square crop centred on the bird's box, with
side 1.2 x the box's longer side (clipped to the image), is resized to 224 x 224 (bilinear,
antialiased), the resolution Lite0 was trained at. On the whole 626 x 418 scene the small
mobile network is dominated by the background (a bird covers about a tenth of the area) and its
top-1 class is rarely a bird, so the crop is needed for an ImageNet-class check.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from xai_tutor.data import BIRDS, load_image, make_scene
from xai_tutor.models import imagenet_classes, load_model
from xai_tutor.models.efficientnet_lite import EfficientNetLite0, SamePad2d, weights_file

SEEDS = range(5)
TOP1 = ["flamingo", "king_penguin", "toucan", "vulture", "magpie", "lorikeet", "rooster"]
# On these scenes the (exact) port ranks pelican behind "black stork" and peacock behind
# "jacamar" / "black stork": the true class is in the top 5 but not first.
TOP5 = ["pelican", "peacock"]


@pytest.fixture(scope="module")
def lite0():
    return load_model("efficientnet_lite0")


def bird_crop(scene, margin: float = 1.2, size: int = 224) -> torch.Tensor:
    x, _ = load_image(scene.image)
    x0, y0, x1, y1 = (int(v) for v in scene.boxes[0])
    height, width = x.shape[-2:]
    side = min(int(max(x1 - x0, y1 - y0) * margin), height, width)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    left = min(max(cx - side // 2, 0), width - side)
    top = min(max(cy - side // 2, 0), height - side)
    crop = x[..., top:top + side, left:left + side]
    return F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True,
                         align_corners=False)


@pytest.mark.parametrize("n", [7, 8, 9, 224, 225, 418, 626])
@pytest.mark.parametrize("kernel", [3, 5])
def test_same_padding_gives_ceil_n_over_stride(n, kernel):
    pad = SamePad2d(kernel, 2)
    conv = torch.nn.Conv2d(1, 1, kernel, stride=2, bias=False)
    y = conv(pad(torch.zeros(1, 1, n, n + 1)))
    assert tuple(y.shape[-2:]) == (-(-n // 2), -(-(n + 1) // 2))
    # TF puts the odd extra pixel at the bottom/right
    top, bottom = pad._pads(n)
    assert bottom - top in (0, 1) and top + bottom == max((-(-n // 2) - 1) * 2 + kernel - n, 0)


def test_weights_load_strictly_and_the_model_is_lite():
    model = EfficientNetLite0()
    state = torch.load(weights_file(), map_location="cpu", weights_only=True)
    n_weights = sum(1 for k in state if not k.endswith("num_batches_tracked"))
    assert n_weights == sum(1 for k in model.state_dict() if not k.endswith("num_batches_tracked"))
    kinds = {type(m).__name__ for m in model.modules()}
    assert "ReLU6" in kinds and "SiLU" not in kinds and "Sigmoid" not in kinds  # no SE, no swish
    assert model.stem[1].out_channels == 32 and model.head[0].out_channels == 1280


def test_input_adapter_turns_imagenet_normalisation_into_tf_scaling(lite0):
    pixels = torch.rand(1, 3, 5, 5, dtype=torch.float64)
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(1, 3, 1, 1)
    adapted = lite0.adapt.double()((pixels - mean) / std)
    torch.testing.assert_close(adapted, (pixels * 255.0 - 127.0) / 128.0)


def test_port_matches_the_reference_implementation(lite0):
    """Same logits as the efficientnet_lite_pytorch package (the wheel's own model code)."""
    reference_pkg = pytest.importorskip("efficientnet_lite_pytorch")
    torch.manual_seed(0)
    for size in [(224, 224), (418, 626)]:
        reference = reference_pkg.EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=str(weights_file()), image_size=size
        ).eval()
        x = torch.randn(2, 3, *size)
        with torch.no_grad():
            expected = reference(lite0.adapt(x))
            torch.testing.assert_close(lite0(x), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("species", TOP1 + TOP5)
def test_predicts_the_imagenet_class_of_single_birds(lite0, species):
    target = BIRDS[species].imagenet_id
    k = 1 if species in TOP1 else 5
    hits = []
    for seed in SEEDS:
        scene = make_scene("single", species=species, seed=seed)
        with torch.no_grad():
            top = lite0(bird_crop(scene)).topk(k, dim=1).indices[0].tolist()
        hits.append(target in top)
    names = imagenet_classes()
    assert sum(hits) >= 3, f"{species} ({names[target]}) in top-{k} for only {hits}"
