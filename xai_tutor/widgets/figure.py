"""The explorer's figure: panels side by side, PNG bytes and a download link.

Example::

    >>> import numpy as np
    >>> fig = side_by_side([np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5, 3), np.uint8)], gap=2)
    >>> fig.shape
    (4, 12, 3)
    >>> png_bytes(fig)[:8] == PNG_SIGNATURE
    True
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

__all__ = ["PNG_SIGNATURE", "side_by_side", "png_bytes", "download_link"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def side_by_side(panels: Sequence[np.ndarray], gap: int = 8) -> np.ndarray:
    """Join ``(H, W, 3)`` uint8 panels left to right with a white ``gap``; heights are padded."""
    if not panels:
        raise ValueError("side_by_side needs at least one panel")
    height = max(p.shape[0] for p in panels)
    parts = []
    for i, panel in enumerate(panels):
        if i:
            parts.append(np.full((height, gap, 3), 255, np.uint8))
        pad = height - panel.shape[0]
        if pad:
            panel = np.concatenate([panel, np.full((pad, *panel.shape[1:]), 255, np.uint8)])
        parts.append(panel)
    return np.concatenate(parts, axis=1)


def png_bytes(figure: np.ndarray) -> bytes:
    """The figure encoded as PNG."""
    arr = np.asarray(figure)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"figure must be a (H, W, 3) uint8 array; got {arr.dtype} {arr.shape}")
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG")
    return buffer.getvalue()


def download_link(data: bytes, filename: str = "explanation.png") -> str:
    """An HTML ``<a download>`` link carrying ``data`` as a base64 PNG data URL."""
    encoded = base64.b64encode(data).decode("ascii")
    name = html.escape(filename, quote=True)
    return (
        f'<a download="{name}" href="data:image/png;base64,{encoded}" '
        f'class="xai-download">Download PNG ({len(data) // 1024 + 1} kB)</a>'
    )
