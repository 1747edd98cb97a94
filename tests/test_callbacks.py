"""Training callbacks: early stopping counts evaluations without a new best, ties included."""
from sarhub.callbacks import EarlyStopping


def test_early_stopping_counts_ties_as_no_improvement():
    rule = EarlyStopping(2, "miou", mode="min")
    assert rule.stale_evaluations([{"miou": 3.0}, {"miou": 1.0}, {"loss": 0.0}, {"miou": 1.0}, {"miou": 2.0}]) == 2
