"""Train, save and load the tokenizers an MLM is pretrained with.

Four families are built on HuggingFace `tokenizers`: BERT-style WordPiece, RoBERTa-style byte-level BPE,
SentencePiece-style Unigram and a character tokenizer. All of them encode text *without* adding special
tokens (packing adds [CLS]/[SEP] itself) and expose the five special roles (cls, sep, pad, unk, mask) by
id. `word_start_mask` marks the tokens that begin a word, which whole-word and span masking rely on:
a word is a whitespace-separated unit (WordPiece also splits punctuation off, as BERT does), so byte-level
BPE, Unigram and char collapse runs of whitespace into one space before pre-tokenizing; that makes the
per-token markers ("##", "Ġ", "▁") exact word boundaries.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from workbench.core.corpus import split_text
from workbench.settings.tokenizer import TokenizerConfig

ROLES = ("cls", "sep", "pad", "unk", "mask")
BERT_SPECIALS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
ROBERTA_SPECIALS = {"cls": "<s>", "pad": "<pad>", "sep": "</s>", "unk": "<unk>", "mask": "<mask>"}
METASPACE = "▁"
BYTE_SPACE = "Ġ"
WORDPIECE_PREFIX = "##"
TOKENIZER_FILE = "tokenizer.json"
WORKBENCH_FILE = "workbench_tokenizer.json"
FORMAT_VERSION = 1
WORDPIECE_MARGIN = 1024
# `train_from_iterator` buffers 256 texts and each text being counted takes about 16 bytes a character, so
# training reads long documents in pieces of this many characters, cut at whitespace (word counts unchanged)
TRAIN_PIECE_CHARS = 1 << 16
UNIGRAM_PENALTY_STEP = 1e-4  # the Unigram trainer's score step for characters it had pruned
UNIGRAM_SCORE_DECIMALS = 6
CJK_RANGES = (  # the ranges BertNormalizer(handle_chinese_chars=True) spaces apart
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)


def _specials_for(tokenizer_type: str) -> dict[str, str]:
    return ROBERTA_SPECIALS if tokenizer_type == "bpe" else BERT_SPECIALS


def _whitespace_normalizer(lowercase: bool) -> normalizers.Normalizer:
    # One space between words and none at the ends, so every word gets exactly one space marker.
    steps = [normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()]
    if lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps)


def _bert_normalizer(lowercase: bool) -> normalizers.Normalizer:
    return normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=lowercase, lowercase=lowercase
    )


def _pipeline(config: TokenizerConfig) -> tuple[Tokenizer, trainers.Trainer]:
    """An untrained tokenizer and its trainer for the bpe, unigram and char types; specials in id order."""
    specials = list(_specials_for(config.type).values())
    common = dict(vocab_size=config.vocab_size, special_tokens=specials, show_progress=False)
    if config.type == "bpe":
        tok = Tokenizer(models.BPE())
        tok.normalizer = _whitespace_normalizer(config.lowercase)
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
        return tok, trainers.BpeTrainer(min_frequency=config.min_frequency, initial_alphabet=alphabet, **common)
    if config.type == "unigram":
        tok = Tokenizer(models.Unigram())
        tok.normalizer = _whitespace_normalizer(config.lowercase)
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
        return tok, trainers.UnigramTrainer(unk_token=BERT_SPECIALS["unk"], **common)
    # char: the space marker, then one pre-token per character, each a whole "word" to WordLevel
    tok = Tokenizer(models.WordLevel(unk_token=BERT_SPECIALS["unk"]))
    tok.normalizer = _whitespace_normalizer(config.lowercase)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=False),
        pre_tokenizers.Split(Regex("."), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    return tok, trainers.WordLevelTrainer(min_frequency=config.min_frequency, **common)


def _train_wordpiece(texts: Iterable[str], config: TokenizerConfig) -> Tokenizer:
    """BERT-style WordPiece, learned as BPE over words that carry a word-start marker.

    `WordPieceTrainer` numbers its "##" alphabet in hash order and breaks ties between equally frequent
    pairs by id, so two runs on one corpus can learn different vocabularies. Here every symbol, the
    marker included, is in the BPE alphabet, which the trainer sorts; then "▁abc" -> "abc" and
    "abc" -> "##abc". Every character gets both forms (WordPiece needs them to avoid [UNK]) except
    punctuation and CJK, which BERT always splits off as one-character words.
    """
    specials = list(BERT_SPECIALS.values())
    learner = Tokenizer(models.BPE())
    learner.normalizer = normalizers.Sequence([_bert_normalizer(config.lowercase), normalizers.Replace(METASPACE, " ")])
    learner.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.BertPreTokenizer(),
        pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=False),
    ])
    # The marker costs one merge per initial character, so learn a margin beyond vocab_size and cut after.
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size + WORDPIECE_MARGIN, min_frequency=config.min_frequency,
        special_tokens=specials, show_progress=False,
    )
    learner.train_from_iterator(texts, trainer=trainer)
    learned = sorted(learner.get_vocab().items(), key=lambda item: item[1])
    chars = [t for t, _ in learned if len(t) == 1 and t != METASPACE and t not in specials]
    pieces = specials + chars + [WORDPIECE_PREFIX + c for c in chars if not _is_bert_isolated(c)]
    for token, _ in learned:
        if len(token) > 1 and token not in specials:
            pieces.append(token[1:] if token.startswith(METASPACE) else WORDPIECE_PREFIX + token)
    vocab = {piece: i for i, piece in enumerate(dict.fromkeys(pieces).keys()) if i < config.vocab_size}
    tok = Tokenizer(models.WordPiece(vocab, unk_token=BERT_SPECIALS["unk"], continuing_subword_prefix=WORDPIECE_PREFIX))
    tok.normalizer = _bert_normalizer(config.lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix=WORDPIECE_PREFIX)
    tok.add_special_tokens(specials)
    return tok


def _is_bert_isolated(char: str) -> bool:
    """Characters BERT's pre-tokenization always makes one-character words, so "##c" is never needed."""
    cp = ord(char)
    ascii_punct = 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126
    cjk = any(lo <= cp <= hi for lo, hi in CJK_RANGES)
    return ascii_punct or cjk or unicodedata.category(char).startswith("P")


