"""Typed run configuration, declared once.

Every option is a dataclass field made with `option(...)`: its type (the annotation), default, help, choices,
bounds and command-line name live there and nowhere else. Groups of options are nested dataclasses (`group(...)`):
a task config holds a `ModelOptions`, a `RunOptions`, a `DRAEConfig`… and the library takes those typed pieces.
Every leaf has one flat name (its `flag`, else its field name): the command-line flag (`--drae-range`), the YAML
key (`drae_range:`) and the `args.json` key are that name, so a config file, a command and a saved run speak the
same language. `sarhub.cli` generates the parsers from these declarations; nothing here knows about argparse.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import MISSING, dataclass
from functools import cache
from typing import Any, Callable, ClassVar, Mapping, TypeVar

from sarhub.errors import ConfigError, WeightsError

T = TypeVar("T")

IMG_SIZE = 128  # the paper's classification input side (TSX patches resized to 128); every config's default


def option(default: Any = MISSING, help: str = "", *, factory: Callable[[], Any] | None = None,
           flag: str | None = None, choices: tuple | None = None, metavar: str | None = None,
           bounds: tuple[float | None, float | None] | None = None, positive: bool = False,
           repeat: bool = False, required: bool = False, resumable: bool = False, positional: bool = False) -> Any:
    """One option. `flag`: its flat name when the field name is not (e.g. `method` of DRAE is `drae_method`);
    `bounds` (low, high), inclusive, None for open; `positive`: finite and > 0; `repeat`: a list given by
    repeating the flag (`--data A --data B`) instead of one flag with several values; `required`: no run without
    it (set on the command line or in a config file); `resumable`: may change when a run resumes (everything else
    is the run's identity, checked against its args.json); `positional`: given without a flag (`show NAME`)."""
    meta = {"help": help, "flag": flag, "choices": choices, "metavar": metavar, "bounds": bounds,
            "positive": positive, "repeat": repeat, "required": required, "resumable": resumable,
            "positional": positional}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def group(cls: type) -> Any:
    """A nested group of options (its own dataclass); its leaves keep their flat names."""
    return dataclasses.field(default_factory=cls, metadata={"group": True})


@dataclass(frozen=True)
class Leaf:
    """One option of a config tree: where it lives (`path` of field names) and how it is declared."""

    name: str  # the flat name: flag without dashes, YAML key, args.json key
    path: tuple[str, ...]
    type: Any
    field: dataclasses.Field

    @property
    def meta(self) -> Mapping[str, Any]:
        return self.field.metadata

    def default(self) -> Any:
        if self.field.default is not MISSING:
            return self.field.default
        if self.field.default_factory is not MISSING:
            return self.field.default_factory()
        return None


@cache
def leaves(cls: type) -> dict[str, Leaf]:
    """Flat name -> Leaf of every option of a config class, groups walked depth-first in declaration order. Two
    leaves with one flat name are a declaration error."""
    out: dict[str, Leaf] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("group"):
            for name, leaf in leaves(hints[f.name]).items():
                _add(out, Leaf(name, (f.name, *leaf.path), leaf.type, leaf.field), cls)
        elif f.init:
            _add(out, Leaf(f.metadata.get("flag") or f.name, (f.name,), hints[f.name], f), cls)
    return out


def _add(out: dict[str, Leaf], leaf: Leaf, cls: type) -> None:
    if leaf.name in out:
        raise TypeError(f"{cls.__name__}: option {leaf.name!r} is declared twice ({'.'.join(out[leaf.name].path)} "
                        f"and {'.'.join(leaf.path)})")
    out[leaf.name] = leaf


def is_group(cls: Any) -> bool:
    return dataclasses.is_dataclass(cls) and isinstance(cls, type)


def defaults(cls: type) -> dict[str, Any]:
    """Flat name -> declared default of every option."""
    return {name: leaf.default() for name, leaf in leaves(cls).items()}


def to_flat(cfg: Any) -> dict[str, Any]:
    """Flat name -> value of every option of a config instance (what args.json stores)."""
    out = {}
    for name, leaf in leaves(type(cfg)).items():
        value = cfg
        for part in leaf.path:
            value = getattr(value, part)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def from_flat(cls: type[T], values: Mapping[str, Any], source: str = "") -> T:
    """Build a config from flat values (missing ones take their defaults), each checked against its declaration:
    type, choices, bounds. An unknown name is a ConfigError naming it; `source` says where the values came from."""
    known = leaves(cls)
    unknown = sorted(set(values) - set(known))
    if unknown:
        where = f"{source}: " if source else ""
        raise ConfigError(unknown[0], f"{where}unknown setting (known: {', '.join(sorted(known))})")
    return from_flat_checked(cls, {name: check(known[name], value, source) for name, value in values.items()})


def from_flat_checked(cls: type[T], values: Mapping[str, Any]) -> T:
    """The config of values already checked (`check`), groups built recursively."""
    kwargs = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("group"):
            sub = hints[f.name]
            kwargs[f.name] = from_flat_checked(sub, {n: values[n] for n in leaves(sub) if n in values})
        elif f.init:
            name = f.metadata.get("flag") or f.name
            if name in values:
                kwargs[f.name] = values[name]
    return cls(**kwargs)


def replace_flat(cfg: T, **values: Any) -> T:
    """A copy of `cfg` with some options changed by flat name (checked as `from_flat` checks them)."""
    return from_flat(type(cfg), {**to_flat(cfg), **values})


def check(leaf: Leaf, value: Any, source: str = "") -> Any:
    """`value` converted to the leaf's type and checked against its choices and bounds; ConfigError naming the
    setting otherwise."""
    where = f"{source}: " if source else ""
    try:
        value = coerce(value, leaf.type)
    except (TypeError, ValueError) as exc:
        raise ConfigError(leaf.name, f"{where}{exc}") from None
    if value is None:
        return value
    items = value if isinstance(value, (list, tuple)) else [value]
    choices = leaf.meta.get("choices")
    for item in items:
        if choices and item not in choices:
            raise ConfigError(leaf.name, f"{where}{item!r} is not one of {', '.join(map(str, choices))}")
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            _check_number(leaf, item, where)
    return value


def _check_number(leaf: Leaf, value: float, where: str) -> None:
    if leaf.meta.get("positive") and not (math.isfinite(value) and value > 0):
        raise ConfigError(leaf.name, f"{where}{value} must be a positive number")
    bounds = leaf.meta.get("bounds")
    if bounds is None:
        return
    lo, hi = bounds
    if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(leaf.name, f"{where}{value} must be " + (f"at least {lo}" if hi is None else
                                                                   f"at most {hi}" if lo is None else
                                                                   f"between {lo} and {hi}"))


def coerce(value: Any, tp: Any) -> Any:
    """`value` as type `tp` (int, float, str, bool, Optional, list[X], tuple[X, ...]); TypeError/ValueError with a
    short reason otherwise. Strings are parsed for numbers (command-line values); fractions never become ints."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(value, inner[0])
    if value is None:
        raise ValueError("must be set (got nothing)")
    if origin in (list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            value = [value]
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ValueError(f"expected {len(args)} values, got {len(value)}")
            return tuple(coerce(v, a) for v, a in zip(value, args))
        item = args[0] if args else Any
        out = [coerce(v, item) for v in value]
        return tuple(out) if origin is tuple else out
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        raise ValueError(f"expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ValueError(f"expected an integer, got {value!r}")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"expected an integer, got {value!r}")
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise ValueError(f"expected an integer, got {value!r}") from None
        if isinstance(value, int):
            return value
        raise ValueError(f"expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"expected a number, got {value!r}") from None
        raise ValueError(f"expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"expected text, got {value!r}")
        return str(value)
    raise TypeError(f"options of type {tp} are not supported")


@dataclass
class RunOptions:
    """Where and how a run executes: the options every training script shares, read by the engine."""

    output: str | None = option(None, "run folder for checkpoints and logs (None: the task's runs/<name>)",
                                resumable=True)
    seed: int = option(0, "fixes everything random: initial weights, heads, data order, augmentation",
                       bounds=(0, 2**32 - 1))
    device: str = option("auto", "auto, cpu, cuda or cuda:N", resumable=True)
    workers: int = option(2, "DataLoader worker processes (results do not depend on it)", bounds=(0, 256),
                          resumable=True)
    amp: bool = option(False, "bf16 autocast: on CUDA, and on CPUs with bf16 instructions (AVX-512-BF16/AMX)")
    channels_last: bool | None = option(None, "channels_last memory format (None: on for CUDA)", resumable=True)
    resume: str | None = option(None, "checkpoint to resume, or 'auto' (the output folder's last)", resumable=True)
    overwrite: bool = option(False, "replace a previous run in the output folder (kept in <output>/.previous until "
                                    "the new run's first checkpoint)", resumable=True)
    accept_changes: bool = option(False, "resume although settings differ from the run's args.json (recorded there)",
                                  resumable=True)
    save_every: int = option(0, "also keep a checkpoint every N epochs", bounds=(0, None), resumable=True)
    eval_every: int = option(1, "evaluate every N epochs (and after the last)", bounds=(1, None), resumable=True)
    tensorboard: bool = option(False, "also log to <output>/tensorboard (needs tensorboard)", resumable=True)
    early_stop: int = option(0, "end the run after N evaluations without a new best of the selecting metric "
                                "(0: never)", bounds=(0, None), metavar="N", resumable=True)

    def __post_init__(self) -> None:
        if self.overwrite and self.resume:
            raise ConfigError("overwrite", "overwrite and resume contradict each other: choose one")


@dataclass
class OptimOptions:
    """The optimisation options every training run has. None takes the task's default (its optimiser class's
    `DEFAULTS`, filled in by `resolve` from the task config's `__post_init__`; a recipe or the command line set
    them); tasks extend this with their schedule's options."""

    DEFAULTS: ClassVar[dict[str, Any]] = {}

    epochs: int | None = option(None, "training epochs (None: the task's)", bounds=(1, None), resumable=True)
    batch_size: int | None = option(None, "per process (None: the task's)", bounds=(1, None))
    lr: float | None = option(None, "learning rate, the peak of a schedule (None: the task's)", positive=True)
    weight_decay: float | None = option(None, "weight decay, none on norms and biases (None: the task's)",
                                        bounds=(0.0, None))

    def resolve(self, **derived: Any) -> None:
        """Fill every option left None: `derived` values first (they depend on other settings), then DEFAULTS."""
        for name, value in {**self.DEFAULTS, **derived}.items():
            if getattr(self, name) is None:
                setattr(self, name, value)


