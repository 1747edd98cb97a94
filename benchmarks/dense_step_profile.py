"""Dense-task step profile (issue 28): where one FCOS and one DeepLabV3 training step spend their time, and what
each speed lever is worth against today's step, run side by side in one process.

    python benchmarks/dense_step_profile.py [--data-root ../shared/data/ssdd] [--task both] [--steps 3] [--rounds 3]

Settings are those of the SSDD runs (docs/REAL_SAR_EVIDENCE.md): FCOS ResNet-18 at short side 256 / long side ≤ 416,
batch 4, BatchNorm trained, SGD with MMDetection's groups, clipping at 35; DeepLabV3 ResNet-18 + Dice + 0.4 aux,
letterbox 256, 256 crops, output stride 16, batch 8, SGD. Without the SSDD folder (default: ../shared/data/ssdd or
$SARHUB_SHARED_DATA/ssdd) the simulator's sets stand in with the same model settings.

Rows: "today" is the step as those runs made it (bf16 autocast from --amp, NCHW, every image decoded and every mask
rasterised on each read, torchvision's anchors and losses on the head's bf16 outputs, full 3×3 atrous
convolutions), rebuilt from today's library by putting torchvision's classes back; each lever row changes one thing
from today; "new default" is what the library does now (with --amp, as the SSDD scripts run), and the last row adds
--channels-last to it. "fp32" is today without --amp, for reference. The ratio is today's step time over the row's (> 1: faster).

Method: explicit wall-clock timing (time.perf_counter) inside the process. On a CPU every op is synchronous, so
the time between a module's forward pre-hook and its forward hook is that module's forward. Parts: data = items
(decode, augment) and collate of one batch; resize/pad = FCOS's GeneralizedRCNNTransform; backbone; neck+head = FPN
and FCOS head / ASPP, decoder, aux head and upsampling; targets = FCOS anchors and target assignment; loss;
backward; optimiser = clipping and the SGD step. Every row runs the same batches (same flips and crops) from the
same initial weights; the rows alternate step by step (in rotating order), a part's time is its median over the
steps, and a row's ratio is the median of its step-by-step ratios to today's step. The cache rows are measured
warm (epochs 2 and later; epoch 1 decodes as today). A second table times the evaluation
each epoch runs (FCOS on test images, DeepLabV3 on the held-out images) with untrained weights, and the last one a
whole training loop through the DataLoader with 0 and 2 workers. `--ops N` adds torch.profiler's N costliest ops of
today's step.
"""
from __future__ import annotations

import copy
import os
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from statistics import median

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision.models.detection import FCOS
from torchvision.models.detection.anchor_utils import AnchorGenerator

from sarhub.cli import parse_config
from sarhub.config import option
from sarhub.data.cache import DecodedCache
from sarhub.data.coco_masks import Letterbox
from sarhub.data.detection import collate
from sarhub.data.loader import sharded_loader
from sarhub.data.segmentation_transforms import JointCompose, TrainAugment
from sarhub.distributed import DistEnv
from sarhub.models.detection import build_fcos, param_groups
from sarhub.models.segmentation import AUX_WEIGHT, AtrousConv2d, build_deeplabv3
from sarhub.pipelines import detection, segmentation

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SARHUB_SHARED_DATA", REPO.parent / "shared" / "data"))
PARTS = ("data", "resize/pad", "backbone", "neck+head", "targets", "loss", "backward", "optimiser")
CPU = DistEnv(0, 1, 0, torch.device("cpu"))
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter  # --clock
# Lever -> (today's value, the library's value now). --amp is on in the SSDD runs, so in both; channels_last is
# --channels-last, off on a CPU by default (its own row adds it to the new default).
LEVERS = {
    "detection": {"cache": (False, True), "float32_heads": (False, True), "channels_last": (False, False)},
    "segmentation": {"cache": (False, True), "atrous_skip": (False, True), "channels_last": (False, False)},
}
LEVER_ROWS = {"cache": "+ decoded-image cache (warm)", "float32_heads": "+ float32 anchors/losses (correctness)",
              "atrous_skip": "+ atrous convs skip padding taps", "channels_last": "+ channels_last"}


