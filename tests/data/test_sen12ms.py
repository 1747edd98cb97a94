"""SEN12MS/DFC2020 reader: the simplified land-cover scheme, normalisation, S1/S2 pairing, bad codes and sizes."""
import numpy as np
import pytest
import tifffile
import torch

from sarhub.data.sen12ms import IGNORE_INDEX, SEN12MSDataset, partner_path, split_files, to_labels
from sarhub.data.synthetic.sar_optical import write_sen12ms
from sarhub.errors import DataError


def test_labels_follow_the_dfc2020_scheme():
    igbp = np.array([[0, 1, 5, 6], [10, 12, 14, 17]], np.uint8)
    lc = np.stack([igbp] + [np.zeros_like(igbp)] * 3, axis=-1)
    assert to_labels(lc, "lc").tolist() == [[IGNORE_INDEX, 0, 0, 1], [3, 5, 5, 9]]
    assert to_labels(np.array([[0, 1, 10, 255]], np.uint8), "dfc").tolist() == [[IGNORE_INDEX, 0, 9, IGNORE_INDEX]]
    for code, kind in ((11, "dfc"), (200, "lc")):  # not a class, not no-data: an error, never water
        with pytest.raises(DataError, match=f"code {code}"):
            to_labels(np.array([[1, code]], np.uint8), kind)


def test_reader_normalises_and_pairs_the_sen12ms_layout(tmp_path):
    root = write_sen12ms(tmp_path / "sen12ms", n_patches=3, size=32, seed=1)
    s1 = sorted(root.rglob("*_s1_*.tif"))[0]
    assert partner_path(s1, "s2").name == s1.name.replace("_s1_", "_s2_") and partner_path(s1, "s2").parent.name == "s2_1"
    raw = tifffile.imread(s1)
    raw[0, 0, 0] = np.nan
    raw[0, 1, 0] = 5.0  # above 0 dB: clipped to 0
    tifffile.imwrite(s1, raw)
    ds = SEN12MSDataset(root)
    sample = ds[0]
    assert sample["s1"].shape == (2, 32, 32) and sample["s2"].shape == (4, 32, 32) and sample["mask"].shape == (32, 32)
    assert sample["s1"][0, 0, 0] == 0  # NaN → 0 after standardisation
    assert sample["s1"][0, 0, 1].item() == pytest.approx((0 + 11.5) / 4.5)
    assert torch.isfinite(sample["s2"]).all() and sample["mask"].dtype == torch.int64
    assert set(sample["mask"].unique().tolist()) <= {0, 3, 5, 6, 8, 9}
    train, test = split_files(ds.s1_files, 0.34, seed=0)
    assert len(train) == 2 and len(test) == 1 and not set(train) & set(test)
    partner_path(s1, "s2").unlink()
    with pytest.raises(DataError, match="missing s2 partner"):
        SEN12MSDataset(root)
    assert len(SEN12MSDataset(root, modalities=("s1",))) == 3  # SAR only needs no S2


def test_reader_on_the_real_sen12ms_patch(shared_data):
    root = shared_data / "sen12ms_s1"
    ds = SEN12MSDataset(root, modalities=("s1",), labels="lc")
    sample = ds[0]
    assert sample["s1"].shape == (2, 256, 256)
    assert -3 < float(sample["s1"].mean()) < 3  # standardised dB values
    # IGBP codes 4, 5, 8, 9 of this patch are forest (4, 5) and savanna (8, 9) in the simplified scheme
    assert set(sample["mask"].unique().tolist()) == {0, 2}


def test_land_cover_codes_outside_the_scheme_are_errors_not_water():
    lc = np.stack([np.array([[17, 255]], np.uint8)] + [np.zeros((1, 2), np.uint8)] * 3, axis=-1)
    assert to_labels(lc, "lc").tolist() == [[9, IGNORE_INDEX]]  # 17 is water, 255 no-data
    lc[0, 1, 0] = 200
    with pytest.raises(DataError, match="land-cover code 200"):
        to_labels(lc, "lc")


def test_s1_s2_size_mismatch_is_named(tmp_path):
    root = write_sen12ms(tmp_path / "s", n_patches=1, size=32)
    ds = SEN12MSDataset(root)
    s2 = partner_path(ds.s1_files[0], "s2")
    tifffile.imwrite(s2, np.zeros((16, 16, 13), np.uint16))
    with pytest.raises(DataError, match="partners differ in size"):
        ds[0]
