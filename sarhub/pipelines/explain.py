"""Explaining fine-tuned target classifiers (paper §3.3): knowledge points (Figures 8–11) and CAM maps (Figure 7),
on the same seeded test chips for every checkpoint."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torchvision.transforms.v2.functional import center_crop

from sarhub.cli import config_from
from sarhub.config import option
from sarhub.data.synthetic.targets import simulated_mstar_root
from sarhub.data.targets import MSTARDataset
from sarhub.distributed import pick_device
from sarhub.errors import ConfigError
from sarhub.explain import plots
from sarhub.explain.cam import cam_maps, guided_is_plain_gradient, stage_feature_maps
from sarhub.explain.kp import count_kps, explain
from sarhub.explain.regions import region_masks, unit_masks
from sarhub.hub import InputContract
from sarhub.pipelines import targets
from sarhub.pipelines.common import load_classifier

REGIONS = ("target", "shadow", "clutter")


def pick_chips(run: dict, data_root: str | None, split: str, num_images: int, seed: int
               ) -> tuple[MSTARDataset, torch.Tensor, torch.Tensor]:
    """The seeded random chips every model is explained on: (dataset, indices, images N×1×H×W), prepared as the
    first checkpoint's training saw them (data root, crop, size); the simulator when it had no data root."""
    cfg = targets.TargetConfig.from_args(run)
    root = data_root or cfg.data.root
    if root is None:
        root = simulated_mstar_root(cfg.data.sim_per_class, cfg.data.sim_per_class)
    data = MSTARDataset(root, split, crop=cfg.data.crop, image_size=cfg.input.img_size, classes=run.get("classes"))
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:num_images]
    images = torch.stack([data[i]["image"] for i in pick.tolist()])
    return data, pick, center_crop(images, [InputContract.from_run(run).img_size])  # a random-crop model's window


def default_checkpoint(out: Path) -> str:
    """Embedded default: a ResNet-18 trained for a few epochs on simulated MSTAR chips (cached in `out`), with
    target recognition's recipes, as its train.py would train it."""
    ckpt = out / "default_classifier" / "checkpoint_last.pth"
    if not ckpt.is_file():
        targets.train(config_from(targets.TargetConfig, {"epochs": 4, "img_size": 64, "workers": 0,
                                                         "output": str(ckpt.parent)}))
    return str(ckpt)


def checkpoint_specs(specs: Sequence[str], out: Path) -> dict[str, str]:
    """label -> path of `label=path` (or plain path: labelled by its folder) arguments; the default without any."""
    specs = specs or [f"default={default_checkpoint(out)}"]
    return dict(s.split("=", 1) if "=" in s else (Path(s).parent.name, s) for s in specs)


@dataclass
class ExplainOptions:
    """What both explainers share: the models, the chips they are explained on, and where the figures go."""

    checkpoint: list[str] = option(factory=list, help="label=path of a target-recognition checkpoint (repeatable); "
                                   "none: a classifier trained briefly on simulated chips", repeat=True)
    data_root: str | None = option(None, "MSTAR root (default: the first checkpoint's data root)")
    split: str = option("test", "the split the chips are drawn from", choices=("train", "test"))
    seed: int = option(0, "seeds the chip draw (and the explainer)", bounds=(0, 2**32 - 1))


@dataclass
class KPConfig(ExplainOptions):
    """Knowledge-point explanation of target classifiers (paper §3.3, Figures 8–11)."""

    num_images: int = option(16, "chips explained", bounds=(1, None))
    grid: int = option(16, "units per side (16 -> 8×8-pixel cells at 128 px)", bounds=(1, None))
    lam: float = option(0.25, "λ of the explainer's loss", bounds=(0.0, None))
    steps: int = option(300, "explainer steps", bounds=(1, None))
    lr: float = option(5e-5, "explainer learning rate", positive=True)
    schedule: str = option("constant", "explainer lr schedule", choices=("constant", "cosine"))
    amp: bool = option(False, "bf16 autocast (CUDA, or a CPU with bf16 instructions)")
    weight_decay: float = option(0.05, "explainer weight decay", bounds=(0.0, None))
    samples: int = option(1, "noise samples averaged per step", bounds=(1, None))
    layer: str | None = option(None, "feature layer (default: the last stage)")
    b: list[float] = option(factory=lambda: [0.25, 0.3, 0.4, 0.5], help="entropy thresholds b of the KP count")
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    output: str = option("runs/kp", "folder of the counts, summary and figures")


