"""Semantic segmentation (SpaceNet6 buildings, paper Table 8; SSDD ship masks): DeepLabV3 fine-tuning with the
MMSegmentation recipe, and the test step (CPA/mIoU/P/R on the test split and its official subsets, a panel)."""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, RandomSampler

from sarhub.cli import (
    RunConfig,
    add_coco_test_options,
    common_parser,
    fit_config,
    load_run,
    parse_args,
    report_result,
    subset_lists,
    test_parser,
    to_config,
    use_defaults,
)
from sarhub.data.coco_masks import CocoMasks, Letterbox, validation_split
from sarhub.data.detection import subset_groups
from sarhub.data.segmentation import SegmentationFolder, SpaceNet6
from sarhub.data.segmentation_transforms import JointCompose, TrainAugment
from sarhub.data.synthetic.urban import simulated_spacenet6_root
from sarhub.distributed import DistEnv, ShardSampler, barrier, channels_last_on, cleanup, init_distributed, wrap_ddp
from sarhub.engine import fit
from sarhub.errors import DataError
from sarhub.losses import DiceLoss
from sarhub.metrics.segmentation import ConfusionMatrix
from sarhub.models.segmentation import AUX_WEIGHT, build_deeplabv3, predict_logits
from sarhub.paper import TABLE8, init_label
from sarhub.schedules import poly

# COCO layouts (masks from instance annotations); "coco" takes every path from --train-ann/--test-ann/--image-dir.
# "subsets": official lists of test images that test.py scores apart (one file name per line).
COCO_LAYOUTS = {
    "ssdd": {"train": "annotations/train.json", "test": "annotations/test.json", "images": "JPEGImages",
             "subsets": {"inshore": "test_inshore.txt", "offshore": "test_offshore.txt"}},
    "coco": {"train": None, "test": None, "images": None},
}
COLUMNS = ("model", "init", "dataset", "target", "subset", "images", "data", "iterations", "cpa_target", "miou", "P",
           "R", "paper (CPA/mIoU/P/R)", "checkpoint")
LR, WEIGHT_DECAY = 1e-3, 1e-4  # the paper's SGD (used when --lr / --weight-decay are not given)


@dataclass
class SegmentationConfig(RunConfig):
    dataset: str = "spacenet6"  # spacenet6, folder, ssdd, coco
    batch_size: int | None = 2
    lr: float | None = None  # None: LR
    weight_decay: float | None = None  # None: WEIGHT_DECAY
    train_ann: str | None = None
    test_ann: str | None = None
    image_dir: str | None = None
    input_size: int = 0  # COCO sets: letterbox long side (0: as they are)
    val_fraction: float = 0.1
    cat_max_ratio: float = 0.75
    iterations: int = 20000
    eval_interval: int = 2000
    crop_size: int = 512
    output_stride: int = 8
    img_size: int = 512  # Swin's nominal input size
    momentum: float = 0.9
    min_lr: float = 1e-4
    power: float = 0.9
    loss: str = "dice"
    ce_weight: float = 1.0
    aux_weight: float = AUX_WEIGHT
    no_aux: bool = False
    polarisation: str = "span"
    split_file: str | None = None
    eval_batch_size: int = 2
    sim_tiles: int = 60


