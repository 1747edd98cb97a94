"""Ship detection (SSDD, HRSID, LS-SSDD, SAR-Ship; paper Table 7): FCOS + FPN fine-tuning on any SAR-HUB backbone
with the authors' MMDetection recipe, and the test step (COCO AP on the test split and its official subsets)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from torch.utils.data import DataLoader, DistributedSampler

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
from sarhub.data.detection import CocoDetection, RandomHorizontalFlip, VOCDetection, collate, subset_groups, to_coco_gt
from sarhub.data.synthetic.ships import simulated_ship_root
from sarhub.distributed import (
    DistEnv,
    ShardSampler,
    all_gather_objects,
    barrier,
    channels_last_on,
    cleanup,
    init_distributed,
    wrap_ddp,
)
from sarhub.engine import fit
from sarhub.errors import DataError
from sarhub.metrics.detection import coco_evaluate, detections_to_coco, select_images
from sarhub.models.detection import build_fcos, frozen_bn_by_default, param_groups
from sarhub.paper import TABLE7, init_label
from sarhub.schedules import warmup_step_decay

# Where each dataset's official release keeps its files (all overridable with --train-ann/--test-ann/--image-dir);
# "subsets": official lists of test images scored separately by test.py (one file name per line).
LAYOUTS = {
    "hrsid": {"format": "coco", "train": "annotations/train2017.json", "test": "annotations/test2017.json",
              "images": "JPEGImages"},
    "ls-ssdd": {"format": "coco", "train": "annotations/train.json", "test": "annotations/test.json",
                "images": "JPEGImages"},
    "ssdd": {"format": "coco", "train": "annotations/train.json", "test": "annotations/test.json",
             "images": "JPEGImages", "subsets": {"inshore": "test_inshore.txt", "offshore": "test_offshore.txt"}},
    "ssdd-voc": {"format": "voc", "train": "ImageSets/Main/train.txt", "test": "ImageSets/Main/test.txt",
                 "images": "JPEGImages", "annotations": "Annotations"},
    "sar-ship": {"format": "voc", "train": None, "test": None, "images": "images", "annotations": "annotations_voc"},
    "simulated": {"format": "coco", "train": "annotations/train.json", "test": "annotations/test.json",
                  "images": "images"},
}
COLUMNS = ("model", "init", "dataset", "subset", "images", "data", "epoch", "AP", "AP50", "AP75", "AP_S", "paper_AP",
           "paper_AP50", "checkpoint")


@dataclass
class DetectionConfig(RunConfig):
    dataset: str = "hrsid"  # a key of LAYOUTS ("simulated" without --data-root)
    epochs: int | None = 36
    batch_size: int | None = 4
    lr: float | None = 0.005  # biases: 2× lr, no decay
    weight_decay: float | None = 0.001
    train_ann: str | None = None
    test_ann: str | None = None
    image_dir: str | None = None
    min_size: int = 800
    max_size: int = 800
    momentum: float = 0.9
    warmup_iters: int = 500
    warmup_ratio: float = 1 / 3
    lr_steps: list[int] = field(default_factory=lambda: [24, 33])  # epochs at which lr ×0.1
    clip_grad: float = 35.0
    drop_bad_boxes: bool = False
    freeze_bn: str = "auto"  # auto: frozen BatchNorm when starting from weights (MMDetection norm_eval)
    split_fraction: float = 0.8  # sar-ship (no official split): train share
    sim_train: int = 160
    sim_test: int = 40


def get_parser(description: str = "Fine-tune FCOS + FPN for SAR ship detection") -> argparse.ArgumentParser:
    p = common_parser(description)
    p.add_argument("--dataset", choices=sorted(LAYOUTS))
    p.add_argument("--train-ann", help="COCO json or VOC id list of the training split")
    p.add_argument("--test-ann")
    p.add_argument("--image-dir")
    p.add_argument("--min-size", type=int)
    p.add_argument("--max-size", type=int)
    p.add_argument("--momentum", type=float)
    p.add_argument("--warmup-iters", type=int)
    p.add_argument("--warmup-ratio", type=float)
    p.add_argument("--lr-steps", type=int, nargs="+", help="epochs at which lr ×0.1")
    p.add_argument("--clip-grad", type=float)
    p.add_argument("--drop-bad-boxes", action="store_true", help="drop degenerate/out-of-image boxes with a warning")
    p.add_argument("--freeze-bn", choices=["auto", "yes", "no"],
                   help="auto: frozen BatchNorm when starting from weights (MMDetection norm_eval)")
    p.add_argument("--split-fraction", type=float, help="sar-ship (no official split): train share")
    p.add_argument("--sim-train", type=int)
    p.add_argument("--sim-test", type=int)
    return use_defaults(p, DetectionConfig)


def parse(argv: Sequence[str] | None = None, config_dir: Path | None = None,
          description: str | None = None) -> DetectionConfig:
    args = parse_args(get_parser(*([description] if description else [])), argv, config_dir)
    if args.data_root is None:
        args.dataset = "simulated"
    args.output = args.output or str(Path("runs") / f"{args.dataset}_{args.model}")
    return to_config(DetectionConfig, args)


def open_split(run, split: str, train: bool):
    """One split of a run (a config or a checkpoint's saved arguments) in its dataset's layout; the simulator
    writes HRSID's COCO layout once into the cache."""
    layout = LAYOUTS[run.dataset]
    root = simulated_ship_root(run.sim_train, run.sim_test, run.seed) if run.data_root is None else Path(run.data_root)
    transform = RandomHorizontalFlip(0.5) if train else None
    ann = getattr(run, f"{split}_ann") or layout[split]
    images = root / (run.image_dir or layout["images"])
    if layout["format"] == "coco":
        return CocoDetection(root / ann, images, transform, drop_bad_boxes=run.drop_bad_boxes)
    annotations = root / layout["annotations"]
    ids = root / ann if ann else voc_split(annotations, split, run.split_fraction, run.seed)
    return VOCDetection(annotations, images, ids, transform=transform, drop_bad_boxes=run.drop_bad_boxes)


def voc_split(annotations: Path, split: str, fraction: float, seed: int) -> list[str]:
    """Seeded split of the XML stems for sets without an official one (SAR-Ship-Dataset samples)."""
    stems = sorted(p.stem for p in annotations.glob("*.xml"))
    if not stems:
        raise DataError(annotations, "no VOC .xml annotations")
    order = torch.randperm(len(stems), generator=torch.Generator().manual_seed(seed)).tolist()
    n_train = max(1, int(round(fraction * len(stems))))
    chosen = order[:n_train] if split == "train" else order[n_train:]
    return [stems[i] for i in sorted(chosen)]


def bn_frozen(run: DetectionConfig | argparse.Namespace) -> bool:
    """`--freeze-bn` of a run (its config, or a checkpoint's saved arguments), with auto resolved from its weights."""
    return {"auto": frozen_bn_by_default(run.weights), "yes": True, "no": False}[run.freeze_bn]


@torch.no_grad()
def predict_detections(model, loader: DataLoader, env: DistEnv, amp: bool = False) -> list[dict]:
    """COCO result dicts (labels as category ids, as `to_coco_gt`) for a whole sharded split, from every rank;
    `amp`: the network in bf16 (boxes are decoded in float32, `sarhub.models.detection`)."""
    model.eval()
    detections = []
    with torch.autocast(device_type=env.device.type, dtype=torch.bfloat16, enabled=amp):
        for images, targets in loader:
            outputs = model([im.to(env.device) for im in images])
            outputs = [{k: (v.float() if v.is_floating_point() else v).cpu() for k, v in o.items()} for o in outputs]
            detections += detections_to_coco(outputs, [t["image_id"] for t in targets])
    return [d for part in all_gather_objects(detections) for d in part]


def evaluate_detector(model, loader: DataLoader, gt: dict, env: DistEnv, amp: bool = False) -> dict:
    """COCO AP/AP50/AP75/AP_S/M/L (%) over the whole test set."""
    return {k: 100.0 * v for k, v in coco_evaluate(gt, predict_detections(model, loader, env, amp)).items()}


def test_loader(dataset, batch_size: int, env: DistEnv, workers: int = 0) -> DataLoader:
    """The evaluation loader; its workers persist, so their decoded-image caches serve every evaluation."""
    return DataLoader(dataset, batch_size=batch_size, collate_fn=collate, num_workers=workers,
                      sampler=ShardSampler(len(dataset), env.rank, env.world_size), persistent_workers=workers > 0)


def detection_step(env: DistEnv):
    """The engine's step_fn: FCOS's summed losses of a batch."""
    def step(model, batch):
        images, targets = batch
        images = [im.to(env.device, non_blocking=True) for im in images]
        targets = [{"boxes": t["boxes"].to(env.device), "labels": t["labels"].to(env.device)} for t in targets]
        return sum(model(images, targets).values())
    return step


def train(cfg: DetectionConfig) -> list[dict]:
    """SGD + warm-up + step decay, gradient clipping; checkpoint_best on the test split's AP50 (the authors')."""
    env = init_distributed(cfg.device)
    if env.is_main:
        open_split(cfg, "train", True)
    barrier()
    train_set, test_set = open_split(cfg, "train", True), open_split(cfg, "test", False)
    if env.is_main:
        print(f"{cfg.dataset}: {len(train_set)} train / {len(test_set)} test images, classes {train_set.classes}")
    freeze = bn_frozen(cfg)
    model = build_fcos(cfg.model, train_set.num_classes, weights=cfg.weights, min_size=cfg.min_size,
                       max_size=cfg.max_size, freeze_bn=freeze, weights_dir=cfg.weights_dir,
                       allow_partial=cfg.allow_partial)
    model = wrap_ddp(model, env, channels_last=channels_last_on(cfg.channels_last, env))
    sampler = DistributedSampler(train_set, env.world_size, env.rank, seed=cfg.seed) if env.distributed else None
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler,
                        num_workers=cfg.workers, collate_fn=collate, drop_last=len(train_set) > cfg.batch_size,
                        persistent_workers=cfg.workers > 0)
    tests = test_loader(test_set, cfg.batch_size, env, cfg.workers)
    optimizer = torch.optim.SGD(param_groups(model, cfg.lr, cfg.weight_decay), lr=cfg.lr, momentum=cfg.momentum)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_step_decay(cfg.warmup_iters, cfg.warmup_ratio, len(loader), cfg.lr_steps))
    gt = to_coco_gt(test_set)
    fit_cfg = fit_config(cfg, monitor="AP50", clip_grad=cfg.clip_grad)
    history = fit(model, optimizer, scheduler, loader, detection_step(env),
                  lambda m: evaluate_detector(m, tests, gt, env, cfg.amp), env, fit_cfg,
                  {**vars(cfg), "num_classes": train_set.num_classes, "classes": list(train_set.classes)}, sampler)
    cleanup()
    return history


