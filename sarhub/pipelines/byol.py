"""Self-supervised pre-training of a CNN backbone (ResNet-18 by default) by BYOL on the SAR pool
(`sarhub.data.sar_pool`) with SAR-aware views (`sarhub.ssl.views`), monitored by a kNN probe on the TSX SLC val
list (never a downstream test set); writes `backbone.safetensors` (timm key names, the input contract in its
metadata) that `sarhub.create_model(arch, weights=FILE)`, FCOS and DeepLabV3 load."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from sarhub.backbones import load_weights
from sarhub.callbacks import Callback, RunState
from sarhub.classification import train_loader
from sarhub.config import OptimOptions, group, option
from sarhub.data.sar_pool import SARPool, build_pool, folder_source, shared_pool
from sarhub.data.scene import SceneDataset
from sarhub.data.synthetic.scenes import simulated_scene_root
from sarhub.data.tsx_slc import TSXSLCDataset, is_tsx_slc
from sarhub.distributed import DistEnv, barrier, unwrap, wrap_ddp
from sarhub.engine import FitConfig, fit, start_run
from sarhub.hub import InputContract, save_backbone
from sarhub.optim import param_groups
from sarhub.pipelines.common import TrainConfig
from sarhub.preprocess import InputOptions
from sarhub.schedules import warmup_cosine
from sarhub.ssl.byol import BYOL, ema_momentum
from sarhub.ssl.probe import knn_top1, stack_images
from sarhub.ssl.views import ViewConfig, eval_view, random_views

# What a user of the backbone must feed it (stored in backbone.safetensors' metadata as "input_rule").
INPUT_RULE = ("one grey channel in [0, 1] by storage format: uint8 / 255, uint16 / 65535, complex SLC |z| / 65535 "
              "clipped to [0, 1], RGB by BT.601 luma (0.299 R + 0.587 G + 0.114 B); then Reinhard–Devlin DRAE "
              "(t = 4 at test, drawn in [3.5, 4.5] in pre-training) for 16-bit / linear amplitude such as TSX SLC, "
              "8-bit display products as stored; then per-image standardisation (zero mean, unit variance)")


@dataclass
class BYOLOptim(OptimOptions):
    """SGD with momentum 0.9 (weight decay 5e-4, none on norms/biases), lr = blr · total batch / 256 unless given,
    warm-up then cosine; batch 128, 100 epochs."""

    DEFAULTS = {"epochs": 100, "batch_size": 128, "weight_decay": 5e-4}

    blr: float = option(0.12, "base lr; lr = blr · total batch / 256 when lr is None (0.06 at batch 128)",
                        positive=True)
    warmup_epochs: int = option(2, "linear warm-up epochs", bounds=(0, None))


@dataclass
class BYOLConfig(TrainConfig, task="self_supervised_byol", recipes="byol", signature="ema"):
    """Self-supervised SAR pre-training of a CNN backbone by BYOL on the SAR pool."""

    optim: BYOLOptim = group(BYOLOptim)
    data_root: str | None = option(None, "the shared-data folder (s1s2_pairs/, tsx_slc/, hrsid/, …); None: the "
                                         "built-in SAR simulator")
    in_domain: bool = option(False, "also pre-train on the downstream TRAINING images (MSTAR SOC/EOC-1 train, SSDD "
                                    "train): the 'in-domain unlabelled' variant")
    view_size: int = option(112, "side of the augmented views", bounds=(16, 4096))
    tile_size: int = option(128, "side of the pool's stored tiles", bounds=(16, 4096))
    ema: float = option(0.99, "BYOL target momentum at the start (cosine schedule to 1)", bounds=(0.0, 1.0))
    hidden_dim: int = option(2048, "projector/predictor hidden width", bounds=(1, None))
    proj_dim: int = option(256, "projection width", bounds=(1, None))
    knn_k: int = option(20, "neighbours of the kNN monitor", bounds=(1, None))
    sim_per_class: int = option(40, "simulator: images of its largest class, per storage format", bounds=(1, None))

    def __post_init__(self) -> None:
        self.optim.resolve()
        self.run.output = self.run.output or "runs/byol"


def simulated_pool(tile_size: int, per_class: int) -> SARPool:
    """Embedded default: simulated scenes of the three storage formats (TSX 16-bit amplitude takes DRAE)."""
    sources = [folder_source(f"simulated {fmt}", [simulated_scene_root(fmt, 8, per_class)], cut="chip",
                             drae="rd" if fmt == "TSX" else "none") for fmt in ("TSX", "BEN", "OSU")]
    return build_pool(sources, tile_size, "simulated_pool")


def monitor_sets(data_root: str | None, sim_per_class: int) -> tuple[tuple[torch.Tensor, torch.Tensor], ...] | None:
    """((memory images, labels), (query images, labels)) of the kNN monitor: the TSX SLC train → val lists (its
    carved test split is never touched), the simulated TSX set without a data root, None when neither exists."""
    if data_root is None:
        root = simulated_scene_root("TSX", 8, sim_per_class)
        return stack_images(SceneDataset(root, "train")), stack_images(SceneDataset(root, "val"))
    tsx = Path(data_root) / "tsx_slc"
    if not is_tsx_slc(tsx):
        return None
    return tuple((ds.images, torch.tensor(ds.class_labels())) for ds in (TSXSLCDataset(tsx, "train"),
                                                                           TSXSLCDataset(tsx, "val")))


@torch.no_grad()
def embed(model: BYOL, images: torch.Tensor, views: ViewConfig, env: DistEnv, amp: bool,
          batch_size: int = 256) -> torch.Tensor:
    """Online-encoder features of monitor images (RD DRAE at its test value: the monitor sets are TSX amplitude)."""
    out = []
    with torch.autocast(device_type=env.device.type, dtype=torch.bfloat16, enabled=amp):
        for chunk in images.split(batch_size):
            out.append(model.features(eval_view(chunk.to(env.device), True, views)).float().cpu())
    return torch.cat(out)


class PoolRun(Callback):
    """Writes the pool manifest once the run folder is held, and moves the BYOL target after every step."""

    def __init__(self, pool: SARPool, total_steps: int, base_momentum: float):
        self.pool, self.total_steps, self.base = pool, total_steps, base_momentum

    def on_fit_start(self, run: RunState) -> None:
        if run.env.is_main:
            self.pool.write_manifest(run.output_dir)

    def on_step_end(self, run: RunState, loss: torch.Tensor) -> None:
        unwrap(run.model).update_target(ema_momentum(run.global_step, self.total_steps, self.base))


def pretrain(cfg: BYOLConfig, callbacks: Sequence[Callback] = ()) -> list[dict]:
    """SGD (momentum 0.9, no decay on norms/biases), warm-up + cosine per iteration, EMA target; writes the engine's
    checkpoints (checkpoint_best: the highest kNN top-1 on the monitor's val list), the pool manifest and, at the
    end, `backbone.safetensors` (the online encoder of the last epoch)."""
    o, run, out = cfg.optim, cfg.run, Path(cfg.run.output)
    views = ViewConfig(size=cfg.view_size)
    with start_run(cfg) as env:
        if env.is_main and cfg.data_root is None:
            simulated_pool(cfg.tile_size, cfg.sim_per_class)  # write the simulated sets before other ranks read them
        barrier()
        pool = simulated_pool(cfg.tile_size, cfg.sim_per_class) if cfg.data_root is None else \
            shared_pool(cfg.data_root, cfg.in_domain, cfg.tile_size)
        monitor = monitor_sets(cfg.data_root, cfg.sim_per_class)
        if env.is_main:
            print(f"{pool.name}: {len(pool)} tiles of {cfg.tile_size} px from "
                  + ", ".join(f"{s['source']} ({s['tiles']})" for s in pool.sources)
                  + f"; views {cfg.view_size} px; kNN monitor: "
                  + f"{'none' if monitor is None else len(monitor[1][1])} images")
        model = BYOL(cfg.model.name, 1, cfg.hidden_dim, cfg.proj_dim).to(env.device)
        if cfg.model.weights and cfg.model.weights != "scratch":
            load_weights(model.encoder, cfg.model.weights, cfg.model.weights_dir, cfg.model.allow_partial,
                         arch=cfg.model.name)
            model.update_target(0.0)  # the target starts as the loaded encoder
        channels_last = env.device.type == "cuda" if run.channels_last is None else run.channels_last
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        model = wrap_ddp(model, env)
        loader, sampler = train_loader(pool, o.batch_size, run.workers, env, run.seed)
        lr = o.lr or o.blr * o.batch_size * env.world_size / 256
        optimizer = torch.optim.SGD(param_groups(model, o.weight_decay), lr=lr, momentum=0.9)
        total = o.epochs * len(loader)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(o.warmup_epochs * len(loader), total))

        def step(model: nn.Module, batch: dict) -> torch.Tensor:
            tiles, rd = batch["image"].to(env.device, non_blocking=True), batch["rd"].to(env.device)
            with torch.autocast(device_type=env.device.type, enabled=False):
                a, b = random_views(tiles, rd, views), random_views(tiles, rd, views)
            if channels_last:
                a, b = a.contiguous(memory_format=torch.channels_last), b.contiguous(memory_format=torch.channels_last)
            return model(a, b)

        def evaluate(model: nn.Module) -> dict:
            byol = unwrap(model).eval()
            (mem_x, mem_y), (query_x, query_y) = monitor  # type: ignore[misc]
            memory, query = embed(byol, mem_x, views, env, run.amp), embed(byol, query_x, views, env, run.amp)
            spread = torch.nn.functional.normalize(query, dim=1).std(dim=0).mean() * math.sqrt(query.shape[1])
            return {"knn_top1": knn_top1(memory, mem_y, query, query_y, cfg.knn_k), "feature_spread": float(spread)}

        fit_cfg = FitConfig.of(cfg, o.epochs, **({"monitor": "knn_top1"} if monitor else
                                                 {"monitor": "train_loss", "monitor_mode": "min"}))
        saved = cfg.saved(effective_lr=lr, pool=pool.name, pool_tiles=len(pool), input_rule=INPUT_RULE)
        history = fit(model, optimizer, scheduler, loader, step, evaluate if monitor else None, env, fit_cfg, saved,
                      sampler, callbacks=[PoolRun(pool, total, cfg.ema), *callbacks])
        if env.is_main:
            save_byol_backbone(unwrap(model), cfg, pool, history, out / "backbone.safetensors")
        return history


def save_byol_backbone(model: BYOL, cfg: BYOLConfig, pool: SARPool, history: list[dict], path: Path) -> None:
    """The online encoder (timm key names, no classifier) with its Model-Hub entry fields and input contract."""
    contract = InputContract(in_chans=1, options=InputOptions(img_size=cfg.view_size, per_image_norm=True),
                             amplitude_scale="by storage format (input_rule)", norm_mean=(0.0,), norm_std=(1.0,))
    knn = [row["knn_top1"] for row in history if "knn_top1" in row]
    fields = {"name": f"{cfg.model.name}-byol-{pool.name}", "architecture": cfg.model.name,
              "pretraining": f"BYOL self-supervised, {pool.name} ({len(pool)} tiles)", "num_classes": 0,
              "score": knn[-1] if knn else None, "metric": "kNN top-1 (%), TSX SLC val" if knn else None,
              "source": f"sarhub BYOL run {path.parent.name} (epoch {len(history)})", "input": contract.as_dict(),
              "input_rule": INPUT_RULE}
    save_backbone({k: v.contiguous() for k, v in model.encoder.state_dict().items()}, path, fields)
    print(f"saved {path}")