def get_parser(description: str = "Fine-tune DeepLabV3 on SAR segmentation") -> argparse.ArgumentParser:
    p = common_parser(description)
    p.add_argument("--dataset", choices=["spacenet6", "folder", *COCO_LAYOUTS],
                   help="folder: images/ + masks/ (0/1 PNG masks); ssdd, coco: COCO json with polygon/RLE masks")
    p.add_argument("--train-ann", help="COCO sets: training json (relative to --data-root)")
    p.add_argument("--test-ann", help="COCO sets: test json (relative to --data-root)")
    p.add_argument("--image-dir", help="COCO sets: image folder (relative to --data-root)")
    p.add_argument("--input-size", type=int,
                   help="COCO sets: letterbox every image to this long side (0: images as they are)")
    p.add_argument("--val-fraction", type=float,
                   help="COCO sets: seeded share of the training images held out for model selection")
    p.add_argument("--cat-max-ratio", type=float,
                   help="re-draw a crop (up to 10 times) while one class covers more than this share of it")
    p.add_argument("--iterations", type=int)
    p.add_argument("--eval-interval", type=int)
    p.add_argument("--crop-size", type=int)
    p.add_argument("--output-stride", type=int, choices=[8, 16],
                   help="dilated ResNet output stride: 8 (the paper's, MMSeg) or 16 (about 2.5x cheaper on a CPU)")
    p.add_argument("--img-size", type=int, help="Swin's nominal input size (any size runs)")
    p.add_argument("--momentum", type=float)
    p.add_argument("--min-lr", type=float)
    p.add_argument("--power", type=float)
    p.add_argument("--loss", choices=["dice", "ce", "dice+ce"])
    p.add_argument("--ce-weight", type=float, help="weight of cross-entropy in dice+ce")
    p.add_argument("--aux-weight", type=float)
    p.add_argument("--no-aux", action="store_true")
    p.add_argument("--polarisation", help="span (mean of HH/HV/VH/VV) or bands, e.g. HH or HH,VV")
    p.add_argument("--split-file", help="where the 7:3 split is written/read (data root if omitted)")
    p.add_argument("--eval-batch-size", type=int)
    p.add_argument("--sim-tiles", type=int)
    use_defaults(p, SegmentationConfig)
    p._option_string_actions["--lr"].help = f"None: {LR:g}"
    p._option_string_actions["--weight-decay"].help = f"None: {WEIGHT_DECAY:g}"
    return p


def parse(argv: Sequence[str] | None = None, config_dir: Path | None = None,
          description: str | None = None) -> SegmentationConfig:
    args = parse_args(get_parser(*([description] if description else [])), argv, config_dir)
    args.batch_size = args.batch_size or 2
    args.output = args.output or str(Path("runs") / f"seg_{args.model}")
    return to_config(SegmentationConfig, args)


def coco_paths(run, split: str) -> tuple[Path, Path]:
    """(annotation json, image folder) of a COCO set's split: the layout's defaults or the command-line paths."""
    layout = COCO_LAYOUTS[run.dataset]
    ann, images = getattr(run, f"{split}_ann") or layout[split], run.image_dir or layout["images"]
    if ann is None or images is None:
        raise DataError(run.data_root, f"--dataset coco needs --{split}-ann and --image-dir")
    return Path(run.data_root) / ann, Path(run.data_root) / images


def open_split(run, split: str, transform=None):
    """SpaceNet6 / image-mask folder split (seeded 7:3, written once), a COCO set's split ("val": the seeded share
    of its training images), or the simulated SpaceNet6 stand-in."""
    polarisation = run.polarisation if "," not in run.polarisation else tuple(run.polarisation.split(","))
    if run.dataset in COCO_LAYOUTS and run.data_root is not None:
        if split == "test":
            return CocoMasks(*coco_paths(run, "test"), transform)
        dataset = CocoMasks(*coco_paths(run, "train"))
        try:
            train_ids, val_ids = validation_split([rec.image_id for rec in dataset.records], run.val_fraction,
                                                  run.seed)
        except ValueError as exc:
            raise DataError(dataset.ann_file, str(exc)) from None
        return dataset.subset(train_ids if split == "train" else val_ids, transform)
    if run.data_root is None:
        root = simulated_spacenet6_root(run.sim_tiles, seed=run.seed)
        return SpaceNet6(root, split, transform, run.seed, polarisation=polarisation, cache=True)
    if run.dataset == "folder":
        return SegmentationFolder(run.data_root, split, transform, run.seed, split_file=run.split_file)
    return SpaceNet6(run.data_root, split, transform, run.seed, polarisation=polarisation, split_file=run.split_file)


