"""Cross-modal retrieval ranks (issue 27): the partner's rank by cosine, ties against the query, groups."""
import pytest
import torch

from sarhub.metrics.retrieval import group_sizes, partner_ranks, topk_rates


def test_ranks_of_a_hand_made_gallery():
    query = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    gallery = torch.tensor([[2.0, 0.1], [1.0, -1.0], [1.0, 1.2]])  # query 1's partner is beaten by the other two
    ranks = partner_ranks(query, gallery)
    assert ranks.tolist() == [0, 2, 0]
    assert topk_rates(ranks, (1, 2)) == pytest.approx({"top1": 200 / 3, "top2": 200 / 3})
    # restricted to its group (1, 2), query 1 is beaten by gallery 2 only
    assert partner_ranks(query, gallery, torch.tensor([0, 1, 1])).tolist() == [0, 1, 0]
    assert group_sizes(torch.tensor([4, 1, 1, 4, 4])).tolist() == [3, 2, 2, 3, 3]


def test_identical_embeddings_find_their_partner_and_constant_ones_never_do():
    x = torch.randn(50, 8)
    assert topk_rates(partner_ranks(x, 3 * x, chunk=7))["top1"] == 100.0
    constant = torch.ones(50, 8)
    assert partner_ranks(constant, constant).tolist() == [49] * 50  # ties count against the query
    with pytest.raises(ValueError, match="same shape"):
        partner_ranks(x, x[:10])
