"""Fine-tune DeepLabV3 on SAR segmentation (SpaceNet6 buildings, paper Table 8; SSDD ship masks) from any backbone.

    torchrun --nproc_per_node 4 train.py --model resnet18 --weights resnet18-tsx --data-root /data/SN6_buildings/train/AOI_11_Rotterdam
    python train.py --dataset ssdd --data-root ../../shared/data/ssdd --weights resnet18-tsx   # official polygons
    python train.py --dataset coco --data-root D --train-ann a/train.json --test-ann a/test.json --image-dir images
    python train.py                        # embedded default: simulated SpaceNet6-format urban tiles, short CPU run

Paper recipe (configs/spacenet6.yaml): SGD lr 1e-3, momentum 0.9, wd 1e-4, poly (power 0.9, min lr 1e-4), batch 2,
20,000 iterations with an evaluation every 2,000, random resize 0.5–2 + 512 crop + flip + photometric jitter, Dice
loss, auxiliary FCN head on stage 3 weighted 0.4. The engine's "epoch" here is one evaluation interval.
COCO sets (SSDD, configs/ssdd.yaml): masks rasterised from the instance annotations, every image letterboxed to
--input-size before the augmentation, a seeded --val-fraction of the training images held out for model selection
(checkpoint_best on its mIoU; the test split is only scored by test.py, at each image's full resolution).
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, RandomSampler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub.cli import common_parser, parse_args, run_main
from sarhub.data.coco_masks import CocoMasks, Letterbox, validation_split
from sarhub.data.segmentation import JointCompose, SegmentationFolder, SpaceNet6, TrainAugment
from sarhub.distributed import DistEnv, ShardSampler, barrier, cleanup, init_distributed, wrap_ddp
from sarhub.engine import FitConfig, fit
from sarhub.errors import DataError
from sarhub.losses import DiceLoss
from sarhub.metrics.segmentation import ConfusionMatrix
from sarhub.models.segmentation import AUX_WEIGHT, build_deeplabv3, predict_logits

HERE = Path(__file__).resolve().parent
# COCO layouts (masks from instance annotations); "coco" takes every path from --train-ann/--test-ann/--image-dir.
# "subsets": official lists of test images that test.py scores apart (one file name per line).
COCO_LAYOUTS = {
    "ssdd": {"train": "annotations/train.json", "test": "annotations/test.json", "images": "JPEGImages",
             "subsets": {"inshore": "test_inshore.txt", "offshore": "test_offshore.txt"}},
    "coco": {"train": None, "test": None, "images": None},
}
# Without --data-root: simulated 128 px tiles, so crops, iterations and batch shrink to a short CPU run.
SIMULATOR_DEFAULTS = {"iterations": 300, "eval_interval": 100, "crop_size": 96, "batch_size": 8, "lr": 0.01}


def get_parser():
    p = common_parser(__doc__.splitlines()[0])
    p.add_argument("--dataset", default="spacenet6", choices=["spacenet6", "folder", *COCO_LAYOUTS],
                   help="folder: images/ + masks/ (0/1 PNG masks); ssdd, coco: COCO json with polygon/RLE masks")
    p.add_argument("--train-ann", default=None, help="COCO sets: training json (relative to --data-root)")
    p.add_argument("--test-ann", default=None, help="COCO sets: test json (relative to --data-root)")
    p.add_argument("--image-dir", default=None, help="COCO sets: image folder (relative to --data-root)")
    p.add_argument("--input-size", type=int, default=0,
                   help="COCO sets: letterbox every image to this long side (0: images as they are)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="COCO sets: seeded share of the training images held out for model selection")
    p.add_argument("--cat-max-ratio", type=float, default=0.75,
                   help="re-draw a crop (up to 10 times) while one class covers more than this share of it")
    p.add_argument("--iterations", type=int, default=20000)
    p.add_argument("--eval-interval", type=int, default=2000)
    p.add_argument("--crop-size", type=int, default=512)
    p.add_argument("--output-stride", type=int, default=8, choices=[8, 16],
                   help="dilated ResNet output stride: 8 (the paper's, MMSeg) or 16 (about 2.5x cheaper on a CPU)")
    p.add_argument("--img-size", type=int, default=512, help="Swin's nominal input size (any size runs)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--power", type=float, default=0.9)
    p.add_argument("--loss", default="dice", choices=["dice", "ce", "dice+ce"])
    p.add_argument("--ce-weight", type=float, default=1.0, help="weight of cross-entropy in dice+ce")
    p.add_argument("--aux-weight", type=float, default=AUX_WEIGHT)
    p.add_argument("--no-aux", action="store_true")
    p.add_argument("--polarisation", default="span", help="span (mean of HH/HV/VH/VV) or bands, e.g. HH or HH,VV")
    p.add_argument("--split-file", default=None, help="where the 7:3 split is written/read (data root if omitted)")
    p.add_argument("--eval-batch-size", type=int, default=2)
    p.add_argument("--sim-tiles", type=int, default=60)
    return p


def parse(argv=None):
    args = parse_args(get_parser(), argv, HERE / "configs", SIMULATOR_DEFAULTS)
    args.batch_size = args.batch_size or 2
    args.output = args.output or str(Path("runs") / f"seg_{args.model}")
    return args


def coco_paths(args, split: str) -> tuple[Path, Path]:
    """(annotation json, image folder) of a COCO set's split: the layout's defaults or the command-line paths."""
    layout = COCO_LAYOUTS[args.dataset]
    ann, images = getattr(args, f"{split}_ann") or layout[split], args.image_dir or layout["images"]
    if ann is None or images is None:
        raise DataError(args.data_root, f"--dataset coco needs --{split}-ann and --image-dir")
    return Path(args.data_root) / ann, Path(args.data_root) / images


def open_split(args, split: str, transform=None):
    """SpaceNet6 / image-mask folder split (seeded 7:3, written once), a COCO set's split ("val": the seeded share
    of its training images), or the simulated SpaceNet6 stand-in."""
    polarisation = args.polarisation if "," not in args.polarisation else tuple(args.polarisation.split(","))
    if args.dataset in COCO_LAYOUTS and args.data_root is not None:
        if split == "test":
            return CocoMasks(*coco_paths(args, "test"), transform)
        dataset = CocoMasks(*coco_paths(args, "train"))
        try:
            train_ids, val_ids = validation_split([rec.image_id for rec in dataset.records], args.val_fraction,
                                                  args.seed)
        except ValueError as exc:
            raise DataError(dataset.ann_file, str(exc)) from None
        return dataset.subset(train_ids if split == "train" else val_ids, transform)
    if args.data_root is None:
        from sarhub.data.synthetic.urban import simulated_spacenet6_root

        root = simulated_spacenet6_root(args.sim_tiles, seed=args.seed)
        return SpaceNet6(root, split, transform, args.seed, polarisation=polarisation, cache=True)
    if args.dataset == "folder":
        return SegmentationFolder(args.data_root, split, transform, args.seed, split_file=args.split_file)
    return SpaceNet6(args.data_root, split, transform, args.seed, polarisation=polarisation, split_file=args.split_file)


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


@torch.no_grad()
def confusion_matrices(model: torch.nn.Module, loader: DataLoader, env: DistEnv, num_classes: int,
                       input_size: int | None, groups: dict[str, set[str] | None]) -> dict[str, ConfusionMatrix]:
    """One confusion matrix per group of image file names (None: every image), summed over ranks."""
    cms = {name: ConfusionMatrix(num_classes, device=env.device) for name in groups}
    for batch in loader:
        logits = predict_logits(model, batch["image"], input_size)
        for logit, mask, path in zip(logits, batch["mask"], batch["path"]):
            for name, members in groups.items():
                if members is None or Path(path).name in members:
                    cms[name].update(logit[None], mask[None].to(env.device))
    for cm in cms.values():
        cm.all_reduce()
    return cms


def evaluate_segmentation(model: torch.nn.Module, loader: DataLoader, env: DistEnv, num_classes: int = 2,
                          input_size: int | None = None, target: str = "building") -> dict[str, float]:
    """Table 8's scores from one confusion matrix accumulated over the whole (sharded) evaluation split."""
    return confusion_matrices(model, loader, env, num_classes, input_size, {"all": None})["all"].compute(target)


