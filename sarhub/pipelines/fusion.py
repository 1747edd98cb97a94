"""SAR–optical fusion: self-supervised pre-training with the hard-negative contrastive loss (HCL) at image and
super-pixel level, the linear evaluation of its frozen features, and unsupervised land-cover segmentation (a
Gumbel-softmax VQ on those features against k-means on raw pixels)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from sarhub.checkpoints import load_run
from sarhub.config import OptimOptions, RunOptions, TaskConfig, group, option
from sarhub.data.loader import seeded_train_loader
from sarhub.data.s1s2_pairs import is_pairs_root
from sarhub.data.sen12ms import CLASSES
from sarhub.distributed import barrier, pick_device, wrap_ddp
from sarhub.engine import FitConfig, fit, start_run
from sarhub.errors import ConfigError, DataError
from sarhub.fusion import augment, clustermaps
from sarhub.fusion.data import PatchesWithSuperpixels, pixel_features, pixel_rows, sample_pixels, splits
from sarhub.fusion.losses import fusion_objective
from sarhub.fusion.models import OPTICAL_CHANNELS, SAR_CHANNELS, STRATEGIES, FusionNet
from sarhub.fusion.retrieval import pair_embeddings, retrieval_rows, view_zoom
from sarhub.fusion.vq import kmeans, sample_rows, train_vq
from sarhub.metrics.segmentation import (
    IGNORE_INDEX,
    ConfusionMatrix,
    contingency,
    hungarian_mapping,
    land_cover_scores,
)
from sarhub.optim import param_groups
from sarhub.pipelines.common import save_confusion, save_image_grid
from sarhub.results import append_result
from sarhub.ssl.probe import fit_linear

LINEAR_COLUMNS = ("strategy", "checkpoint", "overall_accuracy", "average_accuracy", "miou", "data", "train_patches",
                  "test_patches")
UNSUPERVISED_COLUMNS = ("method", "features", "clusters", "miou", "overall_accuracy", "average_accuracy", "data",
                        "test_patches")
PAIR_UNSUPERVISED_COLUMNS = ("method", "features", "inputs", "clusters", "agreement", "chance", "seed", "data",
                             "test_fragments")
RETRIEVAL_COLUMNS = ("model", "weights", "embedding", "level", "candidates", "sar_to_optical_top1",
                     "sar_to_optical_top5", "optical_to_sar_top1", "optical_to_sar_top5", "data", "test_patches",
                     "test_fragments", "checkpoint")
PAIR_CLUSTERS = 6  # K for unlabelled pairs: fixed beforehand (the simulator's class count), never tuned on test data
VQ_ROWS_PER_FRAGMENT = 20000  # feature pixels of each training fragment that the quantiser is fitted on
# which embeddings a strategy's retrieval rows use (FusionNet.modal_embeddings)
EMBEDDINGS = {"late": "SAR net / optical net projections (image: pooled deepest map; super-pixel: mean pixel "
                      "projection)",
              "intermediate": "SAR encoder / optical encoder image projections (before fusion)"}
NO_CROSS_MODAL = "no SAR embedding and optical embedding in one space (one input stack or one sensor)"


@dataclass
class PatchData:
    """Which patches a fusion script reads and how they are held out. An evaluation takes what it leaves unset from
    the pre-training run (its data, its held-out patches or fragments), so it scores what pre-training never saw."""

    TEST_FRACTION: ClassVar[float] = 0.3

    data_root: str | None = option(None, "SEN12MS/DFC2020 patches, or real pairs (a folder with sar/ and opt/); none: "
                                         "the simulated pairs (an evaluation: the run's data)")
    test_root: str | None = option(None, "separate test folder (e.g. DFC2020 test, or other real pairs); default: a "
                                         "held-out share of data_root")
    test_fraction: float | None = option(None, "held-out share of data_root without a test root: of the patches, of "
                                               "whole fragments for real pairs (None: 0.3; an evaluation: the run's)",
                                         bounds=(1e-9, 1 - 1e-9))
    split_seed: int | None = option(None, "seeds that split (None: 0; an evaluation: the run's)",
                                    bounds=(0, 2**32 - 1))

    def over(self, run: PatchData | None = None) -> PatchData:
        """These settings, with the unset ones taken from `run` (a pre-training run's), else the defaults."""
        def pick(name: str, default: Any) -> Any:
            for source in (self, run):
                if source is not None and getattr(source, name) is not None:
                    return getattr(source, name)
            return default

        return PatchData(pick("data_root", None), self.test_root, pick("test_fraction", self.TEST_FRACTION),
                         pick("split_seed", 0))


@dataclass
class FusionOptim(OptimOptions):
    """AdamW with a per-step cosine schedule: 100 epochs of batch 32 at lr 1e-3, weight decay 1e-4."""

    DEFAULTS = {"epochs": 100, "batch_size": 32, "lr": 1e-3, "weight_decay": 1e-4}


@dataclass
class FusionConfig(TaskConfig, task="sar_optical", recipes="fusion", signature="strategy"):
    """Self-supervised SAR–optical fusion pre-training with the hard-negative contrastive loss (HCL)."""

    strategy: str | None = option(None, "early, intermediate or late fusion, or a one-sensor baseline (sar, optical)",
                                  choices=STRATEGIES, required=True)
    data: PatchData = group(PatchData)
    optim: FusionOptim = group(FusionOptim)
    run: RunOptions = group(RunOptions)
    widths: list[int] = option(factory=lambda: [32, 64, 128, 256], help="ResUNet channels of its 4 levels")
    dim: int = option(128, "projection dimension of the contrastive embeddings", bounds=(1, None))
    crop: int = option(128, "side of the augmented views (px)", bounds=(8, 4096))
    min_scale: float = option(0.6, "smallest crop side as a share of the patch side", bounds=(1e-3, 1.0))
    tau: float = option(0.5, "HCL temperature τ", positive=True)
    tau_plus: float = option(0.1, "HCL class prior τ⁺", bounds=(0.0, 1 - 1e-9))
    beta: float = option(1.0, "HCL hardness β", bounds=(0.0, None))
    max_superpixels: int = option(256, "super-pixel pairs per batch in the HCL term", bounds=(1, None))
    sp_scale: float = option(40.0, "Felzenszwalb scale", positive=True)
    sp_sigma: float = option(0.8, "Felzenszwalb smoothing σ", bounds=(0.0, None))
    sp_min_size: int = option(20, "Felzenszwalb smallest super-pixel (px)", bounds=(1, None))
    superpixel_contrast: bool = option(True, "super-pixel-level HCL terms besides the image-level ones "
                                             "(--no-superpixel-contrast: the image-level-only baseline)")
    patch: int = option(256, "real fragment pairs: side of the windows they are tiled into (px)", bounds=(8, 4096))
    stride: int | None = option(None, "real fragment pairs: window step (None: the patch side)", bounds=(1, None))

    def __post_init__(self) -> None:
        self.optim.resolve()
        self.data = self.data.over()
        if len(self.widths) != 4:
            raise ConfigError("widths", f"{self.widths}: give the channels of the 4 ResUNet levels")
        self.run.output = self.run.output or f"runs/{self.strategy}"


def data_splits(data: PatchData, run: FusionConfig, modalities: Sequence[str] = ("s1", "s2"),
                labels: str | None = None, stats: dict | None = None) -> tuple:
    """(train, test) patch sets of `data` (complete: see `PatchData.over`) cut into `run`'s windows."""
    return splits(data.data_root, data.test_root, data.test_fraction, data.split_seed, modalities, labels,
                  run.patch, run.stride, stats)


def input_channels(dataset) -> dict[str, int]:
    """SAR and optical band counts of a patch set (the real pairs say; SEN12MS patches keep 2 and 4)."""
    channels = getattr(dataset, "channels", {"s1": SAR_CHANNELS, "s2": OPTICAL_CHANNELS})
    return {"sar_channels": channels["s1"], "optical_channels": channels["s2"]}


def pretrain(cfg: FusionConfig) -> list[dict]:
    """Two views per patch (shared geometric augmentation of S1, S2 and the super-pixel map, per-sensor jitter);
    the strategy's HCL terms; AdamW + cosine per step. Labels are never read."""
    o = cfg.optim
    with start_run(cfg) as env:
        def open_train() -> PatchesWithSuperpixels:
            return PatchesWithSuperpixels(data_splits(cfg.data, cfg)[0], cfg.sp_scale, cfg.sp_sigma, cfg.sp_min_size)

        if env.is_main:  # the first process writes the simulator and the super-pixel cache, the others then read them
            train_set = open_train()
        barrier()
        if not env.is_main:
            train_set = open_train()
        if env.is_main:
            print(f"{len(train_set)} training patches, strategy {cfg.strategy}")
        channels = input_channels(train_set.patches)
        model = wrap_ddp(FusionNet(cfg.strategy, cfg.widths, cfg.dim, **channels).to(env.device), env)
        sampler = None
        if env.distributed:
            sampler = torch.utils.data.DistributedSampler(train_set, env.world_size, env.rank, shuffle=True,
                                                          seed=cfg.run.seed, drop_last=True)
        loader, sampler = seeded_train_loader(train_set, o.batch_size, cfg.run.workers, env, cfg.run.seed,
                                              sampler=sampler)
        optimizer = torch.optim.AdamW(param_groups(model, o.weight_decay), lr=o.lr)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, o.epochs * len(loader))
        hcl = {"tau": cfg.tau, "tau_plus": cfg.tau_plus, "beta": cfg.beta}
        size = (cfg.crop, cfg.crop)

        def step(model, batch):
            s1 = batch["s1"].to(env.device, non_blocking=True)
            s2 = batch["s2"].to(env.device, non_blocking=True)
            seg = batch["segments"].to(env.device, non_blocking=True)
            outs, segs = [], []
            for _ in range(2):  # two views; within a view every tensor shares one transform
                params = augment.sample_params(len(s1), size, cfg.min_scale, device=env.device)
                outs.append(model(augment.photometric(augment.apply(s1, params)),
                                  augment.photometric(augment.apply(s2, params))))
                segs.append(augment.apply(seg, params))
            return fusion_objective(outs[0], outs[1], segs[0], segs[1], cfg.max_superpixels,
                                    cfg.superpixel_contrast, **hcl)[0]

        fit_cfg = FitConfig.of(cfg, o.epochs, monitor="train_loss", monitor_mode="min")
        return fit(model, optimizer, scheduler, loader, step, None, env, fit_cfg,
                   cfg.saved(**channels, train_patches=len(train_set),
                             input_stats=getattr(train_set.patches, "stats", None)), sampler)


