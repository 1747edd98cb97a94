"""Scene readers: the authors' .npy layout (splits written and reused), BigEarthNet-S1's original layout, and one
clear error naming the file for every kind of bad input."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.inputs import npy_set

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


def test_scene_validation_labels_use_the_training_class_list(tmp_path):
    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 2 for c in "abc"})
    (data / "train.txt").write_text("a/0.npy 0\nb/0.npy 1\nc/0.npy 2\n")
    (data / "val.txt").write_text("a/1.npy 0\nc/1.npy 5\n")
    train = SceneDataset(data, "train", num_classes=3)
    with pytest.raises(DataError, match="label 5 outside the 3 training classes"):
        SceneDataset(data, "val", classes=train.classes)


def test_authors_list_format_with_bare_file_names_is_read(tmp_path):
    """The authors' BEN/OSU lists: '<file>.npy <label or l1,l2,…>' with the bare file name of a nested file."""
    data = npy_set(tmp_path / "d", {"x": [(8, 8)] * 2})
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "osu_train.txt").write_text("0.npy 3\n1.npy 1,4\n")
    ds = SceneDataset(data, "train", split_file=lists / "osu_train.txt", num_classes=10)
    assert ds.items == [("x/0.npy", 3), ("x/1.npy", (1, 4))] and ds.num_classes == 10


def test_inf_in_training_images_never_reaches_norm_stats(tmp_path):
    data = npy_set(tmp_path / "d", {c: [(8, 8)] * 3 for c in "ab"})
    bad = np.ones((8, 8), np.float32)
    bad[0, 0] = np.inf
    np.save(data / "a" / "0.npy", bad)
    (data / "train.txt").write_text("a/0.npy 0\nb/0.npy 1\n")
    (data / "classes.txt").write_text("a\nb\n")
    with pytest.raises(DataError, match="0.npy: contains 1 NaN/inf"):
        SceneDataset(data, "train")[0]


def test_split_files_of_other_data_in_the_run_folder_are_redrawn(tmp_path):
    first = npy_set(tmp_path / "one", {c: [(8, 8)] * 4 for c in "ab"})
    second = npy_set(tmp_path / "two", {c: [(8, 8)] * 4 for c in "xyz"})
    splits = tmp_path / "run"
    assert SceneDataset(first, "train", split_dir=splits).classes == ["a", "b"]
    ds = SceneDataset(second, "train", split_dir=splits)
    assert ds.classes == ["x", "y", "z"] and all(rel[0] in "xyz" for rel, _ in ds.items)
