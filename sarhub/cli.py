"""Shared command-line plumbing for the task scripts: a parent parser (MAE style), YAML configs as defaults (timm
style), results tables, and one-line errors for bad input instead of deep tracebacks."""
from __future__ import annotations

import argparse
import csv
import dataclasses
import errno
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import yaml

from sarhub.backbones import BACKBONES, resolve_name
from sarhub.checkpoints import load_checkpoint
from sarhub.engine import FitConfig
from sarhub.errors import DataError

T = TypeVar("T")


@dataclass
class RunConfig:
    """The flags every train script shares (`common_parser`); each task's config dataclass extends it. The field
    defaults are the library defaults: `common_parser` and the task parsers take them from here (`--help` shows
    them), `configs/<dataset>.yaml` holds the paper's settings, `configs/simulator.yaml` the short simulator runs."""

    config: str | None = None  # YAML file whose keys set the defaults
    model: str = "resnet18"
    weights: str | None = None  # scratch, imagenet, a .safetensors/.pth file or a Model-Hub name
    weights_dir: str | None = None
    allow_partial: bool = False
    data_root: str | None = None  # None: the built-in SAR simulator
    output: str | None = None  # None: runs/<dataset>_<model> (per task)
    epochs: int | None = None  # None: the task's default (its parse())
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    workers: int = 2
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    channels_last: bool | None = None  # None: on for CUDA
    resume: str | None = None
    save_every: int = 0
    eval_every: int = 1
    overwrite: bool = False
    tensorboard: bool = False
    early_stop: int = 0  # evaluations without a new best before the run ends (0: never)


def fit_config(cfg: RunConfig, **task: Any) -> FitConfig:
    """The engine settings a run takes from its config (the flags every script shares); `task` gives the rest
    (monitor, scheduler interval, clipping) and may replace any of them (a task that counts iterations)."""
    shared = {"epochs": cfg.epochs, "output_dir": Path(cfg.output or "."), "seed": cfg.seed, "amp": cfg.amp,
              "resume": cfg.resume, "save_every": cfg.save_every, "eval_every": cfg.eval_every,
              "overwrite": cfg.overwrite, "tensorboard": cfg.tensorboard, "early_stop": cfg.early_stop}
    return FitConfig(**{**shared, **task})


def config_defaults(config: type) -> dict[str, Any]:
    """Field name -> default of a config dataclass (default factories called)."""
    out = {}
    for f in dataclasses.fields(config):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def use_defaults(parser: argparse.ArgumentParser, config: type) -> argparse.ArgumentParser:
    """Make the dataclass `config` the one home of `parser`'s defaults; every option must be one of its fields."""
    defaults = config_defaults(config)
    dests = {a.dest for a in parser._actions if a.dest != "help"}
    stray = sorted(dests - set(defaults))
    if stray:
        raise TypeError(f"{config.__name__} lacks fields for options {', '.join(stray)}")
    parser.set_defaults(**{k: v for k, v in defaults.items() if k in dests})
    return parser


def to_config(config: type[T], args: argparse.Namespace) -> T:
    """The typed config of parsed arguments (the script edge: argparse stops here)."""
    names = {f.name for f in dataclasses.fields(config)}
    return config(**{k: v for k, v in vars(args).items() if k in names})


