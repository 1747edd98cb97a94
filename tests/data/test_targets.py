"""Target-recognition readers: Phoenix files (written and real), MSTAR folders and subsets, OpenSARShip scales,
FUSAR-Ship, and one clear error naming the file for each kind of bad input."""
import numpy as np
import pytest
import tifffile
import torch
from helpers.inputs import mstar_set
from PIL import Image

from sarhub.data.synthetic.targets import simulate_chip, write_mstar_folders, write_phoenix
from sarhub.data.targets import (
    FUSARShipDataset,
    MSTARDataset,
    OpenSARShipDataset,
    make_subset,
    read_mstar_chip,
    read_phoenix,
    translation_windows,
)
from sarhub.errors import DataError


def test_phoenix_round_trip(tmp_path):
    mag = np.random.default_rng(0).random((130, 128)).astype(np.float32)
    phase = np.random.default_rng(1).random((130, 128)).astype(np.float32)
    write_phoenix(tmp_path / "HB00001.000", mag, phase, {"TargetType": "t72_tank", "TargetAz": "12.5",
                                                         "DesiredDepression": "15"})
    chip = read_phoenix(tmp_path / "HB00001.000")
    assert np.array_equal(chip.magnitude, mag) and np.array_equal(chip.phase, phase)
    assert chip.target_type == "t72_tank" and chip.azimuth == 12.5 and chip.depression == 15.0


def test_real_phoenix_files(shared_data):
    for path in sorted((shared_data / "mstar_raw").glob("*_HB*")):
        chip = read_phoenix(path)
        assert chip.magnitude.shape == (128, 128) and chip.depression == 17.0
        assert chip.target_type.split("_")[0] == path.name.split("_")[0].lower()
        assert np.isfinite(chip.magnitude).all() and 0 <= chip.phase.min() and chip.phase.max() <= 2 * np.pi + 1e-4


def test_phoenix_bad_files_name_the_file(tmp_path):
    good = tmp_path / "good.000"
    write_phoenix(good, np.ones((8, 8), np.float32))
    truncated = tmp_path / "cut.000"
    truncated.write_bytes(good.read_bytes()[:-10])
    with pytest.raises(DataError, match="cut.000: truncated"):
        read_phoenix(truncated)
    nosize = tmp_path / "nosize.000"
    nosize.write_bytes(good.read_bytes().replace(b"NumberOfRows", b"NumberOfLines"))
    with pytest.raises(DataError, match="nosize.000: Phoenix header lacks"):
        read_phoenix(nosize)
    junk = tmp_path / "junk.000"
    junk.write_bytes(b"hello")
    with pytest.raises(DataError, match="junk.000: not a Phoenix"):
        read_phoenix(junk)


def test_mstar_folders_crop_label_and_cache(tmp_path):
    root = write_mstar_folders(tmp_path / "soc", n_train=3, n_test=2, size=140)
    ds = MSTARDataset(root, "train", crop=128)
    assert ds.classes[:3] == ["2S1", "BMP2", "BRDM2"] and len(ds) == 30
    item = ds[4]
    assert item["image"].shape == (1, 128, 128) and item["label"] == 1 and item["image"].max() == 1.0
    assert ds[4]["image"] is ds[4]["image"]  # decoded once
    assert MSTARDataset(root, "test", crop=128, image_size=64)[0]["image"].shape == (1, 64, 64)


def test_a_view_with_other_items_reads_its_own_chips(tmp_path):
    """Copies of a set with other items (the probes' validation split) share the decoded cache by chip, not by
    position: item i of the view is its own chip (the cache used to be keyed by index and gave train's chip i)."""
    import copy

    root = write_mstar_folders(tmp_path / "soc", n_train=3, n_test=1, size=130)
    train = MSTARDataset(root, "train", crop=128)
    view = copy.copy(train)
    view.items = train.items[::-1]
    first = train[0]["image"]
    assert not torch.equal(view[0]["image"], first) and torch.equal(view[len(view) - 1]["image"], first)


