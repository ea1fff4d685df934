"""The Explorer, kept importable from its old place: see :mod:`.view` (controls),
:mod:`.session` (state, cache, images, models) and :mod:`.runner` (background work)."""

from __future__ import annotations

from .runner import Cancelled
from .view import Explorer, method_explorer

__all__ = ["Explorer", "method_explorer", "Cancelled"]
