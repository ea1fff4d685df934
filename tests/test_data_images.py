"""load_image: every input mode, EXIF rotation, resizing, normalisation, clear errors."""

from __future__ import annotations

import re
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from xai_tutor.data import IMAGENET_MEAN, IMAGENET_STD, denormalise, load_image, to_display


def _rgb(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _check(x: torch.Tensor, shown: np.ndarray, h: int, w: int) -> None:
    assert x.dtype == torch.float32 and tuple(x.shape) == (1, 3, h, w)
    assert shown.dtype == np.uint8 and shown.shape == (h, w, 3)
    # independent float64 formula: (pixel / 255 - mean) / std
    mean = np.asarray(IMAGENET_MEAN, np.float64)
    std = np.asarray(IMAGENET_STD, np.float64)
    expected = (shown.astype(np.float64) / 255.0 - mean) / std
    np.testing.assert_allclose(x[0].permute(1, 2, 0).double().numpy(), expected, atol=1e-5)


def test_uint8_array_and_round_trip():
    img = _rgb()
    x, shown = load_image(img)
    _check(x, shown, 24, 32)
    assert np.array_equal(shown, img)
    back = (denormalise(x) * 255.0).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(back, img)
    assert np.array_equal(to_display(x), img)
    assert np.array_equal(to_display(x[0]), img)


def test_path_pil_and_channels_first(tmp_path):
    img = _rgb(seed=1)
    path = tmp_path / "bird.png"
    Image.fromarray(img).save(path)
    for source in (path, str(path), Image.fromarray(img), np.moveaxis(img, -1, 0)):
        x, shown = load_image(source)
        _check(x, shown, 24, 32)
        assert np.array_equal(shown, img)
    x, shown = load_image(torch.from_numpy(img).permute(2, 0, 1).float() / 255.0)
    assert np.array_equal(shown, img)


def test_rgba_composited_on_white():
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:8, :, 3] = 255  # top opaque red-ish, bottom fully transparent
    rgba[8:12, :, 3] = 128
    for source in (rgba, Image.fromarray(rgba, "RGBA")):
        _, shown = load_image(source)
        assert (shown[:8] == [200, 0, 0]).all()
        assert (shown[12:] == 255).all()
        half = 128 / 255
        assert np.abs(shown[9, 0].astype(float) - [200 * half + 255 * (1 - half),
                                                    255 * (1 - half), 255 * (1 - half)]).max() <= 1


def test_grayscale_palette_and_bool():
    gray = np.arange(16 * 16, dtype=np.uint8).reshape(16, 16)
    for source in (gray, gray[..., None], Image.fromarray(gray, "L")):
        x, shown = load_image(source)
        _check(x, shown, 16, 16)
        assert (shown == gray[..., None]).all()
    pal = Image.fromarray(_rgb(16, 16, 2)).convert("P", palette=Image.ADAPTIVE, colors=8)
    _, shown = load_image(pal)
    assert np.array_equal(shown, np.asarray(pal.convert("RGB")))
    pal.info["transparency"] = 0
    _, shown = load_image(pal)
    assert (shown[np.asarray(pal) == 0] == 255).all()
    mask = np.zeros((10, 12), bool)
    mask[2:5] = True
    _, shown = load_image(mask)
    assert (shown[2:5] == 255).all() and (shown[5:] == 0).all()


def test_sixteen_bit(tmp_path):
    ramp = (np.arange(20 * 30, dtype=np.uint16).reshape(20, 30) * 100).astype(np.uint16)
    expected = (ramp / 65535.0 * 255.0 + 0.5).astype(np.uint8)
    _, shown = load_image(ramp)
    assert np.array_equal(shown[..., 1], expected)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith("I")
    _, shown = load_image(path)
    assert np.array_equal(shown[..., 0], expected)
    _, shown = load_image(Image.frombytes("I;16", (30, 20), ramp.astype("<u2").tobytes()))
    assert np.array_equal(shown[..., 2], expected)


