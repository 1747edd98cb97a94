"""Shared command-line plumbing for the task scripts: a parent parser (MAE style), YAML configs as defaults (timm
style), results tables, and one-line errors for bad input instead of deep tracebacks."""
from __future__ import annotations

import argparse
import csv
import errno
import math
import sys
from pathlib import Path
from typing import Callable, Sequence

import yaml

from sarhub.errors import DataError


def common_parser(description: str) -> argparse.ArgumentParser:
    """Arguments every train script shares; tasks add their own."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--config", type=str, default=None, help="YAML file whose keys set this parser's defaults")
    p.add_argument("--model", type=str, default="resnet18", help="backbone (see sarhub.backbones.BACKBONES)")
    p.add_argument("--weights", type=str, default=None,
                   help="initial weights: scratch, imagenet, a .safetensors/.pth file, or a Model-Hub name")
    p.add_argument("--weights-dir", type=str, default=None, help="folder of Model-Hub weight files")
    p.add_argument("--allow-partial", action="store_true",
                   help="load the --weights tensors that fit even if backbone tensors are missing, unexpected or of "
                        "another shape (otherwise that is an error)")
    p.add_argument("--data-root", type=str, default=None, help="dataset folder; omitted: the built-in SAR simulator")
    p.add_argument("--output", type=str, default=None, help="run folder for checkpoints and logs")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None, help="per process")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", type=str, default="auto", help="auto, cpu or cuda")
    p.add_argument("--amp", action="store_true",
                   help="bf16 autocast: on CUDA, and on CPUs with bf16 instructions (AVX-512-BF16/AMX: 1.8x here)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels_last memory format (default: on for CUDA)")
    p.add_argument("--resume", type=str, default=None, help="checkpoint to resume, or 'auto' (output's last)")
    p.add_argument("--save-every", type=int, default=0, help="also keep a checkpoint every N epochs")
    p.add_argument("--eval-every", type=int, default=1, help="evaluate every N epochs (and after the last)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the checkpoints and logs of a previous run in --output (otherwise refused)")
    return p


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None,
               config_dir: Path | None = None, simulator_defaults: dict | None = None) -> argparse.Namespace:
    """Parse twice: first `--config` (a path, or a name looked up in `config_dir`; without one, the parser's
    `--dataset` value names `<config_dir>/<dataset>.yaml` when it exists), whose keys become defaults, then
    everything else, so the command line always wins over the config file. Without `--data-root` the script runs
    on its simulator, and `simulator_defaults` replace every value not given on the command line (short CPU runs)."""
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
        values = yaml.safe_load(path.read_text()) or {}
        known = {a.dest for a in parser._actions}
        unknown = [k for k in values if k.replace("-", "_") not in known]
        if unknown:
            parser.error(f"{path}: unknown key(s) {', '.join(unknown)}")
        parser.set_defaults(**{k.replace("-", "_"): v for k, v in values.items()})
    args = parser.parse_args(argv)
    if getattr(args, "data_root", None) is None and simulator_defaults:
        given = list(sys.argv[1:] if argv is None else argv)
        for key, value in simulator_defaults.items():
            flag = f"--{key.replace('_', '-')}"
            if not any(a == flag or a.startswith(flag + "=") for a in given):
                setattr(args, key, value)
    check_settings(parser, args)
    return args


# (lowest, highest) accepted value of numeric options, wherever a script has them; None: unbounded.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "epochs": (1, None), "batch_size": (1, None), "workers": (0, 256), "img_size": (16, 4096),
    "eval_every": (1, None), "save_every": (0, None), "seed": (0, 2**32 - 1), "runs": (1, None),
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
        from sarhub.backbones import resolve_name

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
    from sarhub.engine import load_checkpoint

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


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(Path(path).read_text()) or {}


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
