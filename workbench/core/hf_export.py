"""The workbench's models in the Hugging Face layout, without `transformers`: the inverse of `hf_import`.

Which architecture a model goes out as (`plan_export`): a model without segment embeddings (an imported
DistilBERT) as `DistilBertForMaskedLM`; a byte-level BPE tokenizer, or RoBERTa's position numbering, as
`RobertaForMaskedLM`; everything else (WordPiece, Unigram, char) as `BertForMaskedLM`; a masked LM in
ModernBERT's layout (pre-LN without layer 0's attention norm, RoPE, a gated feed-forward, no segments) as
`ModernBertForMaskedLM`, its query, key and value stacked into `Wqkv`. A fine-tuned model goes
out as `Bert|RobertaForSequenceClassification`, `...ForTokenClassification` or `...ForQuestionAnswering`
(DistilBERT's classifier has a ReLU where ours has BERT's tanh pooler, so a fine-tuned DistilBERT goes out as
BERT with a one-row, all-zero segment table: the same function). Pre-LN models have no equivalent and are
refused.

Weights keep their values and take HF's names (`hf_name`, the inverse of `hf_import.our_name`); the decoder
tied to the word embeddings is stored once. HF RoBERTa numbers positions from `pad_token_id + 1`, while a model
trained here with a BPE tokenizer used 0..n-1: its position table gets `pad_token_id + 1` zero rows in front, so
HF's position p reads our row p - pad_token_id - 1. `read_task_model` maps an exported task model's names back
onto ours, and `logit_difference` compares two models on the same inputs: how an export checks itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from workbench.core.finetune.heads import build_task_model
from workbench.core.hf_import import (
    CONFIG_FILE,
    DISTIL_LAYER,
    HEAD_NAMES,
    MODERNBERT_GLU,
    MODERNBERT_LAYER,
    bert_config,
    our_name,
    read_weights,
    weight_files,
)
from workbench.settings.model import BertConfig

HF_CLASSES: dict[str, dict[str | None, str]] = {  # family -> task (None: the masked LM) -> HF class
    "bert": {None: "BertForMaskedLM", "classify": "BertForSequenceClassification",
             "tag": "BertForTokenClassification", "qa": "BertForQuestionAnswering"},
    "roberta": {None: "RobertaForMaskedLM", "classify": "RobertaForSequenceClassification",
                "tag": "RobertaForTokenClassification", "qa": "RobertaForQuestionAnswering"},
    "distilbert": {None: "DistilBertForMaskedLM"},
    "modernbert": {None: "ModernBertForMaskedLM"},
}
# RoBERTa's classification head is our pooler (dense + tanh on the first token) and classifier, renamed.
ROBERTA_CLASSIFIER = {"bert.pooler.dense": "classifier.dense", "classifier": "classifier.out_proj"}
DISTILBERT_EPS = 1e-12  # DistilBERT's LayerNorms have this epsilon built in
POSITIONS = "bert.embeddings.position_embeddings.weight"
SEGMENTS = "bert.embeddings.token_type_embeddings.weight"


class HFExportError(ValueError):
    """A model the Hugging Face layout cannot hold, or an export that does not read back; one line."""


@dataclass(frozen=True)
class ExportPlan:
    """How one model goes out: its family, task (None: masked LM), the zero rows put in front of its position
    table, and the padding id HF computes positions from."""

    family: str  # bert | roberta | distilbert
    task: str | None
    position_offset: int
    pad_token_id: int

    @property
    def architecture(self) -> str:
        return HF_CLASSES[self.family][self.task]


def plan_export(config: BertConfig, tokenizer_type: str, pad_id: int, task: str | None = None) -> ExportPlan:
    """The architecture for a model of `config` with a `tokenizer_type` tokenizer whose padding id is `pad_id`."""
    if config.is_decoder:
        raise HFExportError("a causal (CLM) model (is_decoder) does not export: Hugging Face's masked-LM classes "
                            "read every token both ways")
    if config.position_embedding_type == "alibi":
        raise HFExportError("an ALiBi model (position_embedding_type alibi) does not export: transformers has no "
                            "BERT-family class with ALiBi attention (MosaicBERT's runs only as remote code)")
    if task is None and is_modernbert_layout(config):
        if config.type_vocab_size:
            raise HFExportError(f"a model in ModernBERT's layout exports as ModernBertForMaskedLM, which has no "
                                f"segment embeddings; this one has {config.type_vocab_size} segment types")
        return ExportPlan("modernbert", None, 0, config.pad_token_id)
    if config.pre_layer_norm:
        raise HFExportError("a pre-LN model (pre_layer_norm) has no Hugging Face BERT, RoBERTa or DistilBERT "
                            "equivalent; only post-LN models (and ModernBERT's layout) export")
    modern = non_bert_options(config)
    if modern:
        raise HFExportError(f"a model with {', '.join(modern)} has no Hugging Face BERT, RoBERTa or DistilBERT "
                            f"equivalent")
    if config.type_vocab_size == 0 and task is None and not config.roberta_positions \
            and config.layer_norm_eps == DISTILBERT_EPS:
        return ExportPlan("distilbert", None, 0, config.pad_token_id)
    if config.roberta_positions:  # already numbered as HF does (an imported RoBERTa)
        return ExportPlan("roberta", task, 0, config.pad_token_id)
    if tokenizer_type == "bpe":
        return ExportPlan("roberta", task, pad_id + 1, pad_id)
    return ExportPlan("bert", task, 0, pad_id)


def is_modernbert_layout(config: BertConfig) -> bool:
    """Whether a masked LM of `config` has ModernBERT's layout: pre-LN without layer 0's attention norm, RoPE and
    a gated feed-forward (its linear biases are all on or all off, as ModernBERT's attention_bias, mlp_bias and
    classifier_bias may be)."""
    return (config.pre_layer_norm and not config.first_attention_norm and config.position_embedding_type == "rope"
            and config.feed_forward != "mlp")


def non_bert_options(config: BertConfig) -> list[str]:
    """The architecture options of `config` that BERT's layout lacks, in words (none: a BERT-shaped model)."""
    options = {"rotary positions": config.position_embedding_type == "rope",
               f"a {config.feed_forward} feed-forward": config.feed_forward != "mlp",
               "no linear biases": not config.linear_bias, "no LayerNorm biases": not config.norm_bias,
               "sliding-window attention": config.local_attention > 0}
    return [words for words, present in options.items() if present]


