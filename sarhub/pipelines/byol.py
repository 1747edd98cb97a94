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

from sarhub.callbacks import Callback, RunState
from sarhub.classification import train_loader
from sarhub.cli import RunConfig, common_parser, fit_config, parse_args, to_config, use_defaults
from sarhub.data.sar_pool import SARPool, build_pool, folder_source, shared_pool
from sarhub.data.scene import SceneDataset
from sarhub.data.synthetic.scenes import simulated_scene_root
from sarhub.data.tsx_slc import TSXSLCDataset, is_tsx_slc
from sarhub.distributed import DistEnv, barrier, cleanup, init_distributed, unwrap, wrap_ddp
from sarhub.engine import fit
from sarhub.hub import InputContract, save_backbone
from sarhub.optim import param_groups
from sarhub.schedules import warmup_cosine
from sarhub.ssl.byol import BYOL, ema_momentum
from sarhub.ssl.probe import knn_top1, stack_images
from sarhub.ssl.views import ViewConfig, eval_view, random_views

# What a user of the backbone must feed it (stored in backbone.safetensors' metadata as "input_rule").
INPUT_RULE = ("one grey channel in [0, 1] by storage format: uint8 / 255, uint16 / 65535, complex SLC |z| / 65535 "
              "clipped to [0, 1], RGB by BT.601 luma (0.299 R + 0.587 G + 0.114 B); then Reinhard–Devlin DRAE "
              "(t = 4 at test, drawn in [3.5, 4.5] in pre-training) for 16-bit / linear amplitude such as TSX SLC, "
              "8-bit display products as stored; then per-image standardisation (zero mean, unit variance)")
# without --data-root: the simulator, a run of about a minute on two CPU cores
SIMULATOR_DEFAULTS = {"epochs": 3, "batch_size": 32, "img_size": 64, "eval_every": 1}


@dataclass
class BYOLConfig(RunConfig):
    epochs: int | None = 100
    batch_size: int | None = 128
    lr: float | None = None  # None: blr · total batch / 256
    weight_decay: float | None = 5e-4
    workers: int = 0  # a batch is a slice of the in-memory pool; views are made on the device
    eval_every: int = 5
    data_root: str | None = None  # the shared-data folder (s1s2_pairs/, tsx_slc/, …); None: the simulator
    in_domain: bool = False  # add the downstream TRAINING images (MSTAR SOC/EOC-1 train, SSDD train)
    img_size: int = 112  # side of the views
    tile_size: int = 128  # side of the pool's stored tiles
    blr: float = 0.12  # SGD base lr (0.06 at batch 128)
    warmup_epochs: int = 2
    ema: float = 0.99  # target momentum at the start (cosine to 1)
    hidden_dim: int = 2048
    proj_dim: int = 256
    knn_k: int = 20
    sim_per_class: int = 40  # simulator: images of its largest class, per storage format


def get_parser(description: str = "Self-supervised SAR pre-training of a CNN backbone by BYOL"):
    p = common_parser(description)
    p.add_argument("--in-domain", action="store_true",
                   help="also pre-train on the downstream TRAINING images (MSTAR SOC/EOC-1 train, SSDD train)")
    p.add_argument("--img-size", type=int, help="side of the augmented views")
    p.add_argument("--blr", type=float, help="base lr; lr = blr · total batch / 256 (SGD, momentum 0.9)")
    p.add_argument("--warmup-epochs", type=int)
    p.add_argument("--ema", type=float, help="BYOL target momentum at the start (cosine schedule to 1)")
    use_defaults(p, BYOLConfig)
    p._option_string_actions["--lr"].help = "None: --blr · total batch / 256"
    p._option_string_actions["--data-root"].help = "shared-data folder (s1s2_pairs/, tsx_slc/, hrsid/, …); " \
                                                   "omitted: the built-in SAR simulator"
    return p