def common_parser(description: str) -> argparse.ArgumentParser:
    """Arguments every train script shares (defaults: `RunConfig`); tasks add their own."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--config", type=str, help="YAML file (or a name in the task's configs/) whose keys set defaults")
    p.add_argument("--model", type=str, help=f"backbone: {', '.join(BACKBONES)}")
    p.add_argument("--weights", type=str,
                   help="initial weights: scratch, imagenet, a .safetensors/.pth file, or a Model-Hub name")
    p.add_argument("--weights-dir", type=str, help="folder of Model-Hub weight files")
    p.add_argument("--allow-partial", action="store_true",
                   help="load the --weights tensors that fit even if backbone tensors are missing, unexpected or of "
                        "another shape (otherwise that is an error)")
    p.add_argument("--data-root", type=str, help="dataset folder; omitted: the built-in SAR simulator")
    p.add_argument("--output", type=str, help="run folder for checkpoints and logs")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="per process")
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--workers", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", type=str, help="auto, cpu or cuda")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction,
                   help="bf16 autocast: on CUDA, and on CPUs with bf16 instructions (AVX-512-BF16/AMX: 1.8x here)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction,
                   help="channels_last memory format (None: on for CUDA)")
    p.add_argument("--resume", type=str, help="checkpoint to resume, or 'auto' (output's last)")
    p.add_argument("--save-every", type=int, help="also keep a checkpoint every N epochs")
    p.add_argument("--eval-every", type=int, help="evaluate every N epochs (and after the last)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the checkpoints and logs of a previous run in --output (otherwise refused)")
    p.add_argument("--tensorboard", action="store_true", help="also log to <output>/tensorboard (needs tensorboard)")
    p.add_argument("--early-stop", type=int, metavar="N",
                   help="end the run after N evaluations without a new best of the selecting metric (0: never)")
    return use_defaults(p, RunConfig)


SIMULATOR_CONFIG = "simulator.yaml"  # in a task's configs/: the defaults of a run without --data-root


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None,
               config_dir: Path | None = None, simulator_defaults: dict | None = None) -> argparse.Namespace:
    """Parse twice: first `--config` (a path, or a name looked up in `config_dir`; without one, the parser's
    `--dataset` value names `<config_dir>/<dataset>.yaml` when it exists), whose keys become defaults, then
    everything else, so the command line always wins over the config file. Without `--data-root` the script runs
    on its simulator: `<config_dir>/simulator.yaml` (or `simulator_defaults`) replaces every value not given on the
    command line (short CPU runs). Precedence, lowest first: config dataclass < YAML < simulator (no --data-root)
    < command line."""
    if simulator_defaults is None and config_dir is not None and (config_dir / SIMULATOR_CONFIG).is_file():
        simulator_defaults = read_config(parser, config_dir / SIMULATOR_CONFIG)
    pre, _ = parser.parse_known_args(argv)
    dataset = getattr(pre, "dataset", None)
    if pre.config is None and config_dir is not None and dataset and (config_dir / f"{dataset}.yaml").is_file():
        pre.config = str(config_dir / f"{dataset}.yaml")
    if pre.config:
        path = Path(pre.config)
        if not path.is_file() and config_dir is not None:
            path = config_dir / (pre.config if pre.config.endswith(".yaml") else f"{pre.config}.yaml")
        if not path.is_file():
            parser.error(f"config {pre.config} not found")
        parser.set_defaults(**read_config(parser, path))
    args = parser.parse_args(argv)
    if getattr(args, "data_root", None) is None and simulator_defaults:
        given = list(sys.argv[1:] if argv is None else argv)
        for key, value in simulator_defaults.items():
            flag = f"--{key.replace('_', '-')}"
            if not any(a == flag or a.startswith(flag + "=") for a in given):
                setattr(args, key, value)
    check_settings(parser, args)
    return args


def read_config(parser: argparse.ArgumentParser, path: Path) -> dict[str, Any]:
    """A YAML config's values by option name; an unknown key is a parse error."""
    values = yaml.safe_load(path.read_text()) or {}
    known = {a.dest for a in parser._actions}
    unknown = [k for k in values if k.replace("-", "_") not in known]
    if unknown:
        parser.error(f"{path}: unknown key(s) {', '.join(unknown)}")
    return {k.replace("-", "_"): v for k, v in values.items()}


# (lowest, highest) accepted value of numeric options, wherever a script has them; None: unbounded.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "epochs": (1, None), "batch_size": (1, None), "workers": (0, 256), "img_size": (16, 4096),
    "eval_every": (1, None), "save_every": (0, None), "early_stop": (0, None), "seed": (0, 2**32 - 1), "runs": (1, None),
    "num_images": (1, None), "grid": (1, None), "steps": (1, None), "seeds": (1, None), "ft_steps": (1, None),
    "patch_size": (1, None), "crop": (16, 4096), "fraction": (1e-9, 1.0), "mask_ratio": (1e-9, 1 - 1e-9),
    "weight_decay": (0.0, None), "warmup_epochs": (0, None), "pixels_per_patch": (1, None),
    "eval_interval": (1, None), "iterations": (1, None), "crop_size": (16, 4096),
}
POSITIVE = ("lr", "blr", "ft_lr")  # finite and > 0


def refuse(parser: argparse.ArgumentParser, message: str) -> None:
    """End at parse time with one line and exit status 2 (argparse's error() would print the usage block too)."""
    parser.exit(2, f"{parser.prog}: error: {message}\n")


