"""Data inputs checked at the door: scene seeds, huge files refused from their header, max_side,
one RGB conversion for files and uploads."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from xai_tutor.data import (
    ImageResizedWarning,
    check_declared_size,
    load_image,
    make_scene,
    to_rgb,
)
from xai_tutor.data.images import fit_within


def _png_header(width: int, height: int, idat: bytes = b"") -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IDAT", idat) if idat else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + body + chunk(b"IEND", b"")


# ---------------------------------------------------------------------- make_scene seeds


@pytest.mark.parametrize(
    "seed, error, text",
    [
        (3.7, TypeError, r"seed must be an int >= 0.*got 3.7 \(float\)"),
        (3.0, TypeError, "got 3.0"),
        ("abc", TypeError, "got 'abc'"),
        (True, TypeError, "got True"),
        (-1, ValueError, "seed must be an int >= 0 .*got -1"),
        ([1], TypeError, "got \\[1\\]"),
    ],
)
def test_make_scene_rejects_bad_seeds(seed, error, text) -> None:
    with pytest.raises(error, match=text):
        make_scene("single", seed=seed, size=(96, 64))


def test_make_scene_seed_none_is_random_and_recorded() -> None:
    a = make_scene("single", seed=None, size=(96, 64))
    b = make_scene("single", seed=None, size=(96, 64))
    assert isinstance(a.seed, int) and a.seed >= 0 and a.seed != b.seed
    again = make_scene("single", seed=a.seed, size=(96, 64))
    assert np.array_equal(np.asarray(again.image), np.asarray(a.image))
    numpy_seed = make_scene("single", seed=np.int64(5), size=(96, 64))
    assert numpy_seed.seed == 5 and type(numpy_seed.seed) is int
    assert np.array_equal(np.asarray(numpy_seed.image),
                          np.asarray(make_scene("single", seed=5, size=(96, 64)).image))


# ---------------------------------------------------------------------- declared sizes


def test_huge_declared_image_is_refused_from_its_header(tmp_path) -> None:
    """Over PIL's 179-megapixel bomb limit: our ValueError naming the file, not PIL's error."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header(15000, 15000, idat=zlib.compress(b"\0" * 1000)))
    for call in (lambda: load_image(bomb), lambda: check_declared_size(bomb)):
        with pytest.raises(ValueError, match="too large: 15000 x 15000 pixels") as info:
            call()
        assert str(bomb) in str(info.value)
        assert type(info.value) is ValueError  # not PIL's DecompressionBombError
    assert Image.MAX_IMAGE_PIXELS is not None  # PIL's own limit is restored


def test_check_declared_size_reads_bytes_and_files_without_decoding() -> None:
    data = _png_header(12000, 12000, idat=b"garbage that would not decode")
    with pytest.raises(ValueError, match=r"upload.png") as info:
        check_declared_size(data, max_pixels=50_000_000, name="upload.png")
    assert "12000 x 12000" in str(info.value) and "truncated" not in str(info.value)
    buf = io.BytesIO()
    Image.new("RGB", (640, 480)).save(buf, "PNG")
    assert check_declared_size(buf.getvalue()) == (640, 480)
    buf.seek(0)
    assert check_declared_size(buf) == (640, 480)
    with pytest.raises(ValueError, match=r"0.3 megapixels"):
        check_declared_size(buf.getvalue(), max_pixels=300_000, name="small limit")
    with pytest.raises(ValueError, match="not an image"):
        check_declared_size(b"hello", name="notes.txt")
    with pytest.raises(TypeError, match="path, bytes or a binary file"):
        check_declared_size(3)


# ---------------------------------------------------------------------- max_side


def test_max_side_shrinks_keeping_aspect_with_a_warning(tmp_path) -> None:
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), np.uint8)).save(photo)
    with pytest.warns(ImageResizedWarning, match=r"photo.png: 400 x 300 resized to 128 x 96"):
        x, shown = load_image(photo, max_side=128)
    assert tuple(x.shape) == (1, 3, 96, 128) and shown.shape == (96, 128, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # small enough: no resize, no warning
        x, shown = load_image(photo, max_side=400)
    assert shown.shape == (300, 400, 3)
    with pytest.raises(ValueError, match="not both"):
        load_image(photo, size=(64, 64), max_side=128)
    with pytest.raises(TypeError, match="max_side must be an int"):
        load_image(photo, max_side=12.5)
    with pytest.raises(ValueError, match="max_side must lie in"):
        load_image(photo, max_side=0)
    assert fit_within(4000, 3000, 1024) == (1024, 768)
    assert fit_within(3000, 4000, 1024) == (768, 1024)
    assert fit_within(100, 50, 1024) == (100, 50)


# ---------------------------------------------------------------------- one RGB path


def test_to_rgb_is_the_load_image_path_transparency_on_white(tmp_path) -> None:
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 1] = 180
    rgba[:8, :, 3] = 255
    rgba[8:12, :, 3] = 100
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    with Image.open(path) as im:
        shown_upload = np.asarray(to_rgb(im))
        black = np.asarray(im.convert("RGB"))  # what the explorer used to show
    _, shown_file = load_image(path)
    assert np.array_equal(shown_upload, shown_file)
    assert (shown_upload[12:] == 255).all()  # transparent -> white
    assert (black[12:] == [0, 180, 0]).all()  # PIL's convert keeps the colour: not white
    assert (shown_upload[:8] == [0, 180, 0]).all()
    # palette with a transparent index and gray + alpha go the same way
    pal = Image.fromarray(rgba, "RGBA").convert("P")
    assert np.array_equal(np.asarray(to_rgb(pal)), load_image(pal)[1])
    la = Image.fromarray(rgba[..., [1, 3]], "LA")
    assert np.array_equal(np.asarray(to_rgb(la)), load_image(la)[1])
    assert to_rgb(la).mode == "RGB"
    with pytest.raises(TypeError, match="PIL image"):
        to_rgb(rgba)
