"""Seeded bird scenes with per-instance ground truth: ``single``, ``pair`` and ``flock``.

A scene is drawn back to front: a procedural background (``backgrounds.py``), the bird
cut-outs (``birds.py``) from the farthest (highest on the image) to the nearest, and, in a
flock, foreground foliage (``occluders.py``). Each instance keeps the mask of the pixels where
it is *visible* in the final image,

    visible_i = alpha_i > 0.5  and not (alpha_j > 0.5 for any layer j drawn after i),

and its box is the bounding box of that mask. Placements are drawn again (seeded) until every
bird keeps a good share of its pixels visible, so no listed bird is (almost) hidden. The same
seed always gives the same pixels; numpy and PIL only, a 626 x 418 scene takes a few tens of
milliseconds.

Example::

    >>> from xai_tutor.data import make_scene
    >>> scene = make_scene("pair", species=["toucan", "flamingo"], seed=3)
    >>> scene.species, scene.masks.shape
    (['toucan', 'flamingo'], (2, 418, 626))
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .backgrounds import BACKGROUNDS, GROUND_KINDS, make_background
from .birds import BIRDS, SPECIES, check_species, data_dir, load_cutout
from .occluders import load_occluder

KINDS: tuple[str, ...] = ("single", "pair", "flock")
# What ``make_scene(..., omit=...)`` can leave out: every bird, every shadow / reflection
# (the ground effects), every foreground foliage sprite with its branch.
OMITTABLE: tuple[str, ...] = ("birds", "ground", "foliage")
DEFAULT_SIZE: tuple[int, int] = (626, 418)
_TRIES = 40
_FLOCK_MIN_VISIBLE = 0.35  # share of its own pixels each flock bird keeps in view
_PAIR_MAX_OVERLAP = 0.03

# The three canonical course scenes (chosen by eye: recognisable birds, natural look).
COURSE_SCENES: dict[str, dict] = {
    "single": {"species": "flamingo", "seed": 1, "background": "water"},
    "pair": {"species": ["toucan", "flamingo"], "seed": 1, "background": "meadow"},
    "flock": {"species": None, "seed": 3, "background": "meadow"},
}


@dataclass
class Scene:
    """A generated scene and its ground truth.

    ``masks`` (N, H, W) bool are the visible pixels of each bird after occlusion; ``boxes``
    (N, 4) int are their half-open boxes (x0, y0, x1, y1): ``masks[i]`` is zero outside
    ``[y0:y1, x0:x1]`` and touches every side of it. ``occluder`` (H, W) bool marks foreground
    foliage. ``visible_fraction`` (N,) is the share of each bird's own pixels left in view.
    """

    image: Image.Image
    kind: str
    species: list[str]
    imagenet_ids: list[int | None]
    masks: np.ndarray
    boxes: np.ndarray
    seed: int
    background: str = ""
    occluder: np.ndarray | None = field(default=None, repr=False)
    visible_fraction: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(W, H) of the image."""
        return self.image.size

    def mask_of(self, species: str) -> np.ndarray:
        """Union of the visible masks of every instance of ``species`` (H, W) bool."""
        check_species(species)
        picked = [m for s, m in zip(self.species, self.masks) if s == species]
        if not picked:
            return np.zeros(self.masks.shape[1:], bool)
        return np.logical_or.reduce(picked)

    def label_map(self) -> np.ndarray:
        """(H, W) uint8: 0 background, i + 1 where instance i is visible, 255 foliage."""
        labels = np.zeros(self.masks.shape[1:], np.uint8)
        if self.occluder is not None:
            labels[self.occluder] = 255
        for i, m in enumerate(self.masks):
            labels[m] = i + 1
        return labels


# --------------------------------------------------------------------------- drawing helpers


def _sprite(rgba: np.ndarray, height: float, max_width: float, flip: bool, angle: float = 0.0):
    """Resize (and flip / rotate) a cut-out; returns float RGB (h, w, 3) and alpha (h, w)."""
    im = Image.fromarray(rgba, "RGBA")
    if flip:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    scale = min(height / im.height, max_width / im.width)
    w, h = max(2, round(im.width * scale)), max(2, round(im.height * scale))
    im = im.resize((w, h), Image.LANCZOS if scale < 1 else Image.BICUBIC)
    if angle:
        im = im.rotate(angle, Image.BICUBIC, expand=True)
    arr = np.asarray(im, np.float32)
    return arr[..., :3], arr[..., 3] / 255.0


