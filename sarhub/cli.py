"""The command line of every script, generated from its config dataclass (`sarhub.config`), and one line per error.

`build_parser(Config)` turns each declared option into a flag (`--drae-range 3.5 4.5`, `--amp/--no-amp`) with its
help, choices and default; abbreviations are refused (`allow_abbrev=False`), so a flag means one option or
nothing. `parse_config(Config, argv)` layers the values, lowest first:

    dataclass defaults < <dataset>.yaml recipe < simulator.yaml recipe (only without a data root)
                       < --config FILE or recipe name < the command line

Recipes are package data (`sarhub/recipes/<task>/`), so an installed package has them. The parser records only
what was typed (every default is SUPPRESS), so no string matching decides what the user gave.
"""
from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

import yaml

from sarhub.config import Leaf, check, coerce, defaults, from_flat, leaves
from sarhub.errors import ConfigError, SarHubError

T = TypeVar("T")
SIMULATOR = "simulator"  # the recipe of a run without a data root: short CPU runs on the built-in simulator


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line (no usage block): the usage is one --help away."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(cls: type, description: str = "", prog: str | None = None) -> OneLineParser:
    """The parser of config class `cls`: one flag per option, `--config` for a YAML file or recipe name."""
    parser = OneLineParser(prog=prog, description=description, allow_abbrev=False,
                           argument_default=argparse.SUPPRESS)
    parser.add_argument("--config", metavar="FILE|RECIPE",
                        help="YAML file, or a recipe name" + _recipe_list(cls) + ", whose keys set options "
                             "(the command line wins)")
    for leaf in leaves(cls).values():
        _add(parser, leaf)
    return parser


def _recipe_list(cls: type) -> str:
    names = sorted(p.stem for p in recipe_files(cls))
    return f" ({', '.join(names)})" if names else ""


def _add(parser: argparse.ArgumentParser, leaf: Leaf) -> None:
    flag = leaf.name if leaf.meta.get("positional") else "--" + leaf.name.replace("_", "-")
    tp = _strip_optional(leaf.type)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    default = leaf.default()
    text = leaf.meta.get("help", "")
    shown = "" if default is None or default == [] else f" (default: {_show(default)})"
    kwargs: dict[str, Any] = {"help": (text + shown).strip().replace("%", "%%") or None}  # argparse formats it
    if leaf.meta.get("metavar"):
        kwargs["metavar"] = leaf.meta["metavar"]
    if leaf.meta.get("choices"):
        kwargs["choices"] = leaf.meta["choices"]
    if tp is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif origin in (list, tuple):
        if leaf.meta.get("repeat"):
            kwargs.update(action="append", type=_converter(args[0] if args else str))
        elif origin is tuple and args and args[-1] is not Ellipsis:
            kwargs.update(nargs=len(args), type=_converter(args[0]))
        else:
            kwargs.update(nargs="+", action=CommaList, item=_converter(args[0] if args else str))
    else:
        kwargs["type"] = _converter(tp)
    parser.add_argument(flag, **kwargs)


