"""default_layer picks the block output that feeds the classifier head, per architecture."""

from __future__ import annotations

import warnings

import pytest
import torch
import torchvision
from torch import nn

import xai_tutor
from xai_tutor.hooks import capture
from xai_tutor.methods import default_layer

from conftest import make_small

# (torchvision builder, expected default layer, channels of its output)
EXPECTED = [
    ("densenet121", "features.norm5", 1024),
    ("mobilenet_v2", "features.18", 1280),
    ("googlenet", "inception5b", 1024),
    ("efficientnet_b0", "features.8", 1280),
    ("convnext_tiny", "features.7", 768),
    ("resnet18", "layer4", 512),
    ("vgg11", "features.19", 512),
]


def build(name: str) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # googlenet's note on its weight initialisation
        return getattr(torchvision.models, name)(weights=None).eval()


@pytest.mark.parametrize("name,layer,channels", EXPECTED)
def test_block_output_feeding_the_head(name, layer, channels):
    model = build(name)
    assert default_layer(model) == layer
    # it is the last spatial map: its output is what the head turns into logits
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad(), capture(model, layer) as cap:
        model(x)
    act = cap.require()
    assert act.dim() == 4 and act.shape[1] == channels


def test_densenet_gradcam_uses_the_block_output():
    model = build("densenet121")
    e = xai_tutor.explain(model, torch.rand(1, 3, 64, 64), "gradcam")
    assert e.layer == "features.norm5" and e.attribution.shape == (1, 2, 2)


@pytest.mark.parametrize("name", ["vit_b_16", "swin_t"])
def test_models_without_a_spatial_map_before_the_head_are_refused(name):
    model = build(name)
    with pytest.raises(ValueError, match=type(model).__name__ + ".*layer="):
        default_layer(model)
    with pytest.raises(ValueError, match="layer="):
        xai_tutor.explain(model, torch.rand(1, 3, 224, 224), "gradcam")


def test_course_attribute_and_plain_sequential_behaviour_kept():
    assert default_layer(make_small("vgg")) == "features.7"
    assert default_layer(torchvision.models.vgg16(weights=None)) == "features.29"
    seq = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    assert default_layer(seq) == "1"
    with pytest.raises(ValueError, match="no Conv2d"):
        default_layer(nn.Sequential(nn.Flatten(), nn.Linear(12, 2)))
