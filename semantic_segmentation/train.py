"""Fine-tune DeepLabV3 on SAR building segmentation (SpaceNet6, paper Table 8) from any backbone initialisation.

    torchrun --nproc_per_node 4 train.py --model resnet18 --weights resnet18-tsx --data-root /data/SN6_buildings/train/AOI_11_Rotterdam
    python train.py                        # embedded default: simulated SpaceNet6-format urban tiles, short CPU run

Paper recipe (configs/spacenet6.yaml): SGD lr 1e-3, momentum 0.9, wd 1e-4, poly (power 0.9, min lr 1e-4), batch 2,
20,000 iterations with an evaluation every 2,000, random resize 0.5–2 + 512 crop + flip + photometric jitter, Dice
loss, auxiliary FCN head on stage 3 weighted 0.4. The engine's "epoch" here is one evaluation interval.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, RandomSampler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub.cli import common_parser, parse_args, run_main
from sarhub.data.segmentation import SegmentationFolder, SpaceNet6, TrainAugment
from sarhub.distributed import DistEnv, ShardSampler, barrier, cleanup, init_distributed, wrap_ddp
from sarhub.engine import FitConfig, fit
from sarhub.errors import DataError
from sarhub.losses import DiceLoss
from sarhub.metrics.segmentation import ConfusionMatrix
from sarhub.models.segmentation import AUX_WEIGHT, build_deeplabv3

HERE = Path(__file__).resolve().parent
# Without --data-root: simulated 128 px tiles, so crops, iterations and batch shrink to a short CPU run.
SIMULATOR_DEFAULTS = {"iterations": 300, "eval_interval": 100, "crop_size": 96, "batch_size": 8, "lr": 0.01}


def get_parser():
    p = common_parser(__doc__.splitlines()[0])
    p.add_argument("--dataset", default="spacenet6", choices=["spacenet6", "folder"],
                   help="folder: images/ + masks/ (0/1 PNG masks)")
    p.add_argument("--iterations", type=int, default=20000)
    p.add_argument("--eval-interval", type=int, default=2000)
    p.add_argument("--crop-size", type=int, default=512)
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
    p.set_defaults(config=str(HERE / "configs" / "spacenet6.yaml"))
    return p


def parse(argv=None):
    args = parse_args(get_parser(), argv, HERE / "configs", SIMULATOR_DEFAULTS)
    args.output = args.output or str(Path("runs") / f"seg_{args.model}")
    return args


def open_split(args, split: str, transform=None):
    """SpaceNet6 / image-mask folder split (seeded 7:3, written once), or the simulated SpaceNet6 stand-in."""
    polarisation = args.polarisation if "," not in args.polarisation else tuple(args.polarisation.split(","))
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


@torch.no_grad()
def evaluate_segmentation(model: torch.nn.Module, loader: DataLoader, env: DistEnv) -> dict[str, float]:
    """Table 8's scores from one confusion matrix accumulated over the whole (sharded) test set."""
    model.eval()
    cm = ConfusionMatrix(2, device=env.device)
    for batch in loader:
        cm.update(model(batch["image"].to(env.device))["out"], batch["mask"].to(env.device))
    cm.all_reduce()
    return cm.compute()


def main(argv=None) -> None:
    args = parse(argv)
    env = init_distributed(args.device)
    if env.is_main:  # rank 0 writes the simulated set / split file first
        open_split(args, "train")
    barrier()
    train_set = open_split(args, "train", TrainAugment(args.crop_size))
    test_set = open_split(args, "test")
    if len(train_set) == 0 or len(test_set) == 0:
        raise DataError(args.data_root, "the 7:3 split left an empty train or test set")
    in_chans = train_set[0]["image"].shape[0]
    if env.is_main:
        print(f"{len(train_set)} train / {len(test_set)} test tiles from {args.data_root or 'the simulator'}, "
              f"{in_chans} channel(s)")
    model = build_deeplabv3(args.model, 2, weights=args.weights, aux=not args.no_aux, in_chans=in_chans,
                            img_size=args.img_size, weights_dir=args.weights_dir, allow_partial=args.allow_partial)
    if env.is_main:
        print(f"DeepLabV3-{args.model}: output stride {model.output_stride}")
    model = wrap_ddp(model, env)  # SyncBatchNorm on CUDA under DDP

    per_interval = args.eval_interval * args.batch_size
    sampler = RandomSampler(train_set, replacement=True, num_samples=per_interval)
    loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers,
                        collate_fn=collate, drop_last=True, persistent_workers=args.workers > 0)
    test_loader = DataLoader(test_set, batch_size=args.eval_batch_size, collate_fn=collate, num_workers=args.workers,
                             sampler=ShardSampler(len(test_set), env.rank, env.world_size))
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
                    resume=args.resume, save_every=args.save_every, kill_at_step=args.kill_at_step)
    fit(model, optimizer, scheduler, loader, step, lambda m: evaluate_segmentation(m, test_loader, env), env, cfg,
        {**vars(args), "in_chans": in_chans, "output_stride": model.module.output_stride
         if hasattr(model, "module") else model.output_stride})
    cleanup()


if __name__ == "__main__":
    run_main(main)
