"""The generated command line (sarhub.cli): one precedence rule, abbreviations refused, recipes as package data,
`--help` from the declarations, one line per bad setting; and no option declared outside its dataclass."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from sarhub.bench import BenchConfig
from sarhub.cli import build_parser, config_from, parse_config, recipe_files, run_main
from sarhub.config import leaves
from sarhub.drae import PAPER_DRAE
from sarhub.errors import ConfigError
from sarhub.hub_tools import COMMANDS
from sarhub.pipelines import detection, explain, fusion, mim, probe, scene, segmentation, targets

REPO = Path(__file__).resolve().parents[1]
TASKS = [scene.SceneConfig, targets.TargetConfig, detection.DetectionConfig, segmentation.SegmentationConfig,
         mim.MIMConfig, probe.ProbeConfig, fusion.FusionConfig]


def test_precedence_dataclass_dataset_recipe_simulator_config_file_command_line(tmp_path):
    """dataclass < <dataset>.yaml < simulator.yaml (no data root) < --config < command line."""
    real = parse_config(detection.DetectionConfig, ["--data-root", "x", "--dataset", "hrsid"])
    assert (real.optim.epochs, real.min_size) == (36, 800)  # the hrsid recipe over the dataclass
    sim = parse_config(detection.DetectionConfig, [])
    assert (sim.optim.epochs, sim.min_size, sim.optim.lr_steps) == (16, 128, [12, 15])  # simulator recipe
    (tmp_path / "mine.yaml").write_text("epochs: 3\nmin_size: 96\n")
    own = parse_config(detection.DetectionConfig, ["--config", str(tmp_path / "mine.yaml")])
    assert (own.optim.epochs, own.min_size, own.optim.batch_size) == (3, 96, 8)  # --config over the simulator
    cli = parse_config(detection.DetectionConfig, ["--config", str(tmp_path / "mine.yaml"), "--epochs", "5"])
    assert cli.optim.epochs == 5  # the command line over everything
    assert parse_config(targets.TargetConfig, ["--config", "mstar_fast"]).optim.schedule == "onecycle"  # recipe name


def test_a_config_file_with_a_data_root_is_not_a_simulator_run(tmp_path):
    (tmp_path / "real.yaml").write_text(f"data_root: {tmp_path}\ndataset: ssdd\n")
    cfg = parse_config(detection.DetectionConfig, ["--config", str(tmp_path / "real.yaml")])
    assert (cfg.data.dataset, cfg.optim.epochs, cfg.min_size) == ("ssdd", 36, 384)  # ssdd.yaml, no simulator


def test_abbreviated_flags_are_refused_not_silently_replaced(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_config(targets.TargetConfig, ["--epoch", "3"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --epoch 3" in err and "usage" not in err


def test_bad_values_and_files_are_one_config_error_naming_the_setting(tmp_path):
    for argv, message in [(["--epochs", "0"], "epochs: 0 must be at least 1"),
                          (["--model", "resnet7"], "unknown backbone 'resnet7'"),
                          (["--overwrite", "--resume", "auto"], "contradict")]:
        with pytest.raises(ConfigError, match=message):
            parse_config(targets.TargetConfig, argv)
    bad = tmp_path / "bad.yaml"
    for text, message in [("- a\n- b\n", "must be a mapping"), ("epochs: [\n", "not valid YAML at line"),
                          ("nonsense: 1\n", "unknown setting 'nonsense'"), ("epochs: three\n", "expected an integer"),
                          ("epochs: 1.5\n", "expected an integer, got 1.5")]:
        bad.write_text(text)
        with pytest.raises(ConfigError, match=message):
            parse_config(targets.TargetConfig, ["--config", str(bad)])
    with pytest.raises(ConfigError, match="no such file, and not a recipe"):
        parse_config(targets.TargetConfig, ["--config", "missing"])


def test_run_main_prints_one_line_and_exit_2_for_a_config_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_main(lambda: parse_config(targets.TargetConfig, ["--momentum", "-5"]))
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and err == ["error: momentum: -5.0 must be between 0.0 and 1.0"]


def test_ctrl_c_is_one_line_saying_how_to_resume(capsys):
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as exit_info:
        run_main(interrupted)
    assert exit_info.value.code == 130 and "--resume auto" in capsys.readouterr().err


def test_lists_take_spaces_or_commas_and_repeatable_options_accumulate():
    cfg = parse_config(probe.ProbeConfig, ["--shots", "1,5", "10"])
    assert cfg.shots == [1, 5, 10]
    kp = parse_config(explain.KPConfig, ["--checkpoint", "a=x.pth", "--checkpoint", "b=y.pth", "--b", "0.3,0.4"])
    assert kp.checkpoint == ["a=x.pth", "b=y.pth"] and kp.b == [0.3, 0.4]


def test_config_from_builds_what_the_command_line_would():
    assert config_from(targets.TargetConfig, {"epochs": 4, "data_root": "x"}) == \
        parse_config(targets.TargetConfig, ["--epochs", "4", "--data-root", "x"])


@pytest.mark.parametrize("config", TASKS, ids=lambda c: c.__name__)
def test_help_lists_every_option_with_its_default(config, capsys):
    with pytest.raises(SystemExit):
        build_parser(config).parse_args(["--help"])
    text = capsys.readouterr().out
    for name in leaves(config):
        assert f"--{name.replace('_', '-')}" in text


@pytest.mark.parametrize("config", [*TASKS, *COMMANDS.values(), BenchConfig, fusion.LinearEvalConfig,
                                    fusion.UnsupervisedConfig, fusion.RetrievalConfig, explain.KPConfig],
                         ids=lambda c: c.__name__)
def test_every_parser_prints_its_help(config, capsys):
    """A help text holding '%' (e.g. "50 %") used to crash argparse's help formatting."""
    with pytest.raises(SystemExit) as exit_info:
        build_parser(config).parse_args(["--help"])
    assert exit_info.value.code == 0 and "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("config", TASKS, ids=lambda c: c.__name__)
def test_recipes_are_package_data_naming_only_known_options(config):
    files = recipe_files(config)
    if config.RECIPES and config is not probe.ProbeConfig:
        assert "simulator" in {p.stem for p in files}
    for path in files:
        keys = {k.replace("-", "_") for k in (yaml.safe_load(path.read_text()) or {})}
        assert keys <= set(leaves(config)), (path, keys - set(leaves(config)))


def test_paper_drae_settings_have_one_source():
    """The DRAE ranges of the paper (sarhub.drae.PAPER_DRAE) are those the scene recipes train with."""
    for name, cfg in PAPER_DRAE.items():
        run = config_from(scene.SceneConfig, {"dataset": name, "data_root": "x"})
        assert run.input.drae == cfg


def test_no_option_is_declared_outside_its_dataclass():
    """Every parser comes from `build_parser`: no argparse add_argument anywhere but in sarhub/cli.py."""
    offenders = []
    for path in [*REPO.glob("sarhub/**/*.py"), *REPO.glob("*/*.py"), *REPO.glob("benchmarks/*.py")]:
        if path.name == "cli.py" and path.parent.name == "sarhub" or "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("add_argument", "_actions", "_option_string_actions"):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []
