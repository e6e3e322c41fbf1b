"""The Train panel's "Copy command": the line that `train_command` writes, parsed by the real CLI parser, gives back
the spec it was made from, one changed setting at a time (every setting the CLI takes) and all at once; with
several processes it is torchrun's line around the same arguments. A spec made from a recipe is `--recipe NAME`
and the flags of what was changed after it, including a change back to the plain default (`--no-pre-ln`)."""

from __future__ import annotations

import shlex
from dataclasses import replace

import pytest

from workbench.cli.launch import launch_config
from workbench.cli.main import build_parser
from workbench.cli.train_cmd import spec_from_args
from workbench.paths import HOME_ENV
from workbench.settings.launch import LaunchConfig
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.recipes import RECIPES, apply_recipe
from workbench.settings.train import TrainConfig
from workbench.settings.command_line import train_arguments, train_command

# One value other than the default for every setting the command line takes: a new setting fails
# test_every_setting_has_a_value_here until it is added, and so gets its round trip tested.
OTHER = {
    PretrainSpec: {"corpus": "my corpus", "tokenizer_id": 3, "val_fraction": 0.05, "name": "it's \"mine\"",
                   "recipe": "cramming"},
    ModelSpec: {"preset": "mini", "num_hidden_layers": 3, "hidden_size": 96, "num_attention_heads": 4,
                "intermediate_size": 200, "max_position_embeddings": 64, "pre_layer_norm": True, "dropout": 0.0,
                "position_embedding_type": "rope", "rope_theta": 160000.0, "local_rope_theta": 5000.0,
                "feed_forward": "swiglu", "glu_size": "same-width", "bias": False, "local_attention": 32,
                "global_attn_every_n_layers": 2, "first_attention_norm": False, "type_vocab_size": 0},
    MaskingConfig: {"mlm_probability": 0.3, "strategy": "span", "span_geometric_p": 0.35, "span_max_length": 4,
                    "dynamic": False, "rate_schedule": "30,15,5", "schedule_shape": "linear",
                    "eval_mlm_probability": 0.2},
    TrainConfig: {"steps": 250, "batch_size": 12, "lr": 3e-4, "warmup_steps": 0, "schedule": "cosine", "decay_fraction": 0.1,
                  "weight_decay": 0.1, "adam_betas": (0.85, 0.98), "adam_eps": 1e-8, "grad_clip": 0.0,
                  "grad_accum": 4, "eval_every": 0, "eval_batches": 7, "checkpoint_every": 0, "device": "cpu",
                  "precision": "bf16", "seed": 2**40, "log_every": 1, "time_budget": 2.5, "objective": "electra",
                  "generator_hidden_size": 0.5, "disc_weight": 20.0},
}
NESTED = {ModelSpec: "model", MaskingConfig: "masking", TrainConfig: "train"}


def parse(line: str) -> PretrainSpec:
    words = shlex.split(line)
    assert words[0] == "mlm-workbench"
    return spec_from_args(build_parser().parse_args(words[1:]))


def with_setting(cls: type, name: str, value: object) -> PretrainSpec:
    if name == "recipe":  # a recipe chosen sets its values
        return apply_recipe(PretrainSpec(), value)
    if cls is PretrainSpec:
        return PretrainSpec(**{name: value})
    return PretrainSpec(**{NESTED[cls]: cls(**{name: value})})


def test_every_setting_has_a_value_here():
    for cls, values in OTHER.items():
        cli_settings = {spec.name for spec in cls.specs() if spec.meta.on_cli}
        assert set(values) == cli_settings, cls.__name__
        assert all(values[spec.name] != spec.default for spec in cls.specs() if spec.name in values)


@pytest.mark.parametrize("cls, name", [(cls, name) for cls, values in OTHER.items() for name in values])
def test_one_changed_setting_round_trips(cls, name):
    spec = with_setting(cls, name, OTHER[cls][name])
    line = train_command(spec, home="/data/my home")
    assert parse(line) == spec, line
    assert len(train_arguments(spec)) <= 4  # "train" and the one flag with its value(s)


