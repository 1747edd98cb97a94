"""The simulated scene sets: imbalanced class counts, the three storage formats, the authors' layout, and the
embedded default written once to the cache."""
import numpy as np
import pytest

from sarhub.data.synthetic.scenes import class_counts, simulated_scene_root, store, write_scene_dataset


def test_class_counts_shrink_by_the_ratio_down_to_the_minimum():
    assert class_counts(5, 60) == [60, 48, 38, 31, 25]
    assert class_counts(4, 10, ratio=0.5) == [10, 5, 4, 4]


def test_each_format_stores_what_its_source_stores():
    intensity = np.random.default_rng(0).gamma(1.0, 1.0, (16, 16))
    rng = np.random.default_rng(1)
    assert store(intensity, "TSX", rng).dtype == np.uint16  # amplitude DN
    ben = store(intensity, "BEN", rng)
    assert ben.dtype == np.float32 and ben.min() < 0  # dB
    assert store(intensity, "OSU", rng).dtype == np.uint8
    with pytest.raises(ValueError, match="unknown storage format 'SLC'"):
        store(intensity, "SLC", rng)


def test_written_set_is_the_authors_layout_and_deterministic(tmp_path):
    a = write_scene_dataset(tmp_path / "a", "OSU", n_classes=2, n_max=3, size=16, seed=0, ratio=0.5)
    b = write_scene_dataset(tmp_path / "b", "OSU", n_classes=2, n_max=3, size=16, seed=0, ratio=0.5)
    classes = (a / "classes.txt").read_text().split()
    assert len(classes) == 2 and all(c.startswith("osu_class0") for c in classes)
    files = sorted(p.relative_to(a) for p in a.rglob("*.npy"))
    assert [len(list((a / c).glob("*.npy"))) for c in classes] == [4, 4]  # class_counts(2, 3, 0.5): n_min 4 for both
    assert all(np.array_equal(np.load(a / f), np.load(b / f)) for f in files)
    chip = np.load(a / files[0])
    assert chip.dtype == np.float32 and chip.shape == (16, 16) and chip.min() == 0 and chip.max() == 1


def test_embedded_default_is_written_once(tmp_path, monkeypatch):
    monkeypatch.setenv("SARHUB_CACHE", str(tmp_path))
    root = simulated_scene_root("TSX", n_classes=2, n_max=4, size=16)
    stamp = (root / ".complete").stat().st_mtime_ns
    assert simulated_scene_root("TSX", n_classes=2, n_max=4, size=16) == root and root.is_relative_to(tmp_path)
    assert (root / ".complete").stat().st_mtime_ns == stamp
    assert simulated_scene_root("TSX", n_classes=2, n_max=4, size=16, seed=1) != root