class Timer:
    """Accumulated wall seconds per name, from `part` blocks and module/method wrappers."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def part(self, name: str):
        start = clock()
        yield
        self.seconds[name] += clock() - start

    def module(self, name: str, module: nn.Module) -> None:
        starts: list[float] = []
        module.register_forward_pre_hook(lambda *_: starts.append(clock()))
        module.register_forward_hook(lambda *_: self._add(name, clock() - starts.pop()))

    def method(self, name: str, owner, attr: str) -> None:
        fn = getattr(owner, attr)

        def timed(*args, **kwargs):
            with self.part(name):
                return fn(*args, **kwargs)
        setattr(owner, attr, timed)

    def _add(self, name: str, seconds: float) -> None:
        self.seconds[name] += seconds


def clock_name() -> str:
    return "wall clock" if clock is time.perf_counter else "process CPU time"


def todays_fcos(model: FCOS) -> None:
    """Today's FCOS: torchvision's anchors in the feature maps' dtype, its losses and decoding on bf16 outputs."""
    model.anchor_generator.__class__ = AnchorGenerator
    model.compute_loss = partial(FCOS.compute_loss, model)
    model.postprocess_detections = partial(FCOS.postprocess_detections, model)


def todays_deeplab(model: nn.Module) -> None:
    """Today's ASPP: every atrous convolution with its full 3×3 kernel."""
    for module in model.modules():
        if isinstance(module, AtrousConv2d):
            module.__class__ = nn.Conv2d


class Setup:
    """One row: its model copy, optimiser, dataset, timer, and the step that trains on a batch of indices."""

    def __init__(self, task: str, model: nn.Module, dataset, flags: dict, amp: bool):
        self.task, self.flags, self.amp, self.dataset = task, flags, amp, dataset
        self.model, self.timer = copy.deepcopy(model).train(), Timer()
        if not flags["cache"]:
            dataset.cache = DecodedCache(0)
        if task == "detection":
            if not flags["float32_heads"]:
                todays_fcos(self.model)
            self.optimizer = torch.optim.SGD(param_groups(self.model, 0.005, 0.001), lr=0.005, momentum=0.9)
            for name, module in (("resize/pad", self.model.transform), ("backbone", self.model.backbone.body),
                                 ("neck+head", self.model.backbone.fpn), ("neck+head", self.model.head),
                                 ("targets", self.model.anchor_generator)):
                self.timer.module(name, module)
            self.timer.method("targets+loss", self.model, "compute_loss")
            self.timer.method("loss", self.model.head, "compute_loss")
        else:
            if not flags["atrous_skip"]:
                todays_deeplab(self.model)
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
            self.loss_fn = segmentation.segmentation_loss("dice", 1.0)
            self.timer.module("backbone", self.model.backbone)
        if flags["channels_last"]:
            self.model = self.model.to(memory_format=torch.channels_last)

    def batch(self, indices: list[int], seed: int):
        torch.manual_seed(seed)  # the same flips and crops for every row
        items = [self.dataset[i] for i in indices]
        return model_inputs(self.task, (collate if self.task == "detection" else segmentation.collate)(items),
                            self.flags["channels_last"])

    def step(self, indices: list[int], seed: int, loader_batch=None) -> float:
        """One training step on the batch of `indices` (or on `loader_batch()`, a DataLoader's next batch)."""
        t = self.timer
        with t.part("data"):
            inputs, targets = self.batch(indices, seed) if loader_batch is None else loader_batch()
        autocast = partial(torch.autocast, "cpu", dtype=torch.bfloat16, enabled=self.amp)
        if self.task == "detection":
            with t.part("forward"), autocast():
                loss = sum(self.model(inputs, targets).values())
        else:
            with t.part("forward"), autocast():
                out = self.model(inputs)
            with t.part("loss"), autocast():
                loss = self.loss_fn(out["out"], targets) + AUX_WEIGHT * self.loss_fn(out["aux"], targets)
        with t.part("backward"):
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        with t.part("optimiser"):
            if self.task == "detection":
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 35.0)
            self.optimizer.step()
        return float(loss.detach())

    def parts(self, steps: int) -> dict[str, float]:
        """Mean seconds per step of each part, from the raw timer names."""
        s = self.timer.seconds
        if self.task == "detection":
            targets = s["targets"] + s["targets+loss"] - s["loss"]
            hooked = s["resize/pad"] + s["backbone"] + s["neck+head"] + s["targets+loss"] + s["targets"]
            out = {"resize/pad": s["resize/pad"], "targets": targets, "loss": s["loss"]}
        else:
            hooked = s["backbone"]
            out = {"resize/pad": 0.0, "targets": 0.0, "loss": s["loss"]}
        out.update(data=s["data"], backbone=s["backbone"], backward=s["backward"], optimiser=s["optimiser"],
                   **{"neck+head": s["neck+head"] + s["forward"] - hooked})  # FCOS: + the forward's glue
        return {k: out[k] / steps for k in PARTS}


