"""Rebuild the curated image assets of ``data/birds`` and ``data/occluders`` and the course scenes.

Source: Debian package ``tuxpaint-stamps-default`` 2022.06.04-1 (GPL-2). Extract it first::

    apt-get download tuxpaint-stamps-default
    dpkg-deb -x tuxpaint-stamps-default_2022.06.04-1_all.deb /tmp/tux/x
    python scripts/make_data_assets.py --stamps /tmp/tux/x

``--scenes-only`` skips the stamps and rewrites ``data/scenes`` from the current code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from xai_tutor.data.backgrounds import smooth_noise
from xai_tutor.data.birds import BIRDS, data_dir
from xai_tutor.data.occluders import OCCLUDERS
from xai_tutor.data.scenes import write_course_scenes

MAX_SIDE = 400  # keeps the committed PNGs small


def _crop_to_alpha(rgba: Image.Image) -> Image.Image:
    alpha = np.asarray(rgba)[..., 3]
    ys, xs = np.nonzero(alpha > 8)
    return rgba.crop((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))


def _save(im: Image.Image, path: Path) -> None:
    if max(im.size) > MAX_SIDE:
        scale = MAX_SIDE / max(im.size)
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, optimize=True)
    print(f"wrote {path} {im.size}")


def make_birds(stamps: Path, out: Path) -> None:
    for bird in BIRDS.values():
        with Image.open(stamps / bird.source_file) as im:
            _save(_crop_to_alpha(im.convert("RGBA")), out / bird.file)


def _feather(rgba: Image.Image, sides: tuple[bool, bool, bool, bool]) -> Image.Image:
    """Thin the foliage out towards the sides where the crop cut through it (no straight edges).

    Pixels closer to a cut side than a wavy (seeded noise) line, about 8 % in, are removed.
    """
    arr = np.asarray(rgba).astype(np.float32)
    h, w = arr.shape[:2]
    rng = np.random.default_rng(0)
    wobble = smooth_noise(rng, w, h, cells=(8, 8), octaves=4)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dists = [(xx, w), (yy, h), (w - 1 - xx, w), (h - 1 - yy, h)]
    keep = np.ones((h, w), np.float32)
    for cut, (d, n) in zip(sides, dists):
        if cut:  # a 1.5 px anti-aliased edge along d / n = 0.08 + 0.06 * wobble
            keep *= np.clip((d - (0.08 + 0.06 * wobble) * n) / 1.5, 0.0, 1.0)
    arr[..., 3] *= keep
    return Image.fromarray(arr.round().astype(np.uint8), "RGBA")


def make_occluders(stamps: Path, out: Path) -> None:
    for occ in OCCLUDERS.values():
        with Image.open(stamps / occ.source_file) as im:
            rgba = im.convert("RGBA")
        w, h = rgba.size
        x0, y0, x1, y1 = occ.crop
        rgba = rgba.crop((round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)))
        cut_sides = (x0 > 0, y0 > 0, x1 < 1, y1 < 1)
        _save(_crop_to_alpha(_feather(rgba, cut_sides)), out / occ.file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stamps", type=Path, default=Path("/tmp/tux/x"),
                        help="root of the extracted Debian package")
    parser.add_argument("--scenes-only", action="store_true")
    args = parser.parse_args()
    root = data_dir()
    if not args.scenes_only:
        make_birds(args.stamps, root / "birds")
        make_occluders(args.stamps, root / "occluders")
    for path in write_course_scenes(root / "scenes"):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
