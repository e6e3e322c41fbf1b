"""Our models in the Hugging Face layout: every family and task head loads into its `transformers` class with no
missing or unexpected keys and the same logits, names map back one to one, the architecture follows the model and
tokenizer (pre-LN refused), and the tokenizer files of every tokenizer type give our token ids through
`AutoTokenizer`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import safetensors.torch
import torch
from hf_export_runs import VARIED
from hf_folders import TEXTS

from workbench.core.finetune.heads import build_task_model
from workbench.core.hf_export import (
    HFExportError,
    hf_config,
    hf_name,
    hf_state_dict,
    logit_difference,
    our_task_name,
    plan_export,
    read_task_model,
)
from workbench.core.hf_export_tokenizer import tokenizer_files, tokenizer_mismatches
from workbench.core.hf_import import load_hf_model
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.tokenization import train_tokenizer
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig

transformers = pytest.importorskip("transformers")

AUTO = {None: "AutoModelForMaskedLM", "classify": "AutoModelForSequenceClassification",
        "tag": "AutoModelForTokenClassification", "qa": "AutoModelForQuestionAnswering"}
# (tokenizer type, pad id, segment types, RoBERTa positions) -> the family they must export as
CASES = {"bert": ("wordpiece", 0, 2, False), "roberta": ("bpe", 1, 2, False),
         "roberta-imported": ("bpe", 1, 1, True), "distilbert": ("wordpiece", 0, 0, False)}


def _config(tokenizer_type: str, pad: int, segments: int, roberta_positions: bool) -> BertConfig:
    return BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                      max_position_embeddings=24, type_vocab_size=segments, pad_token_id=pad,
                      roberta_positions=roberta_positions, initializer_range=0.2)


def _export(model: torch.nn.Module, config: BertConfig, tokenizer_type: str, pad: int, task: str | None,
            folder: Path):
    torch.manual_seed(0)
    plan = plan_export(config, tokenizer_type, pad, task)
    folder.mkdir(parents=True, exist_ok=True)
    labels = ["neg", "pos", "mixed"] if task in ("classify", "tag") else []
    (folder / "config.json").write_text(json.dumps(hf_config(plan, config, labels, 0, 2)))
    safetensors.torch.save_file(hf_state_dict(plan, model.state_dict()), str(folder / "model.safetensors"))
    return plan


@pytest.mark.parametrize("task", [None, "classify", "tag", "qa"])
@pytest.mark.parametrize("case", CASES)
def test_every_family_and_head_loads_into_transformers_with_the_same_logits(tmp_path: Path, case: str,
                                                                           task: str | None) -> None:
    tokenizer_type, pad, segments, roberta_positions = CASES[case]
    config = _config(tokenizer_type, pad, segments, roberta_positions)
    torch.manual_seed(0)
    ours = (BertForMaskedLM(config) if task is None else build_task_model(task, config, 3)).eval()
    plan = _export(ours, config, tokenizer_type, pad, task, tmp_path)
    expected = {"bert": "bert", "roberta": "roberta", "roberta-imported": "roberta", "distilbert": "distilbert"}[case]
    assert plan.family == (expected if task is None or expected != "distilbert" else "bert")
    theirs, info = getattr(transformers, AUTO[task]).from_pretrained(tmp_path, output_loading_info=True)
    assert type(theirs).__name__ == plan.architecture
    assert not any(info.values()), info
    names = list(ours.state_dict())
    assert all(our_task_name(plan.family, task, hf_name(plan.family, task, k)) == k for k in names)
    ids = torch.randint(5, config.vocab_size, (2, config.max_length))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    ids[1, 9:] = pad
    with torch.no_grad():
        mine, out = ours(ids, mask).logits, theirs(input_ids=ids, attention_mask=mask)
    their_logits = out.logits if task != "qa" else torch.stack([out.start_logits, out.end_logits], -1)
    real = mask.bool() if mine.dim() == 3 else slice(None)
    assert (mine[real] - their_logits[real]).abs().max().item() < 1e-4
    assert mine.std() > 0.05  # the weights are not trivial


@pytest.mark.parametrize("task", [None, "classify"])
def test_the_export_reads_back_onto_our_models(tmp_path: Path, task: str | None) -> None:
    config = _config("bpe", 1, 2, False)
    ours = (BertForMaskedLM(config) if task is None else build_task_model(task, config, 3)).eval()
    _export(ours, config, "bpe", 1, task, tmp_path)
    back = load_hf_model(tmp_path).model if task is None else read_task_model(tmp_path, task, 3)
    assert back.config.roberta_positions and back.config.max_position_embeddings == 26  # 2 rows in front
    assert logit_difference(ours, back, config.max_length, config.vocab_size, [0, 1, 2, 3, 4], 1, True) < 1e-6


def test_the_tied_decoder_is_stored_once(tmp_path: Path) -> None:
    config = _config("wordpiece", 0, 2, False)
    _export(BertForMaskedLM(config), config, "wordpiece", 0, None, tmp_path)
    names = safetensors.torch.load_file(tmp_path / "model.safetensors")
    assert "bert.embeddings.word_embeddings.weight" in names and "cls.predictions.bias" in names
    assert not [k for k in names if k.startswith("cls.predictions.decoder")]


def test_a_pre_ln_model_is_refused() -> None:
    with pytest.raises(HFExportError, match="pre-LN"):
        plan_export(BertConfig(vocab_size=99, pre_layer_norm=True), "wordpiece", 0)
    with pytest.raises(HFExportError, match="rotary positions, a geglu feed-forward, no linear biases"):
        plan_export(BertConfig(vocab_size=99, position_embedding_type="rope", feed_forward="geglu",
                               linear_bias=False), "wordpiece", 0)


@pytest.mark.parametrize("tokenizer_type", ["wordpiece", "bpe", "unigram", "char"])
def test_tokenizer_files_give_our_ids_through_auto_tokenizer(tmp_path: Path, tokenizer_type: str) -> None:
    ours = train_tokenizer(TEXTS, TokenizerConfig(type=tokenizer_type, vocab_size=120 if tokenizer_type == "char"
                                                  else 300, min_frequency=1))
    for name, text in tokenizer_files(ours, 64, segment_ids=True, pair_segment=1).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path)
    expected_class = "BertTokenizer" if tokenizer_type == "wordpiece" else "TokenizersBackend"
    assert type(theirs).__name__ == expected_class
    assert tokenizer_mismatches(ours, tmp_path, VARIED, pair_segment=1) == []
    for text in VARIED + [f"a {ours.mask_token} b"]:
        assert theirs(text)["input_ids"] == [ours.cls_id, *ours.encode(text), ours.sep_id], text
    pair = theirs("one two", "three")
    assert pair["input_ids"] == [ours.cls_id, *ours.encode("one two"), ours.sep_id, *ours.encode("three"), ours.sep_id]
    assert pair["token_type_ids"] == [0] * (len(ours.encode("one two")) + 2) + [1] * (len(ours.encode("three")) + 1)
    assert (theirs.mask_token_id, theirs.pad_token_id, theirs.model_max_length) == (ours.mask_id, ours.pad_id, 64)
