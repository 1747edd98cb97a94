"""Knowledge-point explanation of fine-tuned target classifiers (paper §3.3, Figures 8–11).

    python explain.py --checkpoint scratch=../target_recognition/runs/a/checkpoint_last.pth \
                      --checkpoint sar=../target_recognition/runs/b/checkpoint_last.pth --num-images 16
    python explain.py --checkpoint e50=run/checkpoint_epoch50.pth --checkpoint e100=run/checkpoint_epoch100.pth ...
    python explain.py              # embedded default: a classifier trained briefly on simulated chips

For every checkpoint (label=path) the same test chips are explained with one σ-U-Net per model, trained on the
whole batch; KPs are counted in target, shadow and clutter units for each b. Writes kp_counts.csv (every image,
model and b), summary.md, loss curves (Figure 8), counts over checkpoints (Figure 9, when several), counts vs b with
trend slopes k (Figure 10), KP maps (Figure 11) and region previews.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
import torch
from torchvision.transforms.v2.functional import center_crop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "target_recognition"))

from sarhub import create_model  # noqa: E402
from sarhub.classification import model_input_size, preprocess_from_run  # noqa: E402
from sarhub.cli import check_settings, refuse, run_main  # noqa: E402
from sarhub.data.targets import MSTARDataset  # noqa: E402
from sarhub.engine import load_checkpoint  # noqa: E402
from sarhub.errors import DataError  # noqa: E402
from sarhub.explain import plots  # noqa: E402
from sarhub.explain.kp import count_kps, explain  # noqa: E402
from sarhub.explain.regions import region_masks, unit_masks  # noqa: E402


def load_classifier(path: str, device: torch.device):
    state = load_checkpoint(path)
    run = state.get("args") or {}
    if not {"num_classes", "classes", "norm_mean", "model"} <= set(run) or "model" not in state:
        raise DataError(path, "not a classifier checkpoint of target_recognition or SAR_scene_classification")
    model = create_model(run["model"], num_classes=run["num_classes"], in_chans=run.get("in_chans", 1),
                         img_size=model_input_size(run))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise DataError(path, f"its weights do not fit a {run['model']} classifier: "
                              f"{str(exc).splitlines()[-1].strip()}") from None
    return model.to(device).eval(), run, preprocess_from_run(run)


def pick_chips(run: dict, args: argparse.Namespace) -> tuple[MSTARDataset, torch.Tensor, torch.Tensor]:
    """The seeded random chips every model is explained on: (dataset, indices, images N×1×H×W), prepared as the
    first checkpoint's training saw them (data root, crop, size); the simulator when it had no data root."""
    root = args.data_root or run.get("data_root")
    if root is None:
        from sarhub.data.synthetic.targets import simulated_mstar_root

        root = simulated_mstar_root(run.get("sim_per_class", 40), run.get("sim_per_class", 40))
    data = MSTARDataset(root, args.split, crop=run.get("crop", 128), image_size=run.get("img_size", 128),
                        classes=run.get("classes"))
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed))[:args.num_images]
    images = torch.stack([data[i]["image"] for i in pick.tolist()])
    return data, pick, center_crop(images, [model_input_size(run)])  # the test-time window of a --random-crop model


