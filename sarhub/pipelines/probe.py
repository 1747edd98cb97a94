"""Frozen-feature probes of any encoder: a linear probe on K labelled chips per class (few-shot, SARATR-X's
protocol) or on the whole training split (a linear probe of the features), on MSTAR or on the real TSX-SLC chips.

The encoder is one of the paper's backbones (global-pooled features of its last stage) or a ViT of the masked image
modelling pre-training (mean patch token). It is frozen and the chips are not augmented, so the features are
extracted once and every (K, draw) probe trains on cached vectors. Each K is drawn `draws` times, the draws seeded
by (seed, draw): the result is the mean (and 95 % interval) over draws; a different seed is another set of draws.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset
from torchvision.transforms import v2

from sarhub.backbones import WeightsOptions, create_model, load_weights, resolve_name
from sarhub.config import TaskConfig, group, option
from sarhub.data.synthetic.targets import simulated_mstar_root
from sarhub.data.targets import MSTARDataset, validation_items
from sarhub.data.tsx_slc import TSXSLCDataset
from sarhub.distributed import pick_device
from sarhub.errors import ConfigError, DataError
from sarhub.preprocess import InputOptions
from sarhub.results import append_result
from sarhub.ssl.mae import ENCODERS, GradientMAE
from sarhub.ssl.probe import extract_features, few_shot_indices, full_finetune, linear_probe, mean_ci, stack_images

COLUMNS = ("encoder", "protocol", "dataset", "split", "shots", "draws", "accuracy", "accuracy_ci95", "macro_f1",
           "macro_f1_ci95", "data")
SPLITS = ("test", "val")


@dataclass
class ProbeData:
    """The labelled chips probed: MSTAR (centre-cropped) or TSX-SLC, and the split scored."""

    dataset: str = option("mstar", "mstar (SOC class folders; centre crop) or tsx-slc (the real TerraSAR-X SLC chips)",
                          choices=("mstar", "tsx-slc"))
    root: str | None = option(None, "data folder; None: simulated MSTAR chips", flag="data_root")
    split: str = option("test", "the split scored: test, or val (carved from training with a fixed seed for MSTAR, "
                                "the published val list for TSX-SLC; the test split is then never read)",
                        choices=SPLITS)
    crop: int = option(128, "MSTAR centre crop before anything else", bounds=(16, 4096))
    val_fraction: float = option(0.2, "MSTAR: share of every training class held out when split is val",
                                 bounds=(0.01, 0.9))
    sim_per_class: int = option(40, "simulated chips per class and split", bounds=(1, None))

    def __post_init__(self) -> None:
        if self.dataset == "tsx-slc" and self.root is None:
            raise ConfigError("data_root", "tsx-slc needs its data folder (the simulator writes MSTAR chips only)")


@dataclass
class ProbeConfig(TaskConfig, task="probe", recipes="probe"):
    """Probe a frozen encoder with a linear head: few-shot (K chips per class) or on all training chips."""

    encoder: str = option("resnet18", "a backbone (resnet18, resnet50, …) or a ViT of the MIM pre-training (" +
                          ", ".join(ENCODERS) + ")")
    init: WeightsOptions = group(WeightsOptions)
    input: InputOptions = group(InputOptions)
    data: ProbeData = group(ProbeData)
    patch_size: int = option(16, "ViT encoders: patch size", bounds=(1, None))
    shots: list[int] = option(factory=lambda: [1, 5, 10], help="K chips per class (0: every training chip)")
    draws: int = option(10, "random K-shot draws per K (one draw when K is 0)", bounds=(1, None))
    seed: int = option(0, "seeds the draws (a new seed draws anew)", bounds=(0, 2**32 - 1))
    steps: int = option(300, "probe training steps (full batch, AdamW)", bounds=(1, None))
    lr: float = option(1e-3, "probe learning rate", positive=True)
    finetune: bool = option(False, "fine-tune the whole encoder with the head instead of the frozen linear probe")
    ft_steps: int = option(100, "fine-tuning steps", bounds=(1, None))
    ft_lr: float = option(1e-4, "encoder learning rate when fine-tuning", positive=True)
    batch_size: int = option(128, "feature-extraction batch size", bounds=(1, None))
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    label: str | None = option(None, "row label in the results table (default: the weights)")
    results: str = option("results", "results table path without extension (.md and .csv)")
    append: bool = option(True, "append the rows to the results table (--no-append: print only)")

    def __post_init__(self) -> None:
        if min(self.shots, default=0) < 0 or not self.shots:
            raise ConfigError("shots", f"{self.shots}: give one or more K ≥ 0 (0: every training chip)")
        if self.vit and self.input.img_size % self.patch_size:
            raise ConfigError("img_size", f"{self.input.img_size} is not a multiple of patch_size {self.patch_size}")
        if not self.vit:
            try:
                self.encoder = resolve_name(self.encoder)
            except ValueError as exc:
                raise ConfigError("encoder", str(exc)) from None

    @property
    def vit(self) -> bool:
        return self.encoder in ENCODERS or self.encoder.startswith("vit")


class Encoder(nn.Module):
    """images in [0, 1] → input options (DRAE, per-image standardisation) → frozen features."""

    def __init__(self, cfg: ProbeConfig):
        super().__init__()
        if cfg.vit:
            self.net = GradientMAE(cfg.encoder, cfg.input.img_size, cfg.patch_size, decoder_depth=1)
            if cfg.init.weights and cfg.init.weights != "scratch":
                print(load_weights(self.net.encoder, cfg.init.weights, cfg.init.weights_dir,
                                   allow_partial=cfg.init.allow_partial))
            self.features, self.params = self.net.features, self.net.encoder
            self.dim = self.net.encoder.embed_dim
        else:
            self.net = create_model(cfg.encoder, num_classes=0, in_chans=1, img_size=cfg.input.img_size,
                                    weights=cfg.init.weights, weights_dir=cfg.init.weights_dir,
                                    allow_partial=cfg.init.allow_partial)
            self.features, self.params, self.dim = self.net, self.net, self.net.num_features
        self.pre = cfg.input.preprocess([0.0], [1.0]).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.pre(x))


def open_chips(cfg: ProbeConfig) -> tuple[Dataset, Dataset]:
    """(train, scored) chips of the probe: the scored split is the test split, or the validation split."""
    d, size = cfg.data, cfg.input.img_size
    if d.dataset == "tsx-slc":  # 64 px chips, resized to the probe's input side
        resize = v2.Resize([size, size], antialias=True)
        return (TSXSLCDataset(d.root, "train", resize),
                TSXSLCDataset(d.root, "val" if d.split == "val" else "test", resize))
    root = d.root or simulated_mstar_root(d.sim_per_class, d.sim_per_class)
    resize = size if size != d.crop else None
    train = MSTARDataset(root, "train", crop=d.crop, image_size=resize)
    if d.split == "test":
        return train, MSTARDataset(root, "test", crop=d.crop, image_size=resize, classes=train.classes)
    scored = copy.copy(train)
    train.items, scored.items = validation_items(train.items, d.val_fraction)
    return train, scored


def probe(cfg: ProbeConfig) -> dict:
    """Per K: accuracy and macro F1 over `draws` draws (mean, 95 % CI, every value); one results row per K.
    Returns {"shots": {K: {...}}, "train_chips", "scored_chips"}."""
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    encoder = Encoder(cfg).to(device).eval()
    for param in encoder.parameters():
        param.requires_grad_(False)
    train, scored = open_chips(cfg)
    counts = train.class_counts()
    if max(cfg.shots) > min(counts):
        small = train.classes[counts.index(min(counts))]
        raise DataError(train.root, f"shots {max(cfg.shots)} exceeds the {min(counts)} training chips of class {small}")
    label = cfg.label or cfg.init.weights or f"{cfg.encoder} (random init)"
    protocol = "fine-tune" if cfg.finetune else "linear probe"
    if cfg.finetune:
        train_x, train_y = stack_images(train)
        test_x, test_y = stack_images(scored)
        start = copy.deepcopy(encoder.state_dict())
    else:
        train_x, train_y = extract_features(encoder, train, device, cfg.batch_size)
        test_x, test_y = extract_features(encoder, scored, device, cfg.batch_size)
    print(f"{label} ({protocol}): {len(train_y)} train / {len(test_y)} {cfg.data.split} chips of {cfg.data.dataset}")
    out: dict = {"shots": {}, "train_chips": len(train_y), "scored_chips": len(test_y)}
    for k in cfg.shots:
        accs, f1s = [], []
        for draw in range(cfg.draws if k else 1):
            seed = cfg.seed * 1000 + draw
            idx = few_shot_indices(train_y, k, seed) if k else torch.arange(len(train_y))
            if cfg.finetune:
                encoder.load_state_dict(start)
                r = full_finetune(encoder.params, encoder, encoder.dim, train_x[idx], train_y[idx], test_x, test_y,
                                  train.num_classes, cfg.ft_steps, cfg.ft_lr, cfg.lr, seed=seed, device=device)
            else:
                r = linear_probe(train_x[idx], train_y[idx], test_x, test_y, train.num_classes, cfg.steps, cfg.lr,
                                 seed)
            accs.append(r["top1"])
            f1s.append(r["macro_f1"])
        (acc, acc_ci), (f1, f1_ci) = mean_ci(accs), mean_ci(f1s)
        out["shots"][k] = {"accuracy": acc, "accuracy_ci95": acc_ci, "macro_f1": f1, "macro_f1_ci95": f1_ci,
                           "accuracies": accs}
        print(f"  {'all' if k == 0 else k:>3}-shot: accuracy {acc:.2f} ± {acc_ci:.2f} %, macro F1 {f1:.2f} ± "
              f"{f1_ci:.2f} % ({len(accs)} draw(s))")
        if cfg.append:
            append_result(Path(cfg.results), {"encoder": label, "protocol": protocol, "dataset": cfg.data.dataset,
                                              "split": cfg.data.split, "shots": k or "all", "draws": len(accs),
                                              "accuracy": acc, "accuracy_ci95": acc_ci, "macro_f1": f1,
                                              "macro_f1_ci95": f1_ci, "data": cfg.data.root or "simulator"}, COLUMNS)
    return out
