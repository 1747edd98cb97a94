"""Label-free cluster maps of real pairs (issue 27): feature sources, whole-fragment maps and the matched agreement
with the optical k-means map, with its chance level."""
import torch

from sarhub.data.s1s2_pairs import PairedPatches
from sarhub.data.synthetic.sar_optical import write_pairs
from sarhub.fusion import clustermaps
from sarhub.fusion.models import FusionNet
from sarhub.fusion.vq import kmeans


def test_agreement_is_full_for_a_relabelling_and_chance_pairs_other_fragments():
    g = torch.Generator().manual_seed(0)
    reference = [torch.randint(0, 3, (10, 12), generator=g) for _ in range(3)]
    relabelled = [(r + 1) % 3 for r in reference]
    scores = clustermaps.agreement(relabelled, reference, 3)
    assert scores["agreement"] == 100.0 and scores["lookup"].tolist() == [2, 0, 1]
    assert scores["chance"] < 60  # unrelated random maps agree on about a third plus the matching's gain
    shifted = clustermaps.map_contingency(reference, reference, 3, shift=1)
    assert int(shifted.sum()) == 3 * 10 * 12


def test_feature_sources_and_whole_fragment_maps(tmp_path):
    root = write_pairs(tmp_path / "pairs", n_fragments=2, size=48, seed=2)
    data = PairedPatches(root, patch=32)
    fragments = clustermaps.fragments_at(data, 0.5)
    assert fragments[0]["s1"].shape == (1, 1, 24, 24) and fragments[1]["s2"].shape == (1, 3, 24, 24)
    late = FusionNet("late", (8, 8, 16, 16), dim=12, sar_channels=1, optical_channels=3).eval()
    sources = clustermaps.feature_sources(late, "late fusion")
    assert [(s.name, s.inputs) for s in sources] == [("late fusion", "SAR + optical"), ("late fusion, SAR branch", "SAR")]
    sar_only = FusionNet("sar", (8, 8, 16, 16), dim=12, sar_channels=1, optical_channels=3).eval()
    assert [s.inputs for s in clustermaps.feature_sources(sar_only, "SAR only")] == ["SAR"]
    rows = clustermaps.feature_rows(sources[1].features, fragments, 100, seed=0)
    assert rows.shape == (200, 8)

    def optical(s1, s2):
        return s2

    centres = kmeans(clustermaps.feature_rows(optical, fragments, 300, seed=0), 4)
    maps = clustermaps.cluster_maps(clustermaps.nearest_centre(centres), optical, fragments)
    assert [m.shape for m in maps] == [(24, 24), (24, 24)] and int(max(m.max() for m in maps)) <= 3
    scores = clustermaps.agreement(maps, maps, 4)
    assert scores["agreement"] == 100.0 and scores["chance"] <= 100.0
