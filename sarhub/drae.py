"""Dynamic Range Adaptive Enhancement (DRAE, paper §3.1, Eq. 1–7), batched in torch on any device.

SAR pre-training sets are stored in very different dynamic ranges (16-bit TerraSAR-X DN, Sentinel-1 dB floats,
8-bit enhanced OpenSARUrban), so after the usual per-image 0–1 normalisation their brightness statistics drift
apart. DRAE compresses each image's dynamic range with a tone-mapping operator whose parameter is drawn per image
during training (an augmentation that makes the model robust to the drift) and fixed at test time:

- Reinhard–Devlin (Eq. 3–5) for 16-bit TSX: f(x) = x / (x + (t·La)^m), La = l·x + (1−l)·x_avg, l = 1e-4,
  m = 0.3 + 0.7·((1 − x_avg)/(1 − x_min))^1.4, t used as is (not exp(−t)). x_avg is each image's mean, as the
  paper writes; `x_avg=<float>` uses a fixed dataset constant instead (the authors' deleted code used 0.169 for TSX).
- PTLS, percentage truncated linear stretch (Eq. 6–7) for BEN and OSU: stretch between the v % and (100 − v) %
  quantiles of the image and clip to [0, 1].

All statistics are per image and per channel. Inputs are float tensors B×C×H×W with values in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
from torch import nn

from sarhub.config import option
from sarhub.errors import ConfigError

RD_L = 1e-4  # the paper's l: weight of the pixel value in the adaptation luminance La
_EPS = 1e-12


def _per_image(x: torch.Tensor) -> torch.Tensor:
    """B×C×H×W -> (B·C)×(H·W) view for per-image-channel statistics."""
    if x.ndim != 4:
        raise ValueError(f"expected a B×C×H×W batch, got shape {tuple(x.shape)}")
    return x.reshape(x.shape[0] * x.shape[1], -1)


def _per_row(value: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Broadcast a scalar or per-image (B,) parameter to one value per (image, channel) row, as a column."""
    value = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    if value.ndim == 0:
        value = value.expand(x.shape[0])
    if value.shape != (x.shape[0],):
        raise ValueError(f"parameter must be a scalar or have one value per image ({x.shape[0]}), got {tuple(value.shape)}")
    return value.repeat_interleave(x.shape[1]).unsqueeze(1)


def reinhard_devlin(x: torch.Tensor, t: float | torch.Tensor, x_avg: float | None = None, l: float = RD_L) -> torch.Tensor:
    """Reinhard–Devlin tone mapping (Eq. 3–5); `t` is a scalar or one value per image."""
    flat = _per_image(x)
    mean = flat.mean(dim=1, keepdim=True) if x_avg is None else torch.full_like(flat[:, :1], float(x_avg))
    x_min = flat.amin(dim=1, keepdim=True)
    m = 0.3 + 0.7 * ((1.0 - mean) / (1.0 - x_min).clamp_min(_EPS)).clamp_min(0.0) ** 1.4
    t = _per_row(t, x)
    # (t·La)^m with La = l·x + (1−l)·x_avg, built in place: this op is memory-bound on large batches
    scaled = torch.addcmul(t * (1.0 - l) * mean, flat, t * l).clamp_min_(0.0).pow_(m)
    out = flat / scaled.add_(flat).clamp_min_(_EPS)
    return out.reshape(x.shape)


