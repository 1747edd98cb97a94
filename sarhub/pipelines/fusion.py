"""SAR–optical fusion: self-supervised pre-training with the hard-negative contrastive loss (HCL) at image and
super-pixel level, the linear evaluation of its frozen features, and unsupervised land-cover segmentation (a
Gumbel-softmax VQ on those features against k-means on raw pixels)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from sarhub.cli import (
    RunConfig,
    append_result,
    common_parser,
    fit_config,
    load_run,
    parse_args,
    to_config,
    use_defaults,
)
from sarhub.data.loader import seeded_train_loader
from sarhub.data.s1s2_pairs import is_pairs_root
from sarhub.data.sen12ms import CLASSES, IGNORE_INDEX
from sarhub.distributed import barrier, cleanup, init_distributed, wrap_ddp
from sarhub.engine import fit
from sarhub.errors import DataError
from sarhub.fusion import augment, clustermaps
from sarhub.fusion.data import PatchesWithSuperpixels, pixel_features, pixel_rows, sample_pixels, splits
from sarhub.fusion.losses import fusion_objective
from sarhub.fusion.models import OPTICAL_CHANNELS, SAR_CHANNELS, STRATEGIES, FusionNet
from sarhub.fusion.retrieval import pair_embeddings, retrieval_rows, view_zoom
from sarhub.fusion.vq import kmeans, sample_rows, train_vq
from sarhub.metrics.segmentation import ConfusionMatrix, contingency, hungarian_mapping, land_cover_scores
from sarhub.optim import param_groups
from sarhub.pipelines.common import save_confusion, save_image_grid
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


def add_data_args(p: argparse.ArgumentParser) -> None:
    """The patch-set options every fusion script shares."""
    p.add_argument("--labels", default="lc", choices=("lc", "dfc"), help="SEN12MS IGBP (lc) or DFC2020 (dfc) labels")
    p.add_argument("--test-root", default=None, help="separate test folder (e.g. DFC2020 test, or other real "
                                                     "SAR/optical pairs); default: a split of --data-root")
    p.add_argument("--test-fraction", type=float, help="held-out share of --data-root when no test root (patches; "
                                                       "whole fragments for real pairs)")
    p.add_argument("--split-seed", type=int)


def data_splits(args, modalities=("s1", "s2"), labels: str | None = None, stats: dict | None = None):
    return splits(args.data_root, args.test_root, args.test_fraction, args.split_seed, modalities, labels,
                  getattr(args, "patch", 256), getattr(args, "stride", None), stats)


def eval_splits(args: argparse.Namespace, run: argparse.Namespace, modalities=("s1", "s2"),
                labels: str | None = None):
    """(train, test) sets of an evaluation script. Data root, held-out share and split seed not given on its command
    line are the pre-training run's (so real pairs are split into the same held-out fragments, which pre-training
    never saw); the windows and the input standardisation are always the run's."""
    def pick(name: str, default):
        value = getattr(args, name)
        return value if value is not None else getattr(run, name, default)

    data = argparse.Namespace(data_root=pick("data_root", None), test_root=args.test_root,
                              test_fraction=pick("test_fraction", 0.3), split_seed=pick("split_seed", 0),
                              patch=getattr(run, "patch", 256), stride=getattr(run, "stride", None))
    return data_splits(data, modalities, labels, getattr(run, "input_stats", None))


def input_channels(dataset) -> dict[str, int]:
    """SAR and optical band counts of a patch set (the real pairs say; SEN12MS patches keep 2 and 4)."""
    channels = getattr(dataset, "channels", {"s1": SAR_CHANNELS, "s2": OPTICAL_CHANNELS})
    return {"sar_channels": channels["s1"], "optical_channels": channels["s2"]}


@dataclass
class FusionConfig(RunConfig):
    epochs: int | None = 100
    batch_size: int | None = 32
    lr: float | None = 1e-3
    weight_decay: float | None = 1e-4
    labels: str = "lc"
    test_root: str | None = None
    test_fraction: float = 0.3
    split_seed: int = 0
    strategy: str | None = None  # required: early, intermediate, late, sar, optical
    widths: list[int] = field(default_factory=lambda: [32, 64, 128, 256])  # ResUNet channels per level
    dim: int = 128
    crop: int = 128
    min_scale: float = 0.6
    tau: float = 0.5
    tau_plus: float = 0.1
    beta: float = 1.0
    max_superpixels: int = 256
    sp_scale: float = 40.0
    sp_sigma: float = 0.8
    sp_min_size: int = 20
    superpixel_contrast: bool = True  # False: image-level HCL terms only (the image-level contrastive baseline)
    patch: int = 256  # real fragment pairs: side of the windows they are tiled into
    stride: int | None = None  # real fragment pairs: window step (None: the patch side)


