"""FusionNet: every strategy trains and gives full-resolution features; only two-branch strategies embed both
sensors in one space."""
import pytest
import torch

from sarhub.fusion import augment
from sarhub.fusion.losses import fusion_objective
from sarhub.fusion.models import STRATEGIES, FusionNet


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_trains_and_gives_full_resolution_features(strategy):
    model = FusionNet(strategy, (8, 16, 16, 32), dim=16)
    s1, s2 = torch.randn(3, 2, 32, 32), torch.randn(3, 4, 32, 32)
    seg = torch.randint(0, 6, (3, 32, 32))
    p1, p2 = augment.sample_params(3, (24, 24)), augment.sample_params(3, (24, 24))
    out1 = model(augment.apply(s1, p1), augment.apply(s2, p1))
    out2 = model(augment.apply(s1, p2), augment.apply(s2, p2))
    loss, terms = fusion_objective(out1, out2, augment.apply(seg, p1), augment.apply(seg, p2))
    loss.backward()
    assert torch.isfinite(loss)
    expected = {"late": 8, "intermediate": 4}.get(strategy, 2)
    assert len(terms) == expected
    feats = model.features(s1 if "s1" in model.modalities else None, s2 if "s2" in model.modalities else None)
    assert feats.shape == (3, model.feature_dim, 32, 32)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_only_two_branch_strategies_have_cross_modal_embeddings(strategy):
    model = FusionNet(strategy, (8, 8, 16, 16), dim=12, sar_channels=1, optical_channels=3).eval()
    s1, s2 = torch.randn(2, 1, 24, 24), torch.randn(2, 3, 24, 24)
    emb = model.modal_embeddings(s1, s2)
    levels = {"late": {"image", "pixel"}, "intermediate": {"image"}}.get(strategy, set())
    assert set(emb) == levels
    if "image" in emb:
        assert emb["image"][0].shape == emb["image"][1].shape == (2, 12)
    if "pixel" in emb:
        assert emb["pixel"][0].shape == emb["pixel"][1].shape == (2, 12, 24, 24)
    # the SAR-alone features do not move when only the optical input changes
    sar = model.sar_features(s1)
    if strategy in ("sar", "late"):
        assert torch.equal(sar, model.sar_features(s1)) and sar.shape[-2:] == (24, 24)
        if strategy == "late":
            assert torch.equal(model.features(s1, s2)[:, :8], sar)
    else:
        assert sar is None
