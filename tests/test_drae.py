"""DRAE against values worked out by hand from the paper's equations (Eq. 3–7), and its output range."""

import numpy as np
import pytest
import torch

from sarhub.drae import DRAE, PAPER_DRAE, DRAEConfig, admissible_range, calibrate, ptls, reinhard_devlin


def rd_by_hand(pixels, t, l=1e-4, x_avg=None):
    avg = sum(pixels) / len(pixels) if x_avg is None else x_avg
    x_min = min(pixels)
    m = 0.3 + 0.7 * ((1 - avg) / (1 - x_min)) ** 1.4
    return [x / (x + (t * (l * x + (1 - l) * avg)) ** m) for x in pixels]


def test_reinhard_devlin_matches_hand_computation():
    pixels = [0.1, 0.2, 0.3, 0.4]
    x = torch.tensor(pixels, dtype=torch.float64).view(1, 1, 2, 2)
    out = reinhard_devlin(x, 4.0).flatten().tolist()
    assert out == pytest.approx(rd_by_hand(pixels, 4.0), rel=1e-12)
    # one worked number: m = 0.3 + 0.7·(0.75/0.9)^1.4 = 0.84232, f(0.2) = 0.2/(0.2 + (4·0.249995)^m) = 0.166669
    assert out[1] == pytest.approx(0.166669, abs=1e-6)


def test_reinhard_devlin_fixed_mean_and_per_image_parameter():
    a, b = [0.05, 0.1, 0.2, 0.6], [0.3, 0.3, 0.5, 0.9]
    x = torch.tensor([a, b], dtype=torch.float64).view(2, 1, 2, 2)
    out = reinhard_devlin(x, torch.tensor([3.5, 4.5], dtype=torch.float64), x_avg=0.169).view(2, -1)
    assert out[0].tolist() == pytest.approx(rd_by_hand(a, 3.5, x_avg=0.169), rel=1e-12)
    assert out[1].tolist() == pytest.approx(rd_by_hand(b, 4.5, x_avg=0.169), rel=1e-12)


def test_ptls_matches_hand_computation_and_numpy_quantiles():
    x = (torch.arange(101, dtype=torch.float64) / 100).view(1, 1, 1, 101)
    out = ptls(x, 10.0).flatten()
    # 10 % and 90 % quantiles are 0.1 and 0.9: 0.5 -> 0.5, 0.2 -> 0.125, below 0.1 -> 0, above 0.9 -> 1
    assert out[50].item() == pytest.approx(0.5)
    assert out[20].item() == pytest.approx(0.125)
    assert out[:10].max().item() == 0 and out[91:].min().item() == 1
    rng = np.random.default_rng(0)
    img = rng.gamma(1.0, 1.0, size=(3, 2, 17, 19))
    v = torch.tensor([0.0, 1.3, 2.9])
    got = ptls(torch.from_numpy(img), v).numpy()
    for i in range(3):
        for c in range(2):
            lo, hi = np.quantile(img[i, c], [v[i] / 100, 1 - v[i] / 100])
            want = np.clip((img[i, c] - lo) / (hi - lo), 0, 1)
            np.testing.assert_allclose(got[i, c], want, atol=1e-6)


@pytest.mark.parametrize("fmt", ["uint16", "db", "uint8"])
@pytest.mark.parametrize("dataset", ["TSX", "BEN", "OSU"])
def test_drae_output_in_unit_range_for_every_storage_format(fmt, dataset):
    rng = np.random.default_rng(1)
    intensity = rng.gamma(1.0, 1.0, size=(4, 1, 32, 32)) * np.exp(rng.normal(0, 1, size=(4, 1, 1, 1)))
    if fmt == "uint16":
        raw = np.clip(np.sqrt(intensity) * 500, 0, 65535).astype(np.uint16).astype(np.float64)
    elif fmt == "db":
        raw = 10 * np.log10(intensity + 1e-6)
    else:
        raw = np.clip((10 * np.log10(intensity + 1e-6) + 25) / 30 * 255, 0, 255).astype(np.uint8).astype(np.float64)
    lo, hi = raw.min(axis=(2, 3), keepdims=True), raw.max(axis=(2, 3), keepdims=True)
    x = torch.from_numpy((raw - lo) / (hi - lo)).float()
    drae = DRAE(PAPER_DRAE[dataset])
    for mode in (True, False):
        drae.train(mode)
        y = drae(x)
        assert y.shape == x.shape and y.dtype == torch.float32
        assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1


def test_drae_draws_per_image_in_training_and_is_fixed_at_test():
    x = torch.rand(8, 1, 16, 16)
    drae = DRAE(DRAEConfig("rd", (3.5, 4.5), 4.0))
    drae.train()
    torch.manual_seed(0)
    a = drae(x)
    torch.manual_seed(1)
    b = drae(x)
    assert not torch.allclose(a, b)
    drae.eval()
    assert torch.equal(drae(x), reinhard_devlin(x, 4.0))
    torch.manual_seed(0)
    t = 3.5 + torch.rand(8)  # the same draw the module makes
    assert torch.allclose(a, reinhard_devlin(x, t))


def test_calibration_range_contains_only_admissible_parameters():
    assert admissible_range({0.0: 0.48, 1.0: 0.45, 2.0: 0.41, 3.0: 0.30}, reference=0.45, lam=0.1) == (0.0, 2.0)
    assert admissible_range({0.0: 0.50, 1.0: 0.45, 2.0: 0.40}, reference=0.45, lam=0.1) == (1.0, 1.0)
    assert admissible_range({0.0: 0.9}, reference=0.45) is None
    rng = torch.Generator().manual_seed(0)
    dark = [torch.rand(4, 1, 16, 16, generator=rng) ** 6]
    mid = [torch.rand(4, 1, 16, 16, generator=rng)]
    result = calibrate({"dark": (dark, "rd"), "mid": (mid, "ptls")}, {"rd": [3.0, 4.0, 5.0], "ptls": [0.0, 1.0, 2.0]},
                       {"dark": 4.0, "mid": 1.0})
    lo, hi = calibrate({"mid": (mid, "ptls")}, {"ptls": [0.0, 1.0, 2.0]}, {"mid": 1.0})["mid"]["range"]
    assert lo <= 1.0 <= hi  # the test value is admissible when it sets the reference itself
    for r in result.values():
        assert r["raw_mean"] >= 0
        if r["range"] is not None:
            for p in r["range"]:
                assert abs(r["means"][p] - r["reference"]) <= 0.1 * r["reference"] + 1e-9