def segmentation_loss(name: str, ce_weight: float):
    dice = DiceLoss()

    def loss(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if name == "ce":
            return F.cross_entropy(logits, mask, ignore_index=255)
        value = dice(logits, mask)
        return value + ce_weight * F.cross_entropy(logits, mask, ignore_index=255) if name == "dice+ce" else value
    return loss


def collate(items):
    return {"image": torch.stack([i["image"] for i in items]), "mask": torch.stack([i["mask"] for i in items]),
            "path": [i["path"] for i in items]}


def collate_lists(items):
    """Evaluation batches keep each image at its own size (scores are taken at full resolution)."""
    return {key: [i[key] for i in items] for key in ("image", "mask", "path")}


def eval_loader(dataset, batch_size: int, env: DistEnv, workers: int = 0) -> DataLoader:
    """The evaluation loader; its workers persist, so their decoded-image caches serve every evaluation."""
    return DataLoader(dataset, batch_size=batch_size, collate_fn=collate_lists, num_workers=workers,
                      sampler=ShardSampler(len(dataset), env.rank, env.world_size), persistent_workers=workers > 0)


@torch.no_grad()
def confusion_matrices(model: torch.nn.Module, loader: DataLoader, env: DistEnv, num_classes: int,
                       input_size: int | None, groups: dict[str, set[str] | None],
                       amp: bool = False) -> dict[str, ConfusionMatrix]:
    """One confusion matrix per group of image file names (None: every image), summed over ranks; `amp`: the
    network in bf16 (its logits come out in float32)."""
    cms = {name: ConfusionMatrix(num_classes, device=env.device) for name in groups}
    for batch in loader:
        with torch.autocast(device_type=env.device.type, dtype=torch.bfloat16, enabled=amp):
            logits = predict_logits(model, batch["image"], input_size)
        for logit, mask, path in zip(logits, batch["mask"], batch["path"]):
            for name, members in groups.items():
                if members is None or Path(path).name in members:
                    cms[name].update(logit[None], mask[None].to(env.device))
    for cm in cms.values():
        cm.all_reduce()
    return cms


def evaluate_segmentation(model: torch.nn.Module, loader: DataLoader, env: DistEnv, num_classes: int = 2,
                          input_size: int | None = None, target: str = "building",
                          amp: bool = False) -> dict[str, float]:
    """Table 8's scores from one confusion matrix accumulated over the whole (sharded) evaluation split."""
    cms = confusion_matrices(model, loader, env, num_classes, input_size, {"all": None}, amp)
    return cms["all"].compute(target)


def segmentation_step(loss_fn, aux_weight: float, env: DistEnv):
    """The engine's step_fn: the loss of the main head plus the weighted auxiliary head's."""
    def step(model, batch):
        out = model(batch["image"].to(env.device, non_blocking=True))
        mask = batch["mask"].to(env.device, non_blocking=True)
        loss = loss_fn(out["out"], mask)
        return loss + aux_weight * loss_fn(out["aux"], mask) if "aux" in out else loss
    return step


def train(cfg: SegmentationConfig) -> list[dict]:
    """SGD + poly over `iterations`; the engine's "epoch" is one evaluation interval; checkpoint_best on mIoU."""
    env = init_distributed(cfg.device)
    if env.is_main:  # rank 0 writes the simulated set / split file first
        open_split(cfg, "train")
    barrier()
    coco = cfg.dataset in COCO_LAYOUTS and cfg.data_root is not None
    augment = TrainAugment(cfg.crop_size, cat_max_ratio=cfg.cat_max_ratio)
    train_set = open_split(cfg, "train", JointCompose(Letterbox(cfg.input_size), augment)
                           if coco and cfg.input_size else augment)
    eval_split = "val" if coco else "test"
    eval_set = open_split(cfg, eval_split)
    if len(train_set) == 0 or len(eval_set) == 0:
        raise DataError(cfg.data_root, f"the split left an empty train or {eval_split} set")
    in_chans = train_set[0]["image"].shape[0]
    num_classes, target = (train_set.num_classes, train_set.classes[1]) if coco else (2, "building")
    if env.is_main:
        print(f"{len(train_set)} train / {len(eval_set)} {eval_split} images from {cfg.data_root or 'the simulator'}, "
              f"{in_chans} channel(s), classes {train_set.classes if coco else ['background', 'building']}")
    model = build_deeplabv3(cfg.model, num_classes, weights=cfg.weights, aux=not cfg.no_aux, in_chans=in_chans,
                            img_size=cfg.img_size, weights_dir=cfg.weights_dir, allow_partial=cfg.allow_partial,
                            output_stride=cfg.output_stride)
    if env.is_main:
        print(f"DeepLabV3-{cfg.model}: output stride {model.output_stride}")
    output_stride = model.output_stride
    model = wrap_ddp(model, env, channels_last=channels_last_on(cfg.channels_last, env))  # SyncBatchNorm: CUDA DDP

    sampler = RandomSampler(train_set, replacement=True, num_samples=cfg.eval_interval * cfg.batch_size)
    loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers,
                        collate_fn=collate, drop_last=True, persistent_workers=cfg.workers > 0)
    evals = eval_loader(eval_set, cfg.eval_batch_size, env, cfg.workers)
    lr = cfg.lr or LR
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=cfg.momentum,
                                weight_decay=WEIGHT_DECAY if cfg.weight_decay is None else cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, poly(cfg.iterations, cfg.power, min(cfg.min_lr / lr, 1.0)))
    step = segmentation_step(segmentation_loss(cfg.loss, cfg.ce_weight), cfg.aux_weight, env)
    fit_cfg = fit_config(cfg, epochs=-(-cfg.iterations // cfg.eval_interval), monitor="miou", eval_every=1)
    input_size = cfg.input_size if coco and cfg.input_size else None
    history = fit(model, optimizer, scheduler, loader, step,
                  lambda m: evaluate_segmentation(m, evals, env, num_classes, input_size, target, cfg.amp), env, fit_cfg,
                  {**vars(cfg), "in_chans": in_chans, "num_classes": num_classes, "target": target,
                   "output_stride": output_stride})
    cleanup()
    return history


def parse_test(argv: Sequence[str] | None, results: Path, description: str = "Evaluate a segmentation checkpoint"):
    p = test_parser(description, results)
    add_coco_test_options(p)
    p.add_argument("--panel", type=int, default=4, help="images in the PNG panel (0: none)")
    p.add_argument("--figures", default=None, help="folder of the panel (default: figures/ for real data, the "
                                                   "checkpoint's folder for the simulator)")
    return p, p.parse_args(argv)


def test(p: argparse.ArgumentParser, args: argparse.Namespace, figures: Path | None = None) -> None:
    """Scores over each row's images from one confusion matrix, at every image's full resolution; rows appended
    to the results table; a Figure-6 panel in `args.figures`, else `figures` (real data) or beside the checkpoint."""
    env = init_distributed(args.device)
    state, run = load_run(args.checkpoint, "crop_size", "semantic_segmentation", get_parser())
    run.data_root = args.data_root or run.data_root
    num_classes, target = getattr(run, "num_classes", 2), getattr(run, "target", "building")
    official = {} if run.test_ann else COCO_LAYOUTS.get(run.dataset, {}).get("subsets", {})  # of the official split
    lists = subset_lists(p, args, official, run.data_root)
    if args.ann is not None:
        test_set = CocoMasks(args.ann, args.image_dir)
        if test_set.num_classes != num_classes:
            raise DataError(args.ann, f"has classes {test_set.classes}, the checkpoint was trained on {num_classes} "
                                      "(background included)")
        dataset, data = Path(args.ann).name, str(args.ann)
    else:
        test_set = open_split(run, "test")
        dataset, data = run.dataset, run.data_root or "simulator"
    if lists and not isinstance(test_set, CocoMasks):
        raise DataError(run.data_root, "subset lists need a COCO test set (--ann, or a COCO --dataset)")
    groups: dict[str, set[str] | None] = {"all": None}
    if isinstance(test_set, CocoMasks):
        groups = {name: {rec.path.name for rec in records}
                  for name, records in subset_groups(test_set.records, lists).items()}
    model = build_deeplabv3(run.model, num_classes, aux=not run.no_aux, in_chans=run.in_chans, img_size=run.img_size,
                            output_stride=run.output_stride)
    model.load_state_dict(state["model"])
    model.to(env.device)
    input_size = (run.input_size or None) if isinstance(test_set, CocoMasks) else None
    cms = confusion_matrices(model, eval_loader(test_set, run.eval_batch_size, env), env, num_classes, input_size,
                             groups)
    if env.is_main:
        ckpt = Path(args.checkpoint)
        init = args.init or init_label(run.weights)
        iterations = min(state["epoch"] * run.eval_interval, run.iterations)
        for subset, cm in cms.items():
            scores = cm.compute(target)
            n_images = len(test_set) if groups[subset] is None else len(groups[subset])
            print(f"DeepLabV3-{run.model} on {dataset} {subset} ({n_images} images, {iterations} iterations): "
                  f"CPA-{target} {scores[f'cpa_{target}']:.2f}, mIoU {scores['miou']:.2f}, "
                  f"P {scores['mean_precision']:.2f}, R {scores['mean_recall']:.2f} "
                  f"({target} P {scores[f'precision_{target}']:.2f}, R {scores[f'recall_{target}']:.2f})")
            paper = TABLE8.get(run.model, {}).get(init) if subset == "all" else None
            row = {"model": run.model, "init": init, "dataset": dataset, "target": target, "subset": subset,
                   "images": n_images, "data": data, "iterations": iterations, "cpa_target": scores[f"cpa_{target}"],
                   "miou": scores["miou"], "P": scores["mean_precision"], "R": scores["mean_recall"],
                   "paper (CPA/mIoU/P/R)": "/".join(f"{v:.2f}" for v in paper) if paper else "",
                   "checkpoint": str(ckpt)}
            report_result(args, row, COLUMNS)
        if args.panel:
            if args.figures is not None or run.data_root is not None:
                folder = Path(args.figures) if args.figures is not None else Path(figures or "figures")
                path = folder / f"panel_{dataset}_{run.model}_{init}.png"
            else:
                path = ckpt.parent / "panel_test.png"
            save_panel(model, test_set, panel_indices(image_names(test_set), groups, args.panel), input_size, path)
            print(f"saved {path}")
    cleanup()


def image_names(dataset) -> list[str]:
    """File names of a test set's images, in item order."""
    if isinstance(dataset, CocoMasks):
        return [rec.path.name for rec in dataset.records]
    return [dataset.image_path(stem).name for stem in dataset.stems]


def panel_indices(names: list[str], groups: dict[str, set[str] | None], n: int) -> list[int]:
    """n image indices for the panel, shared out over the subsets (inshore and offshore both shown), file order."""
    subsets = [members for name, members in groups.items() if name != "all"] or [None]
    per = math.ceil(n / len(subsets))
    chosen: list[int] = []
    for members in subsets:
        chosen += [i for i, name in enumerate(names) if members is None or name in members][:per]
    return sorted(dict.fromkeys(chosen))[:n]


def save_panel(model, dataset, indices: list[int], input_size: int | None, path: Path) -> None:
    """Figure 6 layout: one row per image, columns image / ground truth / prediction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(indices), 3, figsize=(9, 3 * len(indices)), squeeze=False)
    for row, index in enumerate(indices):
        item = dataset[index]
        pred = predict_logits(model, [item["image"]], input_size)[0].argmax(0).cpu()
        mask = item["mask"].clone().float()
        mask[item["mask"] == 255] = float("nan")
        vmax = max(dataset.num_classes - 1, 1) if isinstance(dataset, CocoMasks) else 1
        axes[row][0].imshow(item["image"][0], cmap="gray", vmin=0, vmax=1)
        axes[row][1].imshow(mask, cmap="viridis", vmin=0, vmax=vmax)
        axes[row][2].imshow(pred, cmap="viridis", vmin=0, vmax=vmax)
        titles = (f"SAR {Path(item['path']).name}", *(("ground truth", "prediction") if row == 0 else ("", "")))
        for ax, title in zip(axes[row], titles):
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