def parse_test(argv: Sequence[str] | None, results: Path, description: str = "Evaluate a detection checkpoint"):
    p = test_parser(description, results)
    add_coco_test_options(p)
    p.add_argument("--drop-bad-boxes", action="store_true", help="--ann sets: drop bad boxes with a warning")
    p.add_argument("--images", type=int, default=4, help="test images drawn in the PNG")
    return p, p.parse_args(argv)


def test(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Detections computed once; a subset's AP is the COCO evaluation restricted to its images. Appends a Table-7
    row per subset and draws predicted (red) and true (green) boxes on a few test images."""
    env = init_distributed(args.device)
    state, run = load_run(args.checkpoint, "lr_steps", "object_detection")
    run.data_root = args.data_root or run.data_root
    official = {} if run.test_ann else LAYOUTS[run.dataset].get("subsets", {})  # lists of the official test split
    lists = subset_lists(p, args, official, run.data_root)
    if args.ann is not None:
        test_set = CocoDetection(args.ann, args.image_dir, drop_bad_boxes=args.drop_bad_boxes)
        if test_set.num_classes != run.num_classes:
            raise DataError(args.ann, f"has {test_set.num_classes} categories {test_set.classes}, the checkpoint was "
                                      f"trained on {run.num_classes} {run.classes}")
        dataset, data = Path(args.ann).name, str(args.ann)
    else:
        test_set = open_split(run, "test", False)
        dataset, data = run.dataset, run.data_root or "simulator"
    groups = subset_groups(test_set.records, lists)
    freeze = bn_frozen(run)
    model = build_fcos(run.model, run.num_classes, min_size=run.min_size, max_size=run.max_size, freeze_bn=freeze)
    model.load_state_dict(state["model"])
    model.to(env.device)
    detections = predict_detections(model, test_loader(test_set, run.batch_size, env), env)
    if env.is_main:
        ckpt = Path(args.checkpoint)
        init = args.init or init_label(run.weights)
        gt = to_coco_gt(test_set)
        for subset, records in groups.items():
            image_ids = [r.image_id for r in records]
            scores = {k: 100.0 * v for k, v in coco_evaluate(*select_images(gt, detections, image_ids)).items()}
            print(f"FCOS-{run.model} on {dataset} {subset} ({len(records)} images, epoch {state['epoch']}): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))
            paper = TABLE7.get(run.model, {}).get(dataset, {}).get(init) if subset == "all" else None
            row = {"model": run.model, "init": init, "dataset": dataset, "subset": subset, "images": len(records),
                   "data": data, "epoch": state["epoch"], **{k: scores[k] for k in ("AP", "AP50", "AP75", "AP_S")},
                   "paper_AP": paper[0] if paper else "", "paper_AP50": paper[1] if paper else "",
                   "checkpoint": str(ckpt)}
            report_result(args, row, COLUMNS)
        save_boxes_png(model, test_set, env.device, ckpt.parent / "detections_test.png", args.images)
        print(f"saved {ckpt.parent / 'detections_test.png'}")
    cleanup()


def save_boxes_png(model, dataset, device, path: Path, n: int, score: float = 0.3) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = min(n, len(dataset))
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 4), squeeze=False)
    model.eval()
    for ax, i in zip(axes[0], range(n)):
        item = dataset[i]
        with torch.no_grad():
            out = model([item["image"].to(device)])[0]
        ax.imshow(item["image"][0], cmap="gray")
        for (x1, y1, x2, y2) in item["boxes"].tolist():
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="lime", lw=1.2))
        for (x1, y1, x2, y2), s in zip(out["boxes"].cpu().tolist(), out["scores"].cpu().tolist()):
            if s >= score:
                ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="red", lw=1.0))
        ax.set_title(Path(item["path"]).name, fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