@dataclass
class PretrainedRun:
    """A pre-training run read back: its frozen network, its config and the facts it saved (band counts, input
    standardisation)."""

    model: FusionNet
    cfg: FusionConfig
    facts: dict
    checkpoint: str

    def fresh(self) -> FusionNet:
        """The same architecture with new random weights (the caller seeds them)."""
        return network(self.cfg, self.facts)

    @property
    def label(self) -> str:
        """How tables name the model: its strategy, and the image-level-only baseline as such."""
        return model_label(self.cfg.strategy, self.cfg.superpixel_contrast)


def network(cfg: FusionConfig, facts: Mapping[str, Any]) -> FusionNet:
    """A run's FusionNet (random weights), its band counts from the run's saved facts (SEN12MS's without them)."""
    return FusionNet(cfg.strategy, tuple(cfg.widths), cfg.dim, facts.get("sar_channels", SAR_CHANNELS),
                     facts.get("optical_channels", OPTICAL_CHANNELS))


def model_label(strategy: str, superpixel_contrast: bool = True) -> str:
    name = {"sar": "SAR only", "optical": "optical only"}.get(strategy, f"{strategy} fusion")
    return name if superpixel_contrast else f"{name}, image-level contrast only"


def load_fusion_model(checkpoint: str | Path, device: torch.device) -> PretrainedRun:
    """Rebuild the FusionNet of a pre-training checkpoint (weights only, never code) and freeze it."""
    cfg, state = load_run(checkpoint, FusionConfig)
    facts = state.get("args") or {}
    model = network(cfg, facts)
    model.load_state_dict(state["model"])
    model.to(device).eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return PretrainedRun(model, cfg, facts, str(checkpoint))


