"""Self-supervised SAR pre-training (masked image modelling with multi-scale gradient-feature targets) and the
few-shot evaluation of its encoder on MSTAR (linear probe or full fine-tuning)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save

from sarhub.backbones import WeightsOptions, load_weights
from sarhub.checkpoints import atomic_write
from sarhub.config import IMG_SIZE, OptimOptions, RunOptions, TaskConfig, group, option
from sarhub.data.loader import seeded_train_loader
from sarhub.data.synthetic.scenes import simulated_scene_root
from sarhub.data.unlabelled import UnlabelledPool, scan_images
from sarhub.distributed import barrier, unwrap, wrap_ddp
from sarhub.engine import FitConfig, fit, start_run
from sarhub.errors import ConfigError
from sarhub.optim import param_groups
from sarhub.schedules import warmup_cosine
from sarhub.ssl.gradient_targets import gradient_features
from sarhub.ssl.mae import GradientMAE


@dataclass
class MIMOptim(OptimOptions):
    """MAE's pre-training optimiser: AdamW (β 0.9/0.95, weight decay 0.05), lr = blr · total batch / 256 unless
    given, warm-up then cosine; batch 64, 40 epochs."""

    DEFAULTS = {"epochs": 40, "batch_size": 64, "weight_decay": 0.05}

    blr: float = option(1.5e-4, "base lr; lr = blr · total batch / 256 (when lr is None)", positive=True)
    warmup_epochs: int = option(5, "linear warm-up epochs", bounds=(0, None))


@dataclass
class MIMConfig(TaskConfig, task="self_supervised", signature="mask_ratio"):
    """Self-supervised SAR pre-training by masked image modelling with gradient-feature targets (SARATR-X)."""

    encoder: str = option("vit_small", "vit_tiny, vit_small, vit_base or a timm ViT name")
    init: WeightsOptions = group(WeightsOptions)
    data_root: list[str] = option(factory=list, help="image folder (repeatable); none: the built-in simulator",
                                  repeat=True)
    exclude: list[str] = option(factory=list, help="glob of paths to leave out (repeatable)", repeat=True)
    optim: MIMOptim = group(MIMOptim)
    run: RunOptions = group(RunOptions)
    img_size: int = option(IMG_SIZE, "tile side", bounds=(16, 4096))
    patch_size: int = option(16, "ViT patch size", bounds=(1, None))
    mask_ratio: float = option(0.75, "share of patches masked", bounds=(1e-9, 1 - 1e-9))
    decoder_dim: int = option(512, "decoder width", bounds=(1, None))
    decoder_depth: int = option(4, "decoder blocks", bounds=(1, None))
    cache_targets: bool = option(True, "compute the gradient targets once (--no-cache-targets: every step, for "
                                       "pools too large to cache)")

    def __post_init__(self) -> None:
        self.optim.resolve()
        if self.img_size % self.patch_size:
            raise ConfigError("img_size", f"{self.img_size} is not a multiple of patch_size {self.patch_size}")
        self.run.output = self.run.output or "runs/mim"


def simulated_pool() -> list[Path]:
    """Embedded default: simulated scenes of the three storage formats, written once."""
    return [simulated_scene_root(fmt, n_classes=8, n_max=40) for fmt in ("TSX", "BEN", "OSU")]


def pretrain(cfg: MIMConfig) -> list[dict]:
    """AdamW (β 0.9/0.95, no decay on norms/biases), warm-up + cosine per iteration; writes the engine's
    checkpoints and `encoder.safetensors` (the ViT encoder alone) for fine-tuning."""
    o, out = cfg.optim, Path(cfg.run.output)
    with start_run(cfg) as env:
        if env.is_main and not cfg.data_root:
            simulated_pool()
        barrier()
        roots = cfg.data_root or simulated_pool()
        files = scan_images(roots, exclude=cfg.exclude)
        pool = UnlabelledPool(files, cfg.img_size)
        if env.is_main:
            print(f"unlabelled pool: {len(pool)} tiles of {cfg.img_size} px from {len(files)} files")
        model = GradientMAE(cfg.encoder, cfg.img_size, cfg.patch_size, cfg.decoder_dim, cfg.decoder_depth,
                            mask_ratio=cfg.mask_ratio)
        if cfg.cache_targets:  # the targets depend on the image only: compute them once, not every epoch
            pool.cache_features(lambda x: gradient_features(x, model.scales))
        if cfg.init.weights:
            load_weights(model.encoder, cfg.init.weights, cfg.init.weights_dir, allow_partial=cfg.init.allow_partial)
        model = wrap_ddp(model, env)
        sampler = None
        if env.distributed:
            sampler = torch.utils.data.DistributedSampler(pool, env.world_size, env.rank, shuffle=True,
                                                          seed=cfg.run.seed, drop_last=True)
        loader, sampler = seeded_train_loader(pool, o.batch_size, cfg.run.workers, env, cfg.run.seed, sampler=sampler)
        lr = o.lr or o.blr * o.batch_size * env.world_size / 256
        optimizer = torch.optim.AdamW(param_groups(model, o.weight_decay), lr=lr, betas=(0.9, 0.95))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, warmup_cosine(o.warmup_epochs * len(loader), o.epochs * len(loader)))

        def step(model, batch):
            maps = batch.get("feature_maps")
            return model(batch["image"].to(env.device, non_blocking=True),
                         None if maps is None else maps.to(env.device, non_blocking=True))[0]

        fit_cfg = FitConfig.of(cfg, o.epochs, monitor="train_loss", monitor_mode="min")
        history = fit(model, optimizer, scheduler, loader, step, None, env, fit_cfg,
                      cfg.saved(pool_tiles=len(pool), pool_files=len(files), effective_lr=lr), sampler)
        if env.is_main:
            encoder = unwrap(model).encoder
            atomic_write(out / "encoder.safetensors", save({k: v.contiguous() for k, v in encoder.state_dict().items()},
                                                           metadata={"arch": cfg.encoder, "img_size": str(cfg.img_size),
                                                                     "patch_size": str(cfg.patch_size), "in_chans": "1",
                                                                     "pretraining": "gradient-feature MIM"}))
            print(f"saved {out / 'encoder.safetensors'}")
        return history