def quantiles(flat: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Per-row linear-interpolation quantiles (numpy's default) with their own q per row; q is (rows, k).

    Quantiles near the tails (PTLS uses v ≤ a few percent) only need the k smallest/largest values of a row, so a
    partial top-k replaces the full sort when it can (several times faster on large images).
    """
    n = flat.shape[1]
    pos = q.clamp(0, 1) * (n - 1)
    lo = pos.floor().long()
    frac = pos - lo
    hi = (lo + 1).clamp_max(n - 1)
    low_tail = pos <= 0.5 * (n - 1)
    k = int(torch.maximum(pos, (n - 1) - pos).neg().add(n - 1).max().item()) + 2  # rank needed from either end
    if k < n // 8:
        small = flat.topk(k, dim=1, largest=False, sorted=True).values
        large = flat.topk(k, dim=1, largest=True, sorted=True).values
        from_top = lambda idx: large.gather(1, ((n - 1) - idx).clamp(0, k - 1))  # noqa: E731
        from_bottom = lambda idx: small.gather(1, idx.clamp(0, k - 1))  # noqa: E731
        v_lo = torch.where(low_tail, from_bottom(lo), from_top(lo))
        v_hi = torch.where(low_tail, from_bottom(hi), from_top(hi))
    else:
        ordered, _ = flat.sort(dim=1)
        v_lo, v_hi = ordered.gather(1, lo), ordered.gather(1, hi)
    return v_lo * (1 - frac) + v_hi * frac


def ptls(x: torch.Tensor, v: float | torch.Tensor) -> torch.Tensor:
    """Percentage truncated linear stretch (Eq. 6–7): v in percent, a scalar or one value per image."""
    flat = _per_image(x)
    q = _per_row(v, x) / 100.0
    bounds = quantiles(flat, torch.cat([q, 1.0 - q], dim=1))
    lo, hi = bounds[:, :1], bounds[:, 1:]
    out = ((flat - lo) / (hi - lo).clamp_min(_EPS)).clamp_(0.0, 1.0)
    return out.reshape(x.shape)


def gamma_transform(x: torch.Tensor, gamma: float) -> torch.Tensor:
    """x^γ on [0, 1] images: the brightness perturbation of the paper's robustness test (Table 2)."""
    return x.clamp_min(0.0) ** gamma


METHODS = {"rd": reinhard_devlin, "ptls": ptls}


@dataclass(frozen=True)
class DRAEConfig:
    """One dataset's DRAE: method ("rd", "ptls" or "none"), the training range of its parameter and the test value.
    The one type of the DRAE settings: options of every classifier config, and part of a Model-Hub input contract."""

    method: str = option("none", "DRAE: rd (Reinhard–Devlin, 16-bit), ptls (8-bit, dB) or none", flag="drae_method",
                         choices=("rd", "ptls", "none"))
    train_range: tuple[float, float] = option((0.0, 0.0), "training range of t (rd) or v (ptls), drawn per image",
                                              flag="drae_range")
    test_value: float = option(0.0, "fixed test-time t or v", flag="drae_test")
    x_avg: float | None = option(None, "Reinhard–Devlin: fixed dataset mean instead of each image's (the authors' "
                                       "TSX constant: 0.169)", flag="drae_xavg")

    def __post_init__(self) -> None:
        if self.method not in (*METHODS, "none"):
            raise ConfigError("drae_method", f"unknown DRAE method {self.method!r}; choose rd, ptls or none")
        lo, hi = self.train_range
        if lo > hi:
            raise ConfigError("drae_range", f"must be (low, high), got {tuple(self.train_range)}")


# The paper's settings (§4.2): TSX t ∈ [3.5, 4.5] (test 4); BEN v ∈ [0, 2] (test 1); OSU v ∈ [0, 3] (test 1.5).
PAPER_DRAE = {
    "TSX": DRAEConfig("rd", (3.5, 4.5), 4.0),
    "BEN": DRAEConfig("ptls", (0.0, 2.0), 1.0),
    "OSU": DRAEConfig("ptls", (0.0, 3.0), 1.5),
}


class DRAE(nn.Module):
    """Batch transform: in training mode each image draws its parameter uniformly from `train_range`; in eval mode
    the fixed `test_value` is used. Call `.train()`/`.eval()` alongside the model."""

    def __init__(self, config: DRAEConfig):
        super().__init__()
        self.config = config

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        cfg = self.config
        if cfg.method == "none":
            return x
        if self.training:
            lo, hi = cfg.train_range
            u = torch.rand(x.shape[0], generator=generator, device="cpu" if generator is None else generator.device)
            param = (lo + (hi - lo) * u).to(device=x.device, dtype=x.dtype)
        else:
            param = cfg.test_value
        if cfg.method == "rd":
            return reinhard_devlin(x, param, x_avg=cfg.x_avg)
        return ptls(x, param)

    def extra_repr(self) -> str:
        c = self.config
        return f"method={c.method}, train_range={c.train_range}, test_value={c.test_value}, x_avg={c.x_avg}"


# --- Calibration (Eq. 1–2) --------------------------------------------------------------------------------------

def image_means(images: Iterable[torch.Tensor], method: str, param: float, x_avg: float | None = None) -> torch.Tensor:
    """Mean value of every image after DRR with one parameter; `images` yields B×C×H×W batches in [0, 1]."""
    out = []
    for batch in images:
        if method == "none":
            y = batch
        elif method == "rd":
            y = reinhard_devlin(batch, param, x_avg=x_avg)
        else:
            y = ptls(batch, param)
        out.append(y.flatten(1).mean(dim=1))
    return torch.cat(out)


def admissible_range(
    means_by_param: dict[float, float], reference: float, lam: float = 0.1
) -> tuple[float, float] | None:
    """Eq. (1)–(2): the parameters whose dataset mean after DRR lies in [(1−λ)·ref, (1+λ)·ref], as (min, max).

    `means_by_param` maps each grid value to the dataset's mean image value after DRR with it. Returns None when no
    grid value is admissible. The range is the span of the admissible values (the grid is searched exhaustively).
    """
    ok = [p for p, m in sorted(means_by_param.items()) if (1 - lam) * reference <= m <= (1 + lam) * reference]
    return (ok[0], ok[-1]) if ok else None


def calibrate(
    datasets: dict[str, tuple[Sequence[torch.Tensor], str]],
    grids: dict[str, Sequence[float]],
    test_values: dict[str, float],
    lam: float = 0.1,
    reference: float | None = None,
) -> dict[str, dict]:
    """Grid-search each dataset's DRR parameter range so its mean image value stays within ±λ of a shared reference.

    datasets: name -> (list of B×C×H×W batches in [0, 1], method). grids: method -> candidate parameters.
    The reference brightness defaults to the average, over datasets, of each dataset's mean after DRR with its
    fixed test-time parameter (`test_values`), i.e. the level the datasets are brought to at test time; the
    admissible training range is then the set of parameters that keep each dataset within ±λ of that level, which
    is what bounds the augmentation so it does not re-introduce the drift it removes.
    """
    means: dict[str, dict[float, float]] = {}
    for name, (batches, method) in datasets.items():
        grid = grids[method] if method != "none" else [0.0]
        means[name] = {float(p): float(image_means(batches, method, p).mean()) for p in grid}
    if reference is None:
        at_test = []
        for name, (batches, method) in datasets.items():
            at_test.append(float(image_means(batches, method, test_values.get(name, 0.0)).mean()))
        reference = sum(at_test) / len(at_test)
    result = {}
    for name, (batches, method) in datasets.items():
        raw = float(image_means(batches, "none", 0.0).mean())
        result[name] = {
            "method": method, "raw_mean": raw, "reference": reference,
            "range": admissible_range(means[name], reference, lam), "means": means[name],
        }
    return result