def model_inputs(task: str, batch, channels_last: bool = False):
    """(inputs, targets) of a collated batch: FCOS's image list and box targets, or DeepLabV3's images and masks."""
    if task == "detection":
        images, targets = batch
        return images, [{"boxes": t["boxes"], "labels": t["labels"]} for t in targets]
    image = batch["image"].contiguous(memory_format=torch.channels_last) if channels_last else batch["image"]
    return image, batch["mask"]


def datasets(task: str, root: Path | None):
    """(train set with today's augmentation, evaluation set) of the task, from SSDD or the simulator."""
    if task == "detection":
        cfg = detection.DetectionConfig(dataset="ssdd" if root else "simulated", data_root=str(root) if root else None)
        return detection.open_split(cfg, "train", True), detection.open_split(cfg, "test", False)
    if root is None:
        cfg = segmentation.SegmentationConfig(data_root=None)
        augment = TrainAugment(256)
        return segmentation.open_split(cfg, "train", augment), segmentation.open_split(cfg, "test")
    cfg = segmentation.SegmentationConfig(dataset="ssdd", data_root=str(root))
    augment = JointCompose(Letterbox(256), TrainAugment(256, cat_max_ratio=1.0))
    return segmentation.open_split(cfg, "train", augment), segmentation.open_split(cfg, "val")


def build(task: str, in_chans: int = 1) -> nn.Module:
    torch.manual_seed(0)
    if task == "detection":
        return build_fcos("resnet18", 1, min_size=256, max_size=416, freeze_bn=False)
    return build_deeplabv3("resnet18", 2, in_chans=in_chans, img_size=256, output_stride=16)


def rows(task: str) -> dict[str, tuple[dict, bool]]:
    """Row name -> (lever flags, amp)."""
    levers = LEVERS[task]
    today = {k: v[0] for k, v in levers.items()}
    out = {"today (bf16 autocast, as the SSDD runs)": (today, True), "fp32 (today without --amp)": (today, False)}
    for lever, (old, new) in levers.items():
        out[LEVER_ROWS[lever]] = ({**today, lever: not old}, True)
    new = {k: v[1] for k, v in levers.items()}
    out["new default (with --amp)"] = (new, True)
    out["new default + --channels-last"] = ({**new, "channels_last": True}, True)
    return out


def selected(table: dict, only: list[str]) -> dict:
    """The first row (today) and the rows whose name contains one of `only` (all rows when it is empty)."""
    first = next(iter(table))
    return {k: v for k, v in table.items() if k == first or not only or any(o in k for o in only)}


