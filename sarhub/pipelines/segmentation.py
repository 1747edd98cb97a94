"""Semantic segmentation (SpaceNet6 buildings, paper Table 8; SSDD ship masks): DeepLabV3 fine-tuning with the
MMSegmentation recipe, and the test step (CPA/mIoU/P/R on the test split and its official subsets, a panel)."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from sarhub.checkpoints import load_run
from sarhub.config import OptimOptions, group, option
from sarhub.data.coco_masks import CocoMasks, Letterbox, validation_split
from sarhub.data.detection import subset_groups
from sarhub.data.loader import SeededDraws, seeded_train_loader, sharded_loader
from sarhub.data.segmentation import SegmentationFolder, SpaceNet6
from sarhub.data.segmentation_transforms import JointCompose, TrainAugment
from sarhub.data.synthetic.urban import simulated_spacenet6_root
from sarhub.distributed import (
    DistEnv,
    ShardSampler,
    all_gather_objects,
    barrier,
    channels_last_on,
    init_distributed,
    wrap_ddp,
)
from sarhub.engine import FitConfig, fit, start_run
from sarhub.errors import ConfigError, DataError
from sarhub.losses import DiceLoss
from sarhub.metrics.segmentation import IGNORE_INDEX, ConfusionMatrix, segmentation_scores
from sarhub.models.segmentation import AUX_WEIGHT, build_deeplabv3, predict_logits
from sarhub.paper import TABLE8, init_label
from sarhub.pipelines.common import CocoTestOptions, TrainConfig, subset_lists
from sarhub.results import report
from sarhub.schedules import poly

# COCO layouts (masks from instance annotations); "coco" takes every path from --train-ann/--test-ann/--image-dir.
# "subsets": official lists of test images that test.py scores apart (one file name per line).
COCO_LAYOUTS = {
    "ssdd": {"train": "annotations/train.json", "test": "annotations/test.json", "images": "JPEGImages",
             "subsets": {"inshore": "test_inshore.txt", "offshore": "test_offshore.txt"}},
    "coco": {"train": None, "test": None, "images": None},
}
COLUMNS = ("model", "init", "dataset", "target", "subset", "images", "data", "iterations", "cpa_target", "miou", "P",
           "R", "paper (CPA/mIoU/P/R)", "checkpoint")
VAL_SEED = 0  # the validation split of a COCO set is one fixed carve of its training images


@dataclass
class SegmentationData:
    """Which segmentation set, where its files are, and how its splits are made."""

    dataset: str = option("spacenet6", "spacenet6; folder (images/ + masks/, 0/1 PNG masks); ssdd, coco (COCO json "
                                       "with polygon/RLE masks)", choices=("spacenet6", "folder", *COCO_LAYOUTS))
    root: str | None = option(None, "dataset folder; None: the built-in simulator (SpaceNet6-format urban tiles)",
                              flag="data_root")
    train_ann: str | None = option(None, "COCO sets: training json (relative to the root)")
    test_ann: str | None = option(None, "COCO sets: test json (relative to the root)")
    image_dir: str | None = option(None, "COCO sets: image folder (relative to the root)")
    val_fraction: float = option(0.1, "COCO sets: seeded share of the training images held out as the validation "
                                      "split (model selection); 0: evaluate on the test split", bounds=(0.0, 0.9))
    polarisation: str = option("span", "SpaceNet6: span (mean of HH/HV/VH/VV) or bands, e.g. HH or HH,VV")
    mask_format: str = option("auto", "folder masks: auto (0/1, 255 ignored), 01, or 0255 (255 marks the target)",
                              choices=("auto", "01", "0255"))
    split_file: str | None = option(None, "SpaceNet6/folder: the 7:3 split file (None: split_seed<seed>.json in the "
                                          "run folder; never the data root)")
    sim_tiles: int = option(60, "simulated tiles", bounds=(2, None))


@dataclass
class SegmentationOptim(OptimOptions):
    """The MMSegmentation DeepLabV3 recipe: SGD lr 1e-3, weight decay 1e-4, batch 2, a poly schedule over
    `iterations` batches; the engine's epoch is one evaluation interval (`epochs` = iterations / eval_interval)."""

    DEFAULTS = {"batch_size": 2, "lr": 1e-3, "weight_decay": 1e-4}

    iterations: int = option(20000, "training iterations (batches)", bounds=(1, None), resumable=True)
    eval_interval: int = option(2000, "evaluate (and checkpoint) every this many iterations", bounds=(1, None))
    eval_batch_size: int = option(2, "evaluation batch size", bounds=(1, None), resumable=True)
    momentum: float = option(0.9, "SGD momentum", bounds=(0.0, 1.0))
    min_lr: float = option(1e-4, "poly schedule floor", bounds=(0.0, None))
    power: float = option(0.9, "poly schedule power", positive=True)


