"""Classifier training helpers: the normalisation statistics cached with a fingerprint of data and settings."""
import json

from helpers.inputs import npy_set

from sarhub.classification import cached_normalisation_stats
from sarhub.data.scene import SceneDataset
from sarhub.drae import DRAEConfig
from sarhub.preprocess import Preprocess


def test_norm_stats_are_rebuilt_when_data_or_settings_change(tmp_path):
    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 3 for c in "ab"})
    ds = SceneDataset(data, "train", split_dir=tmp_path / "splits")
    path = tmp_path / "norm_stats.json"
    plain = Preprocess(DRAEConfig(), [0.0], [1.0])
    first = cached_normalisation_stats(path, ds, plain)
    assert cached_normalisation_stats(path, ds, plain) == first
    logged = Preprocess(DRAEConfig(), [0.0], [1.0], log_scale=1000.0)
    assert cached_normalisation_stats(path, ds, logged) != first  # other settings: rebuilt, not reused
    path.write_text(json.dumps({"mean": [float("nan")], "std": [1.0]}))  # an old file without a fingerprint
    assert cached_normalisation_stats(path, ds, plain) == first
