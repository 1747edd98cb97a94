"""Class-folder reader: one grey channel in [0, 1] by storage format (RGB by BT.601 luma, 16-bit / 65535, complex
amplitude / 65535), seeded stratified splits written into the run folder and never into the data root, one clear
error naming a bad file; the real RSSCN7 and TSX SLC folders read as 1-channel class-folder sets."""
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from sarhub.data.class_folder import ClassFolderDataset, read_grey
from sarhub.errors import DataError


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def rgb_folder(root: Path, counts=(10, 20)) -> Path:
    """Class folders of lossless RGB PNGs with distinct colour channels."""
    rng = np.random.default_rng(0)
    for c, n in enumerate(counts):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(root / f"class{c}" / f"{i}.png")
    return root


def test_rgb_becomes_bt601_luma_like_pil_L(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "x.png")
    image = read_grey(tmp_path / "x.png")
    assert image.shape == (1, 9, 7) and image.dtype == torch.float32
    luma = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]) / 255
    np.testing.assert_allclose(image[0].numpy(), luma, atol=1e-6)
    pil_l = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32) / 255
    assert np.abs(image[0].numpy() - pil_l).max() <= 0.5 / 255 + 1e-6  # PIL rounds to 8 bits
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])).save(tmp_path / "a.png")  # RGBA
    np.testing.assert_allclose(read_grey(tmp_path / "a.png").numpy(), image.numpy(), atol=1e-6)


def test_storage_formats_scale_by_type(tmp_path):
    u16 = np.array([[0, 65535], [32768, 1]], dtype=np.uint16)
    Image.fromarray(u16).save(tmp_path / "g16.png")
    tifffile.imwrite(tmp_path / "g16.tif", u16)
    for name in ("g16.png", "g16.tif"):
        np.testing.assert_allclose(read_grey(tmp_path / name)[0].numpy(), u16 / 65535.0, rtol=1e-6)
    Image.fromarray(np.array([[0, 255], [51, 102]], dtype=np.uint8)).save(tmp_path / "g8.png")
    np.testing.assert_allclose(read_grey(tmp_path / "g8.png")[0].numpy(), [[0, 1], [0.2, 0.4]], atol=1e-6)
    z = np.array([[3 + 4j, 0], [65535 * 2, 1j]], dtype=np.complex64)
    np.save(tmp_path / "slc.npy", z)
    np.testing.assert_allclose(read_grey(tmp_path / "slc.npy")[0].numpy(), [[5 / 65535, 0], [1, 1 / 65535]],
                               rtol=1e-5)
    np.save(tmp_path / "chw.npy", np.stack([np.full((5, 6), v, np.float32) for v in (1.0, 0.0, 0.5)]))
    np.testing.assert_allclose(read_grey(tmp_path / "chw.npy")[0].numpy(), 0.299 + 0.114 * 0.5, atol=1e-6)


@pytest.mark.parametrize("name, write, message", [
    ("bad.png", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\nnot a png"), "cannot be read"),
    ("bad.npy", lambda p: np.save(p, np.full((4, 4), 3.0, np.float32)), "must lie in \\[0, 1\\]"),
    ("bad.npy", lambda p: np.save(p, np.zeros((4, 4), np.int32)), "unsupported dtype"),
    ("bad.npy", lambda p: np.save(p, np.zeros((6, 5, 5), np.uint8)), "band axis"),
    ("bad.npy", lambda p: np.save(p, np.full((4, 4), np.nan, np.float32)), "NaN"),
])
def test_bad_files_name_the_file(tmp_path, name, write, message):
    write(tmp_path / name)
    with pytest.raises(DataError, match=message) as info:
        read_grey(tmp_path / name)
    assert str(tmp_path / name) in str(info.value)


def test_bad_file_in_a_set_fails_when_read_naming_it(tmp_path):
    root = rgb_folder(tmp_path / "set", (3, 3))
    (root / "class1" / "0.png").write_bytes(b"broken")
    for split in ("train", "val", "test"):
        ds = ClassFolderDataset(root, split, tmp_path / "run")
        for index, (rel, _) in enumerate(ds.items):
            if rel == "class1/0.png":
                with pytest.raises(DataError, match="class1/0.png"):
                    ds[index]
                return
    pytest.fail("the bad file is in no split")


def test_stratified_seeded_splits_go_to_the_run_folder_not_the_root(tmp_path):
    root = rgb_folder(tmp_path / "set")
    before = tree(root)
    run = tmp_path / "run"
    splits = {s: ClassFolderDataset(root, s, run, seed=3) for s in ("train", "val", "test")}
    assert tree(root) == before  # nothing written into the data root
    assert {p.name for p in run.iterdir()} >= {"train.txt", "val.txt", "test.txt", "classes.txt", "splits.json"}
    assert [splits[s].class_counts() for s in ("train", "val", "test")] == [[7, 14], [2, 4], [1, 2]]
    paths = [{rel for rel, _ in splits[s].items} for s in splits]
    assert not (paths[0] & paths[1] or paths[0] & paths[2] or paths[1] & paths[2])
    train = splits["train"]
    assert train.num_classes == 2 and train.classes == ["class0", "class1"]
    assert sorted(train.class_labels()) == [0] * 7 + [1] * 14
    item = train[0]
    assert item["image"].shape == (1, 12, 16) and item["label"] in (0, 1) and item["path"].startswith(str(root))
    again = ClassFolderDataset(root, "train", tmp_path / "run_again", seed=3)
    other = ClassFolderDataset(root, "train", tmp_path / "run_other", seed=4)
    assert again.items == train.items and other.items != train.items
    fifty = ClassFolderDataset(root, "train", tmp_path / "run_50", fractions=(0.5, 0.3, 0.2))
    assert fifty.class_counts() == [5, 10]


def test_split_lists_are_never_written_into_the_data_root(tmp_path):
    root = rgb_folder(tmp_path / "set", (3, 3))
    for split_dir in (root, root / "splits", None):
        with pytest.raises(DataError):
            ClassFolderDataset(root, "train", split_dir)
    assert not any(p.suffix == ".txt" for p in root.rglob("*"))


def test_scene_pipeline_folder_dataset_is_one_channel(tmp_path):
    from sarhub.cli import parse_config
    from sarhub.pipelines import scene

    root = rgb_folder(tmp_path / "set", (6, 6))
    cfg = parse_config(scene.SceneConfig, ["--dataset", "folder", "--data-root", str(root), "--img-size", "16",
                                           "--output", str(tmp_path / "run")])
    train = cfg.open_split("train", True)
    assert isinstance(train, ClassFolderDataset) and train[0]["image"].shape == (1, 16, 16)


def test_real_rsscn7_and_tsx_slc_folders_are_one_channel(shared_data, tmp_path):
    rsscn7 = ClassFolderDataset(shared_data / "rsscn7_optical", "val", tmp_path / "rsscn7")
    assert rsscn7.num_classes == 7 and rsscn7.class_counts() == [80] * 7
    image = rsscn7[0]["image"]
    assert image.shape == (1, 128, 128) and 0 <= image.min() and image.max() <= 1
    slc = ClassFolderDataset(shared_data / "tsx_slc" / "slc_data", "test", tmp_path / "slc")
    assert slc.num_classes == 8 and sum(slc.class_counts()) == pytest.approx(255, abs=8)
    chip = slc[0]["image"]
    assert chip.shape == (1, 64, 64) and float(chip.median()) < 0.01  # amplitude / 65535: dark, not min–max
    assert not os.access(shared_data, os.W_OK) or not (shared_data / "rsscn7_optical" / "train.txt").exists()