@dataclass
class TestOptions:
    """What every task's test step shares: the checkpoint, where its data is now, and the results table."""

    checkpoint: str | None = option(None, "a checkpoint written by the task's training", required=True)
    data_root: str | None = option(None, "the data folder now (default: the one the run trained on)")
    init: str | None = option(None, "label of the initialisation in the table (IMG, OPT, TSX, scratch, …; default: "
                                    "from the run's weights)")
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    results: str = option("results", "results table path without extension (.md and .csv)")
    append: bool = option(True, "append the row to the results table (--no-append: print only)")


def identity(cfg: Any) -> tuple[str, ...]:
    """Flat names of the options that fix a run's result (not `resumable`): compared with args.json on resume."""
    return tuple(name for name, leaf in leaves(type(cfg)).items() if not leaf.meta.get("resumable"))


# Options renamed since runs were saved: old name -> (new name, value map)
LEGACY = {"no_drae": ("drae_method", lambda v: "none" if v else None), "no_aux": ("aux", lambda v: not v),
          "no_cache_targets": ("cache_targets", lambda v: not v)}


def upgrade(args: Mapping[str, Any]) -> dict[str, Any]:
    """Saved arguments with renamed options translated to today's names."""
    values = dict(args)
    for old, (new, convert) in LEGACY.items():
        if old in values:
            value = convert(values.pop(old))
            if value is not None:
                values[new] = value
    return values


