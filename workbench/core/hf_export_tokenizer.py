"""A workbench tokenizer as Hugging Face tokenizer files: `tokenizer.json`, `tokenizer_config.json` and
`special_tokens_map.json`, which `transformers.AutoTokenizer` loads to give the workbench's own token ids.

`tokenizer.json` is the workbench's tokenizer with a post-processor that adds the special tokens as the
workbench does: `[CLS] a [SEP]`, and for a pair `[CLS] a [SEP] b [SEP]` with segment id 1 on the second part,
as fine-tuning encodes it. That holds for BPE too, where RoBERTa's own tokenizer would write
`<s> a </s></s> b </s>` with all-zero segment ids; a model without a second segment row gets 0 there. No
padding or truncation is stored (the caller's `padding=` / `truncation=` decide).

`tokenizer_class` is `BertTokenizer` when the pipeline is exactly BERT's (BertNormalizer, BertPreTokenizer,
WordPiece with "##"), since that class rebuilds it from `do_lower_case`, `strip_accents` and
`tokenize_chinese_chars`; every other tokenizer (byte-level BPE, Unigram, char) is the generic
`PreTrainedTokenizerFast`, which loads `tokenizer.json` as it is (`RobertaTokenizer` would drop the
workbench's whitespace normalizer and replace the post-processor). `model_input_names` lists
`token_type_ids` only for models that take them (not DistilBERT).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from tokenizers import Tokenizer, processors

from workbench.core.finetune.encoding import with_specials
from workbench.core.hf_tokenizer import SPECIAL_TOKENS_MAP, TOKENIZER_CONFIG, TOKENIZER_JSON
from workbench.core.tokenization import WorkbenchTokenizer

BERT_WORDPIECE_MAX_CHARS = 100  # BertTokenizer's WordPiece default, which it does not take from its config
TOKEN_FLAGS = ("single_word", "lstrip", "rstrip", "normalized", "special")


def exported_tokenizer(tokenizer: WorkbenchTokenizer, pair_segment: int) -> Tokenizer:
    """A copy of the workbench tokenizer that adds the specials as the workbench does, without padding."""
    tok = Tokenizer.from_str(tokenizer.tokenizer.to_str())
    cls, sep = tokenizer.special_tokens["cls"], tokenizer.special_tokens["sep"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:{pair_segment} {sep}:{pair_segment}",
        special_tokens=[(cls, tokenizer.cls_id), (sep, tokenizer.sep_id)])
    tok.no_padding()
    tok.no_truncation()
    return tok


def _bert_settings(pipeline: dict[str, Any]) -> dict[str, Any] | None:
    """BertTokenizer's settings when the pipeline is exactly the one it builds, else None."""
    normalizer, model = pipeline.get("normalizer") or {}, pipeline.get("model") or {}
    if (normalizer.get("type"), (pipeline.get("pre_tokenizer") or {}).get("type"), model.get("type")) != \
            ("BertNormalizer", "BertPreTokenizer", "WordPiece"):
        return None
    if not normalizer.get("clean_text") or model.get("continuing_subword_prefix") != "##" \
            or model.get("max_input_chars_per_word") != BERT_WORDPIECE_MAX_CHARS:
        return None
    return {"do_lower_case": normalizer["lowercase"], "strip_accents": normalizer["strip_accents"],
            "tokenize_chinese_chars": normalizer["handle_chinese_chars"]}


def _special_tokens(tokenizer: WorkbenchTokenizer, pipeline: dict[str, Any]) -> dict[str, Any]:
    """Each role's token with the flags tokenizer.json gives it (RoBERTa's mask swallows the space before it)."""
    added = {entry["content"]: entry for entry in pipeline.get("added_tokens", [])}
    specials = {}
    for role, token in tokenizer.special_tokens.items():
        flags = {flag: added[token][flag] for flag in TOKEN_FLAGS if token in added}
        specials[f"{role}_token"] = {"content": token, **flags} if flags else token
    if tokenizer.config.type == "bpe":  # RoBERTa's names for the first and last tokens
        specials.update(bos_token=specials["cls_token"], eos_token=specials["sep_token"])
    return specials


def tokenizer_files(tokenizer: WorkbenchTokenizer, max_length: int, segment_ids: bool,
                    pair_segment: int) -> dict[str, str]:
    """The three files' names and texts; `segment_ids`: the model takes token_type_ids; `pair_segment`: the
    segment id of a pair's second part (0 for a model with one segment row)."""
    tok = exported_tokenizer(tokenizer, pair_segment)
    pipeline = json.loads(tok.to_str())
    bert = _bert_settings(pipeline)
    specials = _special_tokens(tokenizer, pipeline)
    config = {"tokenizer_class": "BertTokenizer" if bert else "PreTrainedTokenizerFast", **(bert or {}),
              **specials, "model_max_length": max_length, "clean_up_tokenization_spaces": False,
              "model_input_names": ["input_ids", *(["token_type_ids"] if segment_ids else []), "attention_mask"]}
    return {TOKENIZER_JSON: tok.to_str(pretty=True), TOKENIZER_CONFIG: json.dumps(config, indent=2),
            SPECIAL_TOKENS_MAP: json.dumps(specials, indent=2)}


def tokenizer_mismatches(source: WorkbenchTokenizer, folder: Path, texts: Sequence[str],
                         pair_segment: int) -> list[str]:
    """The texts on which the exported tokenizer.json encodes differently from the workbench (alone and as a
    pair with itself: ids and segment ids)."""
    exported = Tokenizer.from_file(str(Path(folder) / TOKENIZER_JSON))
    wrong = []
    for text in texts:
        ids = source.encode(text)
        single, _ = with_specials(source, ids)
        pair, segments = with_specials(source, ids, ids)
        both = exported.encode(text, text)
        if exported.encode(text).ids != single or both.ids != pair \
                or both.type_ids != [min(s, pair_segment) for s in segments]:
            wrong.append(text)
    return wrong