def _swap(name: str, prefixes: dict[str, str]) -> str:
    """`name` with the first matching prefix (a whole dotted part) replaced."""
    for old, new in prefixes.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return name


def hf_name(family: str, task: str | None, name: str) -> str:
    """HF's name for one of our parameter names (the inverse of `hf_import.our_name`, task heads included)."""
    if family == "roberta" and task == "classify":
        name = _swap(name, ROBERTA_CLASSIFIER)
    name = _swap(name, {ours: hf for hf, ours in HEAD_NAMES.get(family, {}).items()})
    if family == "modernbert":  # bert.encoder.layer.{i}.<part> -> model.layers.{i}.<ModernBERT part>
        _, _, rest = name.partition("bert.encoder.layer.")
        index, _, part = rest.partition(".")
        return f"model.layers.{index}.{_swap(part, {v: k for k, v in MODERNBERT_LAYER.items()})}" if rest else name
    if family == "roberta":
        return _swap(name, {"bert": "roberta"})
    if family == "distilbert":
        _, _, rest = name.partition(".encoder.layer.")
        if rest:  # bert.encoder.layer.{i}.<part> -> distilbert.transformer.layer.{i}.<distil part>
            index, _, part = rest.partition(".")
            name = f"distilbert.transformer.layer.{index}.{_swap(part, {v: k for k, v in DISTIL_LAYER.items()})}"
        return _swap(name, {"bert": "distilbert"})
    return name


