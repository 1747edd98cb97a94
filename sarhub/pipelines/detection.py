"""Ship detection (SSDD, HRSID, LS-SSDD, SAR-Ship; paper Table 7): FCOS + FPN fine-tuning on any SAR-HUB backbone
with the authors' MMDetection recipe, and the test step (COCO AP on the test split and its official subsets)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch.utils.data import DataLoader, DistributedSampler

from sarhub.checkpoints import load_run
from sarhub.config import OptimOptions, group, option
from sarhub.data.coco_masks import validation_split
from sarhub.data.detection import CocoDetection, RandomHorizontalFlip, VOCDetection, collate, subset_groups, to_coco_gt
from sarhub.data.loader import seeded_train_loader, sharded_loader
from sarhub.data.synthetic.ships import simulated_ship_root
from sarhub.distributed import (
    DistEnv,
    all_gather_objects,
    barrier,
    channels_last_on,
    init_distributed,
    wrap_ddp,
)
from sarhub.engine import FitConfig, fit, start_run
from sarhub.errors import ConfigError, DataError
from sarhub.metrics.detection import coco_evaluate, detections_to_coco, select_images
from sarhub.models.detection import build_fcos, frozen_bn_by_default, param_groups
from sarhub.paper import TABLE7, init_label
from sarhub.pipelines.common import CocoTestOptions, TrainConfig, subset_lists
from sarhub.results import report
from sarhub.schedules import warmup_step_decay

# Where each dataset's official release keeps its files (all overridable with --train-ann/--test-ann/--image-dir);
# "subsets": official lists of test images scored separately by test.py (one file name per line).
LAYOUTS = {
    "hrsid": {"format": "coco", "train": "annotations/train2017.json", "test": "annotations/test2017.json",
              "images": "JPEGImages"},
    "ls-ssdd": {"format": "coco", "train": "annotations/train.json", "test": "annotations/test.json",
                "images": "JPEGImages"},
    "ssdd": {"format": "coco", "train": "annotations/train.json", "test": "annotations/test.json",
             "images": "JPEGImages", "subsets": {"inshore": "test_inshore.txt", "offshore": "test_offshore.txt"}},
    "ssdd-voc": {"format": "voc", "train": "ImageSets/Main/train.txt", "test": "ImageSets/Main/test.txt",
                 "images": "JPEGImages", "annotations": "Annotations"},
    "sar-ship": {"format": "voc", "train": None, "test": None, "images": "images", "annotations": "annotations_voc"},
    "simulated": {"format": "coco", "train": "annotations/train.json", "test": "annotations/test.json",
                  "images": "images"},
}
COLUMNS = ("model", "init", "dataset", "subset", "images", "data", "epoch", "AP", "AP50", "AP75", "AP_S", "paper_AP",
           "paper_AP50", "checkpoint")


VAL_SEED = 0  # the validation split (val_fraction) is one fixed carve of the training images


@dataclass
class DetectionData:
    """Which detection set, where its files are, and how its splits are made."""

    dataset: str = option("hrsid", "a key of LAYOUTS (simulated without a data root)", choices=tuple(sorted(LAYOUTS)))
    root: str | None = option(None, "dataset folder; None: the built-in simulator (HRSID's COCO layout)",
                              flag="data_root")
    train_ann: str | None = option(None, "COCO json or VOC id list of the training split (relative to the root)")
    test_ann: str | None = option(None, "COCO json or VOC id list of the test split (relative to the root)")
    image_dir: str | None = option(None, "image folder (relative to the root)")
    drop_bad_boxes: bool = option(False, "drop degenerate/out-of-image boxes with a warning (else an error)")
    split_fraction: float = option(0.8, "sar-ship (no official split): train share", bounds=(0.01, 0.99))
    val_fraction: float = option(0.0, "hold out this seeded share of the training images as the validation split, "
                                      "scored each epoch instead of the test split (0: none; the test split is then "
                                      "never read)", bounds=(0.0, 0.9))
    sim_train: int = option(160, "simulated training images", bounds=(1, None))
    sim_test: int = option(40, "simulated test images", bounds=(1, None))


@dataclass
class DetectionOptim(OptimOptions):
    """The authors' MMDetection FCOS recipe (Table 4): SGD lr 0.005 (biases 2× lr, no decay), weight decay 0.001,
    batch 4, 36 epochs; linear warm-up, step decay, gradient clipping."""

    DEFAULTS = {"epochs": 36, "batch_size": 4, "lr": 0.005, "weight_decay": 0.001}

    momentum: float = option(0.9, "SGD momentum", bounds=(0.0, 1.0))
    warmup_iters: int = option(500, "linear warm-up iterations", bounds=(0, None))
    warmup_ratio: float = option(1 / 3, "warm-up start lr / lr", bounds=(0.0, 1.0))
    lr_steps: list[int] = option(factory=lambda: [24, 33], help="epochs at which lr ×0.1")
    clip_grad: float = option(35.0, "gradient-norm clip", positive=True)


@dataclass
class DetectionConfig(TrainConfig, task="object_detection", recipes="detection", signature="lr_steps"):
    """Fine-tune FCOS + FPN for SAR ship detection (paper Table 7)."""

    data: DetectionData = group(DetectionData)
    optim: DetectionOptim = group(DetectionOptim)
    min_size: int = option(800, "images are resized so their short side is this…", bounds=(16, 4096))
    max_size: int = option(800, "…and their long side at most this", bounds=(16, 4096))
    freeze_bn: str = option("auto", "auto: frozen BatchNorm when starting from weights (MMDetection's norm_eval); "
                                    "yes; no", choices=("auto", "yes", "no"))
    per_image_norm: bool = option(False, "standardise every image (zero mean, unit variance) before the backbone, "
                                         "the SAR-HUB input contract (else the [0, 1] image as is)")

    def __post_init__(self) -> None:
        self.optim.resolve()
        if self.data.root is None:
            self.data.dataset = "simulated"
        self.run.output = self.run.output or str(Path("runs") / f"{self.data.dataset}_{self.model.name}")

    @property
    def frozen_bn(self) -> bool:
        """`freeze_bn` with auto resolved from the starting weights."""
        return {"auto": frozen_bn_by_default(self.model.weights), "yes": True, "no": False}[self.freeze_bn]

    @property
    def eval_split(self) -> str:
        return "val" if self.data.val_fraction else "test"

    def open_split(self, split: str, train: bool = False):
        """One split ("train", "val" or "test") in its dataset's layout; the simulator writes HRSID's COCO layout
        once into the cache; "val" is the fixed seeded share of the training images."""
        d = self.data
        layout = LAYOUTS[d.dataset]
        root = simulated_ship_root(d.sim_train, d.sim_test, self.run.seed) if d.root is None else Path(d.root)
        transform = RandomHorizontalFlip(0.5) if train else None
        ann = (d.test_ann if split == "test" else d.train_ann) or layout["test" if split == "test" else "train"]
        images = root / (d.image_dir or layout["images"])
        if layout["format"] == "coco":
            dataset = CocoDetection(root / ann, images, transform, drop_bad_boxes=d.drop_bad_boxes)
        else:
            annotations = root / layout["annotations"]
            ids = root / ann if ann else voc_split(annotations, "test" if split == "test" else "train",
                                                   d.split_fraction, self.run.seed)
            dataset = VOCDetection(annotations, images, ids, transform=transform, drop_bad_boxes=d.drop_bad_boxes)
        if split == "test":
            return dataset
        if not d.val_fraction:
            if split == "val":
                raise ConfigError("val_fraction", "a validation split needs val_fraction > 0")
            return dataset
        try:
            train_ids, val_ids = validation_split([r.image_id for r in dataset.records], d.val_fraction, VAL_SEED)
        except ValueError as exc:
            raise DataError(root, str(exc)) from None
        keep = set(val_ids if split == "val" else train_ids)
        dataset.records = [r for r in dataset.records if r.image_id in keep]
        return dataset


@dataclass
class DetectionTestConfig(CocoTestOptions):
    """Score a detection checkpoint: COCO AP on its test split and the official subsets (Table 7 rows)."""

    drop_bad_boxes: bool = option(False, "ann sets: drop bad boxes with a warning")
    images: int = option(4, "test images drawn in the PNG", bounds=(0, None))


def voc_split(annotations: Path, split: str, fraction: float, seed: int) -> list[str]:
    """Seeded split of the XML stems for sets without an official one (SAR-Ship-Dataset samples)."""
    stems = sorted(p.stem for p in annotations.glob("*.xml"))
    if not stems:
        raise DataError(annotations, "no VOC .xml annotations")
    order = torch.randperm(len(stems), generator=torch.Generator().manual_seed(seed)).tolist()
    n_train = max(1, int(round(fraction * len(stems))))
    chosen = order[:n_train] if split == "train" else order[n_train:]
    return [stems[i] for i in sorted(chosen)]


@torch.no_grad()
def predict_detections(model, loader: DataLoader, env: DistEnv, amp: bool = False) -> list[dict]:
    """COCO result dicts (labels as category ids, as `to_coco_gt`) for a whole sharded split, from every rank;
    `amp`: the network in bf16 (boxes are decoded in float32, `sarhub.models.detection`)."""
    model.eval()
    detections = []
    with torch.autocast(device_type=env.device.type, dtype=torch.bfloat16, enabled=amp):
        for images, targets in loader:
            outputs = model([im.to(env.device) for im in images])
            outputs = [{k: (v.float() if v.is_floating_point() else v).cpu() for k, v in o.items()} for o in outputs]
            detections += detections_to_coco(outputs, [t["image_id"] for t in targets])
    return [d for part in all_gather_objects(detections) for d in part]


def evaluate_detector(model, loader: DataLoader, gt: dict, env: DistEnv, amp: bool = False) -> dict:
    """COCO AP/AP50/AP75/AP_S/M/L (%) over the whole test set."""
    return {k: 100.0 * v for k, v in coco_evaluate(gt, predict_detections(model, loader, env, amp)).items()}


def detection_step(env: DistEnv):
    """The engine's step_fn: FCOS's summed losses of a batch."""
    def step(model, batch):
        images, targets = batch
        images = [im.to(env.device, non_blocking=True) for im in images]
        targets = [{"boxes": t["boxes"].to(env.device), "labels": t["labels"].to(env.device)} for t in targets]
        return sum(model(images, targets).values())
    return step


def build_model(cfg: DetectionConfig, num_classes: int, weights: bool = True):
    """The run's FCOS: its backbone, scale, BatchNorm rule and input standardisation (`weights`: load the starting
    weights; False when a checkpoint's weights follow)."""
    m = cfg.model
    return build_fcos(m.name, num_classes, weights=m.weights if weights else None, min_size=cfg.min_size,
                      max_size=cfg.max_size, freeze_bn=cfg.frozen_bn, weights_dir=m.weights_dir,
                      allow_partial=m.allow_partial, per_image_norm=cfg.per_image_norm)


