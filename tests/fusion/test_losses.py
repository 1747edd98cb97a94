"""HCL (hard-negative contrastive loss) against a hand computation, and the fusion objective's terms."""
import math

import pytest
import torch

from sarhub.fusion.losses import fusion_objective, hcl_loss
from sarhub.fusion.models import FusionNet


def hcl_by_hand(a, b, tau, tau_plus, beta):
    """The HCL formula written out for plain Python lists, anchor by anchor."""
    def unit(v):
        n = math.sqrt(sum(x * x for x in v))
        return [x / n for x in v]

    z = [unit(v) for v in a + b]
    n = len(a)
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        s = [sum(x * y for x, y in zip(z[i], z[k])) / tau for k in range(2 * n)]
        negs = [s[k] for k in range(2 * n) if k not in (i, j)]
        m = len(negs)
        imp = [math.exp(beta * v) for v in negs]
        mean_imp = sum(imp) / m
        reweighted = sum(w * math.exp(v) for w, v in zip(imp, negs)) / mean_imp
        ng = max((reweighted - m * tau_plus * math.exp(s[j])) / (1 - tau_plus), m * math.exp(-1 / tau))
        total += -math.log(math.exp(s[j]) / (math.exp(s[j]) + ng))
    return total / (2 * n)


def test_hcl_equals_hand_computed_value_for_two_pairs():
    a = [[1.0, 0.0, 0.5], [0.2, 1.0, -0.3]]
    b = [[0.9, 0.1, 0.4], [-0.1, 0.8, 0.2]]
    expected = hcl_by_hand(a, b, 0.5, 0.1, 1.0)
    got = hcl_loss(torch.tensor(a), torch.tensor(b), tau=0.5, tau_plus=0.1, beta=1.0)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    # β = 0 and τ⁺ = 0 is NT-Xent: −log(e^pos / (e^pos + Σ e^neg)) (clamp inactive for these vectors)
    nt = hcl_by_hand(a, b, 0.5, 0.0, 0.0)
    assert hcl_loss(torch.tensor(a), torch.tensor(b), 0.5, 0.0, 0.0).item() == pytest.approx(nt, rel=1e-5)
    # aligned pairs far from the other pairs cost less than swapped ones
    swapped = hcl_loss(torch.tensor(a), torch.tensor(b[::-1]))
    assert got < swapped
    with pytest.raises(ValueError, match="at least 2"):
        hcl_loss(torch.ones(1, 3), torch.ones(1, 3))


def test_image_level_only_objective_drops_every_super_pixel_term():
    model = FusionNet("late", (8, 8, 16, 16), dim=12, sar_channels=1, optical_channels=3)
    s1, s2 = torch.randn(3, 1, 24, 24), torch.randn(3, 3, 24, 24)
    out1, out2 = model(s1, s2), model(s1.flip(-1), s2.flip(-1))
    loss, terms = fusion_objective(out1, out2, None, None, superpixel=False)
    assert set(terms) == {"image_sar", "image_optical", "cross_image_v1", "cross_image_v2"}
    loss.backward()
