"""A small least-recently-used cache for explanations, predictions and layer lists.

The explorer recomputes nothing it has already seen: an explanation is stored under the key
``(image, model, method, layer, target, params)`` and handed back when the same controls come
back (switching between two methods, toggling the representation, undoing a slider move).

Example::

    >>> cache = LRUCache(maxsize=2)
    >>> cache.put("a", 1); cache.put("b", 2); _ = cache.get("a"); cache.put("c", 3)
    >>> sorted(cache.keys())
    ['a', 'c']
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

__all__ = ["LRUCache", "freeze"]


class LRUCache:
    """Keep the ``maxsize`` most recently used entries; ``hits`` and ``misses`` count lookups."""

    def __init__(self, maxsize: int = 32) -> None:
        if not isinstance(maxsize, int) or isinstance(maxsize, bool) or maxsize < 1:
            raise ValueError(f"maxsize must be a positive int; got {maxsize!r}")
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value stored under ``key`` (marking it as recently used), else ``default``."""
        if key in self._data:
            self._data.move_to_end(key)
            self.hits += 1
            return self._data[key]
        self.misses += 1
        return default

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value``; the least recently used entry goes when the cache is full."""
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> Iterator[Hashable]:
        return iter(list(self._data))

    def clear(self) -> None:
        self._data.clear()


def freeze(params: Mapping[str, Any]) -> tuple:
    """A hashable, order-independent form of a parameter dict (for cache keys)."""
    return tuple(sorted((str(k), repr(v)) for k, v in params.items()))