def _canonical_unigram(tok: Tokenizer, specials: list[str]) -> Tokenizer:
    """Make a trained Unigram model independent of the trainer's hash order.

    The trainer sums expectations in hash order (last-digit noise) and gives characters missing from
    the model scores min_score + i * 1e-4 in hash order. Reassign those in character order, round the
    noise away and number the pieces by (score, piece).
    """
    data = json.loads(tok.to_str())
    pieces = [(p, s) for p, s in data["model"]["vocab"] if p not in specials]
    floor = min(s for _, s in pieces)
    grid = {p: s for p, s in pieces if len(p) == 1 and _on_penalty_grid(s - floor)}
    reassigned = dict(zip(sorted(grid), sorted(grid.values())))
    pieces = [(p, round(reassigned.get(p, s), UNIGRAM_SCORE_DECIMALS)) for p, s in pieces]
    pieces.sort(key=lambda item: (-item[1], item[0]))
    data["model"]["vocab"] = [[p, 0.0] for p in specials] + [[p, s] for p, s in pieces]
    data["model"]["unk_id"] = specials.index(BERT_SPECIALS["unk"])
    for added in data["added_tokens"]:
        added["id"] = specials.index(added["content"])
    return Tokenizer.from_str(json.dumps(data))


def _on_penalty_grid(offset: float) -> bool:
    steps = offset / UNIGRAM_PENALTY_STEP
    return abs(steps - round(steps)) < 1e-6


def _counted(texts: Iterable[str], progress: Callable[[int], None] | None, every: int = 1000) -> Iterator[str]:
    n = 0
    for n, text in enumerate(texts, start=1):
        yield text
        if progress is not None and n % every == 0:
            progress(n)
    if progress is not None:
        progress(n)


def train_tokenizer(
    texts: Iterable[str], config: TokenizerConfig, progress: Callable[[int], None] | None = None
) -> WorkbenchTokenizer:
    """Train a tokenizer on streamed texts (deterministic); `progress` gets the number of texts read."""
    texts = (piece for text in _counted(texts, progress) for piece in split_text(text, TRAIN_PIECE_CHARS))
    specials = _specials_for(config.type)
    if config.type == "wordpiece":
        tok = _train_wordpiece(texts, config)
    else:
        tok, trainer = _pipeline(config)
        tok.train_from_iterator(texts, trainer=trainer)
        if config.type == "unigram":
            tok = _canonical_unigram(tok, list(specials.values()))
    return WorkbenchTokenizer(tok, config, specials)


