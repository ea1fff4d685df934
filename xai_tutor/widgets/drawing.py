"""What the explorer draws: each map over its picture, titled with the method and the explained
class, above a colour bar that says what its scale is; the panels side by side; and the HTML of
the caption, status and notes lines.

Pure functions of the explorer's results (no widget, no state), so the figure a learner sees and
downloads is the figure the tests check. A map is drawn as every figure of the course draws it
(:func:`xai_tutor.viz.figures.draw_map`): CAM-family maps linearly, pixel methods robust-scaled
(divided by their 99th percentile, so a few bright pixels do not wash the rest out), LRP and the
gradient signed on a diverging colour map in the heatmap view. The colour bar under each panel
comes from :func:`xai_tutor.viz.figures.colour_scale`, the one that labels the course's matplotlib
figures, so both say the same thing about the same map.

Example::

    >>> import numpy as np
    >>> from xai_tutor.viz.figures import colour_scale
    >>> bar = colour_bar(colour_scale("robust", "heatmap"), width=120)
    >>> bar.shape[1], bar.dtype.name
    (120, 'uint8')
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..viz.figures import ColourScale, colour_scale, draw_map
from ..viz.names import method_title, panel_title
from .figure import side_by_side

__all__ = ["Panel", "caption_html", "colour_bar", "draw_panel", "figure", "notes_html",
           "status_html"]

FONT_SIZE = 12
LINE = FONT_SIZE + 6  # pixels per line of text
BAR = 10  # height of the colour ramp
MARGIN = 6  # left and right of the ramp, so that the end labels fit under its ends


@dataclass(frozen=True)
class Panel:
    """One map as the explorer shows it.

    ``image``: the map drawn over the picture, uint8 ``(H, W, 3)`` at the picture's size;
    ``scale``: its colour bar (colours, range, what the values mean); then what it explains:
    the method's title, its layer, the class (index, name, the model's probability) and the
    class's logit.
    """

    image: np.ndarray
    scale: ColourScale
    method: str
    layer: str | None
    target: int
    class_name: str
    probability: float
    logit: float

    @property
    def title(self) -> str:
        """``"Grad-CAM, layer layer4: flamingo (p = 0.97)"``."""
        where = f", layer {self.layer}" if self.layer else ""
        return f"{self.method}{where}: {panel_title(self.class_name, self.probability)}"


def draw_panel(display: np.ndarray, explanation: Any, representation: str,
               class_names: Sequence[str], probability: float) -> Panel:
    """The explanation's map over ``display`` in ``representation``, with its colour scale and
    what it explains (``class_names`` of the model; ``probability`` of the explained class)."""
    image, kind = draw_map(display, explanation, representation)
    target = int(explanation.target[0])
    name = class_names[target] if target < len(class_names) else str(target)
    return Panel(image, colour_scale(kind, representation), method_title(explanation.method),
                 explanation.layer, target, name, float(probability),
                 float(explanation.score[0]))


@functools.lru_cache(maxsize=1)
def _font() -> Any:
    try:
        return ImageFont.load_default(size=FONT_SIZE)  # Pillow >= 10.1 with FreeType
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def _text_strip(text: str, width: int, lines: int = 1) -> Image.Image:
    strip = Image.new("RGB", (width, LINE * lines), "white")
    ImageDraw.Draw(strip).text((2, 3), text, fill=(0, 0, 0), font=_font())
    return strip


def _ticks(scale: ColourScale) -> list[tuple[float, str]]:
    middle = (scale.low + scale.high) / 2
    return [(scale.low, f"{scale.low:g}"), (middle, f"{middle:g}"), (scale.high, f"{scale.high:g}")]


def colour_bar(scale: ColourScale, width: int) -> np.ndarray:
    """A horizontal colour bar ``width`` pixels wide: the ramp from ``scale.low`` (left) to
    ``scale.high`` (right), the values at both ends and the middle, and the scale's label.

    Returns uint8 ``(BAR + 2 LINE + 4, width, 3)``. The ramp samples ``scale.colours`` at one
    value per pixel column, the same colours the map uses for those values.
    """
    width = int(width)
    if width < 1:
        raise ValueError(f"a colour bar needs a width of at least 1 pixel; got {width}")
    inner = max(width - 2 * MARGIN, 1)
    values = np.linspace(0.0, 1.0, inner)
    ramp = (np.asarray(scale.colours(values))[:, :3] * 255.0).round().astype(np.uint8)
    strip = Image.new("RGB", (width, BAR + 2 * LINE + 4), "white")
    left = min(MARGIN, width - inner)
    strip.paste(Image.fromarray(np.repeat(ramp[None], BAR, axis=0), "RGB"), (left, 2))
    draw = ImageDraw.Draw(strip)
    draw.rectangle((left, 2, left + inner - 1, 2 + BAR - 1), outline=(90, 90, 90))
    font = _font()
    span = scale.high - scale.low
    for value, text in _ticks(scale):
        x = left + (value - scale.low) / span * (inner - 1)
        draw.line((x, 2 + BAR, x, 2 + BAR + 3), fill=(90, 90, 90))
        box = draw.textbbox((0, 0), text, font=font)
        half = (box[2] - box[0]) / 2
        x_text = min(max(x - half, 0), width - 2 * half)
        draw.text((x_text, 2 + BAR + 3), text, fill=(0, 0, 0), font=font)
    draw.text((2, 2 + BAR + LINE + 2), scale.label, fill=(0, 0, 0), font=font)
    return np.asarray(strip)


def _framed(panel: Panel) -> np.ndarray:
    width = panel.image.shape[1]
    title = np.asarray(_text_strip(panel.title, width))
    return np.concatenate([title, panel.image, colour_bar(panel.scale, width)], axis=0)


def figure(panels: Sequence[Panel]) -> np.ndarray:
    """The panels side by side, each titled above and with its colour bar below (uint8 RGB)."""
    return side_by_side([_framed(p) for p in panels])


def caption_html(panels: Sequence[Panel], image: str) -> str:
    """The line under the figure: per panel the method, layer, explained class with its
    probability, index and logit, and the colour scale; then which image it shows."""
    parts = []
    for p in panels:
        where = f", layer <code>{html.escape(str(p.layer))}</code>" if p.layer else ""
        parts.append(
            f"<b>{html.escape(p.method)}</b>{where}: "
            f"{html.escape(panel_title(p.class_name, p.probability))} (class #{p.target}, logit "
            f"{p.logit:.2f}; colour: {html.escape(p.scale.label)})")
    return " &nbsp;|&nbsp; ".join(parts) + f" &nbsp;<i>({html.escape(image)})</i>"


def status_html(text: str, error: bool, aside: str = "") -> str:
    """The status line: an error in red, anything else in grey; ``aside`` first, in grey."""
    colour = "#b00020" if error else "#555"
    out = f'<span style="color:{colour}">{html.escape(text)}</span>' if text else ""
    return (f'<span style="color:#555">{html.escape(aside)}</span>' if aside else "") + out


def notes_html(notes: Sequence[str]) -> str:
    """The lasting notes (skipped models, resized images), one per line, in amber."""
    return "<br>".join(f'<span style="color:#8a5a00">{html.escape(n)}</span>' for n in notes)