def check_settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse degenerate settings at parse time with one line (exit 2), before any file is touched: a negative
    epoch count used to exit 0 having done nothing, an unknown --model to end in a traceback."""
    values = vars(args)
    for name, (lo, hi) in RANGES.items():
        value = values.get(name)
        if value is None or isinstance(value, bool):
            continue
        if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
            refuse(parser, f"--{name.replace('_', '-')} {value} must be {bounds}")
    for name in POSITIVE:
        value = values.get(name)
        if value is not None and not (math.isfinite(value) and value > 0):
            refuse(parser, f"--{name.replace('_', '-')} {value} must be a positive number")
    if values.get("overwrite") and values.get("resume"):
        refuse(parser, "--overwrite and --resume contradict each other: choose one")
    if isinstance(values.get("model"), str) and "model" in {a.dest for a in parser._actions}:
        try:
            resolve_name(values["model"])
        except ValueError as exc:
            refuse(parser, str(exc))


def test_parser(description: str, results: Path) -> argparse.ArgumentParser:
    """Arguments every task's test.py shares."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--checkpoint", required=True, help="a checkpoint written by the task's train.py")
    p.add_argument("--data-root", default=None, help="override the data root stored in the checkpoint")
    p.add_argument("--init", default=None, help="pre-training source for the table: IMG, OPT, TSX, BEN, OSU, scratch")
    p.add_argument("--device", default="auto")
    p.add_argument("--results", default=str(results), help="results table path without extension")
    p.add_argument("--no-append", action="store_true", help="print only, do not append to the results table")
    return p


def add_coco_test_options(p: argparse.ArgumentParser) -> None:
    """test.py options of the COCO-reading tasks: score any COCO set in place, and official subsets apart."""
    p.add_argument("--ann", default=None,
                   help="score this COCO json instead of the run's test split (with --image-dir)")
    p.add_argument("--image-dir", default=None, help="the folder holding the --ann file's images")
    p.add_argument("--subset", action="append", default=None, metavar="NAME=LIST",
                   help="also score the images listed in LIST (one file name per line) as row NAME; repeatable. "
                        "Default: the dataset's official subsets (SSDD: inshore, offshore) when scoring its test split")


def subset_lists(p: argparse.ArgumentParser, args: argparse.Namespace, official: dict[str, str],
                 root: str | Path | None) -> dict[str, Path]:
    """The subset lists test.py scores: --subset values, else the layout's `official` lists under `root` (only for
    the run's own test split; a --ann set has no official subsets)."""
    if args.ann is not None and args.image_dir is None:
        p.error("--ann needs --image-dir (the folder of its images)")
    if args.subset is not None:
        pairs = [value.partition("=") for value in args.subset]
        bad = [value for value, (name, eq, path) in zip(args.subset, pairs) if not (name and eq and path)]
        if bad:
            p.error(f"--subset takes NAME=LIST, got {bad[0]!r}")
        return {name: Path(path) for name, _, path in pairs}
    if args.ann is not None or root is None:
        return {}
    return {name: Path(root) / path for name, path in official.items()}


def load_run(checkpoint: str | Path, required: str, task: str,
             parser: argparse.ArgumentParser | None = None) -> tuple[dict, argparse.Namespace]:
    """(checkpoint state, its training arguments); DataError when it was not written by `task`'s train.py. With the
    training `parser`, options added since the checkpoint was written take their defaults (older runs stay testable)."""
    state = load_checkpoint(checkpoint)
    saved = state.get("args") or {}
    if required not in saved:
        raise DataError(checkpoint, f"not a {task} checkpoint (its training arguments lack {required!r})")
    defaults = {a.dest: a.default for a in parser._actions if a.dest != "help"} if parser is not None else {}
    return state, argparse.Namespace(**{**defaults, **saved})


def report_result(args: argparse.Namespace, row: dict, columns: Sequence[str]) -> None:
    """Append a test.py row to the task's results table unless --no-append."""
    if not args.no_append:
        append_result(Path(args.results), row, columns)
        print(f"appended to {Path(args.results).with_suffix('.md')}")


def run_main(main: Callable[[], None]) -> None:
    """Run a script's main; bad input (DataError) prints one clear line and exits with status 2."""
    try:
        main()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as exc:  # a full disk or a read-only/forbidden folder: the environment, not a bug
        if exc.errno not in USER_OS_ERRORS:
            raise
        print(f"error: {exc.filename or ''}: {exc.strerror}".replace("error: : ", "error: "), file=sys.stderr)
        raise SystemExit(2) from None


USER_OS_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def append_result(table: Path, row: dict, columns: Sequence[str]) -> None:
    """Append one row to `<table>.csv` and regenerate `<table>.md` from the CSV (the CSV is the source of truth)."""
    csv_path, md_path = table.with_suffix(".csv"), table.with_suffix(".md")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    if csv_path.is_file():
        with open(csv_path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    rows.append({c: _cell(row.get(c, "")) for c in columns})
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    header = md_path.read_text().split("<!-- results -->")[0] if md_path.is_file() else ""
    md_path.write_text((header + "<!-- results -->\n" if header else "<!-- results -->\n") + "\n".join(lines) + "\n")


def _cell(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)
