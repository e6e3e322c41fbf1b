"""The recipe presets: five recipes in order, each naming its paper; every recipe sets the same fields, never a
model size, the steps, the time budget, the batch, the data, the device or the seed, so it combines with every
size; a recipe's changes are named against it; `train --help` lists each recipe with its paper."""

from __future__ import annotations

import pytest

from workbench.cli.main import build_parser
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import PRESETS, ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.recipes import (
    RECIPES,
    apply_recipe,
    describe_recipe,
    recipe_changes,
    recipe_record,
    recipe_text,
)
from workbench.settings.train import TrainConfig

NOT_A_RECIPES = {"model": {"preset", "num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size",
                           "max_position_embeddings"},
                 "masking": {"seed"},
                 "train": {"steps", "time_budget", "batch_size", "device", "precision", "seed", "eval_every",
                           "eval_batches", "checkpoint_every", "log_every"}}


def test_five_recipes_in_order_with_their_papers():
    assert list(RECIPES) == ["bert-2018", "roberta", "cramming", "mosaicbert", "modernbert"]
    assert [r.label for r in RECIPES.values()] == ["BERT (2018)", "RoBERTa", "Cramming", "MosaicBERT-style",
                                                    "ModernBERT-style"]
    assert [r.citation for r in RECIPES.values()] == ["Devlin et al. 2018", "Liu et al. 2019",
                                                       "Geiping & Goldstein 2022", "Portes et al. 2023",
                                                       "Warner et al. 2024"]
    assert all(r.paper in r.tooltip() and r.changes in r.tooltip() for r in RECIPES.values())


def test_every_recipe_sets_the_same_fields_and_no_size_or_budget():
    fields = {group: set(getattr(RECIPES["bert-2018"], group)) for group in ("model", "masking", "train")}
    for recipe in RECIPES.values():
        for group, names in fields.items():
            assert set(getattr(recipe, group)) == names, (recipe.name, group)
            assert not names & NOT_A_RECIPES[group], (recipe.name, group)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("name", RECIPES)
def test_a_recipe_combines_with_every_size_and_keeps_the_users_run(name, preset):
    spec = PretrainSpec(corpus="wiki", name="mine", model=ModelSpec(preset=preset, num_hidden_layers=3,
                                                                    max_position_embeddings=64),
                        train=TrainConfig(steps=77, batch_size=12, time_budget=5.0, device="cpu", seed=9))
    chosen = apply_recipe(spec, name)
    assert chosen.recipe == name
    assert (chosen.corpus, chosen.name, chosen.model.preset, chosen.model.num_hidden_layers,
            chosen.model.max_position_embeddings) == ("wiki", "mine", preset, 3, 64)
    assert (chosen.train.steps, chosen.train.batch_size, chosen.train.time_budget, chosen.train.device,
            chosen.train.seed) == (77, 12, 5.0, "cpu", 9)
    assert chosen.model.config(8000).num_hidden_layers == 3  # a valid model of that size
    assert recipe_changes(chosen) == [] and describe_recipe(chosen) == RECIPES[name].label


def test_the_papers_switches():
    bert, roberta, cramming, mosaic, modern = (apply_recipe(PretrainSpec(), name) for name in RECIPES)
    assert not bert.model.pre_layer_norm and not bert.masking.dynamic and bert.train.adam_betas == (0.9, 0.999)
    assert roberta.masking.dynamic and roberta.train.adam_betas == (0.9, 0.98) and roberta.train.adam_eps == 1e-6
    assert (cramming.model.pre_layer_norm, cramming.model.bias, cramming.model.feed_forward, cramming.model.dropout,
            cramming.train.schedule, cramming.train.grad_clip) == (True, False, "geglu", 0.0, "one-cycle", 0.5)
    assert (mosaic.model.position_embedding_type, mosaic.model.feed_forward, mosaic.masking.mlm_probability,
            mosaic.masking.eval_mlm_probability) == ("alibi", "geglu", 0.3, 0.15)
    config = modern.model.config(8000)
    assert (config.rope_theta, config.local_rope_theta, config.global_attn_every_n_layers, config.linear_bias,
            config.first_attention_norm, modern.train.schedule) == (160000.0, 10000.0, 3, False, False, "wsd")
    assert modern.masking.mlm_probability == 0.3 and modern.masking.eval_mlm_probability == 0.15


def test_switching_recipes_leaves_nothing_of_the_first():
    for first in RECIPES:
        for second in RECIPES:
            assert apply_recipe(apply_recipe(PretrainSpec(), first), second) == apply_recipe(PretrainSpec(), second)


def test_changes_are_named_and_recorded():
    spec = apply_recipe(PretrainSpec(), "cramming")
    spec = spec.replace(model=spec.model.replace(pre_layer_norm=False), train=spec.train.replace(lr=3e-4, steps=9),
                        masking=spec.masking.replace(mlm_probability=0.2))
    assert recipe_changes(spec) == ["pre-ln", "mask-rate", "lr"]  # steps is not the recipe's
    assert describe_recipe(spec) == "Cramming, changed: pre-ln, mask-rate, lr"
    assert recipe_text(recipe_record(spec)) == describe_recipe(spec)
    assert describe_recipe(PretrainSpec()) == "custom" and recipe_record(PretrainSpec()) == {"name": None,
                                                                                             "changed": []}
    assert recipe_text(None) == "custom (recorded before recipes)"
    split = spec.replace(masking=spec.masking.replace(mask_replace_prob=0.7, random_replace_prob=0.2))
    assert recipe_changes(split) == ["pre-ln", "mask-rate", "split", "lr"]  # two shares, one flag
    assert PretrainSpec.from_dict({**spec.to_dict()}) == spec


def test_train_help_lists_each_recipe_with_its_paper(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for recipe in RECIPES.values():
        assert f"{recipe.name}: {recipe.citation}, {recipe.title}" in text
        assert " ".join(recipe.changes.split()) in text


def test_masking_defaults_of_a_recipe_are_valid():
    for recipe in RECIPES.values():
        assert MaskingConfig(**recipe.masking) and TrainConfig(**recipe.train) and ModelSpec(**recipe.model)
