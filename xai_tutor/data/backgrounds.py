"""Procedural, natural-looking backgrounds: sky, meadow, water and foliage.

Every background is built from seeded smooth noise: a coarse grid of Gaussian random numbers
upsampled bicubically, summed over octaves (fractal noise, amplitude halved per octave),

    n(x, y) = sum_o 0.5**o * up(g_o)(x, y),   g_o ~ N(0, 1) on a (c * 2**o)-cell grid,

then mapped to colours (a vertical sky gradient with clouds, grass, rippled water, blurred
leaves). Only numpy and PIL are used, so a 626 x 418 background takes a few milliseconds.

Example::

    >>> import numpy as np
    >>> from xai_tutor.data.backgrounds import make_background
    >>> img = make_background("meadow", (626, 418), np.random.default_rng(0))
    >>> img.shape, img.dtype
    ((418, 626, 3), dtype('float32'))
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

BACKGROUNDS: tuple[str, ...] = ("sky", "meadow", "water", "foliage")
# Backgrounds with a ground line birds can stand on (fraction of the height where it starts).
GROUND_KINDS: tuple[str, ...] = ("meadow", "water")


def _up(grid: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bicubic upsampling of a float grid to (height, width)."""
    im = Image.fromarray(np.ascontiguousarray(grid, dtype=np.float32), mode="F")
    return np.asarray(im.resize((width, height), Image.BICUBIC), dtype=np.float32)


def smooth_noise(
    rng: np.random.Generator,
    width: int,
    height: int,
    cells: tuple[int, int] = (4, 4),
    octaves: int = 4,
) -> np.ndarray:
    """Fractal noise of shape (height, width), roughly zero mean and unit scale.

    ``cells`` = (cells across, cells down) of the coarsest octave; each octave doubles both.
    """
    total = np.zeros((height, width), np.float32)
    norm = 0.0
    cx, cy = cells
    for o in range(octaves):
        amp = 0.5**o
        gx, gy = min(cx * 2**o, width), min(cy * 2**o, height)
        total += amp * _up(rng.standard_normal((gy + 1, gx + 1)), width, height)
        norm += amp * amp
    return total / np.float32(np.sqrt(norm))


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _jitter(rng: np.random.Generator, colour: tuple[float, float, float], amount: float = 12.0):
    return np.clip(np.asarray(colour, np.float32) + rng.uniform(-amount, amount, 3), 0, 255)


def _sky(rng: np.random.Generator, width: int, height: int, horizon: int) -> np.ndarray:
    """Blue gradient (deep at the top, pale at the horizon) with soft cumulus clouds."""
    top = _jitter(rng, (70, 125, 200))
    low = _jitter(rng, (185, 210, 232), 8)
    rows = max(horizon, 1)
    t = (np.arange(height, dtype=np.float32) / rows).clip(0, 1) ** 0.8
    sky = top + (low - top) * t[:, None, None]
    sky = np.broadcast_to(sky, (height, width, 3)).copy()
    clouds = smooth_noise(rng, width, height, cells=(3, 2), octaves=5)
    cover = rng.uniform(-0.1, 0.9)  # higher: fewer clouds
    amount = _smoothstep(cover, cover + 0.9, clouds)
    amount *= _smoothstep(0.0, 0.25, 1.0 - np.arange(height, dtype=np.float32) / rows)[:, None]
    shade = 1.0 - 0.18 * _smoothstep(-1.0, 1.5, smooth_noise(rng, width, height, (6, 4), 3))
    cloud_rgb = np.float32(248) * shade[..., None]
    return sky + (cloud_rgb - sky) * amount[..., None]


def _treeline(rng, sky: np.ndarray, horizon: int, depth: float) -> np.ndarray:
    """A hazy band of distant trees or hills standing on the horizon."""
    height, width = sky.shape[:2]
    profile = smooth_noise(rng, width, 1, cells=(8, 1), octaves=4)[0]
    top = horizon - depth * height * (0.5 + 0.35 * profile)
    rows = np.arange(height, dtype=np.float32)[:, None]
    inside = _smoothstep(-1.5, 1.5, rows - top[None, :])
    colour = _jitter(rng, (70, 100, 80), 10)
    tex = 1.0 + 0.12 * smooth_noise(rng, width, height, (30, 12), 3)
    band = colour * tex[..., None]
    return sky + (band - sky) * (0.85 * inside)[..., None]


