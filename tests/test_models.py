"""Model registry: names, errors, offline behaviour, checksums, attributes of every loaded model."""

from __future__ import annotations

import json
import os
import shutil
import warnings

import pytest
import torch
import torchvision

from xai_tutor.hooks import find_layer
from xai_tutor.models import (
    CUE_MODEL_NAMES,
    CUE_MODELS,
    MODEL_NAMES,
    OFFLINE_TRIO,
    UncommittedWeightsWarning,
    WeightsChecksumError,
    WeightsUnavailableError,
    available_models,
    committed_sha256,
    course_models,
    imagenet_classes,
    load_model,
    models_dir,
)
from xai_tutor.models import imagenet as imagenet_module


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    """A torch cache without any weights and a weights host that does not answer."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("XAI_TUTOR_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.delenv("XAI_TUTOR_MODELS", raising=False)
    monkeypatch.setattr(imagenet_module, "probe_host", lambda url, timeout=2.0: False)
    return tmp_path / "torch"


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError) as info:
        load_model("resnet19")
    for name in MODEL_NAMES:
        assert name in str(info.value)
    with pytest.raises(TypeError):
        load_model(18)


def test_bad_device_is_a_value_error():
    with pytest.raises(ValueError, match="device"):
        load_model("tiny_vgg", device="gpu-please")


@pytest.mark.parametrize("name", ["vgg16", "resnet18", "resnet50"])
def test_missing_imagenet_weights_raise_a_clear_error(empty_torch_home, name):
    with pytest.raises(WeightsUnavailableError) as info:
        load_model(name)
    message = str(info.value)
    expected_file = imagenet_module.weights_path(name)
    assert expected_file.name in message
    assert str(empty_torch_home / "hub" / "checkpoints") in message
    assert "download" in message and "tiny_vgg" in message
    assert name not in available_models()


def test_probe_of_a_closed_port_is_false():
    # nothing listens on the discard port of the loopback address
    assert imagenet_module.probe_host("http://127.0.0.1:9/x.pth", timeout=0.5) is False


def test_cached_imagenet_weights_load_without_network(empty_torch_home):
    """A file in the cache is used as is (random weights here, saved under the real name)."""
    path = imagenet_module.weights_path("resnet18")
    path.parent.mkdir(parents=True)
    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), path)
    assert "resnet18" in available_models()
    model = load_model("resnet18")
    assert not model.training
    assert model.default_layer == "layer4" and len(model.class_names) == 1000
    for (k, a), b in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), k


def test_course_models_fall_back_to_the_offline_trio(empty_torch_home, monkeypatch):
    models = course_models()
    assert list(models) == list(OFFLINE_TRIO)
    monkeypatch.setenv("XAI_TUTOR_MODELS", "imagenet")
    with pytest.raises(WeightsUnavailableError):
        course_models()
    monkeypatch.setenv("XAI_TUTOR_MODELS", "cloud")
    with pytest.raises(ValueError, match="imagenet"):
        course_models()


def test_imagenet_classes():
    classes = imagenet_classes()
    assert len(classes) == 1000
    assert classes[130] == "flamingo" and classes[145] == "king penguin"


def test_offline_models_are_available():
    assert set(OFFLINE_TRIO) <= set(available_models())


@pytest.mark.parametrize("name", OFFLINE_TRIO)
def test_loaded_models_have_names_and_a_default_layer(name):
    from xai_tutor.data import SPECIES

    model = load_model(name)
    assert not model.training
    layer_name, layer = find_layer(model, model.default_layer)
    expected = 1000 if name == "efficientnet_lite0" else len(SPECIES)
    assert len(model.class_names) == expected
    if expected == len(SPECIES):
        assert model.class_names == list(SPECIES)
    seen = {}
    def record(module, inputs, output):
        seen["shape"] = output.shape

    handle = layer.register_forward_hook(record)
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, 3, 418, 626))
    finally:
        handle.remove()
    assert out.shape == (1, expected)
    assert len(seen["shape"]) == 4 and seen["shape"][2] >= 7 and seen["shape"][3] >= 7


def _copy_models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    shutil.copytree(models_dir(), folder)
    monkeypatch.setenv("XAI_TUTOR_MODELS_DIR", str(folder))
    return folder


def test_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    folder = _copy_models(tmp_path, monkeypatch)
    weights = folder / "tiny_vgg.pt"
    data = bytearray(weights.read_bytes())
    data[-20] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsChecksumError, match="SHA-256"):
        load_model("tiny_vgg")
    load_model("tiny_resnet")  # the other file is intact


def test_missing_tiny_weights_say_how_to_get_them(tmp_path, monkeypatch):
    folder = _copy_models(tmp_path, monkeypatch)
    (folder / "tiny_resnet.pt").unlink()
    with pytest.raises(WeightsUnavailableError, match="xai_tutor.train"):
        load_model("tiny_resnet")
    assert "tiny_resnet" not in available_models()


@pytest.mark.parametrize(
    "text, why",
    [
        ("{not json", "not valid JSON"),
        ('["tiny_vgg.pt"]', "JSON list"),
        ('{"tiny_vgg": "tiny_vgg.pt"}', "str for 'tiny_vgg'"),
        ('{"tiny_vgg": {"file": "tiny_vgg.pt"}}', "no 'sha256'"),
        ('{"tiny_vgg": {"file": "tiny_vgg.pt", "sha256": "abc"}}', "64 hex"),
        ('{"tiny_vgg": {"file": "../tiny_vgg.pt", "sha256": "' + "0" * 64 + '"}}', "outside"),
        ('{"tiny_vgg": {"file": "/etc/passwd", "sha256": "' + "0" * 64 + '"}}', "outside"),
    ],
)
def test_broken_models_json_is_one_clear_error(tmp_path, monkeypatch, text, why):
    folder = _copy_models(tmp_path, monkeypatch)
    (folder / "models.json").write_text(text)
    with pytest.raises(WeightsChecksumError) as info:
        load_model("tiny_vgg")
    message = str(info.value)
    assert str(folder / "models.json") in message and why in message
    assert "git checkout models.json" in message and "--force" in message
    assert "tiny_vgg" not in available_models()


def test_committed_weights_load_without_a_warning():
    sums = committed_sha256()
    names = ("tiny_vgg", "tiny_resnet", *CUE_MODEL_NAMES)
    assert set(sums) == {f"{name}.pt" for name in names}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in names:
            load_model(name)
    meta = json.loads((models_dir() / "models.json").read_text())
    assert {meta[n]["sha256"] for n in meta} == set(sums.values())


def test_retrained_weights_load_with_a_warning(tmp_path, monkeypatch):
    """Weights written with a matching models.json entry (what train --force does) still warn."""
    folder = _copy_models(tmp_path, monkeypatch)
    state = torch.load(folder / "tiny_vgg.pt", weights_only=True)
    state["classifier.3.bias"] += 0.5
    torch.save(state, folder / "tiny_vgg.pt")
    meta = json.loads((folder / "models.json").read_text())
    meta["tiny_vgg"]["sha256"] = imagenet_module_sha(folder / "tiny_vgg.pt")
    (folder / "models.json").write_text(json.dumps(meta))
    with pytest.warns(UncommittedWeightsWarning, match="git checkout data/models"):
        model = load_model("tiny_vgg")
    assert torch.equal(model.classifier[3].bias, state["classifier.3.bias"])


def imagenet_module_sha(path):
    from xai_tutor.train import sha256_of

    return sha256_of(path)


def test_weights_of_another_architecture_are_a_clear_error(tmp_path, monkeypatch):
    folder = _copy_models(tmp_path, monkeypatch)
    shutil.copy(folder / "tiny_resnet.pt", folder / "tiny_vgg.pt")
    meta = json.loads((folder / "models.json").read_text())
    meta["tiny_vgg"]["sha256"] = meta["tiny_resnet"]["sha256"]
    (folder / "models.json").write_text(json.dumps(meta))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncommittedWeightsWarning)
        with pytest.raises(WeightsUnavailableError, match="does not fit .*TinyVGG.*--force"):
            load_model("tiny_vgg")


def _stand_in(name: str) -> None:
    """A file of the right size that the cheap check accepts (a legacy pickle header)."""
    path = imagenet_module.weights_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = int(imagenet_module.weights_enum(name).meta["_file_size"] * 2**20)
    with open(path, "wb") as fh:
        fh.write(b"\x80\x02")
        fh.truncate(size)  # sparse: no disk space used


def test_truncated_imagenet_weights_are_not_available(empty_torch_home):
    """A download cut short must not count as cached: course_models falls back offline."""
    _stand_in("vgg16")
    _stand_in("resnet50")
    path = imagenet_module.weights_path("resnet18")
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    assert {"vgg16", "resnet18", "resnet50"} <= set(available_models())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "resnet18" not in available_models()
    assert list(course_models()) == list(OFFLINE_TRIO)
    with pytest.raises(WeightsUnavailableError, match="incomplete or damaged"):
        load_model("resnet18")
    for stamp, content, ok in ((1, data[:-100], False),  # the zip's directory is cut off
                               (2, b"\0" * len(data), False),  # neither a zip nor a pickle
                               (3, data, True)):
        path.write_bytes(content)
        os.utime(path, ns=(stamp * 10**9, stamp * 10**9))  # the check is cached per mtime
        assert ("resnet18" in available_models()) is ok, stamp


class _Payload:
    """Unpickling this would create a file: a weights file must never get that far."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_payload_with_a_matching_sha256_is_not_loaded(tmp_path, monkeypatch):
    folder = _copy_models(tmp_path, monkeypatch)
    marker = tmp_path / "payload-ran"
    torch.save({"features.0.weight": _Payload(marker)}, folder / "tiny_vgg.pt")
    meta = json.loads((folder / "models.json").read_text())
    meta["tiny_vgg"]["sha256"] = imagenet_module_sha(folder / "tiny_vgg.pt")
    (folder / "models.json").write_text(json.dumps(meta))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncommittedWeightsWarning)
        with pytest.raises(WeightsUnavailableError) as info:
            load_model("tiny_vgg")
    message = str(info.value)
    assert "not a plain weights file" in message and "was not loaded" in message
    assert "GLOBAL" in message and "git checkout tiny_vgg.pt" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not marker.exists()


