"""From examples to model inputs: [CLS] a [SEP] (b [SEP]) sequences, word-aligned tag labels, padded batches.

A feature is a plain dict of lists (input_ids, token_type_ids and the task's labels), so datasets stay small
and `collate` pads each batch only to its longest sequence. Pairs are truncated longest-first. Tagging encodes
the pre-split words (`is_pretokenized`), labels the first piece of each word and gives -100 to the other
pieces and to specials, and maps predictions back from first pieces to words; a word cut off by `max_len`
(or one that yields no piece) is predicted "O".
"""

from __future__ import annotations

from typing import Sequence

import torch

from workbench.core.finetune.data import ClassificationExample, TaggedSentence
from workbench.core.tokenization import WorkbenchTokenizer

IGNORE_INDEX = -100
Feature = dict


def _truncate_pair(a: list[int], b: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Drop tokens from the end of the longer side until both fit in `budget` (HF's longest_first)."""
    a, b = list(a), list(b)
    while len(a) + len(b) > budget:
        (a if len(a) >= len(b) else b).pop()
    return a, b


def with_specials(tokenizer: WorkbenchTokenizer, a: list[int], b: list[int] | None = None) -> tuple[list[int], list[int]]:
    """input_ids and token_type_ids of [CLS] a [SEP] (b [SEP])."""
    ids = [tokenizer.cls_id, *a, tokenizer.sep_id]
    types = [0] * len(ids)
    if b is not None:
        ids += [*b, tokenizer.sep_id]
        types += [1] * (len(b) + 1)
    return ids, types


def encode_classification(tokenizer: WorkbenchTokenizer, examples: Sequence[ClassificationExample],
                          label_to_id: dict[str, int] | None, max_len: int) -> list[Feature]:
    """One feature per example; `labels` is the class index (absent when `label_to_id` is None)."""
    firsts = tokenizer.encode_batch([e.text for e in examples])
    pairs = tokenizer.encode_batch([e.text_pair or "" for e in examples])
    features = []
    for example, a, b in zip(examples, firsts, pairs):
        if example.text_pair is None:
            ids, types = with_specials(tokenizer, a[: max_len - 2])
        else:
            ids, types = with_specials(tokenizer, *_truncate_pair(a, b, max_len - 3))
        feature = {"input_ids": ids, "token_type_ids": types}
        if label_to_id is not None:
            feature["labels"] = label_to_id[example.label]
        features.append(feature)
    return features


def align_word_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """Per-token labels: the word's label on its first piece, -100 on later pieces and on specials (None)."""
    labels, previous = [], None
    for word in word_ids:
        labels.append(IGNORE_INDEX if word is None or word == previous else word_labels[word])
        previous = word
    return labels


def word_predictions(word_ids: Sequence[int | None], token_predictions: Sequence[int], n_words: int,
                     outside: int = 0) -> list[int]:
    """Per-word predictions read from each word's first piece; words without a piece get `outside`."""
    predictions = [outside] * n_words
    seen = set()
    for word, prediction in zip(word_ids, token_predictions):
        if word is not None and word not in seen:
            predictions[word] = prediction
            seen.add(word)
    return predictions


def encode_tagging(tokenizer: WorkbenchTokenizer, sentences: Sequence[TaggedSentence],
                   tag_to_id: dict[str, int] | None, max_len: int) -> list[Feature]:
    """One feature per sentence, with `word_ids` (None at specials) to map predictions back to words."""
    encodings = tokenizer.tokenizer.encode_batch([s.tokens for s in sentences], is_pretokenized=True,
                                                 add_special_tokens=False)
    features = []
    for sentence, encoding in zip(sentences, encodings):
        ids, types = with_specials(tokenizer, encoding.ids[: max_len - 2])
        word_ids = [None, *encoding.word_ids[: max_len - 2], None]
        feature = {"input_ids": ids, "token_type_ids": types, "word_ids": word_ids, "n_words": len(sentence.tokens)}
        if tag_to_id is not None:
            feature["labels"] = align_word_labels(word_ids, [tag_to_id[t] for t in sentence.tags])
        features.append(feature)
    return features


def collate(features: Sequence[Feature], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch to its longest sequence: input_ids with pad_id, token_type_ids 0, labels lists with -100;
    attention_mask is 1 on real tokens. Scalar fields become (B,) tensors; other fields are left out."""
    longest = max(len(f["input_ids"]) for f in features)

    def pad(key: str, value: int) -> torch.Tensor:
        return torch.tensor([f[key] + [value] * (longest - len(f[key])) for f in features], dtype=torch.long)

    batch = {
        "input_ids": pad("input_ids", pad_id),  # (B, T)
        "token_type_ids": pad("token_type_ids", 0),
        "attention_mask": torch.tensor([[1] * len(f["input_ids"]) + [0] * (longest - len(f["input_ids"]))
                                        for f in features], dtype=torch.long),
    }
    for key in ("labels", "start_positions", "end_positions"):
        if key in features[0]:
            if isinstance(features[0][key], list):
                batch[key] = pad(key, IGNORE_INDEX)  # (B, T)
            else:
                batch[key] = torch.tensor([f[key] for f in features], dtype=torch.long)  # (B,)
    return batch
