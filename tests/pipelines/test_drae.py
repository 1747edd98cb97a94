"""DRAE's figure pipelines: the between-dataset gap, the calibration settings, and Figure 2's per-image means of real
storage formats written as CSV and figure (or one error when no real set is there)."""
import csv

import numpy as np
import pytest
import torch
from PIL import Image

from sarhub.drae import PAPER_DRAE, ptls
from sarhub.errors import ConfigError, DataError
from sarhub.pipelines.drae import CalibrationConfig, DriftConfig, gap, storage_drift


def test_gap_is_the_spread_of_the_dataset_means():
    assert gap({"TSX": np.array([0.1, 0.3]), "BEN": np.array([0.5]), "OSU": np.array([0.4, 0.4])}) == pytest.approx(0.3)


def test_calibration_reference_is_test_pooled_or_a_number():
    assert CalibrationConfig(reference="0.45").reference == "0.45"
    with pytest.raises(ConfigError, match="reference: 'bright': test, pooled or a number"):
        CalibrationConfig(reference="bright")


def test_storage_drift_writes_every_images_two_means(tmp_path, capsys):
    jpegs = tmp_path / "shared" / "ssdd" / "JPEGImages"
    jpegs.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 100, (16, 16), dtype=np.uint8)).save(jpegs / f"{i:06d}.jpg", quality=100)
    out = tmp_path / "figures"
    storage_drift(DriftConfig(shared=str(tmp_path / "shared"), output=str(out)))
    rows = list(csv.reader(open(out / "storage_drift_means.csv")))
    assert rows[0] == ["dataset", "mean_before", "mean_after"] and len(rows) == 4
    assert {r[0] for r in rows[1:]} == {"SSDD (8-bit JPEG)"}
    first = np.asarray(Image.open(jpegs / "000000.jpg"), np.float32) / 255.0
    assert float(rows[1][1]) == pytest.approx(first.mean(), abs=1e-5)
    # the after-mean is the image after PTLS at OSU's test value

    after = ptls(torch.from_numpy(first)[None, None], PAPER_DRAE["OSU"].test_value).mean().item()
    assert float(rows[1][2]) == pytest.approx(after, abs=1e-5)
    assert (out / "fig2_real_storage_drift.png").stat().st_size > 1000
    assert "| SSDD (8-bit JPEG) | 3 | ptls" in capsys.readouterr().out
    with pytest.raises(DataError, match="none of tsx_slc/, mstar_soc/"):
        storage_drift(DriftConfig(shared=str(tmp_path / "empty"), output=str(out)))
