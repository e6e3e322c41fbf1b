"""What every probe shares: turning a text into `[CLS] ... [SEP]` ids, finding words, running a model for inference.

A text may write a mask as `[MASK]` or as the tokenizer's own mask token (`<mask>` for byte-level BPE); both
become `mask_id`. The tokenizer splits its special tokens out of the raw text before normalising, so each
stretch between masks is pre-tokenised on its own: a byte-level BPE or Unigram tokenizer then marks the word
after a mask as a word start even when no space separates them (`[MASK].` reads as a mask, then ` .`).
Words are the tokenizer's (`word_start_mask`): a word is a run of non-special tokens that begins at a word
start, so it never spans a special token.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import torch
from torch import nn

from workbench.core.tokenization import WorkbenchTokenizer

MASK_MARKER = "[MASK]"


class ProbeInputError(ValueError):
    """Input a probe cannot use (no mask, too long, an unknown layer ...); the message says what is allowed."""


def encode_text(tokenizer: WorkbenchTokenizer, text: str, max_len: int | None = None) -> list[int]:
    """`[CLS]` + the text's pieces + `[SEP]`, with `[MASK]` and the tokenizer's mask token both as `mask_id`."""
    if not text.strip():
        raise ProbeInputError("the text is empty")
    if tokenizer.mask_token != MASK_MARKER:
        text = text.replace(MASK_MARKER, tokenizer.mask_token)
    ids = [tokenizer.cls_id, *tokenizer.encode(text), tokenizer.sep_id]
    if max_len is not None and len(ids) > max_len:
        raise ProbeInputError(f"the text is {len(ids)} tokens with the two special ones; this model reads at most "
                              f"{max_len}: shorten it")
    return ids


def tokens_of(tokenizer: WorkbenchTokenizer, ids: Sequence[int]) -> list[str]:
    return [tokenizer.id_to_token(int(i)) or f"<{int(i)}>" for i in ids]


def word_token_id(tokenizer: WorkbenchTokenizer, word: str) -> tuple[int, str | None]:
    """The token standing for `word` where a mask stands for a word: the word encoded on its own (its first
    piece if it is several, with a note saying so), or `word` itself when it is a vocabulary token (`##s`)."""
    pieces = tokenizer.encode(word)
    if len(pieces) != 1 and tokenizer.token_to_id(word) is not None:
        return tokenizer.token_to_id(word), None
    if not pieces:
        raise ProbeInputError(f"{word!r} encodes to no token")
    if len(pieces) > 1:
        return pieces[0], (f"{word!r} is {len(pieces)} pieces ({' '.join(tokens_of(tokenizer, pieces))}); "
                           f"using its first piece {tokens_of(tokenizer, pieces[:1])[0]!r}")
    if pieces[0] == tokenizer.unk_id:
        return pieces[0], f"{word!r} is not in the vocabulary: it stands for the unknown token"
    return pieces[0], None


def mask_positions(input_ids: Sequence[int], mask_id: int) -> list[int]:
    return [i for i, token_id in enumerate(input_ids) if token_id == mask_id]


def word_spans(tokenizer: WorkbenchTokenizer, input_ids: Sequence[int]) -> list[tuple[int, int]]:
    """The words of a sequence as half-open `(start, end)` token spans; special tokens belong to none."""
    ids = torch.tensor(list(input_ids), dtype=torch.long)
    starts = tokenizer.word_start_mask(ids).tolist()
    special = set(tokenizer.special_ids)
    spans: list[tuple[int, int]] = []
    for i, token_id in enumerate(input_ids):
        if token_id in special:
            continue
        if starts[i] or not spans or spans[-1][1] != i:
            spans.append((i, i + 1))
        else:
            spans[-1] = (spans[-1][0], i + 1)
    return spans


def word_at(tokenizer: WorkbenchTokenizer, input_ids: Sequence[int], position: int) -> tuple[int, int]:
    """The span of the word holding token `position`; a special token is in no word."""
    for start, end in word_spans(tokenizer, input_ids):
        if start <= position < end:
            return start, end
    raise ProbeInputError(
        f"token position {position} is not part of a word; choose one of 0..{len(input_ids) - 1} "
        "that is not a special token"
    )


def mask_word(tokenizer: WorkbenchTokenizer, input_ids: Sequence[int], position: int) -> list[int]:
    """`input_ids` with every piece of the word holding `position` replaced by the mask (click-to-mask)."""
    start, end = word_at(tokenizer, input_ids, position)
    return [tokenizer.mask_id if start <= i < end else token_id for i, token_id in enumerate(input_ids)]


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def pad_batch(
    sequences: Sequence[Sequence[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded `input_ids` and `attention_mask`, both (B, T_max)."""
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        input_ids[row, : len(sequence)] = torch.tensor(list(sequence), dtype=torch.long)
        attention_mask[row, : len(sequence)] = 1
    return input_ids.to(device), attention_mask.to(device)


@contextmanager
def inference(model: nn.Module) -> Iterator[None]:
    """Dropout off and no autograd while probing; a model that was training goes back to training after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)
