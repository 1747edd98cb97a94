"""Cross-modal retrieval on held-out pairs (issue 27): zoomed views, embeddings per level, the retrieval rows."""
import pytest
import torch

from sarhub.data.s1s2_pairs import PairedPatches
from sarhub.data.synthetic.sar_optical import write_pairs
from sarhub.fusion.models import FusionNet
from sarhub.fusion.retrieval import pair_embeddings, resize, retrieval_rows, view_zoom


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
