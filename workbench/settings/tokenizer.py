"""How a tokenizer is trained: `TokenizerConfig` (family, vocabulary size, lowercasing, minimum frequency)."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.settings.base import SettingError, Settings, setting

TOKENIZER_TYPES = ("wordpiece", "bpe", "unigram", "char")
SPECIAL_TOKENS = 5  # [PAD] [UNK] [CLS] [SEP] [MASK] (BPE: <pad> <unk> <s> </s> <mask>)
BYTE_ALPHABET_SIZE = 256
MAX_VOCAB_SIZE = 1_000_000


def min_vocab_size(tokenizer_type: str) -> int:
    """The smallest vocabulary a type can be trained to: specials, plus the 256 bytes for byte-level BPE."""
    if tokenizer_type == "bpe":
        return SPECIAL_TOKENS + BYTE_ALPHABET_SIZE + 1  # at least one merge, or it is not BPE
    return 32


@dataclass(frozen=True)
class TokenizerConfig(Settings):
    section = "tokenizer"

    type: str = setting("wordpiece", "The tokenizer family: BERT's WordPiece, RoBERTa's byte-level BPE, "
                        "SentencePiece-style Unigram, or single characters.", "Type", choices=TOKENIZER_TYPES)
    vocab_size: int = setting(8000, "How many different tokens the tokenizer may use (the model's vocabulary).",
                              "Vocabulary size", low=32, high=MAX_VOCAB_SIZE, step=1000,
                              allowed=f"an integer from 32 (BPE: {min_vocab_size('bpe')}) to {MAX_VOCAB_SIZE:,}")
    lowercase: bool = setting(True, "Lower-case (and, for WordPiece, strip accents from) the text first.",
                              "Lowercase")
    min_frequency: int = setting(2, "How often a piece must occur to be merged into the vocabulary (Unigram "
                                 "prunes by likelihood instead).", "Minimum frequency", low=1, high=1_000_000,
                                 advanced=True)

    def check(self) -> None:
        low = min_vocab_size(self.type)
        if self.vocab_size < low:
            raise SettingError("vocab_size", f"must be at least {low} for a {self.type} tokenizer; got "
                               f"{self.vocab_size}")
