"""Self-supervised SAR pre-training (masked image modelling with multi-scale gradient-feature targets) and the
few-shot evaluation of its encoder on MSTAR (linear probe or full fine-tuning)."""
from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from safetensors.torch import save_file

from sarhub.backbones import load_weights
from sarhub.cli import (
    RunConfig,
    append_result,
    check_settings,
    common_parser,
    fit_config,
    parse_args,
    refuse,
    to_config,
    use_defaults,
)
from sarhub.data.loader import seeded_train_loader
from sarhub.data.synthetic.scenes import simulated_scene_root
from sarhub.data.synthetic.targets import simulated_mstar_root
from sarhub.data.targets import MSTARDataset
from sarhub.data.unlabelled import UnlabelledPool, scan_images
from sarhub.distributed import barrier, cleanup, init_distributed, unwrap, wrap_ddp
from sarhub.engine import fit
from sarhub.errors import DataError
from sarhub.optim import param_groups
from sarhub.schedules import warmup_cosine
from sarhub.ssl.gradient_targets import gradient_features
from sarhub.ssl.mae import GradientMAE
from sarhub.ssl.probe import extract_features, few_shot_indices, full_finetune, linear_probe, mean_ci, stack_images

FEWSHOT_COLUMNS = ("encoder", "protocol", "shots", "seeds", "accuracy", "accuracy_ci95", "macro_f1", "macro_f1_ci95",
                   "data")


@dataclass
class MIMConfig(RunConfig):
    epochs: int | None = 40
    batch_size: int | None = 64
    lr: float | None = None  # None: blr · total batch / 256
    weight_decay: float | None = 0.05
    data: list[str] | None = None  # image folders; None: the simulator
    exclude: list[str] = field(default_factory=list)
    encoder: str = "vit_small"
    img_size: int = 128
    patch_size: int = 16
    mask_ratio: float = 0.75
    decoder_dim: int = 512
    decoder_depth: int = 4
    blr: float = 1.5e-4
    warmup_epochs: int = 5
    no_cache_targets: bool = False


def get_parser(description: str = "Self-supervised SAR pre-training by masked image modelling"):
    p = common_parser(description)
    p.add_argument("--data", action="append", help="image folder (repeatable); default: simulator")
    p.add_argument("--exclude", action="append", help="glob of paths to leave out (repeatable)")
    p.add_argument("--encoder", help="vit_tiny, vit_small, vit_base or a timm ViT name")
    p.add_argument("--img-size", type=int)
    p.add_argument("--patch-size", type=int)
    p.add_argument("--mask-ratio", type=float)
    p.add_argument("--decoder-dim", type=int)
    p.add_argument("--decoder-depth", type=int)
    p.add_argument("--blr", type=float, help="base lr; lr = blr · total batch / 256")
    p.add_argument("--warmup-epochs", type=int)
    p.add_argument("--no-cache-targets", action="store_true",
                   help="recompute the gradient targets every step (for pools too large to cache)")
    use_defaults(p, MIMConfig)
    p._option_string_actions["--lr"].help = "None: --blr · total batch / 256"
    return p


def parse(argv: Sequence[str] | None = None, description: str | None = None) -> MIMConfig:
    parser = get_parser(*([description] if description else []))
    args = parse_args(parser, argv)
    if args.img_size % args.patch_size:
        refuse(parser, f"--img-size {args.img_size} is not a multiple of --patch-size {args.patch_size}")
    return to_config(MIMConfig, args)


def simulated_pool() -> list[Path]:
    """Embedded default: simulated scenes of the three storage formats, written once."""
    return [simulated_scene_root(fmt, n_classes=8, n_max=40) for fmt in ("TSX", "BEN", "OSU")]


