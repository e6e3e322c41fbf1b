"""The settings are the one source: every field is described, checked once when built, refused with the name the
user typed, and the CLI flags and the README table are made from them."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from workbench.cli.main import build_parser
from workbench.cli.settings_args import add_settings, settings_from_args
from workbench.jobs.errors import UserError
from workbench.settings import table
from workbench.settings.base import SettingError, Settings, describe_allowed
from workbench.settings.distill import DistillConfig
from workbench.settings.finetune import FinetuneConfig
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import BertConfig, ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.probe import ProbeConfig
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

GROUPS = (TrainConfig, MaskingConfig, ModelSpec, FinetuneConfig, TokenizerConfig, PretrainSpec, DistillConfig,
          ProbeConfig)
COMMANDS = {TrainConfig: ["train"], MaskingConfig: ["train"], ModelSpec: ["train"], PretrainSpec: ["train"],
            FinetuneConfig: ["finetune"], TokenizerConfig: ["tokenizer", "train"], DistillConfig: ["distill"],
            ProbeConfig: ["probe"]}


def _flags(command: list[str]) -> set[str]:
    parser = build_parser()
    for name in command:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    return {flag for action in parser._actions for flag in action.option_strings}


@pytest.mark.parametrize("cls", GROUPS + (BertConfig,))
def test_every_setting_is_described(cls: type[Settings]) -> None:
    for spec in cls.specs():
        assert spec.meta.help.endswith(".") and spec.meta.label, spec.name
        assert describe_allowed(spec), spec.name


@pytest.mark.parametrize("cls", GROUPS)
def test_the_command_line_offers_every_setting_with_its_own_default(cls: type[Settings]) -> None:
    flags = _flags(COMMANDS[cls])
    for spec in cls.specs():
        if spec.meta.on_cli:
            assert spec.flag in flags, spec.flag
    parser = argparse.ArgumentParser()
    add_settings(parser, cls)
    assert settings_from_args(cls, parser.parse_args([])) == cls()  # argparse holds no defaults of its own


@pytest.mark.parametrize("command", ["probe", "score", "attention", "rank-heads"])
def test_every_command_that_probes_a_model_takes_the_probing_settings(command: str) -> None:
    assert {spec.flag for spec in ProbeConfig.specs()} <= _flags([command])


@pytest.mark.parametrize("cls", GROUPS)
def test_limits_are_checked_when_built_and_name_the_setting(cls: type[Settings]) -> None:
    for spec in cls.specs():
        if spec.kind not in (int, float) or spec.meta.low is None:
            continue
        below = spec.meta.low if spec.meta.low_open else spec.meta.low - 1
        with pytest.raises(SettingError) as err:
            cls(**{spec.name: spec.kind(below)})
        assert err.value.field == spec.name and str(err.value).startswith(f"{spec.name} must be ")
        if spec.meta.high is not None:
            with pytest.raises(SettingError, match=spec.name):
                cls(**{spec.name: spec.kind(spec.meta.high + 1)})


@pytest.mark.parametrize("cls", GROUPS)
def test_round_trip_and_unknown_keys(cls: type[Settings]) -> None:
    assert cls.from_dict(cls().to_dict()) == cls()
    with pytest.raises(SettingError, match="colour is not a"):
        cls.from_dict({"colour": "red"})


def test_wrong_types_are_refused() -> None:
    for cls, values in ((TrainConfig, {"steps": True}), (TrainConfig, {"lr": "fast"}), (MaskingConfig,
                        {"dynamic": "yes"}), (TrainConfig, {"adam_betas": (0.9,)}), (FinetuneConfig, {"head_lr": 0})):
        with pytest.raises(SettingError):
            cls(**values)
    assert FinetuneConfig(head_lr=None).head_lr is None  # None where the setting allows it


def test_cli_errors_name_the_flag_as_typed() -> None:
    parser = argparse.ArgumentParser()
    add_settings(parser, MaskingConfig)
    with pytest.raises(UserError, match="^--mask-rate must be a number from 0.01 to 0.8; got 2.0$"):
        settings_from_args(MaskingConfig, parser.parse_args(["--mask-rate", "2"]))
    parser = argparse.ArgumentParser()
    add_settings(parser, ModelSpec)
    with pytest.raises(UserError, match="^--heads must divide the hidden size 100"):
        settings_from_args(ModelSpec, parser.parse_args(["--hidden", "100", "--heads", "3"]))


def test_a_run_masks_with_its_own_seed() -> None:
    spec = PretrainSpec(masking=MaskingConfig(seed=0), train=TrainConfig(seed=11))
    assert spec.masking.seed == 11
    assert PretrainSpec.from_dict(spec.to_dict()) == spec


def test_model_spec_overrides_and_config() -> None:
    spec = ModelSpec(preset="small", num_hidden_layers=3, max_position_embeddings=96, pre_layer_norm=True)
    assert spec.overrides() == {"num_hidden_layers": 3}
    config = spec.config(vocab_size=500)
    assert (config.num_hidden_layers, config.hidden_size, config.max_position_embeddings) == (3, 256, 96)
    assert config.pre_layer_norm and config.vocab_size == 500
    assert ModelSpec(preset="small", hidden_size=256).overrides() == {}  # the preset's own value overrides nothing


def test_readme_settings_table_is_up_to_date() -> None:
    readme = table.README.read_text(encoding="utf-8")
    assert table.with_table(readme) == readme, "run: python -m workbench.settings.table --write"
    for cls in GROUPS:
        for spec in cls.specs():
            if not (isinstance(spec.kind, type) and issubclass(spec.kind, Settings)):
                assert f"| `{spec.name}` |" in readme


def test_settings_load_without_torch() -> None:
    code = ("import sys, workbench.settings.pretrain, workbench.settings.finetune, workbench.settings.tokenizer, "
            "workbench.settings.table; print(sorted(m for m in ('torch', 'numpy', 'PySide6') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
