"""The course's tiny bird classifiers: held-out accuracy at 626 x 418, architecture contracts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xai_tutor.data import SPECIES, load_image, make_scene
from xai_tutor.models import load_model
from xai_tutor.models.tiny import BasicBlock, TinyResNet, TinyVGG
from xai_tutor.train import TRAIN_SEED_OFFSET, VAL_SEED_OFFSET

# Seeds far from the training (1_000_000 + i) and validation (500_000 + i) seeds.
TEST_SEEDS = range(20_000, 20_096)
assert max(TEST_SEEDS) < VAL_SEED_OFFSET < TRAIN_SEED_OFFSET


@pytest.fixture(scope="module")
def held_out():
    """96 fresh single-bird scenes at 626 x 418, six per species."""
    images, labels = [], []
    for i, seed in enumerate(TEST_SEEDS):
        species = SPECIES[i % len(SPECIES)]
        scene = make_scene("single", species=species, seed=seed)
        assert scene.image.size == (626, 418)
        images.append(load_image(scene.image)[0])
        labels.append(i % len(SPECIES))
    return torch.cat(images), torch.tensor(labels)


@pytest.mark.parametrize("name", ["tiny_vgg", "tiny_resnet"])
def test_held_out_accuracy_at_scene_size(name, held_out):
    images, labels = held_out
    model = load_model(name)
    with torch.no_grad():
        predicted = torch.cat([model(images[i:i + 16]).argmax(1) for i in range(0, 96, 16)])
    accuracy = float((predicted == labels).float().mean())
    pairs = zip(labels.tolist(), predicted.tolist())
    wrong = [(SPECIES[t], SPECIES[p]) for t, p in pairs if t != p]
    assert accuracy >= 0.95, f"{name}: accuracy {accuracy:.3f}; mistakes (true, predicted) {wrong}"


@pytest.mark.parametrize("name", ["tiny_vgg", "tiny_resnet"])
def test_pair_scenes_rank_the_birds_that_are_there(name):
    """Trained with some pair / flock scenes (split targets), the models rank present birds high.

    On 12 pairs: the top 1 is one of the two species on >= 50 %; for tiny_resnet both species
    are in its top 3 on >= 80 % (the tiny_vgg of commit 4aa4435 managed 33 % on 24 pairs, so
    that is not asked of tiny_vgg).
    """
    model = load_model(name)
    top1, both = [], []
    for seed in range(30_000, 30_012):
        scene = make_scene("pair", seed=seed)
        if scene.species[0] == scene.species[1]:
            continue
        with torch.no_grad():
            top = model(load_image(scene.image)[0]).topk(3, dim=1).indices[0].tolist()
        present = [SPECIES.index(s) for s in scene.species]
        top1.append(top[0] in present)
        both.append(all(i in top for i in present))
    assert np.mean(top1) >= 0.5, top1
    if name == "tiny_resnet":
        assert np.mean(both) >= 0.8, both


def test_tiny_vgg_is_a_vgg_with_vggs_head():
    model = TinyVGG(num_classes=len(SPECIES)).eval()
    kinds = [type(m).__name__ for m in model.features]
    assert set(kinds) == {"Conv2d", "ReLU", "MaxPool2d"}
    assert all(m.inplace for m in model.features if isinstance(m, torch.nn.ReLU))
    assert kinds[int(model.default_layer.split(".")[1])] == "ReLU"
    assert kinds.index("Conv2d") == 0 and "Conv2d" not in kinds[int(TinyVGG.default_layer[9:]):]
    head = [type(m).__name__ for m in model.classifier]
    assert head == ["Linear", "ReLU", "Dropout", "Linear"]  # VGG16's head, one hidden layer less
    assert model.avgpool.output_size == 3
    # logits == W2 relu(W1 flatten(pool_3x3(A)) + b1) + b2 (dropout is off in eval mode)
    x = torch.randn(2, 3, 96, 128)
    fc1, fc2 = model.classifier[0], model.classifier[3]
    with torch.no_grad():
        feats = model.features(x)
        cells = torch.nn.functional.adaptive_avg_pool2d(feats, 3).flatten(1)
        expected = torch.relu(cells @ fc1.weight.T + fc1.bias) @ fc2.weight.T + fc2.bias
        torch.testing.assert_close(model(x), expected)
        # unlike a GAP + linear head, the logits are not linear in the spatial mean of A
        assert fc2.in_features != feats.shape[1]


def test_tiny_resnet_blocks_add_identity_in_place():
    model = TinyResNet(num_classes=len(SPECIES)).eval()
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 4 and blocks[0].downsample is None
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in blocks[0].modules())
    # a block computes relu(bn2(conv2(relu(bn1(conv1 x)))) + x) when the shape is kept
    block = blocks[0]
    x = torch.randn(1, block.conv1.in_channels, 9, 11)
    with torch.no_grad():
        inner = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x)))))
        torch.testing.assert_close(block(x.clone()), torch.relu(inner + x))