def pretrain(cfg: MIMConfig) -> list[dict]:
    """AdamW (β 0.9/0.95, no decay on norms/biases), warm-up + cosine per iteration; writes the engine's
    checkpoints and `encoder.safetensors` (the ViT encoder alone) for fine-tuning."""
    env = init_distributed(cfg.device)
    out = Path(cfg.output or "runs/mim")
    if env.is_main and cfg.data is None:
        simulated_pool()
    barrier()
    roots = cfg.data or simulated_pool()
    files = scan_images(roots, exclude=cfg.exclude)
    pool = UnlabelledPool(files, cfg.img_size)
    if env.is_main:
        print(f"unlabelled pool: {len(pool)} tiles of {cfg.img_size} px from {len(files)} files")
    model = GradientMAE(cfg.encoder, cfg.img_size, cfg.patch_size, cfg.decoder_dim, cfg.decoder_depth,
                        mask_ratio=cfg.mask_ratio)
    if not cfg.no_cache_targets:  # the targets depend on the image only: compute them once, not every epoch
        pool.cache_features(lambda x: gradient_features(x, model.scales))
    if cfg.weights:
        load_weights(model.encoder, cfg.weights, cfg.weights_dir, allow_partial=cfg.allow_partial)
    model = wrap_ddp(model, env)
    sampler = None
    if env.distributed:
        sampler = torch.utils.data.DistributedSampler(pool, env.world_size, env.rank, shuffle=True, seed=cfg.seed,
                                                      drop_last=True)
    loader, sampler = seeded_train_loader(pool, cfg.batch_size, cfg.workers, env, cfg.seed, sampler=sampler)
    lr = cfg.lr or cfg.blr * cfg.batch_size * env.world_size / 256
    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=lr, betas=(0.9, 0.95))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(cfg.warmup_epochs * len(loader), cfg.epochs * len(loader)))

    def step(model, batch):
        maps = batch.get("feature_maps")
        return model(batch["image"].to(env.device, non_blocking=True),
                     None if maps is None else maps.to(env.device, non_blocking=True))[0]

    fit_cfg = fit_config(cfg, output_dir=out, monitor="train_loss", monitor_mode="min")
    history = fit(model, optimizer, scheduler, loader, step, None, env, fit_cfg,
                  {**vars(cfg), "lr": lr, "pool_tiles": len(pool), "pool_files": len(files)}, sampler)
    if env.is_main:
        encoder = unwrap(model).encoder
        save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, str(out / "encoder.safetensors"),
                  metadata={"arch": cfg.encoder, "img_size": str(cfg.img_size), "patch_size": str(cfg.patch_size),
                            "in_chans": "1", "pretraining": "gradient-feature MIM"})
        print(f"saved {out / 'encoder.safetensors'}")
    cleanup()
    return history


@dataclass
class FewShotConfig:
    encoder_weights: str | None = None  # encoder.safetensors written by pretrain, or a Model-Hub name
    random_init: bool = False
    encoder: str = "vit_small"
    img_size: int = 128
    patch_size: int = 16
    data_root: str | None = None  # MSTAR SOC root; None: simulated chips
    shots: str = "1,2,5,10,20"
    seeds: int = 10
    steps: int = 300
    lr: float = 1e-3
    finetune: bool = False
    ft_steps: int = 100
    ft_lr: float = 1e-4
    label: str | None = None
    results: str = "results"