@dataclass
class EvalOptions:
    """What every evaluation of pre-trained fusion encoders shares; `TABLE` names its results table."""

    TABLE: ClassVar[str] = ""

    checkpoint: list[str] = option(factory=list, help="checkpoints written by pretrain.py", required=True)
    data: PatchData = group(PatchData)
    seed: int = option(0, "seeds the evaluation (pixel samples, heads, quantiser, random weights)",
                       bounds=(0, 2**32 - 1))
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    results: str | None = option(None, "results table path without extension (None: results/<the table's name>)")

    def __post_init__(self) -> None:
        self.results = self.results or f"results/{self.TABLE}"

    def splits(self, run: PretrainedRun, modalities: Sequence[str] = ("s1", "s2"), labels: str | None = None
               ) -> tuple:
        """(train, test) sets: data root, held-out share and split seed not set here are the run's (so real pairs
        are split into the same held-out fragments, which pre-training never saw); the windows and the input
        standardisation are always the run's."""
        return data_splits(self.data.over(run.cfg.data), run.cfg, modalities, labels, run.facts.get("input_stats"))

    def data_name(self, run: PretrainedRun) -> str:
        return str(self.data.data_root or run.cfg.data.data_root or "simulator")


@dataclass
class LinearEvalConfig(EvalOptions):
    """Linear evaluation of frozen fusion features on labelled patches."""

    TABLE = "linear_eval"

    labels: str = option("lc", "SEN12MS IGBP (lc) or DFC2020 (dfc) labels", choices=("lc", "dfc"))
    pixels_per_patch: int = option(1000, "labelled pixels of each training patch the classifier sees",
                                   bounds=(1, None))
    steps: int = option(500, "classifier steps (AdamW, full batch)", bounds=(1, None))
    lr: float = option(0.05, "classifier learning rate", positive=True)


