"""Few-shot probing: per-class sampling, a probe that learns separable features, confidence intervals by hand."""
import math

import pytest
import torch

from sarhub.ssl.probe import few_shot_indices, knn_top1, linear_probe, mean_ci, probe_head


def test_few_shot_indices_take_k_per_class_and_depend_on_seed():
    labels = torch.tensor([0] * 10 + [1] * 3 + [2] * 7)
    idx = few_shot_indices(labels, 5, seed=0)
    counts = torch.bincount(labels[idx], minlength=3).tolist()
    assert counts == [5, 3, 5]
    assert not torch.equal(idx, few_shot_indices(labels, 5, seed=1))


def test_linear_probe_separates_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=g) * 4
    y = torch.arange(4).repeat_interleave(30)
    x = centres[y] + torch.randn(120, 16, generator=g)
    train = few_shot_indices(y, 5, seed=0)
    result = linear_probe(x[train], y[train], x, y, 4, steps=200, lr=1e-2)
    assert result["top1"] > 95


def test_probe_head_norms_are_the_only_trainable_parts_besides_the_linear_layer():
    head = probe_head(8, 3)
    assert head[1].weight is None  # BatchNorm(affine=False)
    assert sum(p.numel() for p in head.parameters()) == 8 + 8 + 8 * 3 + 3


def test_mean_ci_matches_t_distribution():
    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0])
    sd = math.sqrt(sum((v - 2.5) ** 2 for v in [1, 2, 3, 4]) / 3)
    assert mean == 2.5 and half == pytest.approx(3.182446 * sd / 2, rel=1e-5)


def test_knn_top1_finds_clusters_and_is_at_chance_on_noise():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 8, generator=g) * 5
    y = torch.arange(3).repeat_interleave(40)
    x = centres[y] + torch.randn(120, 8, generator=g)
    assert knn_top1(x[::2], y[::2], x[1::2], y[1::2], k=5) == 100.0
    noise = torch.randn(400, 8, generator=g)
    labels = torch.randint(2, (400,), generator=g)
    assert 35 < knn_top1(noise[:200], labels[:200], noise[200:], labels[200:], k=5) < 65
