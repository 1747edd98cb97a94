"""The scene-classification sets by name: every --dataset value opens its reader, split lists go to the run folder,
and a set that needs a folder or a bad split option is one error naming the setting."""
import numpy as np
import pytest
from helpers.inputs import npy_set
from PIL import Image

from sarhub.data.labels import LabelledImages
from sarhub.data.scene_sets import PAPER_CLASSES, SCENE_DATASETS, FolderScenes, SceneData
from sarhub.errors import ConfigError, DataError


def test_every_dataset_name_has_a_reader_and_the_papers_class_counts():
    assert set(SCENE_DATASETS) == {"TSX", "BEN", "OSU", "TSX-SLC", "folder"}
    assert all(issubclass(reader, LabelledImages) for reader in SCENE_DATASETS.values())
    assert PAPER_CLASSES == {"TSX": 32, "BEN": 19, "OSU": 10}


def test_folder_set_opens_its_splits_with_the_lists_in_the_run_folder(tmp_path):
    root = tmp_path / "rsscn7"
    for c, cls in enumerate(("field", "river")):
        (root / cls).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(np.full((12, 12), 20 * i + c, np.uint8)).save(root / cls / f"{i}.png")
    data = SceneData(dataset="folder", root=str(root))
    train = data.open_split("train", None, tmp_path / "run", seed=0)
    test = data.open_split("test", None, tmp_path / "run", seed=0, classes=train.classes)
    assert isinstance(train, FolderScenes) and train.classes == ["field", "river"]
    assert train[0]["image"].shape == (1, 12, 12) and not {p for p, _ in train.items} & {p for p, _ in test.items}
    assert (tmp_path / "run" / "train.txt").is_file() and not list(root.glob("*.txt"))


def test_authors_layout_reads_the_given_split_list(tmp_path):
    root = npy_set(tmp_path / "osu", {c: [(8, 8)] * 2 for c in "ab"})
    (tmp_path / "mine.txt").write_text("a/0.npy 0\nb/1.npy 1\n")
    data = SceneData(dataset="OSU", root=str(root), split_file=[f"train={tmp_path / 'mine.txt'}"])
    train = data.open_split("train", None, tmp_path / "run", seed=0)
    assert train.items == [("a/0.npy", 0), ("b/1.npy", 1)] and train.num_classes == PAPER_CLASSES["OSU"]


def test_missing_folders_and_bad_split_options_are_named(tmp_path):
    with pytest.raises(ConfigError, match="data_root: dataset folder needs its data folder"):
        SceneData(dataset="folder").open_split("train", None, tmp_path, 0)
    with pytest.raises(DataError, match="nowhere: dataset folder not found"):
        SceneData(dataset="TSX-SLC", root=str(tmp_path / "nowhere")).open_split("train", None, tmp_path, 0)
    with pytest.raises(ConfigError, match="split_file: training=x.txt: expected train=PATH"):
        SceneData(split_file=["training=x.txt"])
