"""Few-shot and full linear probes of a frozen encoder on MSTAR chips: K chips per class drawn `draws` times, one
results row per K, and impossible settings refused naming them."""
import pytest
from helpers.inputs import mstar_set

from sarhub.cli import config_from
from sarhub.errors import ConfigError, DataError
from sarhub.pipelines.probe import ProbeConfig, probe

TINY = {"crop": 32, "img_size": 32, "steps": 5, "device": "cpu"}


def test_each_k_is_drawn_draws_times_and_appended_as_a_row(tmp_path):
    root = mstar_set(tmp_path / "mstar", ("A", "B"), ("A", "B"), n=4)
    results = tmp_path / "results"
    out = probe(config_from(ProbeConfig, {**TINY, "data_root": str(root), "shots": [1, 0], "draws": 3,
                                          "results": str(results)}))
    assert (out["train_chips"], out["scored_chips"]) == (8, 8)
    assert [len(out["shots"][k]["accuracies"]) for k in (1, 0)] == [3, 1]  # every chip: one draw
    assert all(0 <= a <= 100 for k in (1, 0) for a in out["shots"][k]["accuracies"])
    rows = results.with_suffix(".csv").read_text().splitlines()
    assert len(rows) == 3 and rows[1].startswith("resnet18 (random init),linear probe,mstar,test,1,3,")
    assert rows[2].split(",")[4:6] == ["all", "1"]
    val = probe(config_from(ProbeConfig, {**TINY, "data_root": str(root), "shots": [1], "draws": 1, "split": "val",
                                          "val_fraction": 0.25, "append": False}))
    assert (val["train_chips"], val["scored_chips"]) == (6, 2)  # carved from training: the test split is never read


def test_impossible_settings_are_refused(tmp_path):
    root = mstar_set(tmp_path / "mstar", ("A", "B"), ("A", "B"), n=4)
    with pytest.raises(DataError, match="shots 5 exceeds the 4 training chips of class A"):
        probe(config_from(ProbeConfig, {**TINY, "data_root": str(root), "shots": [5], "append": False}))
    with pytest.raises(ConfigError, match="shots"):
        config_from(ProbeConfig, {"shots": [-1]})
    with pytest.raises(ConfigError, match="img_size: 40 is not a multiple of patch_size 16"):
        config_from(ProbeConfig, {"encoder": "vit_tiny", "img_size": 40})
    with pytest.raises(ConfigError, match="data_root: tsx-slc needs its data folder"):
        config_from(ProbeConfig, {"dataset": "tsx-slc"})