def get_parser(description: str = "Self-supervised SAR–optical fusion pre-training") -> argparse.ArgumentParser:
    p = common_parser(description)
    add_data_args(p)
    p.add_argument("--strategy", required=True, choices=STRATEGIES)
    p.add_argument("--widths", type=int, nargs=4, help="ResUNet channels per level")
    p.add_argument("--dim", type=int, help="projection dimension of the contrastive embeddings")
    p.add_argument("--crop", type=int, help="side of the augmented views (px)")
    p.add_argument("--min-scale", type=float, help="smallest crop side as a share of the patch side")
    p.add_argument("--tau", type=float)
    p.add_argument("--tau-plus", type=float)
    p.add_argument("--beta", type=float)
    p.add_argument("--max-superpixels", type=int, help="super-pixel pairs per batch in the HCL term")
    p.add_argument("--sp-scale", type=float, help="Felzenszwalb scale")
    p.add_argument("--sp-sigma", type=float)
    p.add_argument("--sp-min-size", type=int)
    p.add_argument("--superpixel-contrast", action=argparse.BooleanOptionalAction,
                   help="super-pixel-level HCL terms besides the image-level ones (--no-superpixel-contrast: the "
                        "image-level-only baseline)")
    p.add_argument("--patch", type=int, help="real SAR/optical fragment pairs: patch side they are tiled into (px)")
    p.add_argument("--stride", type=int, help="real SAR/optical fragment pairs: window step (default: --patch)")
    return use_defaults(p, FusionConfig)


def parse(argv: Sequence[str] | None = None, config_dir: Path | None = None,
          description: str | None = None) -> FusionConfig:
    return to_config(FusionConfig, parse_args(get_parser(*([description] if description else [])), argv, config_dir))


def pretrain(cfg: FusionConfig) -> list[dict]:
    """Two views per patch (shared geometric augmentation of S1, S2 and the super-pixel map, per-sensor jitter);
    the strategy's HCL terms; AdamW + cosine per step. Labels are never read."""
    env = init_distributed(cfg.device)
    out = Path(cfg.output or f"runs/{cfg.strategy}")
    if env.is_main:  # the first process writes the simulator and the super-pixel cache, the others then read them
        train_set = PatchesWithSuperpixels(data_splits(cfg)[0], cfg.sp_scale, cfg.sp_sigma, cfg.sp_min_size)
    barrier()
    if not env.is_main:
        train_set = PatchesWithSuperpixels(data_splits(cfg)[0], cfg.sp_scale, cfg.sp_sigma, cfg.sp_min_size)
    if env.is_main:
        print(f"{len(train_set)} training patches, strategy {cfg.strategy}")
    channels = input_channels(train_set.patches)
    model = wrap_ddp(FusionNet(cfg.strategy, cfg.widths, cfg.dim, **channels).to(env.device), env)
    sampler = None
    if env.distributed:
        sampler = torch.utils.data.DistributedSampler(train_set, env.world_size, env.rank, shuffle=True,
                                                      seed=cfg.seed, drop_last=True)
    loader, sampler = seeded_train_loader(train_set, cfg.batch_size, cfg.workers, env, cfg.seed, sampler=sampler)
    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, cfg.epochs * len(loader))
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
        return fusion_objective(outs[0], outs[1], segs[0], segs[1], cfg.max_superpixels, cfg.superpixel_contrast,
                                **hcl)[0]

    fit_cfg = fit_config(cfg, output_dir=out, monitor="train_loss", monitor_mode="min")
    history = fit(model, optimizer, scheduler, loader, step, None, env, fit_cfg,
                  {**vars(cfg), **channels, "train_patches": len(train_set),
                   "input_stats": getattr(train_set.patches, "stats", None)}, sampler)
    cleanup()
    return history


def load_fusion_model(checkpoint: str | Path, device: torch.device) -> tuple[FusionNet, argparse.Namespace]:
    """Rebuild the FusionNet of a pre-training checkpoint (weights only, never code) and freeze it."""
    state, run = load_run(checkpoint, "strategy", "sar_optical pretrain")
    model = FusionNet(run.strategy, tuple(run.widths), run.dim, getattr(run, "sar_channels", SAR_CHANNELS),
                      getattr(run, "optical_channels", OPTICAL_CHANNELS))
    model.load_state_dict(state["model"])
    model.to(device).eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model, run


def eval_parser(description: str, results: Path) -> argparse.ArgumentParser:
    """Options of the evaluation scripts (linear_eval, segment_unsupervised, retrieval); each adds its own."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-root", default=None,
                   help="patches to evaluate on (default: the pre-training run's data, the simulator for its runs)")
    add_data_args(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--results", default=str(results))
    return p


def parse_linear_eval(argv, results: Path, description: str = "Linear evaluation of frozen fusion features"):
    p = eval_parser(description, results)
    p.add_argument("--checkpoint", nargs="+", required=True, help="checkpoints written by pretrain.py")
    p.add_argument("--pixels-per-patch", type=int, default=1000)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--lr", type=float, default=0.05)
    return p.parse_args(argv)


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


def linear_eval(args: argparse.Namespace) -> None:
    """Per checkpoint: OA, AA, mIoU and per-class accuracy on the test patches, the confusion matrix (CSV + PNG)
    and a results row."""
    device = torch.device(args.device)
    for checkpoint in args.checkpoint:
        model, run = load_fusion_model(checkpoint, device)
        train, test = eval_splits(args, run, model.modalities, args.labels)
        x, y = sample_pixels(model, train, device, args.pixels_per_patch, args.seed)
        head = train_linear(x, y, len(CLASSES), args.steps, args.lr, args.seed).to(device)
        cm = ConfusionMatrix(len(CLASSES), device=device)
        for feats, batch in pixel_features(model, test, device):
            cm.update(head(feats), batch["mask"].to(device))
        scores = land_cover_scores(cm.mat, CLASSES)
        per_class = ", ".join(f"{k[4:]} {v:.1f}" for k, v in scores.items() if k.startswith("acc_"))
        print(f"{run.strategy}: OA {scores['overall_accuracy']:.2f} %, AA {scores['average_accuracy']:.2f} %, "
              f"mIoU {scores['miou']:.2f} % | per-class accuracy: {per_class}")
        present = torch.nonzero(cm.mat.sum(dim=1) + cm.mat.sum(dim=0) > 0).flatten()
        names = [CLASSES[i] for i in present.tolist()]
        save_confusion(cm.mat[present][:, present].cpu(), names,
                       Path(args.results).parent / f"confusion_{run.strategy}", f"{run.strategy}: linear evaluation")
        append_result(Path(args.results), {**scores, "strategy": run.strategy, "checkpoint": str(checkpoint),
                                           "data": args.data_root or "simulator", "train_patches": len(train),
                                           "test_patches": len(test)},
                      LINEAR_COLUMNS + tuple(f"acc_{c}" for c in names))


def parse_unsupervised(argv, results: Path, description: str = "Unsupervised land-cover segmentation"):
    p = eval_parser(description, results)
    p.add_argument("--checkpoint", nargs="+", required=True,
                   help="checkpoints written by pretrain.py (frozen features); each gets its rows")
    p.add_argument("--clusters", type=int, default=None,
                   help=f"K (default: classes present in the training labels; {PAIR_CLUSTERS} for unlabelled pairs)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--pixels-per-step", type=int, default=512)
    p.add_argument("--diversity", type=float, default=1.0)
    p.add_argument("--kmeans-pixels", type=int, default=50000, help="training pixels sampled for the k-means baseline")
    return p.parse_args(argv)


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


def segment_unsupervised(args: argparse.Namespace) -> None:
    """Labelled patches: `segment_labelled` for each checkpoint. Unlabelled SAR/optical pairs: `segment_pairs`."""
    runs = [load_fusion_model(c, torch.device(args.device)) for c in args.checkpoint]
    if is_pairs_root(args.data_root or runs[0][1].data_root or "."):
        segment_pairs(args, runs)
        return
    for checkpoint in args.checkpoint:
        segment_labelled(args, checkpoint)


def segment_labelled(args: argparse.Namespace, checkpoint: str) -> None:
    """K codewords (classes present in the training labels, or --clusters) trained on the training patches'
    frozen features without labels; the k-means baseline on standardised S1+S2 pixels; both scored after one
    Hungarian matching over the test set; rows and a figure of test patches."""
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    model, run = load_fusion_model(checkpoint, device)
    train, test = eval_splits(args, run, ("s1", "s2"), args.labels)

    # one pass over the training patches: frozen features (VQ), raw S1+S2 values (k-means), classes present (K)
    feats, raw, present = [], [], set()
    for f, batch in pixel_features(model, train, device):
        feats.append(pixel_rows(f).cpu())
        raw.append(pixel_rows(torch.cat([batch["s1"], batch["s2"]], dim=1)))
        present |= set(batch["mask"].unique().tolist())
    feats, raw = torch.cat(feats), torch.cat(raw)
    k = args.clusters or len(present - {IGNORE_INDEX})
    print(f"{len(train)} training / {len(test)} test patches, K = {k} clusters, features of {run.strategy}")

    # Gumbel-softmax VQ on the frozen features: computed once, kept as pixel rows, sampled per step
    vq = train_vq(feats, k, args.steps, args.lr, args.pixels_per_step, args.diversity, args.seed, device)

    def vq_clusters(dataset):
        for f, batch in pixel_features(model, dataset, device):
            yield vq.assign(f), batch["mask"].to(device)

    # baseline: k-means on the standardised S1+S2 values of training pixels
    centres = kmeans(sample_rows(raw, args.kmeans_pixels, args.seed), k, seed=args.seed)

    def kmeans_clusters(dataset):
        for batch in DataLoader(dataset, batch_size=8):
            x = torch.cat([batch["s1"], batch["s2"]], dim=1)
            yield torch.cdist(pixel_rows(x), centres).argmin(dim=1).reshape(x.shape[0], *x.shape[2:]), batch["mask"]

    lookups = {}
    for method, fn, features in (("Gumbel-softmax VQ", vq_clusters, f"{run.strategy} fusion features"),
                                 ("k-means", kmeans_clusters, "raw S1+S2 pixels")):
        scores, lookups[method] = matched_scores(fn, test, k)
        print(f"{method} on {features}: mIoU {scores['miou']:.2f} %, OA {scores['overall_accuracy']:.2f} %, "
              f"AA {scores['average_accuracy']:.2f} %")
        append_result(Path(args.results), {**scores, "method": method, "features": features, "clusters": k,
                                           "data": args.data_root or "simulator", "test_patches": len(test)},
                      UNSUPERVISED_COLUMNS)
    save_clusters_figure(test, vq_clusters, kmeans_clusters, lookups,
                         Path(args.results).parent / f"unsupervised_{run.strategy}.png")


def model_label(run: argparse.Namespace, contrast: bool = True) -> str:
    """How tables name a model: its strategy, and (with `contrast`) the image-level-only baseline as such."""
    name = {"sar": "SAR only", "optical": "optical only"}.get(run.strategy, f"{run.strategy} fusion")
    only_image = contrast and not getattr(run, "superpixel_contrast", True)
    return f"{name}, image-level contrast only" if only_image else name


def same_data(runs: Sequence[tuple[FusionNet, argparse.Namespace]]) -> argparse.Namespace:
    """The first run's settings, after checking that every run saw the same data, split, windows and view scale
    (one held-out set and one map scale serve them all)."""
    keys = ("data_root", "test_fraction", "split_seed", "patch", "crop", "min_scale")
    first = runs[0][1]
    for _, run in runs[1:]:
        differ = [k for k in keys if getattr(run, k, None) != getattr(first, k, None)]
        if differ:
            raise DataError(run.output, f"was pre-trained with other {', '.join(differ)} than {first.output}; "
                                        "evaluate them separately")
    return first


def segment_pairs(args: argparse.Namespace, runs: Sequence[tuple[FusionNet, argparse.Namespace]]) -> None:
    """Unlabelled real pairs: cluster maps of the held-out fragments from each model's frozen features (a VQ per
    feature source, `clustermaps.feature_sources`) and from k-means on the raw SAR pixels, each scored by its
    Hungarian-matched agreement with a k-means map of the optical image (and that agreement's chance level);
    rows in `<results>_real`, a figure of held-out fragments."""
    device = torch.device(args.device)
    run = same_data(runs)
    train, test = eval_splits(args, run)
    zoom = view_zoom(run.crop, run.patch, run.min_scale)
    k = args.clusters or PAIR_CLUSTERS
    train_frags, test_frags = clustermaps.fragments_at(train, zoom), clustermaps.fragments_at(test, zoom)
    print(f"{len(train.names)} training / {len(test.names)} held-out fragments at {zoom:.3f}× "
          f"({tuple(test_frags[0]['s1'].shape[-2:])} px), K = {k}")
    per_fragment = max(1, args.kmeans_pixels // len(train_frags))

    def kmeans_maps(modality: str) -> list[torch.Tensor]:
        def raw(s1, s2):
            return s1 if modality == "s1" else s2
        centres = kmeans(clustermaps.feature_rows(raw, train_frags, per_fragment, args.seed), k, seed=args.seed)
        return clustermaps.cluster_maps(clustermaps.nearest_centre(centres), raw, test_frags)

    reference = kmeans_maps("s2")
    table = Path(args.results).with_name(Path(args.results).name + "_real")
    panels = []

    def report(method: str, features: str, inputs: str, maps: list[torch.Tensor]) -> None:
        scores = clustermaps.agreement(maps, reference, k)
        print(f"{method} on {features} ({inputs} input): agreement with optical k-means {scores['agreement']:.2f} % "
              f"(chance {scores['chance']:.2f} %)")
        append_result(table, {"method": method, "features": features, "inputs": inputs, "clusters": k,
                              "agreement": scores["agreement"], "chance": scores["chance"], "seed": args.seed,
                              "data": str(run.data_root if args.data_root is None else args.data_root),
                              "test_fragments": len(test.names)}, PAIR_UNSUPERVISED_COLUMNS)
        panels.append((f"{features}" if method != "k-means" else f"k-means, raw {inputs}", maps, scores["lookup"]))

    report("k-means", "raw SAR pixels", "SAR", kmeans_maps("s1"))
    for model, model_run in runs:
        for source in clustermaps.feature_sources(model, model_label(model_run)):
            rows = clustermaps.feature_rows(source.features, train_frags, VQ_ROWS_PER_FRAGMENT, args.seed, device)
            torch.manual_seed(args.seed)
            vq = train_vq(rows, k, args.steps, args.lr, args.pixels_per_step, args.diversity, args.seed, device)
            maps = clustermaps.cluster_maps(vq.assign, source.features, test_frags, device)
            report("Gumbel-softmax VQ", source.name, source.inputs, maps)
    save_maps_figure(test, range(min(4, len(test.names))), reference, panels,
                     table.parent / f"unsupervised_real_seed{args.seed}.png", k)


def parse_retrieval(argv, results: Path, description: str = "Cross-modal retrieval on held-out pairs"):
    p = eval_parser(description, results)
    p.add_argument("--checkpoint", nargs="+", required=True, help="checkpoints written by pretrain.py")
    p.add_argument("--random-init", action="store_true",
                   help="also score each checkpoint's architecture with random weights (seeded by --seed)")
    return p.parse_args(argv)


def retrieval(args: argparse.Namespace) -> None:
    """Per checkpoint (and its random init with --random-init): top-1/top-5 of SAR → optical and optical → SAR
    retrieval among all held-out patches, and among super-pixels where the model has pixel embeddings; strategies
    without a SAR and an optical embedding in one space get a row saying so."""
    device = torch.device(args.device)
    random_done = set()
    for checkpoint in args.checkpoint:
        model, run = load_fusion_model(checkpoint, device)
        _, test = eval_splits(args, run)
        zoom = view_zoom(run.crop, getattr(run, "patch", 256), run.min_scale)
        segments = torch.from_numpy(PatchesWithSuperpixels(test, run.sp_scale, run.sp_sigma, run.sp_min_size).maps)
        candidates = [(model, model_label(run), "pre-trained")]
        architecture = (run.strategy, tuple(run.widths), run.dim)
        if args.random_init and run.strategy in EMBEDDINGS and architecture not in random_done:
            random_done.add(architecture)
            torch.manual_seed(args.seed)
            random = FusionNet(run.strategy, tuple(run.widths), run.dim, getattr(run, "sar_channels", SAR_CHANNELS),
                               getattr(run, "optical_channels", OPTICAL_CHANNELS)).to(device).eval()
            candidates.append((random, model_label(run, contrast=False), "random init"))
        for net, label, weights in candidates:
            rows = retrieval_rows(pair_embeddings(net, test, device, zoom, segments)) or [
                {"level": f"n/a: {NO_CROSS_MODAL}"}]
            common = {"model": label, "weights": weights, "embedding": EMBEDDINGS.get(run.strategy, "none"),
                      "checkpoint": str(checkpoint), "data": str(args.data_root or run.data_root),
                      "test_patches": len(test), "test_fragments": len(getattr(test, "names", ()))}
            for row in rows:
                append_result(Path(args.results), {**common, **row}, RETRIEVAL_COLUMNS)
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