class WorkbenchTokenizer:
    """A trained `tokenizers.Tokenizer` plus its config and the ids of its special roles."""

    def __init__(self, tokenizer: Tokenizer, config: TokenizerConfig, specials: dict[str, str]):
        self.tokenizer = tokenizer
        self.config = config
        self.special_tokens = dict(specials)
        ids = {role: tokenizer.token_to_id(token) for role, token in specials.items()}
        missing = [specials[role] for role, i in ids.items() if i is None]
        if missing:
            raise ValueError(f"tokenizer lacks special tokens {missing}")
        self.cls_id, self.sep_id, self.pad_id = ids["cls"], ids["sep"], ids["pad"]
        self.unk_id, self.mask_id = ids["unk"], ids["mask"]
        self.mask_token = specials["mask"]
        self.special_ids = sorted(set(ids.values()))
        self.word_start_lookup, self.special_lookup = self._lookups()  # (V,) bool each
        self._lookups_on: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    # ---- persistence -------------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / TOKENIZER_FILE).write_text(self.to_json(), encoding="utf-8")
        meta = {
            "format_version": FORMAT_VERSION, "config": self.config.to_dict(), "special_tokens": self.special_tokens,
        }
        (directory / WORKBENCH_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> WorkbenchTokenizer:
        directory = Path(directory)
        meta = json.loads((directory / WORKBENCH_FILE).read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{directory / WORKBENCH_FILE}: unsupported format_version {meta.get('format_version')!r}")
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        return cls(tokenizer, TokenizerConfig.from_dict(meta["config"]), meta["special_tokens"])

    @classmethod
    def from_json(cls, text: str, config: TokenizerConfig, specials: dict[str, str]) -> WorkbenchTokenizer:
        """A tokenizer from the text of its `tokenizer.json` (as `to_json` gives it), e.g. one carried in a file."""
        return cls(Tokenizer.from_str(text), config, specials)

    def to_json(self) -> str:
        """The text of its `tokenizer.json`; the fingerprint is its sha256."""
        return self.tokenizer.to_str()

    def fingerprint(self) -> str:
        """sha256 of the serialized tokenizer: equal fingerprints encode every text identically."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    # ---- encoding ----------------------------------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        # The fast variant skips offset tracking; it runs across Rust threads like encode_batch.
        return [e.ids for e in self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        text = self.tokenizer.decode(list(ids), skip_special_tokens=False)
        # Byte-level BPE keeps the space it prefixed to the first word; Metaspace's decoder drops it.
        return text[1:] if self.config.type == "bpe" and text.startswith(" ") else text

    def tokens(self, text: str) -> list[str]:
        return self.tokenizer.encode(text, add_special_tokens=False).tokens

    def id_to_token(self, i: int) -> str | None:
        return self.tokenizer.id_to_token(i)

    def token_to_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)

    # ---- word boundaries ---------------------------------------------------------------------------------

    def _lookups(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-id tables: does this token begin a word on its own, and is it special."""
        vocab = self.tokenizer.get_vocab(with_added_tokens=True)
        starts = torch.zeros(self.vocab_size, dtype=torch.bool)
        starts[[i for token, i in vocab.items() if _begins_word(self.config.type, token)]] = True
        special = torch.zeros(self.vocab_size, dtype=torch.bool)
        special[self.special_ids] = True
        return starts | special, special

    def word_start_mask(self, input_ids: torch.Tensor) -> torch.Tensor:
        """True where a token begins a word: by its own marker, or being / following a special, or first."""
        device = input_ids.device
        if device not in self._lookups_on:
            self._lookups_on[device] = (self.word_start_lookup.to(device), self.special_lookup.to(device))
        start_lookup, special_lookup = self._lookups_on[device]
        starts = start_lookup[input_ids]  # (..., T)
        if input_ids.shape[-1] == 0:
            return starts
        special = special_lookup[input_ids]  # (..., T)
        # A piece cut off from its word by [CLS] at a block start, or by [UNK], starts a new word there.
        starts[..., 1:] |= special[..., :-1]
        starts[..., 0] = True
        return starts


def _begins_word(tokenizer_type: str, token: str) -> bool:
    if tokenizer_type == "wordpiece":
        return not token.startswith(WORDPIECE_PREFIX)
    if tokenizer_type == "bpe":
        return token.startswith(BYTE_SPACE)
    return token.startswith(METASPACE)  # unigram pieces, and the char tokenizer's space token itself
