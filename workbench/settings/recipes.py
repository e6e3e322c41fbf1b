"""Training recipes from the papers, one choice each: the model options, masking and optimiser settings that
BERT (2018), RoBERTa, Cramming, MosaicBERT and ModernBERT chose, set together on a `PretrainSpec`.

A recipe is a set of field values over the model, masking and training settings. It never sets the model's
size (preset, layers, hidden, heads, feed-forward size, max length), the step count, the time budget, the batch
size, the data, the device, the precision or the seed, so every recipe combines with every size from tiny to
large. Each recipe sets the same fields (`RECIPE_FIELDS`): choosing one after another leaves nothing of the
first behind. Values the papers give for their base models at batch sizes of 256 to 8,192 are kept as they are
(peak learning rates, betas); docs/recipes.md has the table of each paper's value, ours, and what is missing.

`apply_recipe(spec, name)` sets a recipe's values and records its name in `spec.recipe`; `recipe_changes(spec)`
names the recipe fields a user changed afterwards ("Cramming, changed: lr, pre-LN").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

from workbench.settings.masking import MaskingConfig
from workbench.settings.model import ModelSpec
from workbench.settings.train import TrainConfig

if TYPE_CHECKING:  # pretrain.py imports this module for the names its `recipe` setting allows
    from workbench.settings.pretrain import PretrainSpec


@dataclass(frozen=True)
class Recipe:
    """One paper's recipe: its CLI name, its label in the window, the paper, and the field values it sets."""

    name: str  # the CLI's name: bert-2018, roberta, cramming, mosaicbert, modernbert
    label: str  # the window's name: "BERT (2018)", "Cramming"
    paper: str  # authors, year, title
    changes: str  # one plain line: what it changes against BERT (2018)
    model: Mapping[str, Any]  # ModelSpec fields
    masking: Mapping[str, Any]  # MaskingConfig fields
    train: Mapping[str, Any]  # TrainConfig fields

    @property
    def citation(self) -> str:
        """The paper in short: "Devlin et al. 2018", "Geiping & Goldstein 2022"."""
        authors, year = re.match(r"(.*?) (\d{4}),", self.paper).groups()
        names = re.split(r", | & ", authors)
        return f"{' & '.join(names)} {year}" if len(names) <= 2 else f"{names[0]} et al. {year}"

    @property
    def title(self) -> str:
        """The paper's title."""
        return re.match(r".*? \d{4}, (.*)", self.paper).group(1)

    def tooltip(self) -> str:
        """The paper and what the recipe changes: the window's tooltip, the CLI's help line."""
        return f"{self.paper}. {self.changes}"


# BERT (2018)'s value of every field a recipe sets; each recipe starts from these.
_BERT_MODEL = dict(pre_layer_norm=False, first_attention_norm=True, dropout=0.1, position_embedding_type="absolute",
                   rope_theta=10000.0, local_rope_theta=10000.0, feed_forward="mlp", glu_size="same-parameters",
                   bias=True, local_attention=0, global_attn_every_n_layers=3, type_vocab_size=2)
_BERT_MASKING = dict(mlm_probability=0.15, mask_replace_prob=0.8, random_replace_prob=0.1, strategy="token",
                     dynamic=False, rate_schedule=None, eval_mlm_probability=0.15)
_BERT_TRAIN = dict(objective="mlm", lr=1e-4, schedule="linear", weight_decay=0.01, adam_betas=(0.9, 0.999),
                   adam_eps=1e-6, grad_clip=1.0, grad_accum=1)


def _recipe(name: str, label: str, paper: str, changes: str, model: Mapping[str, Any] = {},
            masking: Mapping[str, Any] = {}, train: Mapping[str, Any] = {}) -> Recipe:
    return Recipe(name, label, paper, changes, MappingProxyType({**_BERT_MODEL, **model}),
                  MappingProxyType({**_BERT_MASKING, **masking}), MappingProxyType({**_BERT_TRAIN, **train}))


RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (
    _recipe("bert-2018", "BERT (2018)",
            "Devlin, Chang, Lee & Toutanova 2018, BERT: Pre-training of Deep Bidirectional Transformers for "
            "Language Understanding",
            "The baseline: post-LN, learned positions, GELU MLP, biases, dropout 0.1, 15% static masking "
            "(80/10/10), AdamW (0.9, 0.999) at 1e-4 with warm-up and linear decay, clipping at 1.0. No "
            "next-sentence prediction here."),
    _recipe("roberta", "RoBERTa",
            "Liu, Ott, Goyal, Du, Joshi, Chen, Levy, Lewis, Zettlemoyer & Stoyanov 2019, RoBERTa: A Robustly "
            "Optimized BERT Pretraining Approach",
            "Dynamic masking, AdamW beta2 0.98 (epsilon 1e-6, as BERT's), peak lr 6e-4, no gradient clipping, "
            "and an 8x bigger batch by accumulating 8 batches per step (BERT's 256 to RoBERTa's 2K).",
            masking=dict(dynamic=True),
            train=dict(lr=6e-4, adam_betas=(0.9, 0.98), adam_eps=1e-6, grad_clip=0.0, grad_accum=8)),
    _recipe("cramming", "Cramming",
            "Geiping & Goldstein 2022, Cramming: Training a Language Model on a Single GPU in One Day",
            "Pre-LN with a final norm, no biases, gated GELU (GeGLU) feed-forward, no dropout, "
            "one-cycle lr to 1e-3 (fitted to the time budget when one is set), AdamW (0.9, 0.98) "
            "with epsilon 1e-12, clipping at 0.5, dynamic 15% masking. Learned positions stand in for its scaled "
            "sinusoidal ones; no batch-size ramp.",
            model=dict(pre_layer_norm=True, feed_forward="geglu", bias=False, dropout=0.0),
            masking=dict(dynamic=True),
            train=dict(lr=1e-3, schedule="one-cycle", adam_betas=(0.9, 0.98), adam_eps=1e-12, grad_clip=0.5)),
    _recipe("mosaicbert", "MosaicBERT-style",
            "Portes, Trott, Havens, King, Venigalla, Nadeem, Sardana, Khudia & Frankle 2023, MosaicBERT: A "
            "Bidirectional Encoder Optimized for Fast Pretraining",
            "ALiBi attention biases instead of a position table, GeGLU feed-forward at full width, 30% dynamic "
            "masking (evaluated at 15%), AdamW (0.9, 0.98) at 5e-4 with weight decay 1e-5, no clipping; "
            "post-LN and biases stay. No unpadding or FlashAttention here.",
            model=dict(position_embedding_type="alibi", feed_forward="geglu", glu_size="same-width"),
            masking=dict(mlm_probability=0.3, dynamic=True),
            train=dict(lr=5e-4, adam_betas=(0.9, 0.98), adam_eps=1e-6, weight_decay=1e-5, grad_clip=0.0)),
    _recipe("modernbert", "ModernBERT-style",
            "Warner, Chaffin, Clavié, Weller, Hallström, Taghadouini, Gallagher, Biswas, Ladhak, Aarsen, Cooper, "
            "Adams, Howard & Poli 2024, Smarter, Better, Faster, Longer: A Modern Bidirectional Encoder for Fast, "
            "Memory Efficient, and Long Context Finetuning and Inference",
            "RoPE (base 160,000 global, 10,000 local), GeGLU, no biases, pre-LN without layer 1's attention norm, "
            "sliding-window attention (64 tokens) with every 3rd layer global, no segment embeddings, no dropout, "
            "30% dynamic masking (evaluated at 15%), warmup-stable-decay lr 8e-4, AdamW (0.9, 0.98) with weight "
            "decay 1e-5. AdamW stands in for StableAdamW; no unpadding.",
            model=dict(pre_layer_norm=True, first_attention_norm=False, position_embedding_type="rope",
                       rope_theta=160000.0, local_rope_theta=10000.0, feed_forward="geglu", bias=False,
                       local_attention=64, global_attn_every_n_layers=3, dropout=0.0, type_vocab_size=0),
            masking=dict(mlm_probability=0.3, dynamic=True),
            train=dict(lr=8e-4, schedule="wsd", adam_betas=(0.9, 0.98), adam_eps=1e-6, weight_decay=1e-5,
                       grad_clip=0.0)),
)}

RECIPE_FIELDS = {"model": tuple(_BERT_MODEL), "masking": tuple(_BERT_MASKING), "train": tuple(_BERT_TRAIN)}
# the short names a changed field goes by in "Cramming, changed: lr, pre-LN" (its CLI flag, without the dashes)
_GROUPS = {"model": ModelSpec, "masking": MaskingConfig, "train": TrainConfig}


def get_recipe(name: str) -> Recipe:
    """The recipe called `name`; a KeyError names the known ones."""
    try:
        return RECIPES[name]
    except KeyError:
        raise KeyError(f"no recipe {name!r}; known: {', '.join(RECIPES)}") from None


def recipe_defaults(name: str | None) -> dict[str, dict[str, Any]]:
    """The field values recipe `name` sets, per group ("model", "masking", "train"); None (custom): none."""
    if name is None:
        return {group: {} for group in RECIPE_FIELDS}
    recipe = get_recipe(name)
    return {"model": dict(recipe.model), "masking": dict(recipe.masking), "train": dict(recipe.train)}


def apply_recipe(spec: PretrainSpec, name: str) -> PretrainSpec:
    """`spec` with recipe `name`'s values set and `spec.recipe` naming it; its size, steps, budget, batch, data,
    device, precision and seed are kept."""
    values = recipe_defaults(name)
    return spec.replace(recipe=name, model=spec.model.replace(**values["model"]),
                        masking=spec.masking.replace(**values["masking"]),
                        train=spec.train.replace(**values["train"]))


def recipe_changes(spec: PretrainSpec) -> list[str]:
    """The recipe fields of `spec` that differ from its recipe's values, by their flag names ("lr", "pre-ln");
    empty for a custom spec or one that follows its recipe."""
    if spec.recipe is None:
        return []
    changed = []
    for group, values in recipe_defaults(spec.recipe).items():
        config = getattr(spec, group)
        for name, value in values.items():
            flag = _GROUPS[group].spec(name).flag.removeprefix("--")
            if getattr(config, name) != value and flag not in changed:  # the split's two shares are one flag
                changed.append(flag)
    return changed


def recipe_record(spec: PretrainSpec) -> dict[str, Any]:
    """What a run records of its recipe: the name (None: custom) and the recipe fields changed after choosing it."""
    return {"name": spec.recipe, "changed": recipe_changes(spec)}


def recipe_text(record: Mapping[str, Any] | None) -> str:
    """A run's recorded recipe in words: "Cramming", "Cramming, changed: lr, pre-ln", "custom"; a run recorded
    before recipes existed (None) says so, and one this version does not know goes by its name."""
    if record is None:
        return "custom (recorded before recipes)"
    name, changed = record.get("name"), record.get("changed") or []
    if name is None:
        return "custom"
    label = RECIPES[name].label if name in RECIPES else name
    return f"{label}, changed: {', '.join(changed)}" if changed else label


def describe_recipe(spec: PretrainSpec) -> str:
    """"Cramming", "Cramming, changed: lr, pre-ln", or "custom" for a spec made without a recipe."""
    return recipe_text(recipe_record(spec))
