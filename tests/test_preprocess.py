"""Classifier input preprocessing: log transform, per-image standardisation, and the training chain rebuilt from a
run's saved arguments."""
import numpy as np
import pytest
import torch

from sarhub.drae import ptls
from sarhub.hub import InputContract
from sarhub.preprocess import Preprocess, log_transform, standardise_per_image


def test_log_transform_compresses_16bit_range():
    x = torch.tensor([0.0, 0.001, 0.01, 1.0])
    y = log_transform(x, 1000.0)
    assert y[0] == 0 and y[-1] == pytest.approx(1.0) and y[1] == pytest.approx(np.log(2) / np.log(1001))


def test_per_image_standardisation_removes_each_chips_gain_and_offset():
    x = torch.rand(3, 1, 16, 16)
    out = standardise_per_image(x)
    assert torch.allclose(out.mean(dim=(-2, -1)), torch.zeros(3, 1), atol=1e-6)
    assert torch.allclose(out.std(dim=(-2, -1)), torch.ones(3, 1), atol=1e-5)
    gain = torch.tensor([0.5, 1.0, 1.3]).view(3, 1, 1, 1)  # e.g. chips divided by a different brightest pixel
    assert torch.allclose(standardise_per_image(gain * x + 0.1), out, atol=1e-5)
    assert torch.isfinite(standardise_per_image(torch.zeros(1, 1, 4, 4))).all()  # a flat chip stays finite


def preprocess_from_run(run: dict) -> Preprocess:
    """What sarhub.classification.preprocess_from_run was: a run's test-time preprocessing, now its input contract's."""
    return InputContract.from_run(run).preprocess()


def test_preprocess_from_run_rebuilds_the_training_chain():
    run = {"drae_method": "ptls", "drae_range": [1.0, 3.0], "drae_test": 2.0, "no_drae": False,
           "norm_mean": [0.2], "norm_std": [0.5], "log_transform": 0.0, "per_image_norm": True}
    x = torch.rand(2, 1, 16, 16)
    expected = (standardise_per_image(ptls(x, 2.0)) - 0.2) / 0.5
    assert torch.allclose(preprocess_from_run(run)(x), expected, atol=1e-5)
    plain = preprocess_from_run({**run, "no_drae": True, "per_image_norm": False})  # --no-drae wins over the method
    assert torch.allclose(plain(x), (x - 0.2) / 0.5)
    assert isinstance(plain, Preprocess) and not plain.training
