"""The explorer under hostile input and bad timing.

A background run whose inputs changed while it ran is not drawn over the new inputs; uploads take
the same path as files (transparency on white), are refused by their declared size before
decoding, and large photos are shown at a bounded size with a lasting note; an image that cannot
be read gives a message, not a crash; the cost label reads the real parameters.
"""

from __future__ import annotations

import dataclasses
import io
import math
import threading

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin
from test_widgets import _explorer, _image, _upload

import xai_tutor
from xai_tutor.methods import MethodInfo
from xai_tutor.methods.inputs import check_images
from xai_tutor.methods.progress import progress
from xai_tutor.methods.targets import resolve_target
from xai_tutor.widgets import Explorer, Job, Runner, Session
from xai_tutor.widgets.controls import UploadError, read_upload

from conftest import make_small


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------- stale runs


def _slow(started: threading.Event, release: threading.Event) -> MethodInfo:
    """An expensive method that waits for ``release`` inside its progress loop."""

    def slow(model, images, target=None, layer=None):
        x = check_images(images)
        with torch.no_grad():
            t = resolve_target(model(x), target)
        for _ in progress(range(3), False, "slow"):
            started.set()
            release.wait(5)
        e = xai_tutor.METHODS["gradient"].fn(model, x, target=t)
        return dataclasses.replace(e, method="slow")

    return MethodInfo("slow", slow, "pixel", "a slow test method", expensive=True)


def test_a_run_finishing_after_the_image_changed_is_not_drawn_over_it():
    started, release = threading.Event(), threading.Event()
    methods = dict(xai_tutor.METHODS, slow=_slow(started, release))
    ex = _explorer(methods=methods, method="gradient", background=True)
    ex.method.value = "slow"
    ex.run_button.click()
    assert started.wait(5)
    ex.image.value = "image:b"  # while the slow run works on image a
    release.set()
    assert ex.wait(10)
    # the map of image a is not shown over image b
    assert ex.discarded is not None and ex.discarded[0].image == "image:a"
    assert ex.last_explanation is None or ex.last_explanation.method != "slow"
    assert "inputs changed" in ex.status.value and "press Run" in ex.status.value
    # it was cached under its own inputs: going back to image a shows it without a run
    ex.image.value = "image:a"
    assert ex.last_explanation.method == "slow" and ex.last_jobs[0].image == "image:a"
    assert "image:a" in ex.caption.value
    x, _ = ex.current_image
    direct = xai_tutor.explain(ex.current_model, x, "gradient").saliency[0].double().numpy()
    np.testing.assert_allclose(ex.last_saliency, direct, atol=1e-6)


def test_a_run_finishing_after_a_parameter_changed_is_discarded():
    started, release = threading.Event(), threading.Event()
    methods = dict(xai_tutor.METHODS, slow=_slow(started, release))
    ex = _explorer(methods=methods, method="gradient", background=True)
    shown = ex.last_figure.copy()
    ex.method.value = "slow"
    ex.run_button.click()
    assert started.wait(5)
    ex.target_text.value = "3"  # another class while it runs
    release.set()
    assert ex.wait(10)
    assert ex.discarded is not None and ex.discarded[0].target != 3
    np.testing.assert_array_equal(ex.last_figure, shown)  # nothing drawn


def test_runner_reports_errors_and_cancels():
    runner, seen = Runner(), []
    runner.start(lambda: 1 / 0, lambda result, error: seen.append(type(error).__name__))
    assert runner.wait(5) and seen == ["ZeroDivisionError"]
    assert not runner.cancel()  # nothing runs


def test_jobs_name_every_input():
    job = Job("image:a", ("m", 1), "scorecam", "layer4", 3, (("batch_size", 8),))
    assert job != dataclasses.replace(job, image="image:b")
    assert "image:a" in job.describe() and "layer4" in job.describe()


# ----------------------------------------------------------------------------- images


def test_transparent_upload_is_composited_on_white_like_load_image(tmp_path):
    rgba = np.zeros((24, 40, 4), np.uint8)  # transparent black ...
    rgba[6:18, 10:30] = (200, 30, 30, 255)  # ... around an opaque red box
    data = _png_bytes(Image.fromarray(rgba, "RGBA"))
    ex = _explorer(method="gradient", scenes=True)
    ex.upload.value = _upload("clear.png", data)
    assert ex.message == ""
    _, shown = ex.current_image
    assert (shown[0, 0] == 255).all() and tuple(shown[10, 20]) == (200, 30, 30)
    path = tmp_path / "clear.png"
    path.write_bytes(data)
    x, expected = xai_tutor.load_image(path)
    np.testing.assert_array_equal(shown, expected)
    torch.testing.assert_close(ex.current_image[0], x)


def test_upload_declaring_a_huge_size_is_refused_before_decoding(monkeypatch):
    data = _png_bytes(Image.new("1", (12000, 12000)))  # tiny file, 144 megapixels declared
    assert len(data) < 200_000

    def no_decoding(self):
        raise AssertionError("the upload was decoded before its size was checked")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_decoding)
    with pytest.raises(UploadError, match="declares 12000x12000 pixels"):
        read_upload(_upload("bomb.png", data))
    ex = _explorer(method="gradient", scenes=True)
    ex.upload.value = _upload("bomb.png", data)
    assert "declares 12000x12000" in ex.message and ex.image.value == "image:a"