def test_float_arrays():
    f = np.random.default_rng(3).random((12, 14, 3))
    _, shown = load_image(f)
    assert np.array_equal(shown, (f * 255 + 0.5).astype(np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        load_image(f * 255)
    bad = f.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        load_image(bad)


def test_exif_orientation(tmp_path):
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)  # left red
    stored[:, 20:] = (0, 0, 255)  # right blue
    im = Image.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    im.save(path, exif=exif.tobytes(), quality=95)
    _, shown = load_image(path)
    assert shown.shape == (40, 20, 3)
    assert shown[5, 10, 0] > 200 and shown[5, 10, 2] < 60  # top is the stored left: red
    assert shown[35, 10, 2] > 200 and shown[35, 10, 0] < 60


def test_resize():
    x, shown = load_image(_rgb(30, 40), size=(64, 48))
    _check(x, shown, 48, 64)
    with pytest.raises(ValueError, match="too small"):
        load_image(_rgb(), size=(4, 4))
    with pytest.raises(TypeError, match="width, height"):
        load_image(_rgb(), size=64)


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_bad_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match="not an image") as info:
        load_image(text)
    assert str(text) in str(info.value)

    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=str(empty).replace("\\", "\\\\")):
        load_image(empty)

    good = tmp_path / "good.png"
    Image.fromarray(_rgb(64, 64, 4)).save(good)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated or corrupt") as info:
        load_image(truncated)
    assert str(truncated) in str(info.value)

    jpg = tmp_path / "good.jpg"
    Image.fromarray(_rgb(64, 64, 5)).save(jpg)
    cut_jpg = tmp_path / "cut.jpg"
    cut_jpg.write_bytes(jpg.read_bytes()[:300])
    with pytest.raises(ValueError, match="cut.jpg"):
        load_image(cut_jpg)

    with pytest.raises(ValueError, match="folder"):
        load_image(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        load_image(tmp_path / "missing.png")

    tiny = tmp_path / "tiny.png"
    Image.fromarray(_rgb(4, 4)).save(tiny)
    with pytest.raises(ValueError, match="too small") as info:
        load_image(tiny)
    assert str(tiny) in str(info.value)

    huge = tmp_path / "huge.png"  # only a header: the size check must come before decoding
    huge.write_bytes(_png_header(8000, 7000))
    with pytest.raises(ValueError, match="too large") as info:
        load_image(huge)
    assert str(huge) in str(info.value)
    wide = tmp_path / "wide.png"
    wide.write_bytes(_png_header(12000, 20))
    with pytest.raises(ValueError, match="too large"):
        load_image(wide)


def test_bad_arrays_and_types():
    with pytest.raises(ValueError, match="empty"):
        load_image(np.zeros((0, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="too small"):
        load_image(np.zeros((5, 40, 3), np.uint8))
    with pytest.raises(ValueError, match="too large"):
        load_image(np.broadcast_to(np.uint8(0), (7100, 7100)))
    with pytest.raises(ValueError, match="shape"):
        load_image(np.zeros((16, 16, 2), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        load_image(np.zeros((2, 16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="integer image values"):
        load_image(np.full((16, 16), -3, np.int32))
    with pytest.raises(TypeError, match="file path, a PIL image or a numpy array"):
        load_image(42)
    with pytest.raises(ValueError, match="too small"):
        load_image(Image.new("RGB", (3, 30)))
    with pytest.raises(ValueError, match="denormalise expects"):
        denormalise(torch.zeros(2, 5, 5))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float8_e4m3fn, torch.complex64])
def test_tensor_of_a_dtype_numpy_lacks_names_it_and_says_what_to_pass(dtype):
    x = torch.rand(3, 16, 16).to(dtype)
    name = str(dtype)
    with pytest.raises(TypeError, match=re.escape(name)) as info:
        load_image(x)
    assert "x.float()" in str(info.value) and "[0, 1]" in str(info.value)
    # the advice works: the same picture as a float32 tensor loads
    if not dtype.is_complex:
        got, shown = load_image(x.float())
        assert got.dtype == torch.float32 and shown.shape == (16, 16, 3)


def test_half_precision_tensor_loads_like_float32():
    x = torch.rand(3, 16, 16).half()
    _, shown = load_image(x)
    _, ref_shown = load_image(x.float())
    np.testing.assert_array_equal(shown, ref_shown)
