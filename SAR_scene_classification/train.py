"""Pre-train a backbone on SAR scene classification (TSX / BEN / OSU) with DRAE and Mini-CBL (paper §3.1–3.2).

    torchrun --nproc_per_node 4 train.py --dataset TSX --model resnet50 --data-root /data/TSX
    python train.py                      # embedded default: simulated TSX-format scenes, short CPU run

`--dataset X` loads configs/X.yaml (the paper's settings) as defaults; the command line overrides any of them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sarhub import create_model
from sarhub.backbones import backbone_family
from sarhub.classification import (Preprocess, adamw_onecycle, build_transform, cached_normalisation_stats,
                                   classification_step, eval_loader, freeze_backbone, predict, train_loader)
from sarhub.cli import common_parser, parse_args, run_main
from sarhub.data.samplers import ClassBalancedBatchSampler
from sarhub.data.scene import open_scene_split
from sarhub.distributed import barrier, cleanup, init_distributed, wrap_ddp
from sarhub.drae import DRAEConfig
from sarhub.engine import FitConfig, fit
from sarhub.losses import build_classification_loss
from sarhub.metrics.classification import classification_report

HERE = Path(__file__).resolve().parent
# Without --data-root the simulator stands in for the dataset; these make the default run a short CPU job.
SIMULATOR_DEFAULTS = {"epochs": 15, "batch_size": 32}


def get_parser():
    p = common_parser(__doc__.splitlines()[0])
    p.add_argument("--dataset", type=str, default="TSX", choices=["TSX", "BEN", "OSU", "folder"],
                   help="folder: any class-folder image set given by --data-root (e.g. NWPU-RESISC45)")
    p.add_argument("--img-size", type=int, default=128)
    p.add_argument("--drae-method", type=str, default="none", choices=["rd", "ptls", "none"])
    p.add_argument("--drae-range", type=float, nargs=2, default=[0.0, 0.0], help="training range of t or v")
    p.add_argument("--drae-test", type=float, default=0.0, help="fixed test-time t or v")
    p.add_argument("--drae-xavg", type=float, default=None, help="Reinhard–Devlin: fixed dataset mean (e.g. 0.169)")
    p.add_argument("--no-drae", action="store_true", help="disable DRAE (plain per-image 0–1 input)")
    p.add_argument("--log-transform", type=float, default=0.0, help="predecessor's log(1+s·x) compression, s")
    p.add_argument("--loss", type=str, default="minicbl", help="ce, focal, cbl, minicbl, bce, top2, combined")
    p.add_argument("--beta", type=float, default=None, help="class-balance β (Mini-CBL 0.995, CBL 0.9999)")
    p.add_argument("--global-batch-counts", action="store_true", help="Mini-CBL: all-reduce in-batch counts")
    p.add_argument("--top2-lambda", type=float, default=0.2)
    p.add_argument("--top2-tau", type=float, default=1.0)
    p.add_argument("--balanced-batches", action="store_true", help="class-balanced batch sampler")
    p.add_argument("--freeze-backbone", action="store_true", help="train the classifier only (linear probe)")
    p.add_argument("--bootstrap-seed", type=int, default=None, help="bagging: train on this bootstrap resample")
    p.add_argument("--div-factor", type=float, default=5.0, help="OneCycle start lr = max lr / this")
    p.add_argument("--pct-start", type=float, default=0.3)
    p.add_argument("--bands", type=str, default="VV", help="BigEarthNet-S1 original layout: VV, VH or VV,VH")
    p.add_argument("--sim-classes", type=int, default=8)
    p.add_argument("--sim-per-class", type=int, default=60, help="images of the largest simulated class")
    p.add_argument("--cache", action="store_true", help="keep decoded images in memory")
    return p


def parse(argv=None):
    parser = get_parser()
    pre, _ = parser.parse_known_args(argv)
    if pre.config is None:
        parser.set_defaults(config=str(HERE / "configs" / f"{pre.dataset}.yaml"))
    args = parse_args(parser, argv, HERE / "configs")
    if args.data_root is None:
        for key, value in SIMULATOR_DEFAULTS.items():
            if f"--{key.replace('_', '-')}" not in (argv if argv is not None else sys.argv):
                setattr(args, key, value)
    if args.no_drae:
        args.drae_method = "none"
    family = backbone_family(args.model)
    args.lr = args.lr or (2.5e-5 if family == "swin" else 2.5e-4)
    args.weight_decay = 0.05 if args.weight_decay is None else args.weight_decay
    args.output = args.output or str(Path("runs") / f"{args.dataset}_{args.model}")
    return args


def main(argv=None) -> None:
    args = parse(argv)
    env = init_distributed(args.device)
    torch.manual_seed(args.seed)
    out = Path(args.output)
    bands = tuple(args.bands.split(","))
    open_split = lambda split, train: open_scene_split(  # noqa: E731
        args.dataset, args.data_root, split, build_transform(args.img_size, train), args.seed, bands,
        args.sim_classes, args.sim_per_class, cache=args.cache)
    if env.is_main:  # rank 0 writes the simulated set / split files before the others read them
        open_split("train", True)
    barrier()
    train_set, val_set = open_split("train", True), open_split("val", False)
    if args.bootstrap_seed is not None:
        train_set = train_set.bootstrap(args.bootstrap_seed)
    if env.is_main:
        source = args.data_root or "the built-in simulator"
        print(f"{args.dataset} from {source}: {len(train_set)} train / {len(val_set)} val images, "
              f"{train_set.num_classes} classes, multi-label={train_set.multilabel}")

    drae = DRAEConfig(args.drae_method, tuple(args.drae_range), args.drae_test, args.drae_xavg)
    preprocess = Preprocess(drae, [0.0] * len(bands if args.dataset == "BEN" else [0]), [1.0], args.log_transform)
    if env.is_main:
        cached_normalisation_stats(out / "norm_stats.json", train_set, preprocess, args.seed)
    barrier()
    mean, std = cached_normalisation_stats(out / "norm_stats.json", train_set, preprocess, args.seed)
    preprocess = Preprocess(drae, mean, std, args.log_transform).to(env.device)

    in_chans = train_set[0]["image"].shape[0]
    model = create_model(args.model, num_classes=train_set.num_classes, in_chans=in_chans, img_size=args.img_size,
                         weights=args.weights, weights_dir=args.weights_dir)
    if args.freeze_backbone:
        freeze_backbone(model)
    channels_last = env.device.type == "cuda"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    model = wrap_ddp(model, env)

    sampler = None
    if args.balanced_batches:
        sampler = ClassBalancedBatchSampler(train_set.class_labels(), args.batch_size, seed=args.seed,
                                            rank=env.rank, world_size=env.world_size)
        loader = torch.utils.data.DataLoader(train_set, batch_sampler=sampler, num_workers=args.workers,
                                             persistent_workers=args.workers > 0)
    else:
        loader, sampler = train_loader(train_set, args.batch_size, args.workers, env, args.seed)
    loss_fn = build_classification_loss(args.loss, train_set.num_classes, train_set.class_counts(), args.beta,
                                        global_counts=args.global_batch_counts, top2_lambda=args.top2_lambda,
                                        top2_tau=args.top2_tau)
    optimizer, scheduler = adamw_onecycle(model, args.lr, args.epochs * len(loader), args.weight_decay,
                                          args.div_factor, args.pct_start)
    val_loader = eval_loader(val_set, args.batch_size, args.workers, env)
    sigmoid = args.loss == "bce"

    def evaluate(model) -> dict:
        logits, targets = predict(model, val_loader, preprocess, env.device, args.amp)
        report = classification_report(logits, targets, sigmoid)
        keys = ("top1", "top5", "macro_f1", "micro_f1")
        return {f"val_{k}" if k != "top1" else "top1": report[k] for k in keys if k in report}

    cfg = FitConfig(epochs=args.epochs, output_dir=out, seed=args.seed, monitor="top1", amp=args.amp,
                    save_every=args.save_every, resume=args.resume, kill_at_step=args.kill_at_step)
    saved = {**vars(args), "num_classes": train_set.num_classes, "classes": train_set.classes, "in_chans": in_chans,
             "norm_mean": mean, "norm_std": std, "world_size": env.world_size, "multilabel": train_set.multilabel}
    fit(model, optimizer, scheduler, loader, classification_step(preprocess, loss_fn, env.device, channels_last),
        evaluate, env, cfg, saved, sampler)
    cleanup()


if __name__ == "__main__":
    run_main(main)