def _meadow(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    horizon = int(height * rng.uniform(0.3, 0.5))
    img = _sky(rng, width, height, horizon)
    img = _treeline(rng, img, horizon, rng.uniform(0.03, 0.09))
    rows = np.arange(height, dtype=np.float32)
    near = ((rows - horizon) / max(height - horizon, 1)).clip(0, 1)[:, None, None]
    far_c = _jitter(rng, (125, 150, 80), 10)
    near_c = _jitter(rng, (70, 120, 40), 10)
    grass = far_c + (near_c - far_c) * near
    patches = smooth_noise(rng, width, height, (5, 4), 4)[..., None]
    blades = smooth_noise(rng, width, height, (160, 12), 2)[..., None]
    grass = grass * (1.0 + 0.13 * patches + 0.12 * blades * near)
    grass = grass + np.float32([16, 12, -6]) * _smoothstep(0.6, 1.6, patches)
    mask = _smoothstep(horizon - 1.0, horizon + 1.0, rows)[:, None, None]
    return img + (grass - img) * mask


def _water(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    horizon = int(height * rng.uniform(0.22, 0.42))
    img = _sky(rng, width, height, horizon)
    img = _treeline(rng, img, horizon, rng.uniform(0.02, 0.07))
    rows = np.arange(height, dtype=np.float32)
    near = ((rows - horizon) / max(height - horizon, 1)).clip(0, 1)[:, None]
    far_c = _jitter(rng, (150, 180, 200), 8)
    near_c = _jitter(rng, (35, 85, 110), 10)
    water = far_c + (near_c - far_c) * (near[..., None] ** 0.6)
    ripples = smooth_noise(rng, width, height, (6, 60), 3)
    swell = smooth_noise(rng, width, height, (3, 6), 2)
    water = water * (1.0 + (0.05 + 0.12 * near[..., None]) * ripples[..., None])
    water = water * (1.0 + 0.06 * swell[..., None])
    glints = _smoothstep(1.6, 2.4, ripples)[..., None] * np.float32(70)
    water = water + glints
    mask = _smoothstep(horizon - 0.5, horizon + 1.0, rows)[:, None, None]
    return img + (water - img) * mask


def _foliage(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Out-of-focus leaves: dark and light greens with blurred highlights (bokeh)."""
    dark = _jitter(rng, (28, 55, 25), 8)
    light = _jitter(rng, (130, 165, 70), 12)
    n = smooth_noise(rng, width, height, (5, 4), 4)
    t = _smoothstep(-1.6, 1.6, n)[..., None]
    img = dark + (light - dark) * t
    small = (max(width // 4, 1), max(height // 4, 1))
    spots = Image.new("L", small, 0)
    draw = ImageDraw.Draw(spots)
    for _ in range(int(rng.integers(15, 40))):
        x, y = rng.uniform(0, small[0]), rng.uniform(0, small[1])
        r = rng.uniform(1.5, 6.0)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.integers(60, 160)))
    spots = spots.filter(ImageFilter.GaussianBlur(1.5)).resize((width, height), Image.BICUBIC)
    glow = np.asarray(spots, np.float32)[..., None] / 255.0
    bright = _jitter(rng, (215, 230, 160), 10)
    return img + (bright - img) * glow


_MAKERS = {
    "sky": lambda rng, w, h: _sky(rng, w, h, int(h * rng.uniform(0.9, 1.3))),
    "meadow": _meadow,
    "water": _water,
    "foliage": _foliage,
}


def make_background(kind: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A seeded background of ``size`` = (W, H) as float32 RGB (H, W, 3) in [0, 255].

    ``kind`` is one of ``BACKGROUNDS``: "sky", "meadow", "water" or "foliage".
    """
    if kind not in _MAKERS:
        raise ValueError(f"unknown background {kind!r}; choose one of {', '.join(BACKGROUNDS)}")
    width, height = size
    return np.clip(_MAKERS[kind](rng, int(width), int(height)), 0, 255).astype(np.float32)
