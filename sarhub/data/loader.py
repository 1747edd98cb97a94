"""Training loaders whose every random draw is a function of (seed, epoch, rank, sample index).

Persistent DataLoader workers keep their random state from one epoch to the next, so a run resumed at epoch e would
draw other augmentations than the uninterrupted run did (102 of 122 tensors differed after a kill -9 with two
workers). Here the sampler yields (epoch, index) keys and the dataset wrapper re-seeds Python, NumPy and torch
from (seed, epoch, rank, index) before loading each sample: augmentations then depend on neither the worker that
loads a sample nor on what that worker did before, and resume is bit-for-bit with any number of workers.
"""
from __future__ import annotations

import hashlib
import random
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from sarhub.distributed import DistEnv, ShardSampler


def derived_seed(*values: int) -> int:
    """A 63-bit seed from a tuple of integers (a hash, so neighbouring tuples give unrelated streams)."""
    digest = hashlib.blake2b(repr(tuple(int(v) for v in values)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class SeededSamples(Dataset):
    """`dataset[index]` served as `self[(epoch, index)]` with every RNG seeded from (seed, epoch, rank, index).

    In the main process (no workers) the global RNG state is restored afterwards, so loading does not shift the
    draws the training step makes (DRAE, dropout)."""

    def __init__(self, dataset: Dataset, seed: int, rank: int = 0):
        self.dataset, self.seed, self.rank = dataset, seed, rank

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        seed = derived_seed(self.seed, epoch, self.rank, index)
        if get_worker_info() is not None:
            _seed_all(seed)
            return self.dataset[index]
        state = random.getstate(), np.random.get_state(), torch.get_rng_state()
        try:
            _seed_all(seed)
            return self.dataset[index]
        finally:
            random.setstate(state[0])
            np.random.set_state(state[1])
            torch.set_rng_state(state[2])


class EpochBatches(Sampler[list]):
    """Batches of (epoch, index) keys. The order comes from `batch_sampler` or `sampler` (both told the epoch), or
    else from a shuffle seeded by (seed, epoch, rank)."""

    def __init__(self, length: int, batch_size: int, drop_last: bool, seed: int, rank: int = 0,
                 sampler: Sampler | None = None, batch_sampler: Sampler | None = None):
        self.length, self.batch_size, self.drop_last = length, batch_size, drop_last
        self.seed, self.rank = seed, rank
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        for inner in (self.sampler, self.batch_sampler):
            if inner is not None and hasattr(inner, "set_epoch"):
                inner.set_epoch(epoch)

    def _order(self) -> Sequence[int]:
        if self.sampler is not None:
            return list(self.sampler)
        g = torch.Generator().manual_seed(derived_seed(self.seed, self.epoch, self.rank, -1))
        return torch.randperm(self.length, generator=g).tolist()

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)  # type: ignore[arg-type]
        n = len(self.sampler) if self.sampler is not None else self.length  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        if self.batch_sampler is not None:
            for batch in self.batch_sampler:
                yield [(self.epoch, int(i)) for i in batch]
            return
        order = self._order()
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield [(self.epoch, int(i)) for i in batch]


class SeededDraws(Sampler[int]):
    """`num_samples` indices drawn with replacement, seeded by (seed, epoch, rank): the iteration-based trainers'
    sampler (segmentation draws a fixed number of crops per evaluation interval)."""

    def __init__(self, length: int, num_samples: int, seed: int, rank: int = 0):
        self.length, self.num_samples, self.seed, self.rank, self.epoch = length, num_samples, seed, rank, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(derived_seed(self.seed, self.epoch, self.rank, -2))
        return iter(torch.randint(self.length, (self.num_samples,), generator=g).tolist())


def seeded_train_loader(dataset: Dataset, batch_size: int, workers: int, env: DistEnv, seed: int,
                        sampler: Sampler | None = None, batch_sampler: Sampler | None = None,
                        drop_last: bool = True, collate_fn: Any = None) -> tuple[DataLoader, EpochBatches]:
    """A training loader (persistent workers) whose batches are exactly reproducible from (seed, epoch, rank);
    returns the loader and the sampler the engine calls `set_epoch` on."""
    batches = EpochBatches(len(dataset), batch_size, drop_last, seed, env.rank, sampler, batch_sampler)  # type: ignore[arg-type]
    loader = DataLoader(SeededSamples(dataset, seed, env.rank), batch_sampler=batches, num_workers=workers,
                        pin_memory=env.device.type == "cuda", persistent_workers=workers > 0, collate_fn=collate_fn,
                        generator=torch.Generator().manual_seed(seed))  # base seeds: not from the global RNG
    return loader, batches


def sharded_loader(dataset: Dataset, batch_size: int, env: DistEnv, workers: int = 0,
                   collate_fn: Any = None) -> DataLoader:
    """The evaluation loader of every task: each process reads its shard in order (`ShardSampler`); workers
    persist, so their decoded-image caches serve every evaluation of a run."""
    return DataLoader(dataset, batch_size=batch_size, sampler=ShardSampler(len(dataset), env.rank, env.world_size),
                      collate_fn=collate_fn, num_workers=workers, persistent_workers=workers > 0,
                      pin_memory=env.device.type == "cuda")