def train(cfg: DetectionConfig) -> list[dict]:
    """SGD + warm-up + step decay, gradient clipping. The evaluation split (validation when carved, else test) is
    scored every epoch; checkpoint_best follows its AP50 (the authors validate on the test split: report
    checkpoint_last for an unselected number)."""
    o = cfg.optim
    with start_run(cfg) as env:
        if env.is_main:
            cfg.open_split("train", True)
        barrier()
        train_set, eval_set = cfg.open_split("train", True), cfg.open_split(cfg.eval_split)
        if env.is_main:
            print(f"{cfg.data.dataset}: {len(train_set)} train / {len(eval_set)} {cfg.eval_split} images, classes "
                  f"{train_set.classes}")
        model = wrap_ddp(build_model(cfg, train_set.num_classes), env,
                         channels_last=channels_last_on(cfg.run.channels_last, env))
        sampler = DistributedSampler(train_set, env.world_size, env.rank, seed=cfg.run.seed) if env.distributed \
            else None
        loader, sampler = seeded_train_loader(train_set, o.batch_size, cfg.run.workers, env, cfg.run.seed,
                                              sampler=sampler, drop_last=len(train_set) > o.batch_size,
                                              collate_fn=collate)
        evals = sharded_loader(eval_set, o.batch_size, env, cfg.run.workers, collate)
        optimizer = torch.optim.SGD(param_groups(model, o.lr, o.weight_decay), lr=o.lr, momentum=o.momentum)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, warmup_step_decay(o.warmup_iters, o.warmup_ratio, len(loader), o.lr_steps))
        gt = to_coco_gt(eval_set)
        fit_cfg = FitConfig.of(cfg, o.epochs, monitor="AP50", clip_grad=o.clip_grad)
        saved = cfg.saved(num_classes=train_set.num_classes, classes=list(train_set.classes))
        return fit(model, optimizer, scheduler, loader, detection_step(env),
                   lambda m: evaluate_detector(m, evals, gt, env, cfg.run.amp), env, fit_cfg, saved, sampler)