@dataclass
class SegmentationConfig(TrainConfig, task="semantic_segmentation", recipes="segmentation", signature="crop_size"):
    """Fine-tune DeepLabV3 on SAR segmentation (paper Table 8; SSDD ship masks)."""

    data: SegmentationData = group(SegmentationData)
    optim: SegmentationOptim = group(SegmentationOptim)
    input_size: int = option(0, "COCO sets: letterbox every image to this long side (0: images as they are)",
                             bounds=(0, 4096))
    crop_size: int = option(512, "training crop side", bounds=(16, 4096))
    cat_max_ratio: float = option(0.75, "re-draw a crop (up to 10 times) while one class covers more than this share "
                                        "of it", bounds=(0.0, 1.0))
    output_stride: int = option(8, "dilated ResNet output stride: 8 (the paper's, MMSeg) or 16 (about 2.5x cheaper "
                                   "on a CPU)", choices=(8, 16))
    img_size: int = option(512, "the input size Swin's attention tables are built for (any size runs)",
                           bounds=(16, 4096))
    loss: str = option("dice", "dice (the paper's), ce or dice+ce", choices=("dice", "ce", "dice+ce"))
    ce_weight: float = option(1.0, "weight of cross-entropy in dice+ce", bounds=(0.0, None))
    aux: bool = option(True, "auxiliary FCN head on stage 3 (--no-aux: none)")
    aux_weight: float = option(AUX_WEIGHT, "weight of the auxiliary head's loss", bounds=(0.0, None))
    per_image_norm: bool = option(False, "standardise every image (zero mean, unit variance) before the backbone, "
                                         "the SAR-HUB input contract (else the [0, 1] image as is)")

    def __post_init__(self) -> None:
        o = self.optim
        if o.epochs not in (None, o.iterations // o.eval_interval):
            raise ConfigError("epochs", f"{o.epochs}: segmentation counts iterations (one epoch is eval_interval "
                                        "iterations); set iterations instead")
        o.resolve(epochs=max(1, o.iterations // o.eval_interval))
        if o.iterations % o.eval_interval:
            raise ConfigError("iterations", f"{o.iterations} must be a multiple of eval_interval {o.eval_interval} "
                                            "(every interval ends in an evaluation and a checkpoint)")
        self.run.output = self.run.output or str(Path("runs") / f"seg_{self.model.name}")

    @property
    def coco(self) -> bool:
        return self.data.dataset in COCO_LAYOUTS and self.data.root is not None

    @property
    def eval_split(self) -> str:
        """COCO sets select on their validation split (when carved); the other layouts evaluate on test."""
        return "val" if self.coco and self.data.val_fraction else "test"

    def coco_paths(self, split: str) -> tuple[Path, Path]:
        """(annotation json, image folder) of a COCO set's split: the layout's defaults or the given paths."""
        d, layout = self.data, COCO_LAYOUTS[self.data.dataset]
        ann = (d.test_ann if split == "test" else d.train_ann) or layout["test" if split == "test" else "train"]
        images = d.image_dir or layout["images"]
        if ann is None or images is None:
            raise ConfigError("train_ann", f"dataset coco needs train_ann, test_ann and image_dir (for {split})")
        return Path(d.root) / ann, Path(d.root) / images

    def open_split(self, split: str, transform=None):
        """SpaceNet6 / image-mask folder split (seeded 7:3, written once into the run folder), a COCO set's split
        ("val": the seeded share of its training images), or the simulated SpaceNet6 stand-in."""
        d = self.data
        polarisation = d.polarisation if "," not in d.polarisation else tuple(d.polarisation.split(","))
        if self.coco:
            if split == "test":
                return CocoMasks(*self.coco_paths("test"), transform)
            dataset = CocoMasks(*self.coco_paths("train"))
            if not d.val_fraction:
                if split == "val":
                    raise ConfigError("val_fraction", "a validation split needs val_fraction > 0")
                return dataset.subset([r.image_id for r in dataset.records], transform)
            try:
                train_ids, val_ids = validation_split([rec.image_id for rec in dataset.records], d.val_fraction,
                                                      VAL_SEED)
            except ValueError as exc:
                raise DataError(dataset.ann_file, str(exc)) from None
            return dataset.subset(train_ids if split == "train" else val_ids, transform)
        if d.root is None:
            root = simulated_spacenet6_root(d.sim_tiles, seed=self.run.seed)
            return SpaceNet6(root, split, transform, self.run.seed, polarisation=polarisation, cache=True)
        split_file = d.split_file or Path(self.run.output) / f"split_seed{self.run.seed}.json"
        if d.dataset == "folder":
            return SegmentationFolder(d.root, split, transform, self.run.seed, split_file=split_file,
                                      mask_format=d.mask_format)
        return SpaceNet6(d.root, split, transform, self.run.seed, polarisation=polarisation, split_file=split_file)


@dataclass
class SegmentationTestConfig(CocoTestOptions):
    """Score a segmentation checkpoint: CPA/mIoU/P/R on its test split and the official subsets (Table 8 rows)."""

    panel: int = option(4, "images in the PNG panel (0: none)", bounds=(0, None))
    figures: str | None = option(None, "folder of the panel (default: figures/ for real data, the checkpoint's "
                                       "folder for the simulator)")


def segmentation_loss(name: str, ce_weight: float):
    dice = DiceLoss()

    def loss(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if name == "ce":
            return F.cross_entropy(logits, mask, ignore_index=IGNORE_INDEX)
        value = dice(logits, mask)
        return value + ce_weight * F.cross_entropy(logits, mask, ignore_index=IGNORE_INDEX) if name == "dice+ce" else value
    return loss


def collate(items):
    return {"image": torch.stack([i["image"] for i in items]), "mask": torch.stack([i["mask"] for i in items]),
            "path": [i["path"] for i in items]}


def collate_lists(items):
    """Evaluation batches keep each image at its own size (scores are taken at full resolution)."""
    return {key: [i[key] for i in items] for key in ("image", "mask", "path")}


@torch.no_grad()
def image_confusions(model: torch.nn.Module, loader: DataLoader, num_classes: int, input_size: int | None,
                     amp: bool = False) -> tuple[list[str], torch.Tensor]:
    """(file name of every image, N×K×K confusion counts per image) over the whole (sharded) split, in dataset
    order on every rank: groups and intervals over images are sums of these. `amp`: the network in bf16 (its
    logits come out in float32)."""
    names, mats = [], []
    device = next(model.parameters()).device
    for batch in loader:
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            logits = predict_logits(model, batch["image"], input_size)
        for logit, mask, path in zip(logits, batch["mask"], batch["path"]):
            cm = ConfusionMatrix(num_classes)
            cm.update(logit[None].cpu(), mask[None])
            names.append(Path(path).name)
            mats.append(cm.mat)
    sampler = loader.sampler
    order = list(sampler.indices) if isinstance(sampler, ShardSampler) else list(range(len(names)))
    parts = all_gather_objects((order, names, torch.stack(mats) if mats else torch.zeros(0, num_classes, num_classes,
                                                                                             dtype=torch.int64)))
    index = torch.tensor([i for part in parts for i in part[0]]).argsort()
    all_names = [n for part in parts for n in part[1]]
    return [all_names[i] for i in index.tolist()], torch.cat([part[2] for part in parts])[index]


def group_scores(names: list[str], mats: torch.Tensor, groups: dict[str, set[str] | None], target: str
                 ) -> dict[str, dict[str, float]]:
    """Table 8's scores of each group of image file names (None: every image), from one summed confusion each."""
    out = {}
    for name, members in groups.items():
        keep = [i for i, n in enumerate(names) if members is None or n in members]
        out[name] = segmentation_scores(mats[keep].sum(dim=0), target=target)
    return out


def evaluate_segmentation(model: torch.nn.Module, loader: DataLoader, num_classes: int = 2,
                          input_size: int | None = None, target: str = "building", amp: bool = False
                          ) -> dict[str, float]:
    """Table 8's scores from the confusion counts of the whole (sharded) evaluation split."""
    names, mats = image_confusions(model, loader, num_classes, input_size, amp)
    return group_scores(names, mats, {"all": None}, target)["all"]


def segmentation_step(loss_fn, aux_weight: float, env: DistEnv):
    """The engine's step_fn: the loss of the main head plus the weighted auxiliary head's."""
    def step(model, batch):
        out = model(batch["image"].to(env.device, non_blocking=True))
        mask = batch["mask"].to(env.device, non_blocking=True)
        loss = loss_fn(out["out"], mask)
        return loss + aux_weight * loss_fn(out["aux"], mask) if "aux" in out else loss
    return step


def build_model(cfg: SegmentationConfig, num_classes: int, in_chans: int, weights: bool = True):
    """The run's DeepLabV3 (`weights`: load the starting weights; False when a checkpoint's weights follow)."""
    m = cfg.model
    return build_deeplabv3(m.name, num_classes, weights=m.weights if weights else None, aux=cfg.aux,
                           in_chans=in_chans, img_size=cfg.img_size, weights_dir=m.weights_dir,
                           allow_partial=m.allow_partial, output_stride=cfg.output_stride,
                           per_image_norm=cfg.per_image_norm)


def train(cfg: SegmentationConfig) -> list[dict]:
    """SGD + poly over `iterations`; the engine's "epoch" is one evaluation interval; checkpoint_best on the
    evaluation split's mIoU (the validation split of a COCO set)."""
    o = cfg.optim
    with start_run(cfg) as env:
        if env.is_main:  # rank 0 writes the simulated set / split file first
            cfg.open_split("train")
        barrier()
        augment = TrainAugment(cfg.crop_size, cat_max_ratio=cfg.cat_max_ratio)
        train_set = cfg.open_split("train", JointCompose(Letterbox(cfg.input_size), augment)
                                   if cfg.coco and cfg.input_size else augment)
        eval_set = cfg.open_split(cfg.eval_split)
        if len(train_set) == 0 or len(eval_set) == 0:
            raise DataError(cfg.data.root, f"the split left an empty train or {cfg.eval_split} set")
        in_chans = train_set[0]["image"].shape[0]
        num_classes, target = (train_set.num_classes, train_set.classes[1]) if cfg.coco else (2, "building")
        if env.is_main:
            print(f"{len(train_set)} train / {len(eval_set)} {cfg.eval_split} images from "
                  f"{cfg.data.root or 'the simulator'}, {in_chans} channel(s), classes "
                  f"{train_set.classes if cfg.coco else ['background', 'building']}")
        model = build_model(cfg, num_classes, in_chans)
        if env.is_main:
            print(f"DeepLabV3-{cfg.model.name}: output stride {model.output_stride}")
        output_stride = model.output_stride
        model = wrap_ddp(model, env, channels_last=channels_last_on(cfg.run.channels_last, env))  # SyncBN: CUDA DDP

        draws = SeededDraws(len(train_set), o.eval_interval * o.batch_size, cfg.run.seed, env.rank)
        loader, sampler = seeded_train_loader(train_set, o.batch_size, cfg.run.workers, env, cfg.run.seed,
                                              sampler=draws, collate_fn=collate)
        evals = sharded_loader(eval_set, o.eval_batch_size, env, cfg.run.workers, collate_lists)
        optimizer = torch.optim.SGD(model.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, poly(o.iterations, o.power, min(o.min_lr / o.lr, 1.0)))
        step = segmentation_step(segmentation_loss(cfg.loss, cfg.ce_weight), cfg.aux_weight, env)
        fit_cfg = FitConfig.of(cfg, o.iterations // o.eval_interval, monitor="miou", eval_every=1)
        input_size = cfg.input_size if cfg.coco and cfg.input_size else None
        saved = cfg.saved(in_chans=in_chans, num_classes=num_classes, target=target, output_stride=output_stride)
        return fit(model, optimizer, scheduler, loader, step,
                   lambda m: evaluate_segmentation(m, evals, num_classes, input_size, target, cfg.run.amp), env,
                   fit_cfg, saved,
                   sampler)


def test(test_cfg: SegmentationTestConfig) -> dict:
    """Scores over each row's images from their summed confusion counts, at every image's full resolution; rows
    appended to the results table; a Figure-6 panel (in `figures`, else figures/ for real data, else beside the
    checkpoint). Returns {subset: scores}, and under "images"/"confusions" the per-image counts they come from."""
    env = init_distributed(test_cfg.device)
    run, state = load_run(test_cfg.checkpoint, SegmentationConfig)
    saved = state["args"]
    if test_cfg.data_root:
        run = replace(run, data=replace(run.data, root=test_cfg.data_root))
    num_classes, target = saved.get("num_classes", 2), saved.get("target", "building")
    official = {} if run.data.test_ann else COCO_LAYOUTS.get(run.data.dataset, {}).get("subsets", {})
    lists = subset_lists(test_cfg, official, run.data.root)
    if test_cfg.ann is not None:
        test_set = CocoMasks(test_cfg.ann, test_cfg.image_dir)
        if test_set.num_classes != num_classes:
            raise DataError(test_cfg.ann, f"has classes {test_set.classes}, the checkpoint was trained on "
                                          f"{num_classes} (background included)")
        dataset, data = Path(test_cfg.ann).name, str(test_cfg.ann)
    else:
        test_set = run.open_split(test_cfg.split)
        dataset, data = run.data.dataset, run.data.root or "simulator"
    if lists and not isinstance(test_set, CocoMasks):
        raise ConfigError("subset", "subset lists need a COCO test set (ann, or a COCO dataset)")
    groups: dict[str, set[str] | None] = {"all": None}
    if isinstance(test_set, CocoMasks):
        groups = {name: {rec.path.name for rec in records}
                  for name, records in subset_groups(test_set.records, lists).items()}
    model = build_model(run, num_classes, saved["in_chans"], weights=False)
    model.load_state_dict(state["model"])
    model.to(env.device)
    input_size = (run.input_size or None) if isinstance(test_set, CocoMasks) else None
    loader = sharded_loader(test_set, run.optim.eval_batch_size, env, collate_fn=collate_lists)
    names, mats = image_confusions(model, loader, num_classes, input_size)
    results: dict = {"images": names, "confusions": mats, "target": target}
    if env.is_main:
        ckpt = Path(test_cfg.checkpoint)
        init = test_cfg.init or init_label(run.model.weights)
        iterations = min(state["epoch"] * run.optim.eval_interval, run.optim.iterations)
        for subset, scores in group_scores(names, mats, groups, target).items():
            results[subset] = scores
            n_images = len(test_set) if groups[subset] is None else len(groups[subset])
            print(f"DeepLabV3-{run.model.name} on {dataset} {subset} ({n_images} images, {iterations} iterations): "
                  f"CPA-{target} {scores[f'cpa_{target}']:.2f}, mIoU {scores['miou']:.2f}, "
                  f"P {scores['mean_precision']:.2f}, R {scores['mean_recall']:.2f} "
                  f"({target} P {scores[f'precision_{target}']:.2f}, R {scores[f'recall_{target}']:.2f})")
            paper = TABLE8.get(run.model.name, {}).get(init) if subset == "all" else None
            row = {"model": run.model.name, "init": init, "dataset": dataset, "target": target, "subset": subset,
                   "images": n_images, "data": data, "iterations": iterations, "cpa_target": scores[f"cpa_{target}"],
                   "miou": scores["miou"], "P": scores["mean_precision"], "R": scores["mean_recall"],
                   "paper (CPA/mIoU/P/R)": "/".join(f"{v:.2f}" for v in paper) if paper else "",
                   "checkpoint": str(ckpt)}
            report(test_cfg, row, COLUMNS)
        if test_cfg.panel:
            if test_cfg.figures is not None or run.data.root is not None:
                path = Path(test_cfg.figures or "figures") / f"panel_{dataset}_{run.model.name}_{init}.png"
            else:
                path = ckpt.parent / "panel_test.png"
            save_panel(model, test_set, panel_indices(image_names(test_set), groups, test_cfg.panel), input_size,
                       path)
            print(f"saved {path}")
    return results


def image_names(dataset) -> list[str]:
    """File names of a test set's images, in item order."""
    if isinstance(dataset, CocoMasks):
        return [rec.path.name for rec in dataset.records]
    return [dataset.image_path(stem).name for stem in dataset.stems]


def panel_indices(names: list[str], groups: dict[str, set[str] | None], n: int) -> list[int]:
    """n image indices for the panel, shared out over the subsets (inshore and offshore both shown), file order."""
    subsets = [members for name, members in groups.items() if name != "all"] or [None]
    per = math.ceil(n / len(subsets))
    chosen: list[int] = []
    for members in subsets:
        chosen += [i for i, name in enumerate(names) if members is None or name in members][:per]
    return sorted(dict.fromkeys(chosen))[:n]


def save_panel(model, dataset, indices: list[int], input_size: int | None, path: Path) -> None:
    """Figure 6 layout: one row per image, columns image / ground truth / prediction."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(indices), 3, figsize=(9, 3 * len(indices)), squeeze=False)
    for row, index in enumerate(indices):
        item = dataset[index]
        pred = predict_logits(model, [item["image"]], input_size)[0].argmax(0).cpu()
        mask = item["mask"].clone().float()
        mask[item["mask"] == IGNORE_INDEX] = float("nan")
        vmax = max(dataset.num_classes - 1, 1) if isinstance(dataset, CocoMasks) else 1
        axes[row][0].imshow(item["image"][0], cmap="gray", vmin=0, vmax=1)
        axes[row][1].imshow(mask, cmap="viridis", vmin=0, vmax=vmax)
        axes[row][2].imshow(pred, cmap="viridis", vmin=0, vmax=vmax)
        titles = (f"SAR {Path(item['path']).name}", *(("ground truth", "prediction") if row == 0 else ("", "")))
        for ax, title in zip(axes[row], titles):
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
