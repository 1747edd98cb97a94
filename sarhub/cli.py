"""Shared command-line plumbing for the task scripts: a parent parser (MAE style), YAML configs as defaults (timm
style), results tables, and one-line errors for bad input instead of deep tracebacks."""
from __future__ import annotations

import argparse
import csv
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
    p.add_argument("--data-root", type=str, default=None, help="dataset folder; omitted: the built-in SAR simulator")
    p.add_argument("--output", type=str, default=None, help="run folder for checkpoints and logs")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None, help="per process")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", type=str, default="auto", help="auto, cpu or cuda")
    p.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    p.add_argument("--resume", type=str, default=None, help="checkpoint to resume, or 'auto' (output's last)")
    p.add_argument("--save-every", type=int, default=0, help="also keep a checkpoint every N epochs")
    p.add_argument("--kill-at-step", type=int, default=None, help=argparse.SUPPRESS)
    return p


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None,
               config_dir: Path | None = None) -> argparse.Namespace:
    """Parse twice: first `--config` (a path, or a name looked up in `config_dir`), whose keys become defaults,
    then everything else, so the command line always wins over the config file."""
    pre, _ = parser.parse_known_args(argv)
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
    return parser.parse_args(argv)


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(Path(path).read_text()) or {}


def run_main(main: Callable[[], None]) -> None:
    """Run a script's main; bad input (DataError) prints one clear line and exits with status 2."""
    try:
        main()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def append_result(table: Path, row: dict, columns: Sequence[str]) -> None:
    """Append one row to `<table>.csv` and regenerate `<table>.md` from the CSV (the CSV is the source of truth)."""
    csv_path, md_path = table.with_suffix(".csv"), table.with_suffix(".md")
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
