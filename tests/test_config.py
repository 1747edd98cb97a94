"""Options declared once (sarhub.config): flat names, typed conversion and checks, saved runs rebuilt the same way
for every task, and every task config's option names unique."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from sarhub.config import (
    IMG_SIZE,
    RunOptions,
    TaskConfig,
    coerce,
    defaults,
    from_flat,
    group,
    identity,
    leaves,
    option,
    replace_flat,
    to_flat,
)
from sarhub.drae import DRAEConfig
from sarhub.errors import ConfigError, WeightsError
from sarhub.pipelines import detection, mim, probe, scene, segmentation, targets

TASK_CONFIGS = [scene.SceneConfig, scene.SceneTestConfig, scene.BaggingConfig, targets.TargetConfig,
                targets.TargetTestConfig, detection.DetectionConfig, detection.DetectionTestConfig,
                segmentation.SegmentationConfig, segmentation.SegmentationTestConfig, mim.MIMConfig,
                probe.ProbeConfig]


@dataclass
class Inner:
    method: str = option("none", "a choice", flag="inner_method", choices=("none", "rd"))
    span: tuple[float, float] = option((0.0, 1.0), "two numbers", flag="inner_span")


@dataclass
class Toy(TaskConfig):
    TASK = "toy"
    SIGNATURE = "size"

    inner: Inner = group(Inner)
    run: RunOptions = group(RunOptions)
    size: int = option(10, "a size", bounds=(1, 100))
    rate: float | None = option(None, "a rate", positive=True)
    tags: list[str] = option(factory=list, help="tags", repeat=True)


def test_leaves_are_flat_names_with_their_paths():
    names = leaves(Toy)
    assert names["inner_method"].path == ("inner", "method") and names["size"].path == ("size",)
    assert names["output"].path == ("run", "output")
    assert defaults(Toy)["inner_span"] == (0.0, 1.0) and defaults(Toy)["tags"] == []


def test_values_are_converted_and_checked_naming_the_setting():
    cfg = from_flat(Toy, {"size": "12", "inner_span": [1, 2], "rate": 3})
    assert (cfg.size, cfg.inner.span, cfg.rate) == (12, (1.0, 2.0), 3.0)
    for values, message in [({"size": 0}, "size: 0 must be between 1 and 100"),
                            ({"size": 1.5}, "expected an integer, got 1.5"),
                            ({"size": "three"}, "expected an integer"),
                            ({"rate": -1}, "rate: -1.0 must be a positive number"),
                            ({"inner_method": "x"}, "'x' is not one of none, rd"),
                            ({"inner_span": [1]}, "expected 2 values"),
                            ({"nonsense": 1}, "nonsense: unknown setting")]:
        with pytest.raises(ConfigError, match=message):
            from_flat(Toy, values)


def test_to_flat_and_back_is_the_same_config():
    cfg = from_flat(Toy, {"size": 5, "tags": ["a", "b"], "inner_method": "rd", "seed": 3})
    assert from_flat(Toy, to_flat(cfg)) == cfg
    assert replace_flat(cfg, size=7).size == 7 and replace_flat(cfg, size=7).inner.method == "rd"


def test_identity_leaves_out_what_may_change_on_resume():
    names = identity(Toy())
    assert "size" in names and "seed" in names and "inner_method" in names
    assert not {"workers", "eval_every", "resume", "device", "output", "accept_changes"} & set(names)


def test_saved_runs_are_rebuilt_with_defaults_for_new_options_and_renamed_ones_translated():
    assert Toy.from_args({"size": 4}).size == 4  # an old run without "task": recognised by its signature
    cfg = Toy().saved(classes=["a"])
    assert cfg["task"] == "toy" and cfg["classes"] == ["a"]
    with pytest.raises(WeightsError, match="not a toy run"):
        Toy.from_args({"task": "object_detection", "size": 4}, "x.pth")
    old = targets.TargetConfig.from_args({"fraction": 0.5, "no_drae": True, "drae_method": "rd", "lr": None,
                                          "dataset": "mstar", "epochs": 3})
    assert old.input.drae.method == "none" and old.data.fraction == 0.5 and old.optim.lr == targets.SGD_LR


@pytest.mark.parametrize("config", TASK_CONFIGS, ids=lambda c: c.__name__)
def test_every_task_option_has_one_flat_name_help_and_a_checked_default(config):
    names = leaves(config)  # raises on a name declared twice
    for name, leaf in names.items():
        assert leaf.meta.get("help") or dataclasses.is_dataclass(leaf.type), f"{config.__name__}.{name} has no help"
        from_flat(config, {name: leaf.default()} if leaf.default() is not None else {})


def test_img_size_has_one_default():
    assert targets.TargetConfig().input.img_size == scene.SceneConfig().input.img_size == IMG_SIZE
    assert probe.ProbeConfig().input.img_size == mim.MIMConfig().img_size == IMG_SIZE


def test_drae_settings_have_one_type():
    from sarhub.preprocess import InputOptions

    assert isinstance(targets.TargetConfig().input.drae, DRAEConfig)
    assert leaves(InputOptions)["drae_range"].path == ("drae", "train_range")


def test_coerce_parses_command_line_text():
    assert coerce("true", bool) is True and coerce("3", int | None) == 3 and coerce(None, int | None) is None
    assert coerce(["1", "2"], list[int]) == [1, 2] and coerce("x", list[str]) == ["x"]
    with pytest.raises(ValueError):
        coerce("2.5", int)
