"""What the model sees: one text corrupted by a masking configuration, position by position.

Used by `mlm-workbench mask-preview` and the Masking panel's live preview; the statistics of the corruption
itself are the masker's (see masking.py), this only lays one example out for people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from workbench.core.masking import Masker
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.settings.masking import MaskingConfig

REPLACEMENT_NAMES = {0: None, 1: "mask", 2: "random", 3: "kept"}


@dataclass(frozen=True)
class MaskPreview:
    tokens: list[str]  # the original pieces, [CLS] and [SEP] included
    input_ids: list[int]
    corrupted_ids: list[int]
    corrupted_tokens: list[str]
    labels: list[int]  # original id where selected, -100 elsewhere
    replacements: list[str | None]  # per position: None (not selected), "mask", "random" or "kept"

    def to_dict(self) -> dict:
        return asdict(self)


def preview_masking(
    tokenizer: WorkbenchTokenizer, text: str, config: MaskingConfig, seq_id: int = 0, epoch: int = 0
) -> MaskPreview:
    """Corrupt `text` as training would; change `seq_id` or `epoch` to draw another mask."""
    ids = [tokenizer.cls_id, *tokenizer.encode(text), tokenizer.sep_id]
    input_ids = torch.tensor([ids], dtype=torch.long)  # (1, T)
    attention_mask = torch.ones_like(input_ids)
    word_start = tokenizer.word_start_mask(input_ids) if config.strategy != "token" else None
    masker = Masker(config, tokenizer.vocab_size, tokenizer.mask_id, tokenizer.special_ids)
    batch = masker(input_ids, attention_mask, word_start, torch.tensor([seq_id]), epoch)
    corrupted = batch.input_ids[0].tolist()
    return MaskPreview(
        tokens=[tokenizer.id_to_token(i) for i in ids],
        input_ids=ids,
        corrupted_ids=corrupted,
        corrupted_tokens=[tokenizer.id_to_token(i) for i in corrupted],
        labels=batch.labels[0].tolist(),
        replacements=[REPLACEMENT_NAMES[int(r)] for r in batch.replacement[0].tolist()],
    )