def our_task_name(family: str, task: str | None, name: str) -> str:
    """Our name for an exported HF parameter name (`hf_name` undone)."""
    if family == "roberta" and task == "classify":
        name = _swap(name, {hf: ours for ours, hf in ROBERTA_CLASSIFIER.items()})
    return our_name(family, name)


def hf_state_dict(plan: ExportPlan, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our state dict under HF's names: the tied decoder once, positions shifted for RoBERTa, and a zero segment
    table where HF's BERT and RoBERTa need one and ours has none."""
    out = {hf_name(plan.family, plan.task, k): v.detach().cpu().contiguous()
           for k, v in state.items() if not k.startswith("cls.predictions.decoder.")}
    if plan.family == "modernbert":
        return fuse_qkv(out)
    positions = hf_name(plan.family, plan.task, POSITIONS)
    table = out[positions]  # (P, H)
    if plan.position_offset:
        out[positions] = torch.cat([table.new_zeros(plan.position_offset, table.shape[1]), table])
    if plan.family != "distilbert" and SEGMENTS not in state:
        out[hf_name(plan.family, plan.task, SEGMENTS)] = table.new_zeros(1, table.shape[1])
    return out


def fuse_qkv(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`attn.Wq`, `attn.Wk`, `attn.Wv` stacked into ModernBERT's `attn.Wqkv` (the inverse of `split_fused_qkv`)."""
    out = {k: v for k, v in state.items() if ".attn.Wq." not in k and ".attn.Wk." not in k and ".attn.Wv." not in k}
    for name in [k for k in state if ".attn.Wq." in k]:
        parts = [state[name.replace(".attn.Wq.", f".attn.W{p}.")] for p in "qkv"]
        out[name.replace(".attn.Wq.", ".attn.Wqkv.")] = torch.cat(parts).contiguous()
    return out


def modernbert_hf_config(config: BertConfig, bos_id: int | None, eos_id: int | None) -> dict[str, Any]:
    """config.json of a ModernBertForMaskedLM for `config` (the inverse of `hf_import.modernbert_config`)."""
    layer_types = ["sliding_attention" if config.is_local_layer(i) else "full_attention"
                   for i in range(config.num_hidden_layers)]
    glu = {ours: hf for hf, ours in MODERNBERT_GLU.items()}[config.feed_forward]
    return {"architectures": ["ModernBertForMaskedLM"], "model_type": "modernbert", "vocab_size": config.vocab_size,
            "hidden_size": config.hidden_size, "intermediate_size": config.intermediate_size,
            "num_hidden_layers": config.num_hidden_layers, "num_attention_heads": config.num_attention_heads,
            "hidden_activation": glu, "classifier_activation": config.hidden_act,
            "max_position_embeddings": config.max_position_embeddings, "initializer_range": config.initializer_range,
            "norm_eps": config.layer_norm_eps, "norm_bias": config.norm_bias, "attention_bias": config.linear_bias,
            "mlp_bias": config.linear_bias, "classifier_bias": config.linear_bias, "decoder_bias": True,
            "attention_dropout": config.attention_probs_dropout_prob, "mlp_dropout": config.hidden_dropout_prob,
            "embedding_dropout": config.hidden_dropout_prob, "local_attention": max(config.local_attention, 2),
            "layer_types": layer_types,
            "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": config.rope_theta},
                                "sliding_attention": {"rope_type": "default", "rope_theta": config.local_rope_theta}},
            "pad_token_id": config.pad_token_id, "bos_token_id": bos_id, "eos_token_id": eos_id,
            "cls_token_id": bos_id, "sep_token_id": eos_id, "tie_word_embeddings": True, "dtype": "float32"}


