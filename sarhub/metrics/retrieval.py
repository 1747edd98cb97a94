"""Cross-modal retrieval scores: does query i find its own partner, gallery item i, among the candidates?

Similarity is the cosine. The rank of the partner counts the other candidates scored at least as high (ties count
against the query), so a constant embedding ranks last instead of first. Candidates can be restricted to the
query's group (e.g. the super-pixels of the same patch). Scores are percentages.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


@torch.no_grad()
def partner_ranks(query: torch.Tensor, gallery: torch.Tensor, groups: torch.Tensor | None = None,
                  chunk: int = 512) -> torch.Tensor:
    """0-based rank of gallery[i] among the candidates of query[i] (N×D each; all N rows, or those with the same
    `groups` id), by cosine similarity, computed `chunk` queries at a time."""
    if query.shape != gallery.shape or query.ndim != 2:
        raise ValueError(f"expected two N×D tensors of the same shape, got {tuple(query.shape)} and {tuple(gallery.shape)}")
    q, g = F.normalize(query.float(), dim=1), F.normalize(gallery.float(), dim=1)
    ranks = []
    for start in range(0, len(q), chunk):
        rows = torch.arange(start, min(start + chunk, len(q)), device=q.device)
        sim = q[rows] @ g.t()
        own = sim[torch.arange(len(rows)), rows]
        beats = sim >= own[:, None]
        if groups is not None:
            beats &= groups[rows][:, None] == groups[None, :]
        ranks.append(beats.sum(dim=1) - 1)  # the partner itself is counted once
    return torch.cat(ranks)


def topk_rates(ranks: torch.Tensor, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """{"top1": % of queries whose partner ranks first, "top5": ... within the first five, ...}."""
    return {f"top{k}": float((ranks < k).double().mean()) * 100 for k in ks}


def group_sizes(groups: torch.Tensor) -> torch.Tensor:
    """Number of candidates each query has within its group."""
    _, inverse, counts = torch.unique(groups, return_inverse=True, return_counts=True)
    return counts[inverse]
