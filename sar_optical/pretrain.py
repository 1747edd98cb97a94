"""Self-supervised SAR–optical fusion pre-training with the hard-negative contrastive loss (HCL).

    python pretrain.py --strategy intermediate                         # embedded default: simulated S1/S2 pairs
    python pretrain.py --strategy late --data-root /data/SEN12MS --config sen12ms
    torchrun --nproc_per_node 4 pretrain.py --strategy early --data-root /data/SEN12MS --config sen12ms --amp

Each step draws two views of every patch with shared-parameter geometric augmentation (S1, S2 and the super-pixel
map move together) plus per-sensor photometric jitter, and minimises the strategy's HCL terms at image level and
at super-pixel level (decoder features averaged over each Felzenszwalb super-pixel). Labels are never read.
Strategies: early, intermediate, late (fusion), sar, optical (single-sensor baselines).
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sarhub.classification import param_groups  # noqa: E402
from sarhub.cli import common_parser, parse_args, run_main  # noqa: E402
from sarhub.data.loader import seeded_train_loader  # noqa: E402
from sarhub.distributed import barrier, cleanup, init_distributed, wrap_ddp  # noqa: E402
from sarhub.engine import FitConfig, fit  # noqa: E402
from sarhub.fusion import augment  # noqa: E402
from sarhub.fusion.data import PatchesWithSuperpixels, add_data_args, splits  # noqa: E402
from sarhub.fusion.losses import fusion_objective  # noqa: E402
from sarhub.fusion.models import STRATEGIES, FusionNet  # noqa: E402

HERE = Path(__file__).resolve().parent
# CPU-sized run of the simulator: small widths, 48 px views of the 128 px patches
SIMULATOR_DEFAULTS = {"epochs": 40, "batch_size": 16, "widths": [16, 32, 64, 128], "crop": 48}


def get_parser():
    p = common_parser(__doc__.splitlines()[0])
    add_data_args(p)
    p.add_argument("--strategy", required=True, choices=STRATEGIES)
    p.add_argument("--widths", type=int, nargs=4, default=[32, 64, 128, 256], help="ResUNet channels per level")
    p.add_argument("--dim", type=int, default=128, help="projection dimension of the contrastive embeddings")
    p.add_argument("--crop", type=int, default=128, help="side of the augmented views (px)")
    p.add_argument("--min-scale", type=float, default=0.6, help="smallest crop side as a share of the patch side")
    p.add_argument("--tau", type=float, default=0.5)
    p.add_argument("--tau-plus", type=float, default=0.1)
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--max-superpixels", type=int, default=256, help="super-pixel pairs per batch in the HCL term")
    p.add_argument("--sp-scale", type=float, default=40.0, help="Felzenszwalb scale")
    p.add_argument("--sp-sigma", type=float, default=0.8)
    p.add_argument("--sp-min-size", type=int, default=20)
    p.set_defaults(epochs=100, batch_size=32, lr=1e-3, weight_decay=1e-4)
    return p


def main(argv=None) -> None:
    args = parse_args(get_parser(), argv, HERE / "configs", SIMULATOR_DEFAULTS)
    env = init_distributed(args.device)
    out = Path(args.output or f"runs/{args.strategy}")
    if env.is_main:  # the first process writes the simulator and the super-pixel cache, the others then read them
        train = PatchesWithSuperpixels(splits(args)[0], args.sp_scale, args.sp_sigma, args.sp_min_size)
    barrier()
    if not env.is_main:
        train = PatchesWithSuperpixels(splits(args)[0], args.sp_scale, args.sp_sigma, args.sp_min_size)
    if env.is_main:
        print(f"{len(train)} training patches, strategy {args.strategy}")
    model = wrap_ddp(FusionNet(args.strategy, args.widths, args.dim).to(env.device), env)
    sampler = None
    if env.distributed:
        sampler = torch.utils.data.DistributedSampler(train, env.world_size, env.rank, shuffle=True, seed=args.seed,
                                                      drop_last=True)
    loader, sampler = seeded_train_loader(train, args.batch_size, args.workers, env, args.seed, sampler=sampler)
    optimizer = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs * len(loader))
    hcl = {"tau": args.tau, "tau_plus": args.tau_plus, "beta": args.beta}
    size = (args.crop, args.crop)

    def step(model, batch):
        s1 = batch["s1"].to(env.device, non_blocking=True)
        s2 = batch["s2"].to(env.device, non_blocking=True)
        seg = batch["segments"].to(env.device, non_blocking=True)
        outs, segs = [], []
        for _ in range(2):  # two views; within a view every tensor shares one transform
            params = augment.sample_params(len(s1), size, args.min_scale, device=env.device)
            outs.append(model(augment.photometric(augment.apply(s1, params)),
                              augment.photometric(augment.apply(s2, params))))
            segs.append(augment.apply(seg, params))
        return fusion_objective(outs[0], outs[1], segs[0], segs[1], args.max_superpixels, **hcl)[0]

    cfg = FitConfig(epochs=args.epochs, output_dir=out, seed=args.seed, monitor="train_loss", monitor_mode="min",
                    amp=args.amp, resume=args.resume, save_every=args.save_every, overwrite=args.overwrite)
    fit(model, optimizer, scheduler, loader, step, None, env, cfg, {**vars(args), "train_patches": len(train)},
        sampler)
    cleanup()


if __name__ == "__main__":
    run_main(main)
