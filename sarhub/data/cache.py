"""Decoded-file cache of the readers: an epoch re-reads every image, and decoding a JPEG (and rasterising its masks)
each time costs more than the augmentation that follows, so each file is decoded once per process and kept as
decoded (uint8 stays uint8, about 1 byte per pixel for SSDD-like grey images) up to a byte budget; past the budget
files are decoded on every read as before. DataLoader workers each hold their own cache (the budget is per
process), filled by the items they read; persistent workers keep it across epochs."""
from __future__ import annotations

from typing import Callable, Hashable

import numpy as np

# Per process: every SSDD image and mask (369 MiB decoded) fits; HRSID/LS-SSDD at 800 px fill it partly.
DEFAULT_CACHE_BYTES = 1 << 30


class DecodedCache:
    """key -> tuple of arrays, filled by `get` until `max_bytes` are held (0: no caching). The arrays are made
    read-only: a reader converts them into new tensors and never hands out the cached memory."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._items: dict[Hashable, tuple[np.ndarray, ...]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, load: Callable[[], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
        """The cached arrays of `key`, or `load()`'s, kept when they fit in the budget."""
        hit = self._items.get(key)
        if hit is not None:
            return hit
        arrays = load()
        size = sum(a.nbytes for a in arrays)
        if self.nbytes + size <= self.max_bytes:
            for a in arrays:
                a.setflags(write=False)
            self._items[key] = arrays
            self.nbytes += size
        return arrays