def _clip(x: int, y: int, w: int, h: int, width: int, height: int):
    """Overlap of a (w, h) sprite at (x, y) with the canvas: canvas and sprite slices."""
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))


def _mask_at(alpha: np.ndarray, x: int, y: int, width: int, height: int) -> np.ndarray:
    full = np.zeros((height, width), bool)
    cut = _clip(x, y, alpha.shape[1], alpha.shape[0], width, height)
    if cut is not None:
        full[cut[0]] = alpha[cut[1]] > 0.5
    return full


def _paste(canvas: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    cut = _clip(x, y, alpha.shape[1], alpha.shape[0], canvas.shape[1], canvas.shape[0])
    if cut is None:
        return
    dst, src = cut
    a = alpha[src][..., None]
    canvas[dst] = canvas[dst] * (1.0 - a) + rgb[src] * a


def _shadow(canvas: np.ndarray, x: int, y: int, w: int, h: int, strength: float = 0.35) -> None:
    """Soft contact shadow under a standing bird whose box is (x, y, w, h)."""
    cx, cy, rx, ry = x + w / 2, y + h - 0.02 * h, 0.42 * w, max(0.05 * h, 3.0)
    height, width = canvas.shape[:2]
    y0, y1 = int(max(cy - 2 * ry, 0)), int(min(cy + 2 * ry, height))
    x0, x1 = int(max(cx - 1.5 * rx, 0)), int(min(cx + 1.5 * rx, width))
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    dark = 1.0 - strength * np.exp(-1.5 * d)
    canvas[y0:y1, x0:x1] *= dark[..., None]


def _reflection(canvas: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """A faint, fading mirror image of a bird standing on water, below its feet."""
    h = alpha.shape[0]
    fade = np.linspace(0.35, 0.0, h, dtype=np.float32)[:, None]
    tint = np.asarray((40, 80, 100), np.float32)
    _paste(canvas, 0.6 * rgb[::-1] + 0.4 * tint, alpha[::-1] * fade, x, y + h)


def _ground_effect(canvas, rgb, alpha, x, y, bg: str, strength: float = 0.35,
                  omit: frozenset = frozenset()) -> None:
    """Shadow on a meadow, reflection on water, nothing in the sky or foliage."""
    if "ground" in omit:
        return
    h, w = alpha.shape
    if bg == "water":
        _reflection(canvas, rgb, alpha, x, y)
    elif bg in GROUND_KINDS:
        _shadow(canvas, x, y, w, h, strength)


def _boxes(masks: np.ndarray) -> np.ndarray:
    boxes = np.zeros((len(masks), 4), np.int64)
    for i, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        boxes[i] = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    return boxes


# --------------------------------------------------------------------------- species choice


def _species_list(kind: str, species, rng: np.random.Generator) -> list[str]:
    if kind == "single":
        count = 1
    elif kind == "pair":
        count = 2
    else:
        count = int(rng.integers(5, 10))
    if species is None:
        if kind == "flock":
            pool = rng.choice(len(SPECIES), size=int(rng.integers(2, 4)), replace=False)
            return [SPECIES[int(pool[rng.integers(len(pool))])] for _ in range(count)]
        return [SPECIES[int(i)] for i in rng.integers(len(SPECIES), size=count)]
    if isinstance(species, str):
        return [check_species(species)] * count
    if isinstance(species, Sequence):
        names = [check_species(s) for s in species]
        if kind == "flock" and not 2 <= len(names) <= 12:
            raise ValueError(
                f"a flock takes 2 to 12 species names (one per bird), got {len(names)}"
            )
        if kind != "flock" and len(names) != count:
            raise ValueError(
                f"a {kind!r} scene has {count} bird(s); pass {count} species name(s), "
                f"got {len(names)}"
            )
        return names
    raise TypeError(
        f"species must be None, a species name or a list of names, got {type(species).__name__}"
    )


def _check_size(size) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise TypeError(f"size must be a (width, height) pair of ints, got {size!r}") from None
    if not (64 <= width <= 4096 and 64 <= height <= 4096):
        raise ValueError(f"size must be between 64 and 4096 pixels per side, got {size!r}")
    return width, height


# --------------------------------------------------------------------------- layouts


class _Layout:
    """Birds and foliage drawn in order, with the visible mask of every bird kept up to date.

    Layers named in ``omit`` (see :data:`OMITTABLE`) are not pasted, but everything else
    (random draws, masks) happens as if they were, so the rest of the scene stays the same.
    """

    def __init__(self, canvas: np.ndarray, omit: frozenset = frozenset()):
        self.canvas = canvas
        self.omit = omit
        self.height, self.width = canvas.shape[:2]
        self.visible: list[np.ndarray] = []
        self.area: list[int] = []
        self.occluder = np.zeros((self.height, self.width), bool)

    def fractions_if_covered(self, cover: np.ndarray) -> list[float]:
        return [
            float(np.count_nonzero(v & ~cover)) / a for v, a in zip(self.visible, self.area)
        ]

    def add_bird(self, rgb, alpha, x, y) -> None:
        mask = _mask_at(alpha, x, y, self.width, self.height)
        self._cover(mask)
        if "birds" not in self.omit:
            _paste(self.canvas, rgb, alpha, x, y)
        self.visible.append(mask)
        self.area.append(max(int(np.count_nonzero(mask)), 1))

    def add_occluder(self, rgb, alpha, x, y, mask) -> None:
        self._cover(mask)
        if "foliage" not in self.omit:
            _paste(self.canvas, rgb, alpha, x, y)
        self.occluder |= mask

    def _cover(self, mask: np.ndarray) -> None:
        for v in self.visible:
            v &= ~mask


def _bird_y(rng, h: int, height: int, ground: bool, low: float) -> int:
    """Top row of a bird of height h: standing in the lower part on ground, anywhere in sky."""
    if ground:
        bottom = rng.uniform(max(low * height, h + 0.02 * height), 0.985 * height)
        return int(round(bottom - h))
    return int(round(rng.uniform(0.02 * height, max(0.98 * height - h, 0.02 * height))))


def _layout_single(rng, layout, names, bg, flip_all):
    ground = bg in GROUND_KINDS
    width, height = layout.width, layout.height
    rgb, alpha = _sprite(
        load_cutout(names[0]), rng.uniform(0.65, 0.85) * height, 0.9 * width, flip_all(rng)
    )
    h, w = alpha.shape
    x = int(round(rng.uniform(0.03 * width, max(0.97 * width - w, 0.03 * width))))
    y = _bird_y(rng, h, height, ground, 0.72)
    _ground_effect(layout.canvas, rgb, alpha, x, y, bg, omit=layout.omit)
    layout.add_bird(rgb, alpha, x, y)


def _layout_pair(rng, layout, names, bg, flip_all):
    ground = bg in GROUND_KINDS
    width, height = layout.width, layout.height
    sprites = [
        _sprite(load_cutout(n), rng.uniform(0.32, 0.48) * height, 0.45 * width, flip_all(rng))
        for n in names
    ]
    ys = [_bird_y(rng, s[1].shape[0], height, ground, 0.62) for s in sprites]
    order = np.argsort([y + s[1].shape[0] for y, s in zip(ys, sprites)], kind="stable")
    first_left = bool(rng.integers(2))
    placed: list[np.ndarray] = []
    for rank, i in enumerate(order):
        rgb, alpha = sprites[i]
        h, w = alpha.shape
        left = (rank == 0) == first_left
        lo, hi = (0.02 * width, 0.55 * width - w) if left else (0.45 * width, 0.98 * width - w)
        best = None
        for _ in range(_TRIES):
            x = int(round(rng.uniform(lo, max(hi, lo))))
            mask = _mask_at(alpha, x, ys[i], width, height)
            overlap = max(
                (np.count_nonzero(mask & p) / min(np.count_nonzero(p), mask.sum()) for p in placed),
                default=0.0,
            )
            if best is None or overlap < best[0]:
                best = (overlap, x)
            if overlap <= _PAIR_MAX_OVERLAP:
                break
        x = best[1]
        _ground_effect(layout.canvas, rgb, alpha, x, ys[i], bg, omit=layout.omit)
        layout.add_bird(rgb, alpha, x, ys[i])
        placed.append(_mask_at(alpha, x, ys[i], width, height))
    # report instances in the order of ``names``
    return [int(i) for i in order]


_FOLIAGE = ("leafy_branch", "leafy_crown", "oak_foliage", "birch_twigs", "holly")


def _branch(rng, width: int, height: int, target: tuple[float, float]):
    """A tapered, gently curved branch from the nearest image edge to ``target`` (x, y).

    Returns float RGB (h, w, 3), alpha (h, w) and the (x, y) of their top-left corner.
    """
    tx, ty = target
    gaps = [tx, width - tx, ty]  # left, right, top
    side = int(np.argmin(np.asarray(gaps) + rng.uniform(0, 0.25 * width, 3)))
    if side == 0:
        start = (-10.0, ty + rng.uniform(-0.3, 0.3) * height)
    elif side == 1:
        start = (width + 10.0, ty + rng.uniform(-0.3, 0.3) * height)
    else:
        start = (tx + rng.uniform(-0.3, 0.3) * width, -10.0)
    (x0, y0), (x1, y1) = start, (tx, ty)
    nx, ny = -(y1 - y0), x1 - x0  # perpendicular: bend the branch a little
    bend = rng.uniform(-0.15, 0.15)
    cx, cy = (x0 + x1) / 2 + bend * nx, (y0 + y1) / 2 + bend * ny
    t = np.linspace(0.0, 1.0, 16)
    xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1
    ys = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1
    thick = rng.uniform(0.014, 0.024) * height
    layer = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(layer)
    for i in range(len(t) - 1):
        w = max(2, int(round(thick * (1.0 - 0.6 * t[i]))))
        draw.line([(xs[i], ys[i]), (xs[i + 1], ys[i + 1])], fill=255, width=w, joint="curve")
        draw.ellipse((xs[i] - w / 2, ys[i] - w / 2, xs[i] + w / 2, ys[i] + w / 2), fill=255)
    bark = np.asarray((92, 72, 55), np.float32) + rng.uniform(-12, 12, 3)
    grain = 1.0 + 0.15 * rng.standard_normal((height, 1)).astype(np.float32)
    box = layer.getbbox()
    if box is None:
        return np.zeros((1, 1, 3), np.float32), np.zeros((1, 1), np.float32), 0, 0
    x0, y0, x1, y1 = max(box[0] - 2, 0), max(box[1] - 2, 0), box[2] + 2, box[3] + 2
    layer = layer.crop((x0, y0, x1, y1)).filter(ImageFilter.GaussianBlur(0.6))
    alpha = np.asarray(layer, np.float32) / 255.0
    rows = grain[y0 : y0 + alpha.shape[0]]
    rows = np.pad(rows, ((0, alpha.shape[0] - len(rows)), (0, 0)), mode="edge")
    rgb = np.broadcast_to(bark * rows[..., None], (*alpha.shape, 3))
    return rgb, alpha, x0, y0


def _layout_flock(rng, layout, names, bg, flip_all):
    ground = bg in GROUND_KINDS
    width, height = layout.width, layout.height
    n = len(names)
    sizes = rng.uniform(0.17, 0.27, size=n) * height  # sqrt of each bird's box area
    sprites = []
    for name, sz in zip(names, sizes):
        cut = load_cutout(name)
        tall = float(np.sqrt(cut.shape[0] / cut.shape[1]))
        sprites.append(_sprite(cut, min(sz * tall, 0.45 * height), 0.35 * width, flip_all(rng)))
    ys = [_bird_y(rng, s[1].shape[0], height, ground, 0.5) for s in sprites]
    order = [int(i) for i in np.argsort([y + s[1].shape[0] for y, s in zip(ys, sprites)])]
    kept: list[int] = []
    boxes: list[tuple[int, int, int, int]] = []
    for i in order:
        rgb, alpha = sprites[i]
        h, w = alpha.shape
        for _ in range(_TRIES):
            if boxes and rng.random() < 0.75:  # next to a bird already there: overlaps
                bx, _, bw, _ = boxes[int(rng.integers(len(boxes)))]
                x = bx + bw / 2 + rng.choice([-1, 1]) * rng.uniform(0.25, 0.75) * (bw + w) / 2
                x = int(round(x - w / 2))
            else:
                x = int(round(rng.uniform(0.01 * width, 0.99 * width - w)))
            x = int(np.clip(x, 0, width - w))
            mask = _mask_at(alpha, x, ys[i], width, height)
            if min(layout.fractions_if_covered(mask), default=1.0) >= _FLOCK_MIN_VISIBLE:
                break
        else:
            continue  # no room for this bird: leave it out
        _ground_effect(layout.canvas, rgb, alpha, x, ys[i], bg, strength=0.25,
                       omit=layout.omit)
        layout.add_bird(rgb, alpha, x, ys[i])
        kept.append(i)
        boxes.append((x, ys[i], w, h))
    # foreground foliage on branches coming in from an edge, hiding parts of some birds
    for _ in range(int(rng.integers(2, 4))):
        name = _FOLIAGE[int(rng.integers(len(_FOLIAGE)))]
        for _ in range(_TRIES):
            bx, by, bw, bh = boxes[int(rng.integers(len(boxes)))]
            rgb, alpha = _sprite(
                load_occluder(name), rng.uniform(0.25, 0.45) * height, 0.4 * width,
                bool(rng.integers(2)), rng.uniform(-30, 30),
            )
            h, w = alpha.shape
            angle = rng.uniform(0, 2 * np.pi)
            reach = rng.uniform(0.55, 0.9) * (np.hypot(w, h) + np.hypot(bw, bh)) / 2
            cx = bx + bw / 2 + reach * np.cos(angle)
            cy = by + bh / 2 + reach * np.sin(angle)
            x, y = int(round(cx - w / 2)), int(round(cy - h / 2))
            mask = _mask_at(alpha, x, y, width, height)
            after = layout.fractions_if_covered(mask)
            if min(after, default=1.0) < _FLOCK_MIN_VISIBLE or all(f >= 0.95 for f in after):
                continue
            branch_rgb, branch_alpha, ox, oy = _branch(rng, width, height, (cx, cy))
            branch_mask = _mask_at(branch_alpha, ox, oy, width, height)
            mask |= branch_mask
            if min(layout.fractions_if_covered(mask), default=1.0) >= _FLOCK_MIN_VISIBLE:
                layout.add_occluder(branch_rgb, branch_alpha, ox, oy, branch_mask)
                layout.add_occluder(rgb, alpha, x, y, mask)
                break
    return kept


# --------------------------------------------------------------------------- public API


def _check_seed(seed: Any) -> int:
    """A scene seed: an int >= 0 as given, or a fresh random one for ``None``."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint32)[0])
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"seed must be an int >= 0 (or None for a random scene); got {seed!r} "
            f"({type(seed).__name__})"
        )
    if seed < 0:
        raise ValueError(f"seed must be an int >= 0 (or None for a random scene); got {seed}")
    return int(seed)


def _check_omit(omit: Any) -> frozenset:
    """The set of layer names of ``omit`` (a name or a collection of names of OMITTABLE)."""
    names = [omit] if isinstance(omit, str) else omit
    try:
        names = frozenset(names)
    except TypeError:
        raise TypeError(
            f"omit must be a collection of layer names from {OMITTABLE}, got {omit!r}"
        ) from None
    unknown = sorted(str(n) for n in names - set(OMITTABLE))
    if unknown:
        raise ValueError(f"omit: unknown layer(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(OMITTABLE)}")
    return names


def make_scene(
    kind: str,
    species: str | Sequence[str] | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    seed: int | None = 0,
    *,
    background: str | None = None,
    flip: bool = True,
    omit: Collection[str] = (),
) -> Scene:
    """Generate a seeded bird scene with visible-pixel masks and boxes per bird.

    ``kind``: "single" (one large bird, 65-85 % of the image height), "pair" (two birds side by
    side, little or no overlap) or "flock" (5-9 birds overlapping each other, partly hidden
    behind foreground foliage). ``species``: None (seeded random choice from ``SPECIES``), one
    name (every bird) or a list of names, one per bird (a flock then has that many birds, fewer
    if a bird finds no place where it keeps 35 % of itself in view; ``scene.species`` says).
    ``size`` = (W, H). ``background``: one of "sky", "meadow", "water", "foliage" or None
    (seeded choice). ``flip``: allow seeded mirror images of the cut-outs. ``seed``: an int
    ``>= 0`` (NumPy integers too); ``None`` draws a fresh random seed, recorded in
    ``scene.seed`` so the scene can be made again. Anything else (``3.7``, ``-1``, ``"abc"``,
    ``True``) is refused: ``TypeError`` for a non-integer, ``ValueError`` for a negative one.

    ``omit``: layers of :data:`OMITTABLE` to leave out of the image: ``"birds"``, ``"ground"``
    (the shadow of a bird on a meadow, its reflection on water) and ``"foliage"``. The scene is
    otherwise drawn exactly as without ``omit`` (same random draws, same background, same
    places), and its ``masks`` and ``boxes`` stay those of the full scene, so the image shows
    the same scene *without* that object: an intervention that needs no inpainting.

    >>> scene = make_scene("single", species="toucan", seed=1)
    >>> scene.image.size, scene.boxes.shape
    ((626, 418), (1, 4))
    >>> empty = make_scene("single", species="toucan", seed=1, omit=["birds"])
    >>> import numpy as np
    >>> changed = (np.asarray(scene.image) != np.asarray(empty.image)).any(-1)
    >>> bool(changed[scene.masks[0]].all()), bool(changed[~scene.masks[0]].any())
    (True, True)
    """
    if kind not in KINDS:
        raise ValueError(f"unknown scene kind {kind!r}; choose one of {', '.join(KINDS)}")
    width, height = _check_size(size)
    if background is not None and background not in BACKGROUNDS:
        raise ValueError(f"unknown background {background!r}; choose one of {BACKGROUNDS}")
    seed = _check_seed(seed)
    omit = _check_omit(omit)
    rng = np.random.default_rng(seed)
    names = _species_list(kind, species, rng)
    bg = background or BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    canvas = make_background(bg, (width, height), rng)
    layout = _Layout(canvas, omit)

    def flip_all(r):
        return bool(flip and r.integers(2))

    if kind == "single":
        _layout_single(rng, layout, names, bg, flip_all)
        order = [0]
    elif kind == "pair":
        order = _layout_pair(rng, layout, names, bg, flip_all)
    else:
        order = _layout_flock(rng, layout, names, bg, flip_all)
    # list instances in the order they were named (drawing order may differ)
    rank = sorted(range(len(order)), key=lambda j: order[j])
    masks = np.stack([layout.visible[j] for j in rank])
    keep = masks.reshape(len(masks), -1).any(axis=1)
    masks = masks[keep]
    fractions = np.asarray([layout.visible[j].sum() / layout.area[j] for j in rank])[keep]
    chosen = [names[order[j]] for j, k in zip(rank, keep) if k]
    image = Image.fromarray(np.clip(layout.canvas + 0.5, 0, 255).astype(np.uint8), "RGB")
    return Scene(
        image=image,
        kind=kind,
        species=chosen,
        imagenet_ids=[BIRDS[s].imagenet_id for s in chosen],
        masks=masks,
        boxes=_boxes(masks),
        seed=seed,
        background=bg,
        occluder=layout.occluder,
        visible_fraction=fractions,
    )


def course_scenes() -> dict[str, Scene]:
    """The three canonical course scenes, keyed "single", "pair" and "flock".

    They are also stored in ``data/scenes`` (image, label map and JSON) for viewing.
    """
    return {kind: make_scene(kind, **params) for kind, params in COURSE_SCENES.items()}


def scene_record(scene: Scene) -> dict:
    """The JSON-able description of a scene (species, ImageNet ids, boxes, seed, ...)."""
    return {
        "kind": scene.kind,
        "seed": scene.seed,
        "size": list(scene.image.size),
        "background": scene.background,
        "species": list(scene.species),
        "imagenet_ids": list(scene.imagenet_ids),
        "boxes": scene.boxes.tolist(),
        "labels": "label PNG: 0 background, i + 1 visible pixels of instance i, 255 foliage",
    }


def write_course_scenes(folder: str | Path | None = None) -> list[Path]:
    """Write ``<kind>.png``, ``<kind>_labels.png`` and ``<kind>.json`` for each course scene."""
    folder = Path(folder) if folder is not None else data_dir() / "scenes"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, scene in course_scenes().items():
        scene.image.save(folder / f"{kind}.png", optimize=True)
        Image.fromarray(scene.label_map(), "L").save(folder / f"{kind}_labels.png", optimize=True)
        items = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in scene_record(scene).items()]
        (folder / f"{kind}.json").write_text("{\n" + ",\n".join(items) + "\n}\n")
        written += [folder / f"{kind}.png", folder / f"{kind}_labels.png", folder / f"{kind}.json"]
    return written
