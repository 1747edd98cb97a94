"""The CLI's config precedence, in-process: config dataclass < configs/<dataset>.yaml < configs/simulator.yaml
(only without --data-root) < command line; and the parsers take their defaults from the config dataclasses."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from sarhub.cli import RunConfig, common_parser, config_defaults, parse_args, use_defaults
from sarhub.pipelines import detection, fusion, mim, scene, segmentation, targets

REPO = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class Toy(RunConfig):
    dataset: str = "a"
    size: int = 10


def toy_parser():
    p = common_parser("toy")
    p.add_argument("--dataset")
    p.add_argument("--size", type=int)
    return use_defaults(p, Toy)


def test_layers_of_defaults(tmp_path):
    (tmp_path / "a.yaml").write_text("size: 20\nepochs: 7\n")
    (tmp_path / "simulator.yaml").write_text("size: 30\n")
    real = parse_args(toy_parser(), ["--data-root", "d"], tmp_path)
    assert (real.size, real.epochs) == (20, 7)  # the dataset's YAML over the dataclass, simulator file unused
    sim = parse_args(toy_parser(), [], tmp_path)
    assert (sim.size, sim.epochs) == (30, 7)  # no --data-root: simulator.yaml over the YAML
    cli = parse_args(toy_parser(), ["--size", "40"], tmp_path)
    assert cli.size == 40  # the command line over everything
    bare = parse_args(toy_parser(), ["--data-root", "d", "--dataset", "b"], tmp_path)
    assert (bare.size, bare.epochs, bare.workers) == (10, None, 2)  # no b.yaml: the dataclass defaults


def test_unknown_yaml_key_is_a_parse_error(tmp_path):
    (tmp_path / "a.yaml").write_text("nonsense: 1\n")
    with pytest.raises(SystemExit):
        parse_args(toy_parser(), ["--data-root", "d"], tmp_path)


@pytest.mark.parametrize("module, config", [(scene, scene.SceneConfig), (targets, targets.TargetConfig),
                                            (detection, detection.DetectionConfig),
                                            (segmentation, segmentation.SegmentationConfig),
                                            (mim, mim.MIMConfig), (fusion, fusion.FusionConfig)])
def test_parser_defaults_are_the_config_dataclass(module, config):
    parser = module.get_parser()
    dests = {a.dest: a.default for a in parser._actions if a.dest != "help"}
    assert set(dests) == {f.name for f in dataclasses.fields(config)}  # one field per option, no more, no less
    assert dests == config_defaults(config)
    assert "resnet18, resnet50" in parser.format_help()  # --help lists the valid --model names


@pytest.mark.parametrize("task", ["SAR_scene_classification", "target_recognition", "object_detection",
                                  "semantic_segmentation", "sar_optical"])
def test_config_files_name_only_known_options(task):
    from sarhub.pipelines import detection, fusion, scene, segmentation, targets

    module = {"SAR_scene_classification": scene, "target_recognition": targets, "object_detection": detection,
              "semantic_segmentation": segmentation, "sar_optical": fusion}[task]
    known = {a.dest for a in module.get_parser()._actions}
    for path in (REPO / task / "configs").glob("*.yaml"):
        keys = {k.replace("-", "_") for k in (yaml.safe_load(path.read_text()) or {})}
        assert keys <= known, (path, keys - known)
    assert (REPO / task / "configs" / "simulator.yaml").is_file()


def test_paper_drae_settings_have_one_source():
    """The DRAE ranges of the paper (sarhub.drae.PAPER_DRAE) are those the scene configs train with."""
    from sarhub.drae import PAPER_DRAE

    for name, cfg in PAPER_DRAE.items():
        values = yaml.safe_load((REPO / "SAR_scene_classification" / "configs" / f"{name}.yaml").read_text())
        assert (values["drae_method"], tuple(values["drae_range"]), values["drae_test"]) == \
            (cfg.method, tuple(cfg.train_range), cfg.test_value)


def test_simulator_defaults_apply_only_without_data_root():
    cfg = detection.parse([], REPO / "object_detection" / "configs")
    assert (cfg.dataset, cfg.epochs, cfg.min_size, cfg.lr_steps) == ("simulated", 16, 128, [12, 15])
    real = detection.parse(["--data-root", "x", "--dataset", "hrsid"], REPO / "object_detection" / "configs")
    assert (real.epochs, real.min_size, real.lr, real.batch_size) == (36, 800, 0.005, 4)
