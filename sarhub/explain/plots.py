"""The paper's explaining figures as PNG (matplotlib; the scripts choose the Agg backend): CAM panels (Figure 7), explainer loss curves (Figure 8),
KP counts over fine-tuning checkpoints (Figure 9), counts vs b with trend lines (Figure 10), KP maps (Figure 11)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from sarhub.explain.kp import trend_slope


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cam_panel(image: np.ndarray, rows: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    """One image: rows = models, columns = the image then each method's map overlaid."""
    methods = list(next(iter(rows.values())))
    fig, axes = plt.subplots(len(rows), len(methods) + 1, figsize=(2.4 * (len(methods) + 1), 2.4 * len(rows)),
                             squeeze=False)
    for r, (model, maps) in enumerate(rows.items()):
        axes[r, 0].imshow(image, cmap="gray")
        axes[r, 0].set_ylabel(model, fontsize=8)
        for c, method in enumerate(methods, 1):
            axes[r, c].imshow(image, cmap="gray")
            axes[r, c].imshow(maps[method], cmap="jet", alpha=0.45, vmin=0, vmax=1)
            if r == 0:
                axes[r, c].set_title(method, fontsize=8)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    _save(fig, path)


def loss_curves(histories: dict[str, list[dict]], path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for name, hist in histories.items():
        for ax, key in zip(axes, ("total", "feature", "entropy")):
            ax.plot([h[key] for h in hist], label=name)
            ax.set_title({"total": "total loss", "feature": "feature change / Var f(x)",
                          "entropy": "mean entropy log σ + C"}[key])
            ax.set_xlabel("step")
    axes[0].legend(fontsize=7)
    _save(fig, path)


def counts_over_checkpoints(labels: Sequence[str], counts: dict[str, dict[str, Sequence[float]]], path: Path) -> None:
    """counts: model -> region -> one mean count per checkpoint."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, region in zip(axes, ("target", "shadow")):
        for model, per_region in counts.items():
            ax.plot(labels, per_region[region], marker="o", label=model)
        ax.set_title(f"KPs in {region}")
        ax.set_xlabel("checkpoint")
    axes[0].legend(fontsize=7)
    _save(fig, path)


def counts_vs_b(bs: Sequence[float], counts: dict[str, dict[str, Sequence[float]]], path: Path) -> dict[str, dict]:
    """Counts vs b per region with least-squares trend lines; returns the slopes k."""
    slopes: dict[str, dict] = {}
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, region in zip(axes, ("target", "shadow")):
        for model, per_region in counts.items():
            k = trend_slope(bs, per_region[region])
            slopes.setdefault(model, {})[region] = k
            line, = ax.plot(bs, per_region[region], marker="o", label=f"{model} (k={k:.1f})")
            fit = np.polyfit(bs, per_region[region], 1)
            ax.plot(bs, np.polyval(fit, bs), ls="--", color=line.get_color())
        ax.set_title(f"KPs in {region} vs b")
        ax.set_xlabel("b")
        ax.legend(fontsize=7)
    _save(fig, path)
    return slopes


def kp_maps(image: np.ndarray, entropy: np.ndarray, regions: dict[str, np.ndarray], bs: Sequence[float],
            path: Path, title: str = "") -> None:
    """Figure 11: the chip with its KPs coloured by region (target red, shadow green, clutter blue), one panel per b."""
    g = entropy.shape[0]
    cell = image.shape[0] // g
    clutter = regions["clutter"]
    baseline = entropy[clutter].mean() if clutter.any() else entropy.mean()
    fig, axes = plt.subplots(1, len(bs), figsize=(2.6 * len(bs), 2.8), squeeze=False)
    for ax, b in zip(axes[0], bs):
        ax.imshow(image, cmap="gray")
        overlay = np.zeros((*image.shape, 4))
        kp = entropy < baseline - b
        for name, color in (("target", (1, 0, 0)), ("shadow", (0, 1, 0)), ("clutter", (0, 0, 1))):
            units = np.kron(kp & regions[name], np.ones((cell, cell))) > 0
            overlay[units] = (*color, 0.45)
        ax.imshow(overlay)
        ax.set_title(f"{title} b={b}", fontsize=8)
        ax.axis("off")
    _save(fig, path)


def region_previews(raw, masks: list[dict], path: Path, n: int = 6) -> None:
    """Target (red) and shadow (green) regions over the first `n` chips (N×1×H×W)."""
    n = min(n, len(raw))
    fig, axes = plt.subplots(1, n, figsize=(2.4 * n, 2.6), squeeze=False)
    for ax, img, m in zip(axes[0], raw, masks):
        overlay = np.zeros((*img.shape[-2:], 4))
        overlay[m["target"]] = (1, 0, 0, 0.45)
        overlay[m["shadow"]] = (0, 1, 0, 0.45)
        ax.imshow(img[0], cmap="gray")
        ax.imshow(overlay)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
