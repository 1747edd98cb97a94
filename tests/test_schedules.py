"""Learning-rate multipliers of the task recipes against their formulas."""
import math

import pytest

from sarhub.schedules import poly, warmup_cosine, warmup_step_decay


def test_detection_warmup_then_step_decay():
    f = warmup_step_decay(warmup_iters=10, warmup_ratio=0.001, steps_per_epoch=5, lr_steps=[8, 11])
    assert f(0) == pytest.approx(0.001) and f(5) == pytest.approx(0.001 + 0.999 * 0.5)
    assert f(10) == 1.0 and f(39) == 1.0  # epoch 7
    assert f(40) == pytest.approx(0.1) and f(55) == pytest.approx(0.01)  # epochs 8 and 11


def test_poly_decays_to_its_floor_and_stays_there():
    f = poly(iterations=100, power=0.9, floor=0.01)
    assert f(0) == pytest.approx(1.0) and f(50) == pytest.approx(0.99 * 0.5**0.9 + 0.01)
    assert f(100) == pytest.approx(0.01) and f(150) == pytest.approx(0.01)


def test_mae_warmup_then_cosine_to_zero():
    f = warmup_cosine(warmup=4, total=14)
    assert [f(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(4) == 1.0 and f(9) == pytest.approx(0.5 * (1 + math.cos(math.pi / 2))) and f(14) == pytest.approx(0.0)
