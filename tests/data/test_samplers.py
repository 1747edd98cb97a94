"""Class-balanced batches (GRSL 2020): equal class counts in expectation, DDP ranks draw different batches."""
from collections import Counter

import pytest

from sarhub.data.samplers import ClassBalancedBatchSampler


def test_batches_are_balanced_over_many_batches():
    labels = [0] * 500 + [1] * 50 + [2] * 10  # heavy imbalance
    sampler = ClassBalancedBatchSampler(labels, batch_size=10, seed=0)
    counts = Counter()
    for epoch in range(20):
        sampler.set_epoch(epoch)
        for batch in sampler:
            assert len(batch) == 10
            per_class = Counter(labels[i] for i in batch)
            assert max(per_class.values()) - min(per_class.values()) <= 1
            counts.update(labels[i] for i in batch)
    total = sum(counts.values())
    for c in range(3):
        assert counts[c] / total == pytest.approx(1 / 3, abs=0.01)


def test_minority_images_are_all_used_before_repeats_and_ranks_differ():
    labels = [0] * 40 + [1] * 4
    a = ClassBalancedBatchSampler(labels, batch_size=8, seed=1, rank=0, world_size=2)
    b = ClassBalancedBatchSampler(labels, batch_size=8, seed=1, rank=1, world_size=2)
    first = next(iter(a))
    assert sorted(i for i in first if labels[i] == 1) == [40, 41, 42, 43]
    assert list(a) != list(b)
    assert len(a) == len(labels) // 16