def main(argv=None) -> None:
    args = parse(argv)
    env = init_distributed(args.device)
    if env.is_main:  # rank 0 writes the simulated set / split file first
        open_split(args, "train")
    barrier()
    coco = args.dataset in COCO_LAYOUTS and args.data_root is not None
    augment = TrainAugment(args.crop_size, cat_max_ratio=args.cat_max_ratio)
    train_set = open_split(args, "train", JointCompose(Letterbox(args.input_size), augment)
                           if coco and args.input_size else augment)
    eval_split = "val" if coco else "test"
    eval_set = open_split(args, eval_split)
    if len(train_set) == 0 or len(eval_set) == 0:
        raise DataError(args.data_root, f"the split left an empty train or {eval_split} set")
    in_chans = train_set[0]["image"].shape[0]
    num_classes, target = (train_set.num_classes, train_set.classes[1]) if coco else (2, "building")
    if env.is_main:
        print(f"{len(train_set)} train / {len(eval_set)} {eval_split} images from {args.data_root or 'the simulator'}, "
              f"{in_chans} channel(s), classes {train_set.classes if coco else ['background', 'building']}")
    model = build_deeplabv3(args.model, num_classes, weights=args.weights, aux=not args.no_aux, in_chans=in_chans,
                            img_size=args.img_size, weights_dir=args.weights_dir, allow_partial=args.allow_partial,
                            output_stride=args.output_stride)
    if env.is_main:
        print(f"DeepLabV3-{args.model}: output stride {model.output_stride}")
    model = wrap_ddp(model, env)  # SyncBatchNorm on CUDA under DDP

    per_interval = args.eval_interval * args.batch_size
    sampler = RandomSampler(train_set, replacement=True, num_samples=per_interval)
    loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers,
                        collate_fn=collate, drop_last=True, persistent_workers=args.workers > 0)
    eval_loader = DataLoader(eval_set, batch_size=args.eval_batch_size, collate_fn=collate_lists,
                             num_workers=args.workers, sampler=ShardSampler(len(eval_set), env.rank, env.world_size))
    lr = args.lr or 1e-3
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=args.momentum,
                                weight_decay=1e-4 if args.weight_decay is None else args.weight_decay)
    floor = min(args.min_lr / lr, 1.0)
    poly = lambda it: (1 - floor) * (1 - min(it, args.iterations) / args.iterations) ** args.power + floor  # noqa: E731
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, poly)
    loss_fn = segmentation_loss(args.loss, args.ce_weight)

    def step(model, batch):
        out = model(batch["image"].to(env.device, non_blocking=True))
        mask = batch["mask"].to(env.device, non_blocking=True)
        loss = loss_fn(out["out"], mask)
        return loss + args.aux_weight * loss_fn(out["aux"], mask) if "aux" in out else loss

    epochs = -(-args.iterations // args.eval_interval)
    cfg = FitConfig(epochs=epochs, output_dir=Path(args.output), seed=args.seed, monitor="miou", amp=args.amp,
                    resume=args.resume, save_every=args.save_every, overwrite=args.overwrite)
    input_size = args.input_size if coco and args.input_size else None
    fit(model, optimizer, scheduler, loader, step,
        lambda m: evaluate_segmentation(m, eval_loader, env, num_classes, input_size, target), env, cfg,
        {**vars(args), "in_chans": in_chans, "num_classes": num_classes, "target": target,
         "output_stride": model.module.output_stride if hasattr(model, "module") else model.output_stride})
    cleanup()


if __name__ == "__main__":
    run_main(main)