def default_checkpoint(out: Path) -> str:
    """Embedded default: a ResNet-18 trained for a few epochs on simulated MSTAR chips (cached in `out`)."""
    ckpt = out / "default_classifier" / "checkpoint_last.pth"
    if not ckpt.is_file():
        import train as target_train  # target_recognition/train.py

        target_train.main(["--epochs", "4", "--img-size", "64", "--workers", "0", "--output", str(ckpt.parent)])
    return str(ckpt)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", action="append", default=None, help="label=path (repeatable)")
    p.add_argument("--data-root", default=None, help="MSTAR root (default: the first checkpoint's data root)")
    p.add_argument("--split", default="test")
    p.add_argument("--num-images", type=int, default=16)
    p.add_argument("--grid", type=int, default=16, help="units per side (16 -> 8×8-pixel cells at 128 px)")
    p.add_argument("--lam", type=float, default=0.25)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--schedule", default="constant", choices=["constant", "cosine"], help="explainer lr schedule")
    p.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA, or a CPU with bf16 instructions)")
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--samples", type=int, default=1, help="noise samples averaged per step")
    p.add_argument("--layer", default=None, help="feature layer (default: the last stage)")
    p.add_argument("--b", default="0.25,0.3,0.4,0.5")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--output", default="runs/kp")
    args = p.parse_args(argv)
    check_settings(p, args)
    out = Path(args.output)
    device = torch.device(args.device)
    try:
        bs = [float(b) for b in args.b.split(",")]
    except ValueError:
        refuse(p, f"--b {args.b}: expected comma-separated numbers")
    specs = args.checkpoint or [f"default={default_checkpoint(out)}"]
    checkpoints = dict(s.split("=", 1) if "=" in s else (Path(s).parent.name, s) for s in specs)

    rows, histories, mean_counts, first = [], {}, {}, None
    for label, path in checkpoints.items():
        model, run, preprocess = load_classifier(path, device)
        if first is None:
            data, pick, raw = pick_chips(run, args)
            size = model_input_size(run)
            if size % args.grid:
                raise DataError(None, f"input size {size} is not divisible by --grid {args.grid}")
            pixel_regions = [region_masks(img[0].numpy()) for img in raw]
            units = [unit_masks(m, args.grid) for m in pixel_regions]
            regions = {k: torch.stack([u[k] for u in units]) for k in ("target", "shadow", "clutter")}
            first = (raw, pixel_regions)
            _region_previews(raw, pixel_regions, out / "regions_preview.png")
        x = preprocess(raw).to(device)
        result = explain(model, x, args.grid, args.lam, args.steps, args.lr, args.weight_decay, args.samples,
                         args.layer, seed=args.seed, progress=True, schedule=args.schedule, amp=args.amp)
        histories[label] = result.history
        entropy = result.entropy
        counts = count_kps(entropy, regions, bs)
        for i in range(len(raw)):
            for j, b in enumerate(bs):
                rows.append({"model": label, "image": data.items[int(pick[i])][0], "b": b,
                             **{r: int(counts[r][i, j]) for r in ("target", "shadow", "clutter")}})
        mean_counts[label] = {r: counts[r].mean(axis=0).tolist() for r in ("target", "shadow", "clutter")}
        plots.kp_maps(raw[0, 0].numpy(), entropy[0].numpy(), {k: v[0].numpy() for k, v in regions.items()}, bs,
                      out / f"kp_maps_{label}.png", label)
        print(f"{label}: mean KPs per image (b = {bs}): target {np.round(mean_counts[label]['target'], 2).tolist()}, "
              f"shadow {np.round(mean_counts[label]['shadow'], 2).tolist()}, "
              f"clutter {np.round(mean_counts[label]['clutter'], 2).tolist()}")

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "kp_counts.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plots.loss_curves(histories, out / "fig8_loss_curves.png")
    slopes = plots.counts_vs_b(bs, mean_counts, out / "fig10_counts_vs_b.png")
    at = bs.index(0.3) if 0.3 in bs else 0
    if len(checkpoints) > 1:
        plots.counts_over_checkpoints(list(checkpoints), {"mean": {r: [mean_counts[m][r][at] for m in checkpoints]
                                                                   for r in ("target", "shadow")}},
                                      out / "fig9_counts_over_checkpoints.png")
    lines = [f"# KP counts ({len(raw)} {args.split} chips, grid {args.grid}, λ {args.lam}, {args.steps} steps)", "",
             "| model | " + " | ".join(f"target b={b}" for b in bs) + " | " + " | ".join(f"shadow b={b}" for b in bs)
             + " | clutter b=" + str(bs[at]) + " | k target | k shadow |",
             "|---|" + "---|" * (2 * len(bs) + 3)]
    for m, c in mean_counts.items():
        lines.append(f"| {m} | " + " | ".join(f"{v:.2f}" for v in c["target"]) + " | "
                     + " | ".join(f"{v:.2f}" for v in c["shadow"]) + f" | {c['clutter'][at]:.2f} | "
                     f"{slopes[m]['target']:.2f} | {slopes[m]['shadow']:.2f} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out}/kp_counts.csv, summary.md and figures")


def _region_previews(raw: torch.Tensor, masks: list[dict], path: Path, n: int = 6) -> None:
    import matplotlib.pyplot as plt

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


if __name__ == "__main__":
    run_main(main)
