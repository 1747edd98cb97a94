"""Class-balanced batch sampling (predecessor paper, GRSL 2020): every batch holds the classes in equal numbers,
over-sampling minority classes and under-sampling majority ones. DDP-aware: each rank draws its own batches from
a generator seeded by (seed, epoch, rank)."""
from __future__ import annotations

from typing import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class ClassBalancedBatchSampler(Sampler[list[int]]):
    """Yields `len(labels) // (batch_size · world_size)` batches per epoch and rank.

    Each batch's slots are filled by cycling through a random permutation of the classes (so class counts in a batch
    differ by at most one, and are equal in expectation), and each slot takes the next image of that class from a
    per-class shuffled pool that is reshuffled when exhausted (every image of a small class is seen before any
    repeats; a large class is visited only partly each epoch).
    """

    def __init__(self, labels: Sequence[int], batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1):
        self.labels = torch.as_tensor(list(labels), dtype=torch.long)
        if self.labels.ndim != 1:
            raise ValueError("class-balanced batches need single-label data")
        self.classes = [c for c in self.labels.unique().tolist()]
        self.by_class = {c: torch.nonzero(self.labels == c).flatten() for c in self.classes}
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.epoch = 0
        self.num_batches = max(1, len(self.labels) // (batch_size * world_size))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[list[int]]:
        g = torch.Generator().manual_seed(self.seed + 7919 * self.epoch + 104729 * self.rank)
        pools = {c: idx[torch.randperm(len(idx), generator=g)] for c, idx in self.by_class.items()}
        cursor = {c: 0 for c in self.classes}
        for _ in range(self.num_batches):
            batch: list[int] = []
            order: list[int] = []
            while len(batch) < self.batch_size:
                if not order:
                    order = [self.classes[i] for i in torch.randperm(len(self.classes), generator=g).tolist()]
                c = order.pop()
                if cursor[c] == len(pools[c]):
                    pools[c] = self.by_class[c][torch.randperm(len(self.by_class[c]), generator=g)]
                    cursor[c] = 0
                batch.append(int(pools[c][cursor[c]]))
                cursor[c] += 1
            yield batch