def train_linear(x: torch.Tensor, y: torch.Tensor, num_classes: int, steps: int, lr: float, seed: int) -> nn.Module:
    """A 1×1-conv classifier on per-pixel features (AdamW, full batch), the standardisation folded into it."""
    torch.manual_seed(seed)
    mean, std = x.mean(dim=0), x.std(dim=0).clamp_min(1e-6)
    head = fit_linear(nn.Conv2d(x.shape[1], num_classes, 1), ((x - mean) / std)[:, :, None, None], y, steps, lr,
                      weight_decay=1e-4)
    with torch.no_grad():  # fold the standardisation into the 1×1 convolution
        head.weight /= std[None, :, None, None]
        head.bias -= (head.weight[:, :, 0, 0] * mean).sum(dim=1)
    return head


def linear_eval(cfg: LinearEvalConfig) -> None:
    """Per checkpoint: OA, AA, mIoU and per-class accuracy on the test patches, the confusion matrix (CSV + PNG)
    and a results row."""
    device = pick_device(cfg.device)
    for checkpoint in cfg.checkpoint:
        run = load_fusion_model(checkpoint, device)
        train, test = cfg.splits(run, run.model.modalities, cfg.labels)
        x, y = sample_pixels(run.model, train, device, cfg.pixels_per_patch, cfg.seed)
        head = train_linear(x, y, len(CLASSES), cfg.steps, cfg.lr, cfg.seed).to(device)
        cm = ConfusionMatrix(len(CLASSES), device=device)
        for feats, batch in pixel_features(run.model, test, device):
            cm.update(head(feats), batch["mask"].to(device))
        scores = land_cover_scores(cm.mat, CLASSES)
        per_class = ", ".join(f"{k[4:]} {v:.1f}" for k, v in scores.items() if k.startswith("acc_"))
        strategy = run.cfg.strategy
        print(f"{strategy}: OA {scores['overall_accuracy']:.2f} %, AA {scores['average_accuracy']:.2f} %, "
              f"mIoU {scores['miou']:.2f} % | per-class accuracy: {per_class}")
        present = torch.nonzero(cm.mat.sum(dim=1) + cm.mat.sum(dim=0) > 0).flatten()
        names = [CLASSES[i] for i in present.tolist()]
        save_confusion(cm.mat[present][:, present].cpu(), names,
                       Path(cfg.results).parent / f"confusion_{strategy}", f"{strategy}: linear evaluation")
        append_result(Path(cfg.results), {**scores, "strategy": strategy, "checkpoint": str(checkpoint),
                                          "data": cfg.data_name(run), "train_patches": len(train),
                                          "test_patches": len(test)},
                      LINEAR_COLUMNS + tuple(f"acc_{c}" for c in names))