def profile_steps(task: str, root: Path | None, steps: int, rounds: int, batch: int, only: list[str],
                  ops: int = 0) -> None:
    train_set, _ = datasets(task, root)
    model = build(task, train_set[0]["image"].shape[0])
    order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(0)).tolist()
    batches = [order[k * batch:(k + 1) * batch] for k in range(steps)]
    setups = {name: Setup(task, model, copy.copy(train_set), flags, amp)
              for name, (flags, amp) in selected(rows(task), only).items()}
    first_loss = {}
    for name, setup in setups.items():  # warm-up: first-call costs, and the cache rows fill their caches
        first_loss[name] = setup.step(batches[0], 1000)
        for indices in batches:
            for i in indices:
                setup.dataset[i]
    if ops:  # where today's step goes, op by op (torch.profiler, self CPU time)
        today_setup = next(iter(setups.values()))
        with torch.profiler.profile() as prof:
            for k, indices in enumerate(batches):
                today_setup.step(indices, 1000 + k)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=ops))
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in setups}
    for r in range(rounds):
        for k, indices in enumerate(batches):
            for name in rotated(list(setups), r * steps + k):  # rows alternate step by step
                setups[name].timer.seconds.clear()
                setups[name].step(indices, 1000 + k)
                samples[name].append(setups[name].parts(1))
    totals = {name: [sum(sample.values()) for sample in rows_] for name, rows_ in samples.items()}
    today = next(iter(totals.values()))
    print(f"\n{task}: {steps} steps × {rounds} rounds, batch {batch}, threads {torch.get_num_threads()}, {clock_name()}, "
          f"data {'SSDD ' + str(root) if root else 'simulator'}; median seconds per step (share of the step)")
    print("| row | " + " | ".join(PARTS) + " | step s | ratio to today | first-batch loss |")
    print("|---" * (len(PARTS) + 4) + "|")
    for name, rows_ in samples.items():
        parts = {part: median(sample[part] for sample in rows_) for part in PARTS}
        share = sum(parts.values())
        cells = " | ".join(f"{parts[p]:.3f} ({100 * parts[p] / share:.0f} %)" for p in PARTS)
        ratio = median(t / x for t, x in zip(today, totals[name]))
        print(f"| {name} | {cells} | {median(totals[name]):.2f} | {ratio:.2f}× | {first_loss[name]:.4f} |",
              flush=True)


def rotated(names: list[str], shift: int) -> list[str]:
    """`names` starting at position `shift` (mod len): no row always runs first, right after another row."""
    shift %= len(names)
    return names[shift:] + names[:shift]


def eval_rows(task: str) -> dict[str, tuple[dict, bool]]:
    """Row name -> (lever flags, amp) of the evaluation table."""
    levers = LEVERS[task]
    today = {k: v[0] for k, v in levers.items()}
    out = {"today (fp32: CPU evaluation never used --amp)": (today, False)}
    if task == "detection":
        out["+ bf16 autocast, torchvision's bf16 box decoding"] = (today, True)
        out["+ bf16 autocast, float32 box decoding"] = ({**today, "float32_heads": True}, True)
    else:
        out["+ bf16 autocast (--amp)"] = (today, True)
        out[LEVER_ROWS["atrous_skip"]] = ({**today, "atrous_skip": True}, False)
    out[LEVER_ROWS["cache"]] = ({**today, "cache": True}, False)
    new = {k: v[1] for k, v in levers.items()}
    out["new default (with --amp)"] = (new, True)
    out["new default + --channels-last"] = ({**new, "channels_last": True}, True)
    return out


def profile_eval(task: str, root: Path | None, images: int, rounds: int, only: list[str]) -> None:
    _, eval_set = datasets(task, root)
    model = build(task, eval_set[0]["image"].shape[0]).eval()
    subset = list(range(min(images, len(eval_set))))
    table = selected(eval_rows(task), only)
    caches = {name: DecodedCache() for name in table}  # kept over rounds: filled in round 0
    seconds: dict[str, list[float]] = {name: [] for name in table}
    for r in range(rounds + 1):  # round 0 warms up
        for name in rotated(list(table), r):
            flags, amp = table[name]
            data = copy.copy(eval_set)
            data.cache = caches[name]
            setup = Setup(task, model, data, flags, amp)
            start = clock()
            if task == "detection":
                loader = sharded_loader(Subset(data, subset), 4, CPU, collate_fn=collate)
                detection.predict_detections(setup.model, loader, CPU, amp)
            else:
                loader = sharded_loader(Subset(data, subset), 8, CPU, collate_fn=segmentation.collate_lists)
                segmentation.evaluate_segmentation(setup.model, loader, CPU, 2, 256 if root else None, "ship", amp)
            if r:
                seconds[name].append((clock() - start) / len(subset))
    print(f"\n{task} evaluation: {len(subset)} images, untrained weights, threads {torch.get_num_threads()}, "
          f"{clock_name()}; "
          "seconds per image")
    print("| row | median s / image | ratio to today |\n|---|---|---|")
    today = next(iter(seconds.values()))
    for name, times in seconds.items():
        ratio = median(t / x for t, x in zip(today, times))
        print(f"| {name} | {median(times):.4f} | {ratio:.2f}× |", flush=True)