def parse_fewshot(argv: Sequence[str] | None, results: Path,
                  description: str = "Few-shot evaluation of a MIM-pre-trained encoder") -> tuple[FewShotConfig, list]:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--encoder-weights", help="encoder.safetensors written by pretrain_mim.py")
    p.add_argument("--random-init", action="store_true", help="probe a randomly initialised encoder instead")
    p.add_argument("--encoder")
    p.add_argument("--img-size", type=int)
    p.add_argument("--patch-size", type=int)
    p.add_argument("--data-root", help="MSTAR SOC root (default: simulated chips)")
    p.add_argument("--shots")
    p.add_argument("--seeds", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--finetune", action="store_true", help="full fine-tuning instead of the frozen linear probe")
    p.add_argument("--ft-steps", type=int)
    p.add_argument("--ft-lr", type=float, help="encoder learning rate when fine-tuning")
    p.add_argument("--label", help="row label in the results table")
    p.add_argument("--results")
    use_defaults(p, FewShotConfig)
    p.set_defaults(results=str(results))
    args = p.parse_args(argv)
    if not args.encoder_weights and not args.random_init:
        p.error("give --encoder-weights or --random-init")
    check_settings(p, args)
    try:
        shots = [int(s) for s in args.shots.split(",")]
    except ValueError:
        refuse(p, f"--shots {args.shots}: expected comma-separated integers")
    if min(shots) < 1:
        refuse(p, f"--shots {args.shots}: every K must be at least 1")
    if args.img_size % args.patch_size:
        refuse(p, f"--img-size {args.img_size} is not a multiple of --patch-size {args.patch_size}")
    return to_config(FewShotConfig, args), shots


def fewshot(cfg: FewShotConfig, shots: list[int]) -> dict[int, tuple]:
    """Per K: accuracy and macro F1, mean ± 95 % CI over seeds, one results row each. Returns {K: (acc, f1)}."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = GradientMAE(cfg.encoder, cfg.img_size, cfg.patch_size, decoder_depth=1)
    if cfg.encoder_weights:
        print(load_weights(model.encoder, cfg.encoder_weights))
    model.to(device).eval()
    for param in model.parameters():
        param.requires_grad_(False)
    root = cfg.data_root or simulated_mstar_root()
    train = MSTARDataset(root, "train", crop=128, image_size=cfg.img_size)
    test = MSTARDataset(root, "test", crop=128, image_size=cfg.img_size, classes=train.classes)
    counts = train.class_counts()
    if max(shots) > min(counts):
        small = train.classes[counts.index(min(counts))]
        raise DataError(root, f"--shots {max(shots)} exceeds the {min(counts)} training chips of class {small}")
    label = cfg.label or ("random init" if cfg.random_init else
                          Path(cfg.encoder_weights).parent.name or cfg.encoder_weights)
    protocol = "fine-tune" if cfg.finetune else "linear probe"
    if cfg.finetune:
        train_x, train_y = stack_images(train)
        test_x, test_y = stack_images(test)
        pretrained = copy.deepcopy(model.state_dict())
    else:
        train_x, train_y = extract_features(model.features, train, device)
        test_x, test_y = extract_features(model.features, test, device)
    print(f"{label} ({protocol}): {len(train_y)} train / {len(test_y)} test chips")
    scores = {}
    for k in shots:
        accs, f1s = [], []
        for seed in range(cfg.seeds):
            idx = few_shot_indices(train_y, k, seed)
            if cfg.finetune:
                model.load_state_dict(pretrained)
                r = full_finetune(model.encoder, model.features, model.encoder.embed_dim, train_x[idx], train_y[idx],
                                  test_x, test_y, train.num_classes, cfg.ft_steps, cfg.ft_lr, cfg.lr, seed=seed,
                                  device=device)
            else:
                r = linear_probe(train_x[idx], train_y[idx], test_x, test_y, train.num_classes, cfg.steps, cfg.lr, seed)
            accs.append(r["top1"])
            f1s.append(r["macro_f1"])
        (acc, acc_ci), (f1, f1_ci) = scores[k] = mean_ci(accs), mean_ci(f1s)
        print(f"  {k:>3}-shot: accuracy {acc:.2f} ± {acc_ci:.2f} %, macro F1 {f1:.2f} ± {f1_ci:.2f} % "
              f"({cfg.seeds} seeds)")
        append_result(Path(cfg.results), {"encoder": label, "protocol": protocol, "shots": k, "seeds": cfg.seeds,
                                          "accuracy": acc, "accuracy_ci95": acc_ci, "macro_f1": f1,
                                          "macro_f1_ci95": f1_ci, "data": cfg.data_root or "simulator"},
                      FEWSHOT_COLUMNS)
    return scores