class CommaList(argparse.Action):
    """A list option given as separate values, comma-separated ones, or both: `--shots 1 5 10`, `--shots 1,5,10`."""

    def __init__(self, *args: Any, item: Callable[[str], Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.item = item

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        try:
            items = [self.item(part) for value in values for part in str(value).split(",") if part.strip()]
        except argparse.ArgumentTypeError as exc:
            parser.error(f"argument {option_string}: {exc}")
        setattr(namespace, self.dest, items)


def _strip_optional(tp: Any) -> Any:
    args = typing.get_args(tp)
    if type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return inner[0]
    return tp


def _converter(tp: Any) -> Callable[[str], Any]:
    """argparse `type`: the config's own conversion, so the command line and YAML accept the same values."""
    def convert(text: str) -> Any:
        try:
            return coerce(text, tp)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = getattr(tp, "__name__", "value")
    return convert


def _show(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def recipe_files(cls: type) -> list[Path]:
    """The packaged recipes of a config class's task (`RECIPES`: its folder under sarhub/recipes)."""
    task = getattr(cls, "RECIPES", None)
    if not task:
        return []
    folder = resources.files("sarhub.recipes") / task
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")) if folder.is_dir() else []


def recipe_path(cls: type, name: str) -> Path | None:
    """A recipe of `cls`'s task by name (`mstar`, `mstar_fast.yaml`), or None."""
    stem = name[:-5] if name.endswith(".yaml") else name
    return next((p for p in recipe_files(cls) if p.stem == stem), None)


def read_values(cls: type, path: Path) -> dict[str, Any]:
    """A YAML file's settings by flat name (dashes allowed); ConfigError for a file that is not a mapping of known
    settings. Values are checked when the config is built."""
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(path, f"not valid YAML{where} ({getattr(exc, 'problem', None) or exc})") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot be read ({exc.strerror})") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(path, f"must be a mapping of settings (key: value), not a {type(values).__name__}")
    values = {str(k).replace("-", "_"): v for k, v in values.items()}
    known = leaves(cls)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(path, f"unknown setting {unknown[0]!r}")
    return {name: check(known[name], value, str(path)) for name, value in values.items()}  # bad even if overridden


def config_file(cls: type, given: str) -> Path:
    """`--config` as a file path, else as a recipe name of the task."""
    path = Path(given)
    if path.is_file():
        return path
    recipe = recipe_path(cls, given)
    if recipe is None:
        raise ConfigError("config", f"{given}: no such file, and not a recipe of this task{_recipe_list(cls)}")
    return recipe


def layered_values(cls: type, given: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of one run by precedence (see the module docstring): what the user typed in `given` (flat
    names; `config` names the explicit config file) over the recipes over the dataclass defaults."""
    given = dict(given)
    explicit = read_values(cls, config_file(cls, given.pop("config"))) if given.get("config") else {}
    given.pop("config", None)
    base = defaults(cls)

    def first(name: str) -> Any:
        for layer in (given, explicit):
            if name in layer:
                return layer[name]
        return None

    dataset = first("dataset") if "dataset" in leaves(cls) else None
    dataset = dataset if dataset is not None else base.get("dataset")
    dataset_recipe = recipe_path(cls, str(dataset)) if dataset else None
    dataset_values = read_values(cls, dataset_recipe) if dataset_recipe else {}
    simulator_values: dict[str, Any] = {}
    if "data_root" in leaves(cls):
        root = first("data_root")
        root = root if root is not None else dataset_values.get("data_root", base.get("data_root"))
        simulator_recipe = recipe_path(cls, SIMULATOR) if root is None else None
        simulator_values = read_values(cls, simulator_recipe) if simulator_recipe else {}
    return {**dataset_values, **simulator_values, **explicit, **given}


def parse_config(cls: type[T], argv: Sequence[str] | None = None, description: str = "",
                 prog: str | None = None) -> T:
    """The typed config of a command line (see `layered_values` for the precedence); one ConfigError line for any
    bad value, unknown key or missing required setting."""
    parser = build_parser(cls, description, prog)
    return config_from(cls, vars(parser.parse_args(argv)))


def config_from(cls: type[T], settings: Mapping[str, Any]) -> T:
    """The typed config of settings given by flat name, as if typed on the command line (recipes layered below
    them, `config` naming a config file): how a program builds the run a user would have asked for."""
    cfg = from_flat(cls, layered_values(cls, settings))
    missing = [n for n, leaf in leaves(cls).items() if leaf.meta.get("required") and _value(cfg, leaf) in (None, [])]
    if missing:
        raise ConfigError(missing[0], "required: give --" + missing[0].replace("_", "-"))
    return cfg


def _value(cfg: Any, leaf: Leaf) -> Any:
    for part in leaf.path:
        cfg = getattr(cfg, part)
    return cfg


def parse_command(commands: Mapping[str, type], argv: Sequence[str] | None = None, description: str = "",
                  prog: str | None = None) -> tuple[str, Any]:
    """(command, its config) of a program with subcommands, each a config class (`python -m sarhub.hub export`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    top = OneLineParser(prog=prog, description=description, allow_abbrev=False)
    top.add_argument("command", choices=list(commands), help=", ".join(
        f"{name}: {(cls.__doc__ or '').strip().splitlines()[0]}" for name, cls in commands.items()))
    if not argv or argv[0] in ("-h", "--help"):
        top.print_help()
        top.exit(0 if argv else 2)
    name = top.parse_args(argv[:1]).command
    sub_prog = f"{top.prog} {name}"
    return name, parse_config(commands[name], argv[1:], (commands[name].__doc__ or "").strip(), sub_prog)


class StderrHandler(logging.StreamHandler):
    """Log lines to whatever sys.stderr is when they are written (not the stream of the first call)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


USER_OS_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def run_main(main: Callable[[], None]) -> None:
    """Run a script's main: an error the user caused prints one line and exits with status 2; Ctrl-C prints how
    to continue and exits with 130. Programming errors keep their traceback."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # scripts draw figures to files: the backend is chosen here, once
    log = logging.getLogger("sarhub")  # what the library reports at INFO (a weights load) is shown by the scripts
    if not any(isinstance(h, StderrHandler) for h in log.handlers):
        handler = StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file-size limit becomes an OSError, not a kill
    try:
        main()
    except SarHubError as exc:
        _fail(f"error: {exc}")
    except KeyboardInterrupt:
        print("\ninterrupted: checkpoints written so far are intact; continue with --resume auto", file=sys.stderr)
        raise SystemExit(130) from None
    except OSError as exc:  # a full disk or a read-only/forbidden folder: the environment, not a bug
        if exc.errno not in USER_OS_ERRORS:
            raise
        where = exc.filename or ""
        _fail(f"error: {where}: {exc.strerror or os.strerror(exc.errno)}" if where else
              f"error: {exc.strerror or os.strerror(exc.errno)}")


def _fail(line: str) -> typing.NoReturn:
    print(line, file=sys.stderr)
    raise SystemExit(2) from None
