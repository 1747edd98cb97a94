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

from sarhub.backbones import backbone_family
from sarhub.classification import add_classification_args, adamw_onecycle, build_transform, train_classifier
from sarhub.cli import common_parser, parse_args, refuse, run_main
from sarhub.data.scene import SPLITS, open_scene_split
from sarhub.distributed import barrier, cleanup, init_distributed

HERE = Path(__file__).resolve().parent
# Without --data-root the simulator stands in for the dataset; these make the default run a short CPU job.
SIMULATOR_DEFAULTS = {"epochs": 15, "batch_size": 32}


def get_parser():
    p = common_parser(__doc__.splitlines()[0])
    p.add_argument("--dataset", type=str, default="TSX", choices=["TSX", "BEN", "OSU", "TSX-SLC", "folder"],
                   help="TSX-SLC: the real TerraSAR-X SLC chips (sarhub.data.tsx_slc); folder: any class-folder image set given by --data-root (e.g. NWPU-RESISC45)")
    add_classification_args(p)
    p.add_argument("--div-factor", type=float, default=5.0, help="OneCycle start lr = max lr / this")
    p.add_argument("--pct-start", type=float, default=0.3)
    p.add_argument("--bands", type=str, default="VV", help="BigEarthNet-S1 original layout: VV, VH or VV,VH")
    p.add_argument("--split-dir", default=None,
                   help="where split files missing from --data-root are written (default: --output); never the data root")
    p.add_argument("--split-file", action="append", default=[], metavar="SPLIT=PATH",
                   help="list of a split (train=..., val=..., test=...), '<path or file name> <label or l1,l2,…>' per line, "
                        "e.g. the authors' published BEN/OSU lists (files found by name under --data-root)")
    p.add_argument("--bootstrap-seed", type=int, default=None, help="bagging: train on this bootstrap resample")
    p.add_argument("--sim-classes", type=int, default=8)
    p.add_argument("--sim-per-class", type=int, default=60, help="images of the largest simulated class")
    return p


def parse(argv=None):
    parser = get_parser()
    args = parse_args(parser, argv, HERE / "configs", SIMULATOR_DEFAULTS)
    lists = dict(item.split("=", 1) for item in args.split_file if "=" in item)
    bad = [item for item in args.split_file if "=" not in item or item.split("=", 1)[0] not in SPLITS]
    if bad:
        refuse(parser, f"--split-file {bad[0]}: expected train=PATH, val=PATH or test=PATH")
    args.split_file = [f"{k}={v}" for k, v in lists.items()]
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
    bands = tuple(args.bands.split(","))
    lists = dict(item.split("=", 1) for item in args.split_file)
    open_split = lambda split, train, classes=None: open_scene_split(  # noqa: E731
        args.dataset, args.data_root, split, build_transform(args.img_size, train), args.seed, bands,
        args.sim_classes, args.sim_per_class, cache=args.cache, split_dir=args.split_dir or args.output,
        split_file=lists.get(split), classes=classes)
    if env.is_main:  # rank 0 writes the simulated set / split files before the others read them
        open_split("train", True)
    barrier()
    train_set = open_split("train", True)
    val_set = open_split("val", False, train_set.classes)  # labels follow the training classes
    if args.bootstrap_seed is not None:
        train_set = train_set.bootstrap(args.bootstrap_seed)
    if env.is_main:
        source = args.data_root or "the built-in simulator"
        print(f"{args.dataset} from {source}: {len(train_set)} train / {len(val_set)} val images, "
              f"{train_set.num_classes} classes, multi-label={train_set.multilabel}")

    optimizer_factory = lambda model, steps: (*adamw_onecycle(  # noqa: E731
        model, args.lr, args.epochs * steps, args.weight_decay, args.div_factor, args.pct_start), "step")
    train_classifier(args, env, train_set, val_set, optimizer_factory)
    cleanup()


if __name__ == "__main__":
    run_main(main)
