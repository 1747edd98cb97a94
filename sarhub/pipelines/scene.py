"""Scene-classification pre-training (TSX / BEN / OSU, paper §3.1–3.2) and its test step (Tables 1–3): the
config, the parser, the datasets of a run, the training call and the evaluation of one or several checkpoints."""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from sarhub.backbones import backbone_family
from sarhub.checkpoints import load_checkpoint, write_text_atomic
from sarhub.classification import ClassifierConfig, build_transform, predict, train_classifier
from sarhub.config import OptimOptions, TestOptions, group, option
from sarhub.data.loader import sharded_loader
from sarhub.data.scene import SPLITS
from sarhub.data.scene_sets import SceneData
from sarhub.distributed import barrier, init_distributed
from sarhub.engine import start_run
from sarhub.errors import WeightsError
from sarhub.metrics.classification import classification_report, majority_vote
from sarhub.optim import adamw_onecycle
from sarhub.paper import scene_reference
from sarhub.pipelines.common import rebuild_classifier, save_confusion
from sarhub.results import report

CNN_LR, SWIN_LR = 2.5e-4, 2.5e-5  # the paper's OneCycle peaks (§4.1)
COLUMNS = ("model", "dataset", "data", "init", "drae", "loss", "epochs", "top1", "top5", "macro_f1", "micro_f1",
           "paper_top1", "gamma_accuracies", "gamma_variance", "checkpoint")


@dataclass
class SceneOptim(OptimOptions):
    """The paper's pre-training optimiser (§4.1): AdamW with a one-cycle schedule per step peaking at 2.5e-4 (CNNs)
    or 2.5e-5 (Swin), weight decay 0.05, batch 128, 300 epochs."""

    DEFAULTS = {"epochs": 300, "batch_size": 128, "weight_decay": 0.05}

    div_factor: float = option(5.0, "one-cycle start lr = peak / this", positive=True)
    pct_start: float = option(0.3, "share of the steps rising to the peak", bounds=(0.0, 1.0))


@dataclass
class SceneConfig(ClassifierConfig, task="SAR_scene_classification", recipes="scene", signature="div_factor"):
    """Pre-train a backbone on SAR scene classification (TSX / BEN / OSU, paper §3.1–3.2)."""

    data: SceneData = group(SceneData)
    optim: SceneOptim = group(SceneOptim)

    def __post_init__(self) -> None:
        self.optim.resolve(lr=SWIN_LR if backbone_family(self.model.name) == "swin" else CNN_LR)
        self.run.output = self.run.output or str(Path("runs") / f"{self.data.dataset}_{self.model.name}")

    def open_split(self, split: str, train: bool, classes: list[str] | None = None):
        """One split of the run in its dataset's layout; a validation/test split takes the training classes."""
        return self.data.open_split(split, build_transform(self.input.img_size, train), Path(self.run.output),
                                    self.run.seed, classes, self.cache)


@dataclass
class SceneTestConfig(TestOptions):
    """Evaluate scene-classification checkpoints (Tables 1–3): top-1/top-5, F1, γ robustness, bagging vote."""

    checkpoint: list[str] = option(factory=list, help="checkpoint(s) written by train.py; several (bagging members) "
                                                      "are also scored as a majority vote", required=True)
    split: str = option("test", "the split scored", choices=SPLITS)
    gamma: list[float] = option(factory=list, help="γ values of the robustness test (Table 2), e.g. 0.95 0.98 1.0")
    batch_size: int = option(128, "evaluation batch size", bounds=(1, None))
    workers: int = option(2, "DataLoader workers", bounds=(0, 256))


def train(cfg: SceneConfig) -> list[dict]:
    """Scene pre-training: AdamW + OneCycle (the paper's recipe) through `train_classifier`; checkpoint_best on
    the validation split."""
    o = cfg.optim
    with start_run(cfg) as env:
        if env.is_main:  # rank 0 writes the simulated set / split files before the others read them
            cfg.open_split("train", True)
        barrier()
        train_set = cfg.open_split("train", True)
        val_set = cfg.open_split("val", False, train_set.classes)
        if cfg.data.bootstrap_seed is not None:
            train_set = train_set.bootstrap(cfg.data.bootstrap_seed)
        if env.is_main:
            print(f"{cfg.data.dataset} from {cfg.data.root or 'the built-in simulator'}: {len(train_set)} train / "
                  f"{len(val_set)} val images, {train_set.num_classes} classes, multi-label={train_set.multilabel}")

        def optimizer_factory(model, steps):
            return (*adamw_onecycle(model, o.lr, o.epochs * steps, o.weight_decay, o.div_factor, o.pct_start), "step")

        return train_classifier(cfg, env, train_set, val_set, optimizer_factory)