def loop_seconds(task: str, root: Path | None, workers: int, steps: int, batch: int) -> float:
    """Seconds per step of the new default's training loop through a DataLoader (fresh datasets, shuffled)."""
    train_set, _ = datasets(task, root)
    setup = Setup(task, build(task, train_set[0]["image"].shape[0]), train_set,
                  {k: v[1] for k, v in LEVERS[task].items()}, True)
    collate_fn = collate if task == "detection" else segmentation.collate
    loader = DataLoader(train_set, batch_size=batch, shuffle=True, num_workers=workers, collate_fn=collate_fn,
                        drop_last=True, persistent_workers=workers > 0)
    it = iter(loader)
    setup.step([], 0, lambda: model_inputs(task, next(it)))  # worker start-up and the first batch excluded
    start = time.perf_counter()
    for _ in range(steps):
        setup.step([], 0, lambda: model_inputs(task, next(it)))
    return (time.perf_counter() - start) / steps


def workers_check(task: str, root: Path | None, steps: int, rounds: int, batch: int) -> None:
    seconds: dict[int, list[float]] = {0: [], 2: []}
    for r in range(rounds):
        for workers in rotated([0, 2], r):
            seconds[workers].append(loop_seconds(task, root, workers, steps, batch))
    print(f"\n{task} training loop through the DataLoader ({steps} steps × {rounds} rounds, new default with --amp, "
          f"cold caches, threads {torch.get_num_threads()}, wall clock)")
    print("| workers | median s / step | ratio to 0 workers |\n|---|---|---|")
    for workers, times in seconds.items():
        ratio = median(t / x for t, x in zip(seconds[0], times))
        print(f"| {workers} | {median(times):.2f} | {ratio:.2f}× |", flush=True)


@dataclass
class DenseProfileConfig:
    """The benchmark's options."""

    data_root: str = option(str(SHARED / "ssdd"), "SSDD folder (the simulator if it is absent)")
    task: str = option("both", "the task profiled", choices=("detection", "segmentation", "both"))
    steps: int = option(3, "timed training steps per row and round", bounds=(1, None))
    rounds: int = option(3, "rounds over the steps (medians are taken over all)", bounds=(1, None))
    eval_images: int = option(32, "images of the evaluation timing", bounds=(1, None))
    loop_steps: int = option(6, "steps of the DataLoader check (0: skip it)", bounds=(0, None))
    threads: int | None = option(None, "torch CPU threads (None: torch's)", bounds=(1, None))
    clock: str = option("wall", "cpu: this process's CPU seconds (robust to other jobs on the cores; meaningful "
                                "with threads 1), wall: wall-clock seconds (the DataLoader check always uses wall "
                                "time)", choices=tuple(sorted(CLOCKS)))
    ops: int = option(0, "also print the N costliest ops of today's step (torch.profiler)", bounds=(0, None))
    rows: list[str] = option(factory=list, help="parts of row names to run (and today's); default all")
    skip: list[str] = option(factory=list, help="parts to skip: steps, eval, loop")


def main() -> None:
    args = parse_config(DenseProfileConfig, None, __doc__.splitlines()[0])
    global clock
    clock = CLOCKS[args.clock]
    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(args.data_root) if Path(args.data_root, "annotations", "train.json").is_file() else None
    skip, only = set(args.skip), list(args.rows)
    for task in (["detection", "segmentation"] if args.task == "both" else [args.task]):
        batch = 4 if task == "detection" else 8
        if "steps" not in skip:
            profile_steps(task, root, args.steps, args.rounds, batch, only, args.ops)
        if "eval" not in skip:
            profile_eval(task, root, args.eval_images, args.rounds, only)
        if "loop" not in skip and args.loop_steps:
            workers_check(task, root, args.loop_steps, args.rounds, batch)


if __name__ == "__main__":
    main()