@dataclass
class UnsupervisedConfig(EvalOptions):
    """Unsupervised land-cover segmentation: a Gumbel-softmax VQ on frozen fusion features against k-means."""

    TABLE = "unsupervised"

    labels: str = option("lc", "SEN12MS IGBP (lc) or DFC2020 (dfc) labels (labelled patches only)",
                         choices=("lc", "dfc"))
    clusters: int | None = option(None, f"K (None: the classes present in the training labels; {PAIR_CLUSTERS} for "
                                        "unlabelled pairs)", bounds=(2, None))
    steps: int = option(1000, "quantiser steps", bounds=(1, None))
    lr: float = option(1e-3, "quantiser learning rate", positive=True)
    pixels_per_step: int = option(512, "feature pixels per quantiser step", bounds=(1, None))
    diversity: float = option(1.0, "weight of the codeword-diversity term", bounds=(0.0, None))
    kmeans_pixels: int = option(50000, "training pixels sampled for the k-means baseline", bounds=(1, None))


def cluster_vs_class(clusters_of, dataset, k: int) -> torch.Tensor:
    """K×10 counts of (cluster, true class) over a dataset's labelled pixels."""
    counts = torch.zeros(k, len(CLASSES), dtype=torch.int64)
    for clusters, mask in clusters_of(dataset):
        keep = mask != IGNORE_INDEX
        counts += contingency(clusters[keep], mask[keep], k, len(CLASSES))
    return counts


def matched_scores(clusters_of, dataset, k: int) -> tuple[dict, torch.Tensor]:
    """Scores after the Hungarian matching, and the cluster → class lookup."""
    counts = cluster_vs_class(clusters_of, dataset, k)
    lookup = hungarian_mapping(counts)
    n = len(CLASSES)
    cm = torch.zeros(n, n, dtype=torch.int64)  # truth × matched prediction: cm[t, lookup[c]] += counts[c, t]
    truth = torch.arange(n)[None].expand(k, n)
    cm.index_put_((truth.flatten(), lookup[:, None].expand(k, n).flatten()), counts.flatten(), accumulate=True)
    return land_cover_scores(cm, CLASSES), lookup


def segment_unsupervised(cfg: UnsupervisedConfig) -> None:
    """Labelled patches: `segment_labelled` for each checkpoint. Unlabelled SAR/optical pairs: `segment_pairs`."""
    runs = [load_fusion_model(c, pick_device(cfg.device)) for c in cfg.checkpoint]
    if is_pairs_root(cfg.data.data_root or runs[0].cfg.data.data_root or "."):
        segment_pairs(cfg, runs)
        return
    for run in runs:
        segment_labelled(cfg, run)