@dataclass
class CAMConfig(ExplainOptions):
    """CAM maps of SAR classifiers (Figure 7): GradCAM++, LayerCAM, Guided GradCAM++ and stage feature maps."""

    num_images: int = option(4, "chips drawn", bounds=(1, None))
    output: str = option("runs/cam", "folder of the panels")


def knowledge_points(cfg: KPConfig) -> dict:
    """For every checkpoint one σ-U-Net explainer on the same chips; KPs counted in target, shadow and clutter units
    for each b. Writes kp_counts.csv, summary.md, Figures 8–11 and region previews. Returns the mean counts."""
    args, bs = cfg, cfg.b
    out = Path(args.output)
    device = pick_device(args.device)
    checkpoints = checkpoint_specs(args.checkpoint, out)
    rows, histories, mean_counts, raw = [], {}, {}, None
    for label, path in checkpoints.items():
        model, run, preprocess = load_classifier(path, device)
        if raw is None:
            data, pick, raw = pick_chips(run, args.data_root, args.split, args.num_images, args.seed)
            size = InputContract.from_run(run).img_size
            if size % args.grid:
                raise ConfigError("grid", f"{args.grid} does not divide the input size {size}")
            pixel_regions = [region_masks(img[0].numpy()) for img in raw]
            units = [unit_masks(m, args.grid) for m in pixel_regions]
            regions = {k: torch.stack([u[k] for u in units]) for k in REGIONS}
            plots.region_previews(raw, pixel_regions, out / "regions_preview.png")
        result = explain(model, preprocess(raw).to(device), args.grid, args.lam, args.steps, args.lr,
                         args.weight_decay, args.samples, args.layer, seed=args.seed, progress=True,
                         schedule=args.schedule, amp=args.amp)
        histories[label] = result.history
        counts = count_kps(result.entropy, regions, bs)
        for i in range(len(raw)):
            for j, b in enumerate(bs):
                rows.append({"model": label, "image": data.items[int(pick[i])][0], "b": b,
                             **{r: int(counts[r][i, j]) for r in REGIONS}})
        mean_counts[label] = {r: counts[r].mean(axis=0).tolist() for r in REGIONS}
        plots.kp_maps(raw[0, 0].numpy(), result.entropy[0].numpy(), {k: v[0].numpy() for k, v in regions.items()},
                      bs, out / f"kp_maps_{label}.png", label)
        print(f"{label}: mean KPs per image (b = {bs}): "
              + ", ".join(f"{r} {np.round(mean_counts[label][r], 2).tolist()}" for r in REGIONS))
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
    return mean_counts


def cams(args: CAMConfig) -> None:
    """GradCAM++, LayerCAM and Guided GradCAM++ per model, one PNG panel per image (rows models, columns methods),
    plus the channel-mean feature maps of the four stages (Figure 7a)."""
    out = Path(args.output)
    checkpoints = checkpoint_specs(args.checkpoint, out)
    rows_per_image: list[dict] = []
    stage_rows: list[dict] = []
    raw = None
    for label, path in checkpoints.items():
        model, run, preprocess = load_classifier(path, "cpu")
        if raw is None:
            data, pick, raw = pick_chips(run, args.data_root, args.split, args.num_images, args.seed)
            labels = [data[i]["label"] for i in pick.tolist()]
            rows_per_image = [{} for _ in range(len(raw))]
            stage_rows = [{} for _ in range(len(raw))]
        if guided_is_plain_gradient(run["model"]):
            print(f"note: {label} ({run['model']}) uses GELU, so Guided GradCAM++ is plain gradient × GradCAM++")
        x = preprocess(raw)
        maps = cam_maps(model, run["model"], x, labels)
        stages = stage_feature_maps(model, run["model"], x)
        for i in range(len(raw)):
            rows_per_image[i][label] = {m: maps[m][i] for m in maps}
            stage_rows[i][label] = {f"stage {s + 1}": torch.nn.functional.interpolate(
                torch.from_numpy(stages[s][i])[None, None], size=raw.shape[-2:], mode="nearest")[0, 0].numpy()
                for s in range(4)}
    for i in range(len(raw)):
        plots.cam_panel(raw[i, 0].numpy(), rows_per_image[i], out / f"cam_image{i}.png")
        plots.cam_panel(raw[i, 0].numpy(), stage_rows[i], out / f"stages_image{i}.png")
    print(f"wrote {len(raw)} CAM panels and stage-feature panels to {out}")
