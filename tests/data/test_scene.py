"""Scene readers: the authors' .npy layout (splits written and reused), BigEarthNet-S1's original layout, and one
clear error naming the file for every kind of bad input."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sarhub.data.scene import BEN43_DROPPED, BEN43_TO_19, BigEarthNetS1, SceneDataset, make_splits
from sarhub.data.synthetic.scenes import class_counts, write_scene_dataset
from sarhub.errors import DataError


def small_set(tmp_path: Path, fmt="TSX") -> Path:
    return write_scene_dataset(tmp_path / fmt, fmt, n_classes=3, n_max=10, size=24, seed=0)


def test_simulated_set_splits_are_seeded_written_and_reused(tmp_path):
    root = small_set(tmp_path)
    train = SceneDataset(root, "train")
    val, test = SceneDataset(root, "val"), SceneDataset(root, "test")
    assert (root / "train.txt").is_file()
    n = sum(class_counts(3, 10))
    assert len(train) + len(val) + len(test) == n
    assert len(train) == pytest.approx(0.7 * n, abs=3)
    assert not {p for p, _ in train.items} & {p for p, _ in test.items}
    first = (root / "train.txt").read_text()
    assert SceneDataset(root, "train").items == train.items and (root / "train.txt").read_text() == first
    item = train[0]
    assert item["image"].shape == (1, 24, 24) and item["image"].dtype == torch.float32
    assert 0 <= item["image"].min() and item["image"].max() <= 1
    assert train.class_counts()[0] >= train.class_counts()[2]  # imbalanced like the real sets


def test_storage_formats_drift_apart_after_unit_normalisation(tmp_path):
    means = {}
    for fmt in ("TSX", "BEN", "OSU"):
        ds = SceneDataset(small_set(tmp_path, fmt), "train")
        means[fmt] = float(torch.stack([ds[i]["image"].mean() for i in range(len(ds))]).mean())
    assert means["TSX"] < 0.5 * means["BEN"]  # 16-bit linear amplitude is dark after min–max


def write_list(root: Path, name: str, lines: list[str]) -> None:
    (root / name).write_text("\n".join(lines) + "\n")


@pytest.fixture
def npy_root(tmp_path):
    root = tmp_path / "set"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    for cls in ("a", "b"):
        for i in range(3):
            np.save(root / cls / f"{i}.npy", np.random.default_rng(i).random((8, 8)).astype(np.float32))
    (root / "classes.txt").write_text("a\nb\n")
    return root


@pytest.mark.parametrize("content, message", [
    (b"not a numpy file", "cannot be read"),
    ("nan", "NaN/inf"),
    ("range", "must lie in"),
    ("shape", "expected an H×W"),
])
def test_bad_npy_content_names_the_file(npy_root, content, message):
    bad = npy_root / "a" / "bad.npy"
    if content == "nan":
        np.save(bad, np.full((8, 8), np.nan, dtype=np.float32))
    elif content == "range":
        np.save(bad, np.full((8, 8), 3.0, dtype=np.float32))
    elif content == "shape":
        np.save(bad, np.zeros((2, 2, 2, 2), dtype=np.float32))
    else:
        bad.write_bytes(content)
    write_list(npy_root, "train.txt", ["a/bad.npy 0"])
    with pytest.raises(DataError, match=message) as err:
        SceneDataset(npy_root, "train")[0]
    assert "bad.npy" in str(err.value)


@pytest.mark.parametrize("lines, message", [
    (["a/0.npy 7"], "label 7 outside"),
    (["a/missing.npy 0"], "missing.npy does not exist"),
    ([], "split is empty"),
    (["a/0.npy x"], "not an integer"),
])
def test_bad_split_files_name_the_list(npy_root, lines, message):
    write_list(npy_root, "train.txt", lines)
    with pytest.raises(DataError, match=message) as err:
        SceneDataset(npy_root, "train")
    assert "train.txt" in str(err.value)


def test_empty_class_folder_is_an_error(tmp_path):
    (tmp_path / "set" / "a").mkdir(parents=True)
    with pytest.raises(DataError, match="class folder is empty"):
        make_splits(tmp_path / "set")


def test_ben_label_nomenclature_covers_all_43_classes():
    assert len(BEN43_TO_19) + len(BEN43_DROPPED) == 43
    assert sorted(set(BEN43_TO_19.values())) == list(range(19))


def test_bigearthnet_s1_real_patches(shared_data):
    root = shared_data / "bigearthnet_s1" / "BigEarthNet-S1-Example"
    ds = BigEarthNetS1(root, bands=("VV", "VH"))
    assert len(ds) == 6 and ds.num_classes == 19
    item = ds[0]
    assert item["image"].shape == (2, 120, 120)
    assert 0 <= item["image"].min() and item["image"].max() <= 1
    names = json.loads((Path(item["path"]) / (Path(item["path"]).name + "_labels_metadata.json")).read_text())["labels"]
    want = sorted({BEN43_TO_19[n] for n in names if n in BEN43_TO_19})
    assert torch.nonzero(item["label"]).flatten().tolist() == want


def test_bigearthnet_bad_label_file_names_it(tmp_path):
    patch = tmp_path / "P1"
    patch.mkdir()
    (patch / "P1_labels_metadata.json").write_text("{broken")
    with pytest.raises(DataError, match="P1_labels_metadata.json"):
        BigEarthNetS1(tmp_path)