def segment_labelled(cfg: UnsupervisedConfig, run: PretrainedRun) -> None:
    """K codewords (classes present in the training labels, or --clusters) trained on the training patches'
    frozen features without labels; the k-means baseline on standardised S1+S2 pixels; both scored after one
    Hungarian matching over the test set; rows and a figure of test patches."""
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model, strategy = run.model, run.cfg.strategy
    train, test = cfg.splits(run, ("s1", "s2"), cfg.labels)

    # one pass over the training patches: frozen features (VQ), raw S1+S2 values (k-means), classes present (K)
    feats, raw, present = [], [], set()
    for f, batch in pixel_features(model, train, device):
        feats.append(pixel_rows(f).cpu())
        raw.append(pixel_rows(torch.cat([batch["s1"], batch["s2"]], dim=1)))
        present |= set(batch["mask"].unique().tolist())
    feats, raw = torch.cat(feats), torch.cat(raw)
    k = cfg.clusters or len(present - {IGNORE_INDEX})
    print(f"{len(train)} training / {len(test)} test patches, K = {k} clusters, features of {strategy}")

    # Gumbel-softmax VQ on the frozen features: computed once, kept as pixel rows, sampled per step
    vq = train_vq(feats, k, cfg.steps, cfg.lr, cfg.pixels_per_step, cfg.diversity, cfg.seed, device)

    def vq_clusters(dataset):
        for f, batch in pixel_features(model, dataset, device):
            yield vq.assign(f), batch["mask"].to(device)

    # baseline: k-means on the standardised S1+S2 values of training pixels
    centres = kmeans(sample_rows(raw, cfg.kmeans_pixels, cfg.seed), k, seed=cfg.seed)

    def kmeans_clusters(dataset):
        for batch in DataLoader(dataset, batch_size=8):
            x = torch.cat([batch["s1"], batch["s2"]], dim=1)
            yield torch.cdist(pixel_rows(x), centres).argmin(dim=1).reshape(x.shape[0], *x.shape[2:]), batch["mask"]

    lookups = {}
    for method, fn, features in (("Gumbel-softmax VQ", vq_clusters, f"{strategy} fusion features"),
                                 ("k-means", kmeans_clusters, "raw S1+S2 pixels")):
        scores, lookups[method] = matched_scores(fn, test, k)
        print(f"{method} on {features}: mIoU {scores['miou']:.2f} %, OA {scores['overall_accuracy']:.2f} %, "
              f"AA {scores['average_accuracy']:.2f} %")
        append_result(Path(cfg.results), {**scores, "method": method, "features": features, "clusters": k,
                                           "data": cfg.data_name(run), "test_patches": len(test)},
                      UNSUPERVISED_COLUMNS)
    save_clusters_figure(test, vq_clusters, kmeans_clusters, lookups,
                         Path(cfg.results).parent / f"unsupervised_{strategy}.png")


def same_data(runs: Sequence[PretrainedRun]) -> PretrainedRun:
    """The first run, after checking that every run saw the same data, split, windows and view scale (one held-out
    set and one map scale serve them all)."""
    def setup(run: PretrainedRun) -> dict[str, Any]:
        c = run.cfg
        return {"data_root": c.data.data_root, "test_fraction": c.data.test_fraction,
                "split_seed": c.data.split_seed, "patch": c.patch, "crop": c.crop, "min_scale": c.min_scale}

    first = setup(runs[0])
    for run in runs[1:]:
        differ = [k for k, v in setup(run).items() if v != first[k]]
        if differ:
            raise DataError(run.checkpoint, f"was pre-trained with other {', '.join(differ)} than "
                                            f"{runs[0].checkpoint}; evaluate them separately")
    return runs[0]


