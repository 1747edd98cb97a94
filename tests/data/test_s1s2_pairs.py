"""The real SAR/optical fragment-pair reader (issue 27): tiling, band counts from the files, per-band standardisation,
the split by whole fragments, and one-line errors for bad pairs."""
import json

import numpy as np
import pytest
from PIL import Image

from sarhub.data.s1s2_pairs import PairedPatches, list_pairs, split_fragments, window_starts
from sarhub.data.synthetic.sar_optical import write_pairs
from sarhub.errors import DataError
from sarhub.fusion.data import splits


@pytest.fixture
def pairs(tmp_path):
    return write_pairs(tmp_path / "pairs", n_fragments=5, size=64, seed=0)


def test_tiles_cover_the_fragment_and_band_counts_come_from_the_files(pairs):
    ds = PairedPatches(pairs, ["001", "003"], patch=32, stride=24)
    assert window_starts(64, 32, 24) == [0, 24, 32]  # the last window ends at the border
    assert len(ds) == 2 * 9 and ds.channels == {"s1": 1, "s2": 3}
    item = ds[4]
    assert item["s1"].shape == (1, 32, 32) and item["s2"].shape == (3, 32, 32) and item["fragment"] == "001"
    # window 4 of fragment 001 is rows 24..56, columns 24..56 of the stored images, standardised per band
    sar = np.asarray(Image.open(pairs / "sar" / "001.png"))[24:56, 24:56] / 255.0
    (mean,), (std,) = ds.stats["s1"]
    assert np.allclose(item["s1"][0].numpy(), (sar - mean) / std, atol=1e-5)
    # the stats are the exact per-band moments of the selected fragments
    both = np.stack([np.asarray(Image.open(pairs / "opt" / f"{n}.jpg")) for n in ("001", "003")]) / 255.0
    assert np.allclose(ds.stats["s2"][0], both.reshape(-1, 3).mean(axis=0), atol=1e-6)
    assert np.allclose(ds.stats["s2"][1], both.reshape(-1, 3).std(axis=0), atol=1e-6)
    assert ds.optical_rgb(0).shape == (32, 32, 3) and 0 <= ds.optical_rgb(0).min() <= ds.optical_rgb(0).max() <= 1
    assert len(set(ds.patch_keys())) == len(ds)
    whole = ds.fragment(1)
    assert whole["s1"].shape == (1, 64, 64) and whole["fragment"] == "003"
    # a grey SAR stored as R = G = B (the source's format) is read as one band
    grey = np.asarray(Image.open(pairs / "sar" / "000.png"))
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(pairs / "sar" / "000.png")
    assert PairedPatches(pairs, ["000"], patch=32).channels == {"s1": 1, "s2": 3}


def test_split_holds_out_whole_fragments_and_the_test_set_shares_the_training_stats(pairs):
    names = list(list_pairs(pairs))
    train, test = split_fragments(names, 0.4, seed=0)
    assert len(test) == 2 and len(train) == 3
    assert not set(train) & set(test) and sorted(train + test) == names
    kept, val = split_fragments(train, 0.34, seed=1)  # a validation carve never touches the test names
    assert len(val) == 1 and not set(kept + val) & set(test)
    tr, te = splits(pairs, test_fraction=0.4, split_seed=0, patch=32)
    assert set(te.names) == set(test) and set(tr.names) == set(train)
    assert {item["fragment"] for item in te} == set(test)  # no window of a held-out fragment is in training
    assert te.stats == tr.stats
    with pytest.raises(DataError, match="no labels"):
        splits(pairs, patch=32, labels="lc")


def test_bad_pairs_are_one_line_errors(pairs):
    (pairs / "opt" / "002.jpg").unlink()
    with pytest.raises(DataError, match=r"002.png: missing partner: no opt/002"):
        list_pairs(pairs)
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(pairs / "opt" / "002.jpg")
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(pairs / "sar" / "003.png")
    with pytest.raises(DataError, match=r"003.png: size 64×48 differs from its optical partner 003.jpg \(64×64\)"):
        PairedPatches(pairs, ["003"], patch=32)
    (pairs / "sar" / "004.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="004.png: cannot be read as an image"):
        PairedPatches(pairs, ["004"], patch=32)
    with pytest.raises(DataError, match="002.jpg: has 1 optical band"):
        PairedPatches(pairs, ["001", "002"], patch=32)
    with pytest.raises(DataError, match="smaller than the 128 px patch"):
        PairedPatches(pairs, ["001"], patch=128)
    with pytest.raises(DataError, match="no pair named 009"):
        PairedPatches(pairs, ["009"], patch=32)
    (pairs / "metadata.json").write_text(json.dumps([{"fragment_filename": "077.png"}]))
    with pytest.raises(DataError, match="metadata.json: lists fragment 077"):
        list_pairs(pairs)
    (pairs / "metadata.json").write_text("{broken")
    with pytest.raises(DataError, match="metadata.json: cannot be read"):
        list_pairs(pairs)


def test_reader_on_the_real_pairs(shared_data):
    root = shared_data / "s1s2_pairs"
    if not root.is_dir():
        pytest.skip(f"{root} not present")
    names = list(list_pairs(root))
    assert len(names) == 50
    ds = PairedPatches(root, names[:2], patch=256)
    assert ds.channels == {"s1": 1, "s2": 3} and len(ds) == 2 * 16
    item = ds[0]
    assert item["s1"].shape == (1, 256, 256) and item["s2"].shape == (3, 256, 256)
    assert -3 < float(item["s1"].mean()) < 3 and -3 < float(item["s2"].mean()) < 3
    train, test = split_fragments(names, 0.3, seed=0)
    assert len(test) == 15 and len(train) == 35