def test_everything_changed_at_once_round_trips_and_the_defaults_give_a_bare_line():
    masking = MaskingConfig(**OTHER[MaskingConfig]).replace(mask_replace_prob=0.7, random_replace_prob=0.2)
    spec = PretrainSpec(**OTHER[PretrainSpec], model=ModelSpec(**OTHER[ModelSpec]), masking=masking,
                        train=TrainConfig(**OTHER[TrainConfig]))
    line = train_command(spec)
    assert "--split 70,20,10" in line
    back = parse(line)
    assert back.masking.mask_replace_prob == pytest.approx(0.7) and back.masking.random_replace_prob == \
        pytest.approx(0.2)
    assert replace(back, masking=spec.masking) == spec
    assert train_command(PretrainSpec()) == "mlm-workbench train"
    assert train_command(PretrainSpec(), home="/h") == "mlm-workbench --home /h train"


def test_several_processes_give_torchrun_around_the_same_arguments():
    spec = PretrainSpec(name="ddp run", train=TrainConfig(steps=40, batch_size=16, device="cpu"))
    launch = LaunchConfig(nproc=4, shard=True, dist_timeout=60.0)
    line = train_command(spec, home="/data/my home", launch=launch)
    words = shlex.split(line)
    assert words[:6] == [f"{HOME_ENV}=/data/my home", "torchrun", "--standalone", "--nproc-per-node=4", "-m",
                         "workbench"]
    assert words[6:] == [*train_arguments(spec), "--dist-timeout", "60.0", "--shard"]
    args = build_parser().parse_args(words[6:])
    assert spec_from_args(args) == spec and launch_config(args) == launch.replace(nproc=1)


RECIPE_CHANGES = [(recipe, group, name, value) for recipe in RECIPES.values()
                  for group in ("model", "masking", "train") for name, value in getattr(recipe, group).items()]


@pytest.mark.parametrize("recipe, group, name, value", RECIPE_CHANGES,
                         ids=[f"{r.name}-{name}" for r, _, name, _ in RECIPE_CHANGES])
def test_a_recipe_field_set_back_to_the_plain_default_round_trips(recipe, group, name, value):
    """Each recipe field, after choosing the recipe, set to the plain default (or, where the recipe keeps that,
    to another value): the line names the recipe and that one change, and parses back to the same spec."""
    spec = apply_recipe(PretrainSpec(), recipe.name)
    config = getattr(spec, group)
    default = type(config).spec(name).default
    other = default if value != default else OTHER.get(type(config), {}).get(name)
    if other is None or name in ("mask_replace_prob", "random_replace_prob"):  # --split: tested below
        pytest.skip("no other value to set on the command line")
    changed = replace(spec, **{group: config.replace(**{name: other})})
    line = train_command(changed)
    assert parse(line) == changed, line
    assert train_arguments(changed)[:3] == ["train", "--recipe", recipe.name]
    assert len(train_arguments(changed)) <= 6, line  # the recipe and the one change (two words, or three: betas)


@pytest.mark.parametrize("name", RECIPES)
def test_a_recipe_is_one_flag_and_later_changes_follow_it(name):
    spec = apply_recipe(PretrainSpec(), name)
    assert train_arguments(spec) == ["train", "--recipe", name]
    assert parse(train_command(spec)) == spec
    changed = replace(spec, model=spec.model.replace(preset="mini", pre_layer_norm=False, bias=True),
                      masking=spec.masking.replace(mask_replace_prob=0.5, random_replace_prob=0.25),
                      train=spec.train.replace(steps=40, lr=2e-3, adam_betas=(0.9, 0.999), time_budget=3.0))
    back = parse(train_command(changed))
    assert back.masking.mask_replace_prob == pytest.approx(0.5)
    assert replace(back, masking=changed.masking) == changed


def test_flags_override_a_recipe_and_the_recipe_fills_the_rest():
    args = build_parser().parse_args(["train", "--recipe", "cramming", "--lr", "3e-4", "--no-pre-ln", "--preset",
                                      "mini", "--steps", "50"])
    spec = spec_from_args(args)
    assert spec.recipe == "cramming" and spec.train.lr == 3e-4 and not spec.model.pre_layer_norm
    assert (spec.model.preset, spec.train.steps) == ("mini", 50)
    assert (spec.model.bias, spec.model.feed_forward, spec.train.schedule, spec.train.grad_clip) == \
        (False, "geglu", "one-cycle", 0.5)
    assert spec_from_args(build_parser().parse_args(["train"])).recipe is None