def segment_pairs(cfg: UnsupervisedConfig, runs: Sequence[PretrainedRun]) -> None:
    """Unlabelled real pairs: cluster maps of the held-out fragments from each model's frozen features (a VQ per
    feature source, `clustermaps.feature_sources`) and from k-means on the raw SAR pixels, each scored by its
    Hungarian-matched agreement with a k-means map of the optical image (and that agreement's chance level);
    rows in `<results>_real`, a figure of held-out fragments."""
    device = pick_device(cfg.device)
    run = same_data(runs)
    train, test = cfg.splits(run)
    zoom = view_zoom(run.cfg.crop, run.cfg.patch, run.cfg.min_scale)
    k = cfg.clusters or PAIR_CLUSTERS
    train_frags, test_frags = clustermaps.fragments_at(train, zoom), clustermaps.fragments_at(test, zoom)
    print(f"{len(train.names)} training / {len(test.names)} held-out fragments at {zoom:.3f}× "
          f"({tuple(test_frags[0]['s1'].shape[-2:])} px), K = {k}")
    per_fragment = max(1, cfg.kmeans_pixels // len(train_frags))

    def kmeans_maps(modality: str) -> list[torch.Tensor]:
        def raw(s1, s2):
            return s1 if modality == "s1" else s2
        centres = kmeans(clustermaps.feature_rows(raw, train_frags, per_fragment, cfg.seed), k, seed=cfg.seed)
        return clustermaps.cluster_maps(clustermaps.nearest_centre(centres), raw, test_frags)

    reference = kmeans_maps("s2")
    table = Path(cfg.results).with_name(Path(cfg.results).name + "_real")
    panels = []

    def report(method: str, features: str, inputs: str, maps: list[torch.Tensor]) -> None:
        scores = clustermaps.agreement(maps, reference, k)
        print(f"{method} on {features} ({inputs} input): agreement with optical k-means {scores['agreement']:.2f} % "
              f"(chance {scores['chance']:.2f} %)")
        append_result(table, {"method": method, "features": features, "inputs": inputs, "clusters": k,
                              "agreement": scores["agreement"], "chance": scores["chance"], "seed": cfg.seed,
                              "data": cfg.data_name(run),
                              "test_fragments": len(test.names)}, PAIR_UNSUPERVISED_COLUMNS)
        panels.append((f"{features}" if method != "k-means" else f"k-means, raw {inputs}", maps, scores["lookup"]))

    report("k-means", "raw SAR pixels", "SAR", kmeans_maps("s1"))
    for model_run in runs:
        model = model_run.model
        for source in clustermaps.feature_sources(model, model_run.label):
            rows = clustermaps.feature_rows(source.features, train_frags, VQ_ROWS_PER_FRAGMENT, cfg.seed, device)
            torch.manual_seed(cfg.seed)
            vq = train_vq(rows, k, cfg.steps, cfg.lr, cfg.pixels_per_step, cfg.diversity, cfg.seed, device)
            maps = clustermaps.cluster_maps(vq.assign, source.features, test_frags, device)
            report("Gumbel-softmax VQ", source.name, source.inputs, maps)
    save_maps_figure(test, range(min(4, len(test.names))), reference, panels,
                     table.parent / f"unsupervised_real_seed{cfg.seed}.png", k)


@dataclass
class RetrievalConfig(EvalOptions):
    """Cross-modal retrieval on held-out SAR/optical pairs: a label-free test of the contrastive objective."""

    TABLE = "retrieval"

    random_init: bool = option(False, "also score each checkpoint's architecture with random weights (seeded by "
                                      "seed)")


def retrieval(cfg: RetrievalConfig) -> None:
    """Per checkpoint (and its random init with random_init): top-1/top-5 of SAR → optical and optical → SAR
    retrieval among all held-out patches, and among super-pixels where the model has pixel embeddings; strategies
    without a SAR and an optical embedding in one space get a row saying so."""
    device = pick_device(cfg.device)
    random_done = set()
    for checkpoint in cfg.checkpoint:
        run = load_fusion_model(checkpoint, device)
        c = run.cfg
        _, test = cfg.splits(run)
        zoom = view_zoom(c.crop, c.patch, c.min_scale)
        segments = torch.from_numpy(PatchesWithSuperpixels(test, c.sp_scale, c.sp_sigma, c.sp_min_size).maps)
        candidates = [(run.model, run.label, "pre-trained")]
        architecture = (c.strategy, tuple(c.widths), c.dim)
        if cfg.random_init and c.strategy in EMBEDDINGS and architecture not in random_done:
            random_done.add(architecture)
            torch.manual_seed(cfg.seed)
            candidates.append((run.fresh().to(device).eval(), model_label(c.strategy), "random init"))
        for net, label, weights in candidates:
            rows = retrieval_rows(pair_embeddings(net, test, device, zoom, segments)) or [
                {"level": f"n/a: {NO_CROSS_MODAL}"}]
            common = {"model": label, "weights": weights, "embedding": EMBEDDINGS.get(c.strategy, "none"),
                      "checkpoint": str(checkpoint), "data": cfg.data_name(run),
                      "test_patches": len(test), "test_fragments": len(getattr(test, "names", ()))}
            for row in rows:
                append_result(Path(cfg.results), {**common, **row}, RETRIEVAL_COLUMNS)
                scores = ", ".join(f"{k} {v:.1f}" for k, v in row.items() if k.endswith(("top1", "top5")))
                print(f"{label} ({weights}), {row['level']}: {scores or 'no cross-modal embeddings'}")


def save_clusters_figure(test, vq_clusters, kmeans_clusters, lookups: dict, path: Path, n: int = 4) -> None:
    subset = torch.utils.data.Subset(test, range(min(n, len(test))))
    vq = torch.cat([c.cpu() for c, _ in vq_clusters(subset)])
    km = torch.cat([c.cpu() for c, _ in kmeans_clusters(subset)])
    classes = {"cmap": "tab10", "vmin": 0, "vmax": 9, "interpolation": "nearest"}
    rows = []
    for row, i in enumerate(range(len(subset))):
        sample = test[i]
        rows.append([(test.optical_rgb(i), "optical (B4 B3 B2)", {}), (sample["s1"][0].numpy(), "S1 VV", {"cmap": "gray"}),
                     (np.ma.masked_equal(sample["mask"].numpy(), IGNORE_INDEX), "truth", classes),
                     (lookups["Gumbel-softmax VQ"][vq[row]].numpy(), "VQ (matched)", classes),
                     (lookups["k-means"][km[row]].numpy(), "k-means (matched)", classes)])
    save_image_grid(rows, path, panel=(2.4, 2.5))
    print(f"wrote {path}")


def save_maps_figure(dataset, fragments: Sequence[int], reference: Sequence[torch.Tensor],
                     panels: Sequence[tuple[str, Sequence[torch.Tensor], torch.Tensor]], path: Path, k: int) -> None:
    """One row per fragment: optical, SAR, the optical k-means map, then each (title, maps, lookup) panel coloured
    through its lookup so that matched clusters share the reference's colours."""
    clusters = {"cmap": "tab10", "vmin": -0.5, "vmax": 9.5, "interpolation": "nearest"}
    rows = []
    for f in fragments:
        rows.append([(dataset.opt[f][:3].transpose(1, 2, 0), f"{dataset.names[f]} optical", {}),
                     (dataset.sar[f][0], "SAR (VH)", {"cmap": "gray"}),
                     (reference[f].numpy(), f"optical k-means (K={k})", clusters)]
                    + [(lookup[maps[f]].numpy(), title, clusters) for title, maps, lookup in panels])
    save_image_grid(rows, path, panel=(2.1, 2.25), dpi=90, fontsize=7)
    print(f"wrote {path}")
