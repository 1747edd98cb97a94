"""Cross-modal embeddings of each fusion strategy and the retrieval test on held-out pairs (issue 27)."""
import pytest
import torch

from sarhub.data.s1s2_pairs import PairedPatches
from sarhub.data.synthetic.sar_optical import write_pairs
from sarhub.fusion.losses import fusion_objective
from sarhub.fusion.models import STRATEGIES, FusionNet
from sarhub.fusion.retrieval import pair_embeddings, resize, retrieval_rows, view_zoom


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


def test_image_level_only_objective_drops_every_super_pixel_term():
    model = FusionNet("late", (8, 8, 16, 16), dim=12, sar_channels=1, optical_channels=3)
    s1, s2 = torch.randn(3, 1, 24, 24), torch.randn(3, 3, 24, 24)
    out1, out2 = model(s1, s2), model(s1.flip(-1), s2.flip(-1))
    loss, terms = fusion_objective(out1, out2, None, None, superpixel=False)
    assert set(terms) == {"image_sar", "image_optical", "cross_image_v1", "cross_image_v2"}
    loss.backward()


def test_retrieval_rows_on_held_out_pairs(tmp_path):
    root = write_pairs(tmp_path / "pairs", n_fragments=3, size=64, seed=1)
    test = PairedPatches(root, ["000", "002"], patch=32)
    assert view_zoom(64, 256, 0.6) == pytest.approx(0.3125)
    assert resize(torch.zeros(2, 3, 32, 32), 0.75).shape == (2, 3, 24, 24)
    segments = torch.arange(4).repeat_interleave(8).reshape(1, 1, 32).expand(len(test), 32, 32).contiguous()
    model = FusionNet("late", (8, 8, 16, 16), dim=12, sar_channels=1, optical_channels=3).eval()
    emb = pair_embeddings(model, test, "cpu", 0.75, segments, batch_size=3)
    assert emb["image"][0].shape == (8, 12)
    sar, opt, patch = emb["superpixel"]
    assert sar.shape == opt.shape == (8 * 4, 12) and patch.tolist() == [i for i in range(8) for _ in range(4)]
    rows = retrieval_rows(emb)
    assert [r["level"] for r in rows] == ["image", "super-pixel, same patch", "super-pixel, all held-out"]
    assert rows[0]["candidates"] == 8 and rows[1]["candidates"] == 4 and rows[2]["candidates"] == 32
    for row in rows:
        assert 0 <= row["sar_to_optical_top1"] <= row["sar_to_optical_top5"] <= 100
    # identical embeddings both ways: every query finds its partner
    image = emb["image"][0]
    assert retrieval_rows({"image": (image, image)})[0]["optical_to_sar_top1"] == 100.0
    intermediate = FusionNet("intermediate", (8, 8, 16, 16), dim=12, sar_channels=1, optical_channels=3).eval()
    assert set(pair_embeddings(intermediate, test, "cpu", 1.0, segments)) == {"image"}
    early = FusionNet("early", (8, 8, 16, 16), dim=12, sar_channels=1, optical_channels=3).eval()
    assert retrieval_rows(pair_embeddings(early, test, "cpu", 1.0, segments)) == []
