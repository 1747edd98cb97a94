"""Gumbel-softmax vector quantiser and k-means."""
import torch

from sarhub.fusion.vq import GumbelVQ, kmeans


def test_vq_assigns_deterministically_and_kmeans_finds_separated_clusters():
    vq = GumbelVQ(in_dim=8, num_codes=4)
    feats = torch.randn(2, 8, 5, 5)
    loss, terms = vq.loss(feats.permute(0, 2, 3, 1).reshape(-1, 8))
    loss.backward()
    assert set(terms) == {"contrast", "codebook", "diversity"}
    vq.eval()
    assert torch.equal(vq.assign(feats), vq.assign(feats)) and vq.assign(feats).shape == (2, 5, 5)
    points = torch.cat([torch.randn(50, 2) * 0.1 + c for c in (torch.tensor([0.0, 0]), torch.tensor([5.0, 5]))])
    centres = kmeans(points, 2)
    assert sorted(centres.round().tolist()) == [[0.0, 0.0], [5.0, 5.0]]