def test_a_weights_file_that_is_not_a_state_dict_is_refused(tmp_path, monkeypatch):
    folder = _copy_models(tmp_path, monkeypatch)
    torch.save([torch.zeros(3)], folder / "tiny_vgg.pt")
    meta = json.loads((folder / "models.json").read_text())
    meta["tiny_vgg"]["sha256"] = imagenet_module_sha(folder / "tiny_vgg.pt")
    (folder / "models.json").write_text(json.dumps(meta))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncommittedWeightsWarning)
        with pytest.raises(WeightsUnavailableError, match="holds a list, not a state dict"):
            load_model("tiny_vgg")


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda", 1)])
def test_cuda_on_a_machine_without_it_is_a_clear_error(monkeypatch, device):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA GPU, but torch sees none.*device='cpu'"):
        load_model("tiny_vgg", device=device)


def test_a_cuda_index_beyond_the_devices_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="has 1 CUDA device"):
        load_model("tiny_resnet", device="cuda:3")


@pytest.mark.parametrize("name", CUE_MODEL_NAMES)
def test_cue_models_load_like_the_course_models(name):
    from xai_tutor.data import SPECIES
    from xai_tutor.models.tiny import ARCHITECTURES

    model = load_model(name)
    architecture = ARCHITECTURES[CUE_MODELS[name].architecture]
    assert type(model) is architecture and not model.training
    assert model.name == name and model.default_layer == architecture.default_layer
    assert model.class_names == list(SPECIES)
    meta = json.loads((models_dir() / "models.json").read_text())[name]
    assert meta["scene_size"] == [320, 224] and meta["epochs"] >= 1 and "command" in meta
    assert (models_dir() / meta["file"]).stat().st_size < 1_500_000  # course-model sized