def parse(argv: Sequence[str] | None = None, description: str | None = None) -> BYOLConfig:
    args = parse_args(get_parser(*([description] if description else [])), argv,
                      simulator_defaults=SIMULATOR_DEFAULTS)
    return to_config(BYOLConfig, args)


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
    env = init_distributed(cfg.device)
    out = Path(cfg.output or "runs/byol")
    views = ViewConfig(size=cfg.img_size)
    if env.is_main and cfg.data_root is None:
        simulated_pool(cfg.tile_size, cfg.sim_per_class)  # write the simulated sets once before other ranks read them
    barrier()
    pool = simulated_pool(cfg.tile_size, cfg.sim_per_class) if cfg.data_root is None else \
        shared_pool(cfg.data_root, cfg.in_domain, cfg.tile_size)
    monitor = monitor_sets(cfg.data_root, cfg.sim_per_class)
    if env.is_main:
        print(f"{pool.name}: {len(pool)} tiles of {cfg.tile_size} px from "
              + ", ".join(f"{s['source']} ({s['tiles']})" for s in pool.sources)
              + f"; views {cfg.img_size} px; kNN monitor: {'none' if monitor is None else len(monitor[1][1])} images")
    torch.manual_seed(cfg.seed)
    model = BYOL(cfg.model, 1, cfg.hidden_dim, cfg.proj_dim).to(env.device)
    channels_last = env.device.type == "cuda" if cfg.channels_last is None else cfg.channels_last
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    model = wrap_ddp(model, env)
    loader, sampler = train_loader(pool, cfg.batch_size, cfg.workers, env, cfg.seed)
    lr = cfg.lr or cfg.blr * cfg.batch_size * env.world_size / 256
    optimizer = torch.optim.SGD(param_groups(model, cfg.weight_decay), lr=lr, momentum=0.9)
    total = cfg.epochs * len(loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(cfg.warmup_epochs * len(loader), total))

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
        memory, query = embed(byol, mem_x, views, env, cfg.amp), embed(byol, query_x, views, env, cfg.amp)
        spread = torch.nn.functional.normalize(query, dim=1).std(dim=0).mean() * math.sqrt(query.shape[1])
        return {"knn_top1": knn_top1(memory, mem_y, query, query_y, cfg.knn_k), "feature_spread": float(spread)}

    fit_cfg = fit_config(cfg, output_dir=out, **({"monitor": "knn_top1"} if monitor else
                                                 {"monitor": "train_loss", "monitor_mode": "min"}))
    saved = {**vars(cfg), "lr": lr, "pool": pool.name, "pool_tiles": len(pool), "input_rule": INPUT_RULE}
    history = fit(model, optimizer, scheduler, loader, step, evaluate if monitor else None, env, fit_cfg, saved,
                  sampler, callbacks=[PoolRun(pool, total, cfg.ema), *callbacks])
    if env.is_main:
        save_byol_backbone(unwrap(model), cfg, pool, history, out / "backbone.safetensors")
    cleanup()
    return history


def save_byol_backbone(model: BYOL, cfg: BYOLConfig, pool: SARPool, history: list[dict], path: Path) -> None:
    """The online encoder (timm key names, no classifier) with its Model-Hub entry fields and input contract."""
    contract = InputContract(in_chans=1, img_size=cfg.img_size, amplitude_scale="by storage format (input_rule)",
                             norm_mean=(0.0,), norm_std=(1.0,), per_image_norm=True)
    knn = [row["knn_top1"] for row in history if "knn_top1" in row]
    fields = {"name": f"{cfg.model}-byol-{pool.name}", "architecture": cfg.model,
              "pretraining": f"BYOL self-supervised, {pool.name} ({len(pool)} tiles)", "num_classes": 0,
              "score": knn[-1] if knn else None, "metric": "kNN top-1 (%), TSX SLC val" if knn else None,
              "source": f"sarhub BYOL run {path.parent.name} (epoch {len(history)})", "input": contract.as_dict(),
              "input_rule": INPUT_RULE}
    save_backbone({k: v.contiguous() for k, v in model.encoder.state_dict().items()}, path, fields)
    print(f"saved {path}")
