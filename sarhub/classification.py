"""Classification building blocks shared by scene pre-training, target recognition and the predecessor's tools:
transforms, the on-device batch preprocessing (gamma test → DRAE → mean/std), data loaders (DDP-aware, balanced
sampling), the optimiser recipes, step and evaluation functions, and the classification pipeline."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from torchvision.transforms import v2

from sarhub.backbones import ModelOptions
from sarhub.checkpoints import write_text_atomic
from sarhub.config import OptimOptions, RunOptions, TaskConfig, group, option
from sarhub.data.loader import seeded_train_loader, sharded_loader
from sarhub.data.samplers import ClassBalancedBatchSampler
from sarhub.distributed import DistEnv, ShardSampler, all_gather_objects, barrier, channels_last_on, wrap_ddp
from sarhub.engine import FitConfig, fit
from sarhub.errors import DataError, WeightsError
from sarhub.losses import LossOptions
from sarhub.metrics.classification import classification_report
from sarhub.preprocess import InputOptions, Preprocess


def build_transform(img_size: int, train: bool, augment: bool = True) -> v2.Compose:
    """Resize to 1.125× then random (train) or centre crop to `img_size`, random flips in training."""
    resize = int(round(img_size * 1.125)) if augment else img_size
    ops: list[Any] = [v2.Resize((resize, resize), antialias=True)]
    if train and augment:
        ops += [v2.RandomCrop(img_size), v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    elif augment:
        ops.append(v2.CenterCrop(img_size))
    return v2.Compose(ops)


@torch.no_grad()
def normalisation_stats(dataset: Dataset, preprocess: Preprocess, max_images: int = 2000, seed: int = 0,
                        batch_size: int = 64) -> tuple[list[float], list[float]]:
    """Per-channel mean/std of the training split after test-time enhancement (a seeded subsample of at most
    `max_images` images; the authors' hard-coded constants are wrong for BEN, so they are always measured)."""
    n = len(dataset)
    generator = torch.Generator().manual_seed(seed)
    indices = torch.randperm(n, generator=generator)[:max_images].tolist()
    loader = DataLoader(Subset(dataset, indices), batch_size=batch_size, num_workers=0)
    was_training = preprocess.training
    preprocess.eval()
    total = total_sq = count = 0
    for batch in loader:
        x = preprocess.enhance(batch["image"].float()).double()
        total = total + x.sum(dim=(0, 2, 3))
        total_sq = total_sq + (x**2).sum(dim=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    preprocess.train(was_training)
    mean = total / count
    std = (total_sq / count - mean**2).clamp_min(1e-12).sqrt()
    if not (torch.isfinite(mean).all() and torch.isfinite(std).all()):
        raise DataError(getattr(dataset, "root", None), "the training images give non-finite mean/std after "
                                                        "enhancement (NaN/inf pixels?)")
    return mean.tolist(), std.tolist()


def stats_fingerprint(dataset: Dataset, preprocess: Preprocess, seed: int) -> str:
    """What the statistics depend on: data root, the split's items, the enhancement settings and the seed."""
    items = getattr(dataset, "items", None)
    key = {"root": str(Path(getattr(dataset, "root", "")).resolve()), "n": len(dataset),  # type: ignore[arg-type]
           "items": hashlib.sha256(json.dumps(items, default=str).encode()).hexdigest() if items else None,
           "drae": repr(preprocess.drae.config),
           "log_scale": preprocess.log_scale, "per_image": preprocess.per_image, "seed": seed,
           "transform": repr(getattr(dataset, "transform", None))}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def cached_normalisation_stats(path: Path, dataset: Dataset, preprocess: Preprocess, seed: int = 0) -> tuple[list, list]:
    """Compute once per run folder and reuse (also on resume; test.py reads them from the checkpoint). The file
    carries a fingerprint of data and settings (`stats_fingerprint`): changed data or settings rebuild it."""
    fingerprint = stats_fingerprint(dataset, preprocess, seed)
    if path.is_file():
        try:
            stats = json.loads(path.read_text())
            if stats.get("fingerprint") == fingerprint:
                return stats["mean"], stats["std"]
        except (json.JSONDecodeError, KeyError, AttributeError):
            pass  # unreadable cache: rebuilt below
    mean, std = normalisation_stats(dataset, preprocess, seed=seed)
    write_text_atomic(path, json.dumps({"mean": mean, "std": std, "fingerprint": fingerprint}))
    return mean, std


def train_loader(dataset: Dataset, batch_size: int, workers: int, env: DistEnv, seed: int,
                 sampler: Any = None) -> tuple[DataLoader, Any]:
    """Shuffled training loader, exactly reproducible per epoch (`sarhub.data.loader`); a DistributedSampler under
    DDP unless a custom (DDP-aware) sampler is given."""
    if sampler is None and env.distributed:
        sampler = DistributedSampler(dataset, num_replicas=env.world_size, rank=env.rank, shuffle=True, seed=seed,
                                     drop_last=True)
    return seeded_train_loader(dataset, batch_size, workers, env, seed, sampler=sampler,
                               drop_last=len(dataset) > batch_size)  # type: ignore[arg-type]


def classification_step(preprocess: Preprocess, loss_fn: nn.Module, device: torch.device,
                        channels_last: bool = False):
    """The engine's step_fn for classifiers: move, preprocess (DRAE draws in train mode), forward, loss."""
    def step(model: nn.Module, batch: dict) -> torch.Tensor:
        x = batch["image"].to(device, non_blocking=True)
        y = batch["label"].to(device, non_blocking=True)
        preprocess.train()
        x = preprocess(x)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return loss_fn(model(x), y)
    return step


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, preprocess: Preprocess, device: torch.device,
            amp: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets of the whole (sharded) evaluation set, gathered in dataset order on every rank."""
    model.eval()
    preprocess.eval()
    logits, targets = [], []
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
        for batch in loader:
            x = preprocess(batch["image"].to(device, non_blocking=True))
            logits.append(model(x).float().cpu())
            targets.append(torch.as_tensor(batch["label"]).cpu())
    local = (loader.sampler.indices if isinstance(loader.sampler, ShardSampler) else list(range(len(loader.dataset))),
             torch.cat(logits), torch.cat(targets))
    parts = all_gather_objects(local)
    order = torch.tensor([i for part in parts for i in part[0]])
    all_logits = torch.cat([p[1] for p in parts])[order.argsort()]
    all_targets = torch.cat([p[2] for p in parts])[order.argsort()]
    return all_logits, all_targets


def freeze_backbone(model: nn.Module) -> None:
    """Linear probe / last-layer fine-tuning: every module but the classifier is frozen, BatchNorm statistics
    included (timm turns them into FrozenBatchNorm2d), so training changes nothing but the head."""
    from timm.utils.model import freeze

    head = model.get_classifier()
    freeze(model, [name for name, module in model.named_children() if module is not head])


@dataclass
class ClassifierConfig(TaskConfig):
    """Options every classification run shares (scene pre-training, target recognition); library defaults."""

    model: ModelOptions = group(ModelOptions)
    input: InputOptions = group(InputOptions)
    loss: LossOptions = group(LossOptions)
    optim: OptimOptions = group(OptimOptions)
    run: RunOptions = group(RunOptions)
    balanced_batches: bool = option(False, "class-balanced batch sampler (the predecessor's)")
    freeze_backbone: bool = option(False, "train the classifier only (linear probe)")
    cache: bool = option(False, "keep decoded images in memory")


SELECT = object()  # the key of the validation set that selects checkpoint_best (its top-1 is the monitored "top1")
OptimizerFactory = Callable[[nn.Module, int], tuple[torch.optim.Optimizer, Any, str]]


def train_classifier(cfg: ClassifierConfig, env: DistEnv, train_set: Dataset, val_set: Dataset | None,
                     optimizer_factory: OptimizerFactory, extra_eval: dict[str, Dataset] | None = None) -> list[dict]:
    """The classification pipeline both task scripts run: normalisation stats → model (weights, freezing,
    channels_last, DDP) → sampler → loss → optimiser (from `optimizer_factory(model, steps_per_epoch)`, which also
    says whether its scheduler steps per "step" or per "epoch") → engine. Validation picks checkpoint_best;
    `extra_eval` sets (e.g. the test set, for the authors' score-the-test-set-every-epoch protocol) are scored and
    logged each epoch under their name but never select anything. Without a validation set only the last
    checkpoint is kept. Runs inside `sarhub.engine.start_run` (folder held, RNGs seeded)."""
    run = cfg.run
    out = Path(run.output)
    in_chans, input_size = train_set[0]["image"].shape[0], train_set[0]["image"].shape[-1]
    probe = cfg.input.preprocess([0.0] * in_chans, [1.0] * in_chans)
    if env.is_main:
        cached_normalisation_stats(out / "norm_stats.json", train_set, probe, run.seed)
    barrier()
    mean, std = cached_normalisation_stats(out / "norm_stats.json", train_set, probe, run.seed)
    preprocess = cfg.input.preprocess(mean, std).to(env.device)

    model = cfg.model.create(num_classes=train_set.num_classes, in_chans=in_chans, img_size=input_size)
    bad = [name for name, p in model.state_dict().items() if p.is_floating_point() and not torch.isfinite(p).all()]
    if bad:
        raise WeightsError(cfg.model.weights, f"initial weights hold NaN/inf ({bad[0]}{' …' if len(bad) > 1 else ''})")
    if cfg.freeze_backbone:
        freeze_backbone(model)
    channels_last = channels_last_on(run.channels_last, env)
    model = wrap_ddp(model, env, channels_last=channels_last)

    batch_size = cfg.optim.batch_size
    if cfg.balanced_batches:
        sampler = ClassBalancedBatchSampler(train_set.class_labels(), batch_size, seed=run.seed,
                                            rank=env.rank, world_size=env.world_size)
        loader, sampler = seeded_train_loader(train_set, batch_size, run.workers, env, run.seed,
                                              batch_sampler=sampler)
    else:
        loader, sampler = train_loader(train_set, batch_size, run.workers, env, run.seed)
    loss_fn = cfg.loss.build(train_set.num_classes, train_set.class_counts())
    optimizer, scheduler, interval = optimizer_factory(model, len(loader))
    sigmoid = cfg.loss.name == "bce"
    selecting = {SELECT: val_set} if val_set is not None else {}
    loaders = {name: sharded_loader(ds, batch_size, env, run.workers) for name, ds in {**selecting,
                                                                                  **(extra_eval or {})}.items()}

    def evaluate(model: nn.Module) -> dict:
        row = {}
        for name, loader_ in loaders.items():
            logits, targets = predict(model, loader_, preprocess, env.device, run.amp)
            report = classification_report(logits, targets, sigmoid)
            for key in ("top1", "top5", "macro_f1", "micro_f1"):
                if key in report:
                    row["top1" if (name, key) == (SELECT, "top1") else f"{'val' if name is SELECT else name}_{key}"] \
                        = report[key]
        return row

    fit_cfg = FitConfig.of(cfg, cfg.optim.epochs, monitor="top1", scheduler_interval=interval)
    saved = cfg.saved(num_classes=train_set.num_classes, classes=list(train_set.classes), in_chans=in_chans,
                      input_size=input_size, norm_mean=mean, norm_std=std, world_size=env.world_size,
                      multilabel=getattr(train_set, "multilabel", False))
    return fit(model, optimizer, scheduler, loader, classification_step(preprocess, loss_fn, env.device, channels_last),
               evaluate, env, fit_cfg, saved, sampler)