def test(test_cfg: DetectionTestConfig) -> dict:
    """Detections computed once; a subset's AP is the COCO evaluation restricted to its images. Appends a Table-7
    row per subset and draws predicted (red) and true (green) boxes on a few test images. Returns {subset: scores}
    and, under "detections"/"ground_truth", what the scores were computed from (for intervals over images)."""
    env = init_distributed(test_cfg.device)
    run, state = load_run(test_cfg.checkpoint, DetectionConfig)
    saved = state["args"]
    if test_cfg.data_root:
        run = replace(run, data=replace(run.data, root=test_cfg.data_root))
    official = {} if run.data.test_ann else LAYOUTS[run.data.dataset].get("subsets", {})
    lists = subset_lists(test_cfg, official, run.data.root)
    if test_cfg.ann is not None:
        test_set = CocoDetection(test_cfg.ann, test_cfg.image_dir, drop_bad_boxes=test_cfg.drop_bad_boxes)
        dataset, data = Path(test_cfg.ann).name, str(test_cfg.ann)
    else:
        test_set = run.open_split(test_cfg.split)
        dataset, data = run.data.dataset, run.data.root or "simulator"
    if list(test_set.classes) != list(saved["classes"]):
        raise DataError(test_cfg.ann or run.data.root, f"its categories are {test_set.classes}, the checkpoint was "
                                                       f"trained on {saved['classes']}")
    groups = subset_groups(test_set.records, lists)
    model = build_model(run, saved["num_classes"], weights=False)
    model.load_state_dict(state["model"])
    model.to(env.device)
    detections = predict_detections(model, sharded_loader(test_set, run.optim.batch_size, env, collate_fn=collate), env)
    gt = to_coco_gt(test_set)
    results: dict = {"detections": detections, "ground_truth": gt}
    if env.is_main:
        ckpt = Path(test_cfg.checkpoint)
        init = test_cfg.init or init_label(run.model.weights)
        for subset, records in groups.items():
            image_ids = [r.image_id for r in records]
            scores = {k: 100.0 * v for k, v in coco_evaluate(*select_images(gt, detections, image_ids)).items()}
            results[subset] = scores
            print(f"FCOS-{run.model.name} on {dataset} {subset} ({len(records)} images, epoch {state['epoch']}): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))
            paper = TABLE7.get(run.model.name, {}).get(dataset, {}).get(init) if subset == "all" else None
            row = {"model": run.model.name, "init": init, "dataset": dataset, "subset": subset,
                   "images": len(records), "data": data, "epoch": state["epoch"],
                   **{k: scores[k] for k in ("AP", "AP50", "AP75", "AP_S")},
                   "paper_AP": paper[0] if paper else "", "paper_AP50": paper[1] if paper else "",
                   "checkpoint": str(ckpt)}
            report(test_cfg, row, COLUMNS)
        if test_cfg.images:
            save_boxes_png(model, test_set, env.device, ckpt.parent / "detections_test.png", test_cfg.images)
            print(f"saved {ckpt.parent / 'detections_test.png'}")
    results["groups"] = {name: [r.image_id for r in records] for name, records in groups.items()}
    return results


def save_boxes_png(model, dataset, device, path: Path, n: int, score: float = 0.3) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = min(n, len(dataset))
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 4), squeeze=False)
    model.eval()
    for ax, i in zip(axes[0], range(n)):
        item = dataset[i]
        with torch.no_grad():
            out = model([item["image"].to(device)])[0]
        ax.imshow(item["image"][0], cmap="gray")
        for (x1, y1, x2, y2) in item["boxes"].tolist():
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="lime", lw=1.2))
        for (x1, y1, x2, y2), s in zip(out["boxes"].cpu().tolist(), out["scores"].cpu().tolist()):
            if s >= score:
                ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="red", lw=1.0))
        ax.set_title(Path(item["path"]).name, fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