def test(test_cfg: SceneTestConfig) -> dict:
    """Top-1/top-5, per-class accuracy, F1, the confusion matrix beside the checkpoint, optional γ robustness
    (Table 2) and bagging vote; appends a row to the results table. Returns the report."""
    env = init_distributed(test_cfg.device)
    states = [load_checkpoint(c) for c in test_cfg.checkpoint]
    saved = states[0].get("args") or {}
    run = SceneConfig.from_args(saved, test_cfg.checkpoint[0])
    if test_cfg.data_root:
        run = replace(run, data=replace(run.data, root=test_cfg.data_root))
    dataset = run.open_split(test_cfg.split, False, saved.get("classes"))
    loader = sharded_loader(dataset, test_cfg.batch_size, env, test_cfg.workers)
    sigmoid = run.loss.name == "bce"
    members = []
    for path, state in zip(test_cfg.checkpoint, states):
        model, r, pre = rebuild_classifier(state, path)
        if r.get("num_classes") != saved["num_classes"]:
            raise WeightsError(path, f"has {r.get('num_classes')} classes, the first checkpoint {saved['num_classes']}")
        members.append((model.to(env.device), pre.to(env.device)))
    model, preprocess = members[0]

    outputs = [predict(m, loader, pre, env.device, amp=run.run.amp) for m, pre in members]
    logits, targets = outputs[0]
    result = classification_report(logits, targets, sigmoid)
    ensemble = None
    if len(members) > 1:
        single = [classification_report(lg, t, sigmoid)["top1"] for lg, t in outputs]
        vote = majority_vote([lg for lg, _ in outputs])
        ensemble = {"members": single, "vote_top1": (vote == targets).float().mean().item() * 100.0}
    gamma_acc = {}
    for g in test_cfg.gamma:
        preprocess.gamma = g
        gl, gt = predict(model, loader, preprocess, env.device, amp=run.run.amp)
        gamma_acc[g] = classification_report(gl, gt, sigmoid)["top1"]
    preprocess.gamma = None
    if env.is_main:
        _report(test_cfg, run, dataset, result, ensemble, gamma_acc)
    return result


def _report(test_cfg: SceneTestConfig, run: SceneConfig, dataset, result: dict, ensemble: dict | None,
            gamma_acc: dict) -> None:
    ckpt = Path(test_cfg.checkpoint[0])
    split, model, name = test_cfg.split, run.model.name, run.data.dataset
    if ensemble is not None:
        print("bagging members: " + ", ".join(f"{a:.2f} %" for a in ensemble["members"])
              + f"; majority vote {ensemble['vote_top1']:.2f} %")
    print(f"{model} on {name} ({split}, {len(dataset)} images): "
          f"top-1 {result['top1']:.2f} %, top-5 {result['top5']:.2f} %", end="")
    print(f", macro F1 {result['macro_f1']:.2f} %" if "macro_f1" in result else f", micro F1 {result['micro_f1']:.2f} %")
    if "confusion" in result:
        for cls, acc in zip(dataset.classes, result["per_class_accuracy"]):
            print(f"  {cls:40s} {acc:6.2f} %")
        save_confusion(result.pop("confusion"), dataset.classes, ckpt.parent / f"confusion_{split}", f"{model} / {name}")
    variance = None
    if gamma_acc:
        fractions = [a / 100.0 for a in gamma_acc.values()]
        variance = statistics.pvariance(fractions) if len(fractions) > 1 else 0.0
        print("γ robustness: " + ", ".join(f"γ={g}: {a:.2f} %" for g, a in gamma_acc.items())
              + f"; variance of accuracy {variance:.3g}")
    write_text_atomic(ckpt.parent / f"metrics_{split}.json", json.dumps(
        {k: v for k, v in result.items() if k != "confusion"}
        | {"gamma": gamma_acc, "gamma_variance": variance, "bagging": ensemble}, indent=1))
    init = test_cfg.init or (run.model.weights or "scratch")
    top1 = result["top1"]
    if ensemble is not None:
        init, top1 = f"{init}, bagging ×{len(test_cfg.checkpoint)}", ensemble["vote_top1"]
    drae = run.input.drae.method
    row = {
        "model": model, "dataset": name, "data": run.data.root or "simulator", "init": init, "drae": drae,
        "loss": run.loss.name, "epochs": run.optim.epochs, "top1": top1, "top5": result["top5"],
        "macro_f1": result.get("macro_f1", ""), "micro_f1": result.get("micro_f1", ""),
        "paper_top1": scene_reference(model, name, run.loss.name, drae != "none", init not in ("scratch", None)) or "",
        "gamma_accuracies": " ".join(f"{g}:{a:.2f}" for g, a in gamma_acc.items()),
        "gamma_variance": f"{variance:.3g}" if variance is not None else "", "checkpoint": str(ckpt),
    }
    report(test_cfg, row, COLUMNS)


@dataclass
class BaggingConfig(SceneConfig):
    """Bagging (the predecessor's ensemble): `k` members, each trained on its own bootstrap resample."""

    k: int = option(5, "ensemble members; member i trains with bootstrap_seed i in <output>/bag<i>", bounds=(1, None))


def bagging(cfg: BaggingConfig) -> list[list[dict]]:
    """Train the `k` members one after another (each resumes on its own with --resume auto)."""
    members = []
    for i in range(cfg.k):
        print(f"--- bagging member {i + 1}/{cfg.k}")
        member = SceneConfig.from_args({**cfg.saved(), "task": SceneConfig.TASK, "bootstrap_seed": i,
                                        "output": str(Path(cfg.run.output) / f"bag{i}")})
        members.append(train(member))
    return members
