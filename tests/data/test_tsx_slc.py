"""TSX SLC reader: the published CSV lists and label map, complex → amplitude at the fixed 16-bit scale, the seeded
per-class test split carved from the training list, and one clear error for each kind of bad input."""
import numpy as np
import pytest
from helpers.tsx_slc_fixture import write_tsx_slc

from sarhub.data.scene_sets import SceneData
from sarhub.data.tsx_slc import AMPLITUDE_SCALE, TSXSLCDataset, read_amplitude
from sarhub.errors import DataError


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128, np.float32])
def test_chips_are_amplitude_over_the_fixed_scale(tmp_path, dtype):
    z = np.array([[3 + 4j, 0], [65535 * 2, 1j]])
    np.save(tmp_path / "c.npy", z.astype(dtype) if dtype != np.float32 else np.abs(z).astype(dtype))
    image = read_amplitude(tmp_path / "c.npy")
    assert image.shape == (1, 2, 2) and image.dtype == np.float32
    np.testing.assert_allclose(image[0], [[5 / AMPLITUDE_SCALE, 0], [1.0, 1 / AMPLITUDE_SCALE]], rtol=1e-6)


def test_label_map_is_used_as_given_and_splits_are_disjoint(tmp_path):
    root = write_tsx_slc(tmp_path)
    train, val, test = (TSXSLCDataset(root, s, split_seed=3) for s in ("train", "val", "test"))
    assert train.classes == ["water", "forest"]  # the map gives water 0, forest 1, not alphabetical order
    assert (len(train), len(val), len(test)) == (14, 4, 2)
    assert test.class_counts() == [1, 1]  # the same fraction from every class
    paths = [set(d.items) for d in (train, val, test)]
    assert not (paths[0] & paths[1] or paths[0] & paths[2] or paths[1] & paths[2])
    assert TSXSLCDataset(root, "test", split_seed=3).items == test.items  # seeded
    sample = train[0]
    assert sample["image"].shape == (1, 8, 8) and sample["label"] == dict(train.items)[train.items[0][0]]
    water = [train[i]["image"].mean() for i in range(len(train)) if train[i]["label"] == 0]
    forest = [train[i]["image"].mean() for i in range(len(train)) if train[i]["label"] == 1]
    assert max(water) < min(forest)  # absolute brightness survives (no per-image min–max)
    assert SceneData(dataset="TSX-SLC", root=str(root)).open_split("val", None, tmp_path, 0).items == val.items


@pytest.mark.parametrize("corrupt, message", [
    (lambda r: (r / "slc_train_3.txt").write_text("file,class\nx.npy,forest\n"), "expected the CSV header"),
    (lambda r: (r / "slc_val_3.txt").write_text("path,catename\nforest/forest_0.npy,desert\n"), "'desert' is not"),
    (lambda r: (r / "slc_data/forest/forest_1.npy").unlink(), "chip file not found"),
    (lambda r: np.save(r / "slc_data/forest/forest_1.npy", np.full((8, 8), np.nan, np.float32)), "NaN/inf"),
    (lambda r: np.save(r / "slc_data/forest/forest_1.npy", np.zeros((2, 8, 8), np.complex64)), "expected an H×W"),
    (lambda r: (r / "slc_catename2label_cate8.txt").write_text("catename,label\nforest,0\nwater,2\n"), "labels must"),
])
def test_bad_inputs_name_the_file(tmp_path, corrupt, message):
    root = write_tsx_slc(tmp_path)
    corrupt(root)
    with pytest.raises(DataError, match=message):
        for split in ("train", "val"):
            TSXSLCDataset(root, split)


def test_real_tsx_slc_chips(shared_data):
    root = shared_data / "tsx_slc"
    train, val, test = (TSXSLCDataset(root, s) for s in ("train", "val", "test"))
    assert len(val) == 320 and len(train) + len(test) == 2230 and train.num_classes == 8
    assert all(c > 0 for c in test.class_counts())
    images = train.images
    assert images.shape[1:] == (1, 64, 64) and 0 <= float(images.min()) and float(images.max()) <= 1
    assert 1e-4 < float(images.median()) < 2e-3  # median amplitude ≈ 35 of 65535: the 16-bit-like range
