"""Self-supervised SAR pre-training: masked image modelling with multi-scale gradient-feature targets.

    python pretrain_mim.py --data ../../shared/data --exclude '*/mstar_soc/test/*' --exclude '*_instance_*'
    torchrun --nproc_per_node 8 pretrain_mim.py --data /data/sar_pool --encoder vit_base --epochs 800 --amp
    python pretrain_mim.py                                # embedded default: simulated SAR scenes and targets

AdamW (β 0.9/0.95, wd 0.05, no decay on norms/biases), lr = blr·batch·world/256, linear warm-up then cosine, per
iteration. Writes the engine's checkpoints and `encoder.safetensors` (the ViT encoder alone) for fine-tuning.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub.classification import param_groups
from sarhub.cli import common_parser, parse_args, refuse, run_main
from sarhub.data.loader import seeded_train_loader
from sarhub.data.unlabelled import UnlabelledPool, scan_images
from sarhub.distributed import barrier, cleanup, init_distributed, unwrap, wrap_ddp
from sarhub.engine import FitConfig, fit
from sarhub.ssl.gradient_targets import gradient_features
from sarhub.ssl.mae import GradientMAE

HERE = Path(__file__).resolve().parent


def get_parser():
    p = common_parser(__doc__.splitlines()[0])
    p.add_argument("--data", action="append", default=None, help="image folder (repeatable); default: simulator")
    p.add_argument("--exclude", action="append", default=[], help="glob of paths to leave out (repeatable)")
    p.add_argument("--encoder", default="vit_small", help="vit_tiny, vit_small, vit_base or a timm ViT name")
    p.add_argument("--img-size", type=int, default=128)
    p.add_argument("--patch-size", type=int, default=16)
    p.add_argument("--mask-ratio", type=float, default=0.75)
    p.add_argument("--decoder-dim", type=int, default=512)
    p.add_argument("--decoder-depth", type=int, default=4)
    p.add_argument("--blr", type=float, default=1.5e-4, help="base lr; lr = blr · total batch / 256")
    p.add_argument("--warmup-epochs", type=int, default=5)
    p.add_argument("--no-cache-targets", action="store_true",
                   help="recompute the gradient targets every step (for pools too large to cache)")
    p.set_defaults(epochs=40, batch_size=64, weight_decay=0.05)
    return p


def simulated_pool(root: Path) -> list[Path]:
    """Embedded default: simulated scenes of the three storage formats, written once."""
    from sarhub.data.synthetic.scenes import simulated_scene_root

    return [simulated_scene_root(fmt, n_classes=8, n_max=40) for fmt in ("TSX", "BEN", "OSU")]


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def parse(argv=None):
    parser = get_parser()
    args = parse_args(parser, argv)
    if args.img_size % args.patch_size:
        refuse(parser, f"--img-size {args.img_size} is not a multiple of --patch-size {args.patch_size}")
    return args


def main(argv=None) -> None:
    args = parse(argv)
    env = init_distributed(args.device)
    out = Path(args.output or "runs/mim")
    if env.is_main and args.data is None:
        simulated_pool(out)
    barrier()
    roots = args.data or simulated_pool(out)
    files = scan_images(roots, exclude=args.exclude)
    pool = UnlabelledPool(files, args.img_size)
    if env.is_main:
        print(f"unlabelled pool: {len(pool)} tiles of {args.img_size} px from {len(files)} files")
    model = GradientMAE(args.encoder, args.img_size, args.patch_size, args.decoder_dim, args.decoder_depth,
                        mask_ratio=args.mask_ratio)
    if not args.no_cache_targets:  # the targets depend on the image only: compute them once, not every epoch
        pool.cache_features(lambda x: gradient_features(x, model.scales))
    if args.weights:
        from sarhub.backbones import load_weights

        load_weights(model.encoder, args.weights, args.weights_dir, allow_partial=args.allow_partial)
    model = wrap_ddp(model, env)
    sampler = None
    if env.distributed:
        sampler = torch.utils.data.DistributedSampler(pool, env.world_size, env.rank, shuffle=True, seed=args.seed,
                                                      drop_last=True)
    loader, sampler = seeded_train_loader(pool, args.batch_size, args.workers, env, args.seed, sampler=sampler)
    lr = args.lr or args.blr * args.batch_size * env.world_size / 256
    optimizer = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=lr, betas=(0.9, 0.95))
    total, warmup = args.epochs * len(loader), args.warmup_epochs * len(loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_cosine(s, warmup, total))

    def step(model, batch):
        maps = batch.get("feature_maps")
        return model(batch["image"].to(env.device, non_blocking=True),
                     None if maps is None else maps.to(env.device, non_blocking=True))[0]

    cfg = FitConfig(epochs=args.epochs, output_dir=out, seed=args.seed, monitor="train_loss", monitor_mode="min",
                    amp=args.amp, resume=args.resume, save_every=args.save_every, overwrite=args.overwrite)
    fit(model, optimizer, scheduler, loader, step, None, env, cfg,
        {**vars(args), "lr": lr, "pool_tiles": len(pool), "pool_files": len(files)}, sampler)
    if env.is_main:
        from safetensors.torch import save_file

        encoder = unwrap(model).encoder
        save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, str(out / "encoder.safetensors"),
                  metadata={"arch": args.encoder, "img_size": str(args.img_size), "patch_size": str(args.patch_size),
                            "in_chans": "1", "pretraining": "gradient-feature MIM"})
        print(f"saved {out / 'encoder.safetensors'}")
    cleanup()


if __name__ == "__main__":
    run_main(main)