def test_mstar_phoenix_layout_reads_like_the_jpeg_layout(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("BMP2", "T72"):
        (tmp_path / "train" / cls).mkdir(parents=True)
        write_phoenix(tmp_path / "train" / cls / "HB00001.000", simulate_chip(rng, 1)[0] * 3)
    ds = MSTARDataset(tmp_path, "train")
    assert ds[1]["label"] == 1 and ds[1]["image"].max() == 1.0


def test_mstar_bad_inputs(tmp_path):
    (tmp_path / "train" / "A").mkdir(parents=True)
    with pytest.raises(DataError, match="class folder is empty"):
        MSTARDataset(tmp_path, "train")
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(tmp_path / "train" / "A" / "small.jpeg")
    with pytest.raises(DataError, match="small.jpeg: chip is 100×100"):
        MSTARDataset(tmp_path, "train")[0]
    (tmp_path / "list.txt").write_text("train/B/x.jpeg 0\n")
    with pytest.raises(DataError, match="list.txt"):
        MSTARDataset(tmp_path, "train", list_file=tmp_path / "list.txt")


def write_eoc_layout(root, train_classes=("2S1", "BRDM_2", "T72"), test_classes=("2S1", "BRDM_2", "T72")):
    """The EOC-1 release layout: TRAIN/<CLASS>[/<serial>]/*.jpeg and TEST_30/<CLASS>/30_DEG/*.jpeg."""
    rng = np.random.default_rng(0)
    for split, classes, sub in (("TRAIN", train_classes, "A64"), ("TEST_30", test_classes, "30_DEG")):
        for c, name in enumerate(classes):
            folder = root / split / name / (sub if name == "T72" or split == "TEST_30" else "")
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(2):
                chip = np.round(simulate_chip(rng, c, 140)[0] * 255).astype(np.uint8)
                Image.fromarray(chip).save(folder / f"hb{c}{i}.jpeg")
    return root


def test_mstar_eoc_layout_nested_folders_and_training_labels(tmp_path):
    root = write_eoc_layout(tmp_path, test_classes=("BRDM_2", "T72"))  # the test set lacks 2S1: fine
    train = MSTARDataset(root, "train", crop=128)
    test = MSTARDataset(root, "test", crop=128, classes=train.classes)
    assert train.classes == ["2S1", "BRDM_2", "T72"] and len(train) == 6
    assert any("TRAIN/T72/A64/" in rel for rel, _ in train.items)
    assert test.split_folder.name == "TEST_30" and test.classes == train.classes
    assert sorted({label for _, label in test.items}) == [1, 2]  # labels follow training, not the test listing
    explicit = MSTARDataset(root / "TEST_30", None, crop=128, classes=train.classes)
    assert [label for _, label in explicit.items] == [label for _, label in test.items]


def test_mstar_eoc_layout_errors(tmp_path):
    root = write_eoc_layout(tmp_path, test_classes=("2S1", "ZSU_23_4"))
    train = MSTARDataset(root, "train")
    with pytest.raises(DataError, match="class ZSU_23_4 is not one of the training classes"):
        MSTARDataset(root, "test", classes=train.classes)
    (root / "TEST_45").mkdir()
    with pytest.raises(DataError, match="several test folders .TEST_30, TEST_45.: choose one with test_dir .--test-dir."):
        MSTARDataset(root, "test", classes=train.classes)


def test_real_mstar_eoc1(shared_data):
    root = shared_data / "mstar_eoc_depression"
    train = MSTARDataset(root, "train", crop=128, image_size=64)
    test = MSTARDataset(root, "test", crop=128, image_size=64, classes=train.classes)
    assert train.classes == ["2S1", "BRDM_2", "T72", "ZSU_23_4"]
    assert train.class_counts() == [299, 298, 299, 299] and test.class_counts() == [288, 287, 288, 288]
    assert test[0]["image"].shape == (1, 64, 64)


def test_subsets_are_floor_fraction_per_class():
    items = [(f"c{c}/{i}", c) for c, n in enumerate([299, 233, 29]) for i in range(n)]
    sub = make_subset(items, 0.1, seed=0)
    assert [sum(1 for _, c in sub if c == k) for k in range(3)] == [29, 23, 2]
    assert make_subset(items, 0.1, seed=0) == sub and make_subset(items, 0.1, seed=1) != sub


def test_mstar_soc_subset_counts_match_the_paper(shared_data):
    ds = MSTARDataset(shared_data / "mstar_soc", "train")
    assert len(ds) == 2746  # one T62 chip of the standard 2747 is missing
    assert len(make_subset(ds.items, 0.1)) == 268 and len(make_subset(ds.items, 0.3)) == 817


def write_oss_scene(root, sizes_by_class):
    scene = root / "S1A_TEST_SCENE"
    (scene / "Patch_Uint8").mkdir(parents=True)
    (scene / "Patch").mkdir()
    (scene / "Ship.xml").write_text("<ShipList/>")
    k = 0
    for cls, sizes in sizes_by_class.items():
        for s in sizes:
            name = f"{cls}_x{k}_y{k}"
            tifffile.imwrite(scene / "Patch" / f"{name}.tif", np.ones((s, s, 2), np.float32))
            for pol in ("vv", "vh"):
                tifffile.imwrite(scene / "Patch_Uint8" / f"Visual_{name}_{pol}.tif", np.full((s, s), 100, np.uint8))
            k += 1


def test_opensarship_scale_split_on_a_written_scene(tmp_path):
    write_oss_scene(tmp_path, {"Cargo": [30, 40, 50, 70, 130], "Tanker": [25, 45, 80, 90], "Tug": [33]})
    train = OpenSARShipDataset(tmp_path, "train", "small", split_dir=tmp_path / "splits")
    test = OpenSARShipDataset(tmp_path, "test", "small", split_dir=tmp_path / "splits")
    assert train.classes == ["Cargo", "Tanker"]  # Tug has a single small chip
    assert len(train) == 3 and len(test) == 2  # Cargo 3 -> 2/1, Tanker 2 -> 1/1 (1:1, odd counts to train)
    assert train[0]["image"].shape == (1, 32, 32)
    medium = OpenSARShipDataset(tmp_path, "train", "medium", split_dir=tmp_path / "splits")
    assert medium.classes == ["Tanker"] and medium[0]["image"].shape == (1, 96, 96)
    with pytest.raises(DataError, match="have no large chips"):
        OpenSARShipDataset(tmp_path, "train", "large", classes=["Tanker"], split_dir=tmp_path / "splits")


def test_real_opensarship_scenes(shared_data, tmp_path):
    ds = OpenSARShipDataset(shared_data / "opensarship", "train", "small", split_dir=tmp_path)
    assert "Cargo" in ds.classes and len(ds) > 50
    assert 0 <= ds[0]["image"].min() and ds[0]["image"].max() <= 1


def test_fusar_keeps_the_papers_classes(tmp_path):
    for cls in ("Cargo", "Dredger", "Fishing", "Passenger", "Tanker", "Tug", "Other"):
        (tmp_path / cls / "sub").mkdir(parents=True)
        for i in range(5):
            Image.fromarray(np.full((60, 60), 10 * i, np.uint8)).save(tmp_path / cls / "sub" / f"{i}.png")
    train = FUSARShipDataset(tmp_path, "train", image_size=32)
    test = FUSARShipDataset(tmp_path, "test", image_size=32)
    assert train.classes == ["Cargo", "Dredger", "Fishing", "Passenger", "Tanker", "Tug"]
    assert len(train) == 24 and len(test) == 6 and train[0]["image"].shape == (1, 32, 32)


def test_mstar_test_labels_follow_training_a_missing_class_is_fine_an_extra_one_is_named(tmp_path):
    root = mstar_set(tmp_path / "m", ("A", "B", "C"), ("A", "C"))
    train = MSTARDataset(root, "train", crop=32)
    test = MSTARDataset(root, "test", crop=32, classes=train.classes)
    assert sorted({label for _, label in test.items}) == [0, 2]  # C keeps label 2 though B is missing
    extra = mstar_set(tmp_path / "e", ("A", "B"), ("A", "B", "Z"))
    with pytest.raises(DataError, match="class Z is not one of the training classes"):
        MSTARDataset(extra, "test", crop=32, classes=MSTARDataset(extra, "train", crop=32).classes)


def test_nan_pixel_in_an_image_file_chip_is_an_error_not_a_zero_chip(tmp_path):
    chip = np.ones((40, 40), np.float32)
    chip[3, 3] = np.nan
    tifffile.imwrite(tmp_path / "chip.tif", chip)
    with pytest.raises(DataError, match="chip.tif: contains 1 NaN/inf"):
        read_mstar_chip(tmp_path / "chip.tif", 32)


@pytest.mark.parametrize("field, value, message", [
    ("NumberOfRows", "-128", "impossible sizes"),
    ("native_header_length", "abc", "lacks a valid size field"),
])
def test_phoenix_header_with_bad_sizes_is_named(tmp_path, field, value, message):
    path = tmp_path / "chip.raw"
    write_phoenix(path, np.ones((8, 8), np.float32), header_fields={field: value})
    with pytest.raises(DataError, match=message):
        read_phoenix(path)


def test_translation_windows_random_in_training_centre_at_test():
    image = torch.arange(16 * 16, dtype=torch.float32).view(1, 16, 16)
    train_tf, test_tf = translation_windows(8)
    assert torch.equal(test_tf(image), image[:, 4:12, 4:12])
    torch.manual_seed(0)
    corners = set()
    for _ in range(20):
        window = train_tf(image)
        top, left = divmod(int(window[0, 0, 0]), 16)
        assert window.shape == (1, 8, 8) and torch.equal(window, image[:, top:top + 8, left:left + 8])
        corners.add((top, left))
    assert len(corners) > 5  # the window moves
    assert translation_windows(None) == (None, None)