def test_large_photo_is_resized_with_a_note_that_stays():
    wide = np.linspace(0, 255, 2400, dtype=np.uint8)[None, :, None].repeat(1200, 0).repeat(3, 2)
    ex = _explorer(method="gradient", max_side=512, scenes=True)
    ex.upload.value = _upload("big.png", _png_bytes(Image.fromarray(wide)))
    assert ex.message == ""
    assert ex.current_image[1].shape == (256, 512, 3) and ex.last_saliency.shape == (256, 512)
    note = "big.png is 2400x1200 pixels: shown and explained at 512x256"
    assert any(note in n for n in ex.notes) and note in ex.notes_line.value
    ex.method.value = "gradcam"  # updates rewrite the status line, not the notes
    assert note in ex.notes_line.value
    # images given in code go through the same bound
    ex2 = _explorer(images={"big": wide}, method="gradient", max_side=300)
    assert ex2.current_image[1].shape == (150, 300, 3)
    assert any("image 'big' is 2400x1200" in n for n in ex2.notes)


def test_image_that_cannot_be_read_gives_a_message_not_a_crash():
    with pytest.raises(ValueError, match="none of the images could be loaded.*"
                                         "/nonexistent.png"):
        Explorer(images={"bad": "/nonexistent.png"}, scenes=False,
                 models={"small": make_small("vgg")}, background=False)
    ex = _explorer(images={"bad": "/nonexistent.png", "a": _image(0)}, method="gradient")
    assert ex.message == "" and ex.image.value == "image:a"
    assert [v for _, v in ex.image.options] == ["image:a"]
    assert any("bad" in n and "/nonexistent.png" in n for n in ex.notes)


def test_skipped_models_note_survives_updates(monkeypatch):
    import xai_tutor.models as models

    def load_model(name):
        if name == "missing":
            raise xai_tutor.WeightsUnavailableError("no weights for 'missing'")
        return make_small("vgg")

    monkeypatch.setattr(models, "load_model", load_model)
    ex = Explorer(models=["missing", "small"], images={"a": _image(0)}, scenes=False,
                  method="gradient", background=False)
    assert ex.model.value == "small" and ex.last_explanation.method == "gradient"
    assert "skipped models: missing" in ex.notes_line.value  # after the first update
    ex.method.value = "gradcam"
    assert ex.message == "" and "skipped models: missing" in ex.notes_line.value


# ----------------------------------------------------------------------------- cost label


def test_cost_label_reads_the_real_parameters():
    from xai_tutor.methods.cam.scorecam import auto_batch

    ex = _explorer(method="gradcam")
    layer = ex.layer.value
    channels = ex.layer_shapes()[layer][1]
    # Score-CAM: one forward per channel, in the batches it picks itself for this image
    # (not a fixed 32), or the batch size set
    batch = auto_batch(ex.current_image[0])[0]
    assert ex.cost("scorecam", layer) == \
        f"~{channels} forwards in {math.ceil(channels / batch)} batches"
    assert ex.cost("scorecam", layer, {"batch_size": 4}) == \
        f"~{channels} forwards in {math.ceil(channels / 4)} batches"
    # Ablation-CAM re-runs only the layers after the target layer
    label = ex.cost("ablationcam", layer)
    assert f"passes through the layers after {layer}" in label and "forwards" not in label
    # SmoothGrad: the parameter is n
    assert ex.cost("smoothgrad", None, {"n": 4}).startswith("~4 ")
    ex.method.value = "smoothgrad"
    ex.param_widgets["n"].value = 7
    assert "~7 forward/backward" in ex.status.value


def test_session_cost_defaults_come_from_the_method():
    session = Session(xai_tutor.METHODS)
    assert session.default("smoothgrad", "n", None) == 25
    assert session.cost("smoothgradcampp", None, {}, dict).startswith("~25 ")
    big = torch.zeros(1, 3, 300, 300)  # over 256 x 256 pixels: Score-CAM picks batches of 8
    shapes = {"conv": (1, 64, 10, 10)}
    assert session.cost("scorecam", "conv", {}, lambda: shapes, big) == \
        "~64 forwards in 8 batches"


def test_read_upload_takes_the_ipywidgets_7_value_colab_hands_over():
    """ipywidgets 7 (Colab) gives {name: {"metadata": {...}, "content": bytes}}; 8 a tuple."""
    from xai_tutor.widgets.controls import read_upload

    data = _png_bytes(Image.fromarray(np.full((12, 16, 3), 90, np.uint8)))
    v7 = {"bird.png": {"metadata": {"name": "bird.png", "type": "image/png"}, "content": data}}
    v8 = ({"name": "bird.png", "type": "image/png", "content": memoryview(data)},)
    for value in (v7, v8):
        name, img = read_upload(value)
        assert name == "bird.png" and img.size == (16, 12)