class TaskConfig:
    """Mixin of a task's top-level config: the task's name in args.json, its packaged recipes, and rebuilding a
    saved run (`from_args`) the same way for every task."""

    TASK: ClassVar[str] = ""
    RECIPES: ClassVar[str | None] = None  # folder of sarhub/recipes with this task's YAML recipes
    SIGNATURE: ClassVar[str] = ""  # an option only this task's runs saved (runs saved before "task" was recorded)

    def __init_subclass__(cls, task: str | None = None, recipes: str | None = None, signature: str | None = None,
                          **kwargs: Any) -> None:
        """`class XConfig(TaskConfig, task=..., recipes=..., signature=...)` names a task where it is declared."""
        super().__init_subclass__(**kwargs)
        cls.TASK = task if task is not None else cls.TASK
        cls.RECIPES = recipes if recipes is not None else cls.RECIPES
        cls.SIGNATURE = signature if signature is not None else cls.SIGNATURE

    @classmethod
    def from_args(cls: type[T], args: Mapping[str, Any], where: Any = None) -> T:
        """The config a run was saved with (its checkpoint's or args.json's values): options added since take
        their defaults, renamed ones are translated, the run's other facts (classes, statistics) are ignored."""
        task = args.get("task")
        if (task is not None and task != cls.TASK) or (task is None and cls.SIGNATURE not in args):
            raise WeightsError(where, f"not a {cls.TASK} run (its saved arguments are "
                                      f"{'of ' + task if task else 'of another task'})")
        values = upgrade(args)
        known = leaves(cls)
        values = {k: v for k, v in values.items() if k in known and not (v is None and not _optional(known[k]))}
        try:
            return from_flat(cls, values)
        except ConfigError as exc:
            raise WeightsError(where, f"its saved settings no longer parse ({exc})") from None

    def saved(self, **facts: Any) -> dict[str, Any]:
        """What a run's args.json holds: the task, every option as it ran, and the run's facts."""
        return {"task": self.TASK, **to_flat(self), **facts}


def _optional(leaf: Leaf) -> bool:
    return type(None) in typing.get_args(leaf.type)