def hf_config(plan: ExportPlan, config: BertConfig, labels: Sequence[str] = (), bos_id: int | None = None,
              eos_id: int | None = None) -> dict[str, Any]:
    """config.json for the plan: HF's field names, with id2label / label2id for classification and tagging."""
    if plan.family == "modernbert":
        return modernbert_hf_config(config, bos_id, eos_id)
    common = {"architectures": [plan.architecture], "model_type": plan.family, "vocab_size": config.vocab_size,
              "max_position_embeddings": config.max_position_embeddings + plan.position_offset,
              "initializer_range": config.initializer_range, "pad_token_id": plan.pad_token_id,
              "tie_word_embeddings": True, "dtype": "float32"}
    if plan.family == "distilbert":
        shape = {"dim": config.hidden_size, "n_layers": config.num_hidden_layers,
                 "n_heads": config.num_attention_heads, "hidden_dim": config.intermediate_size,
                 "dropout": config.hidden_dropout_prob, "attention_dropout": config.attention_probs_dropout_prob,
                 "activation": config.hidden_act, "sinusoidal_pos_embds": False}
    else:
        shape = {"hidden_size": config.hidden_size, "num_hidden_layers": config.num_hidden_layers,
                 "num_attention_heads": config.num_attention_heads, "intermediate_size": config.intermediate_size,
                 "hidden_act": config.hidden_act, "hidden_dropout_prob": config.hidden_dropout_prob,
                 "attention_probs_dropout_prob": config.attention_probs_dropout_prob,
                 "type_vocab_size": max(config.type_vocab_size, 1), "layer_norm_eps": config.layer_norm_eps,
                 "position_embedding_type": "absolute"}
    if plan.family == "roberta":
        shape.update(bos_token_id=bos_id, eos_token_id=eos_id)
    if labels:
        shape.update(id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    return {**common, **shape}


def read_task_model(folder: Path, task: str, num_labels: int) -> nn.Module:
    """An exported task model read back onto our task model (names mapped back, every weight required)."""
    hf = json.loads((Path(folder) / CONFIG_FILE).read_text(encoding="utf-8"))
    family = next((f for f, classes in HF_CLASSES.items() if classes.get(task) == hf["architectures"][0]), None)
    if family is None:
        raise HFExportError(f"{folder}: {hf['architectures'][0]} is not a {task} architecture")
    model = build_task_model(task, bert_config(family, hf), num_labels)
    state = {}
    for path in weight_files(Path(folder)):
        state.update({our_task_name(family, task, k): v for k, v in read_weights(path).items()})
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise HFExportError(f"{folder}: the exported weights do not read back (missing {list(missing)[:3]}, "
                            f"unexpected {list(unexpected)[:3]})")
    return model.eval()


@torch.no_grad()
def logit_difference(source: nn.Module, exported: nn.Module, max_length: int, vocab_size: int,
                     special_ids: Sequence[int], pad_id: int, two_segments: bool) -> float:
    """The largest absolute difference between the two models' logits on random ordinary tokens: two rows at
    `max_length` (with a second segment where the model has one) and a batch whose second row is half padding
    (compared at its real tokens)."""
    generator = torch.Generator().manual_seed(0)
    ordinary = torch.tensor([i for i in range(vocab_size) if i not in set(special_ids)])
    full = ordinary[torch.randint(len(ordinary), (2, max_length), generator=generator)]  # (2, T)
    ones, half = torch.ones_like(full), max(1, max_length // 2)
    segments = torch.zeros_like(full)
    if two_segments:
        segments[:, half:] = 1
    padded, mask = full.clone(), ones.clone()
    padded[1, half:], mask[1, half:] = pad_id, 0
    worst = 0.0
    for ids, attention, types in ((full, ones, segments), (padded, mask, torch.zeros_like(full))):
        a, b = source(ids, attention, types).logits, exported(ids, attention, types).logits
        if a.dim() == 3:  # per-token logits (B, T, K): only real tokens count
            a, b = a[attention.bool()], b[attention.bool()]
        worst = max(worst, (a.float() - b.float()).abs().max().item())
    return worst
