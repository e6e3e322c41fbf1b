"""A Hugging Face folder's tokenizer as a `WorkbenchTokenizer`, built with `tokenizers` alone.

`tokenizer.json` is used as it is (its padding and truncation turned off: the workbench encodes without
specials and cuts itself). Without it, the fast tokenizer `transformers` would build is built here: `vocab.txt`
gives BERT's WordPiece (`do_lower_case`, `strip_accents` and `tokenize_chinese_chars` from
`tokenizer_config.json`), `vocab.json` + `merges.txt` RoBERTa's byte-level BPE (`add_prefix_space`). The
special tokens come from the folder's `special_tokens_map.json` or `tokenizer_config.json`, else the family's
usual ones; the workbench's family (`wordpiece`, `bpe`, `unigram`) follows from the tokenizer's model, and with
it how word starts are found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenizers import (
    AddedToken,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
)

from workbench.core.hf_import import HFImportError
from workbench.core.tokenization import (
    BERT_SPECIALS,
    ROBERTA_SPECIALS,
    ROLES,
    WorkbenchTokenizer,
)
from workbench.settings.base import SettingError
from workbench.settings.tokenizer import TokenizerConfig

TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"
_MODEL_TYPES = {"WordPiece": "wordpiece", "BPE": "bpe", "Unigram": "unigram"}


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HFImportError(f"{path} is not valid JSON: {error}") from None


def _token_text(value: Any) -> str | None:
    """A special token as the files write it: a string, or an AddedToken dict with its `content`."""
    return value.get("content") if isinstance(value, dict) else value


def _specials(folder: Path, family: str, settings: dict[str, Any]) -> dict[str, str]:
    defaults = BERT_SPECIALS if family == "wordpiece" else ROBERTA_SPECIALS
    declared = {**settings, **_read_json(folder / SPECIAL_TOKENS_MAP)}
    return {role: _token_text(declared.get(f"{role}_token")) or defaults[role] for role in ROLES}


def _lstrip(folder: Path, settings: dict[str, Any], role: str, family: str) -> bool:
    """Whether a special token swallows the space before it: as the folder declares it, else RoBERTa's
    tokenizer's default (its mask does, so "the <mask>" is two tokens)."""
    declared = {**settings, **_read_json(folder / SPECIAL_TOKENS_MAP)}.get(f"{role}_token")
    if isinstance(declared, dict) and "lstrip" in declared:
        return bool(declared["lstrip"])
    return role == "mask" and family == "bpe"


def _wordpiece(folder: Path, settings: dict[str, Any]) -> Tokenizer:
    """BertTokenizerFast's pipeline over vocab.txt (transformers' BertConverter)."""
    lines = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    vocab = {token: i for i, token in enumerate(lines)}
    lowercase = bool(settings.get("do_lower_case", True))
    unk = _token_text(settings.get("unk_token")) or BERT_SPECIALS["unk"]
    tok = Tokenizer(models.WordPiece(vocab, unk_token=unk, continuing_subword_prefix="##"))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=bool(settings.get("tokenize_chinese_chars", True)),
        strip_accents=settings.get("strip_accents"), lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def _byte_level_bpe(folder: Path, settings: dict[str, Any]) -> Tokenizer:
    """RobertaTokenizerFast's pipeline over vocab.json + merges.txt (transformers' RobertaConverter)."""
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    lines = (folder / "merges.txt").read_text(encoding="utf-8").splitlines()
    merges = [tuple(line.split(" ")) for line in lines if line and not line.startswith("#version")]
    tok = Tokenizer(models.BPE(vocab, merges, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=bool(settings.get("add_prefix_space", False)))
    tok.decoder = decoders.ByteLevel()
    return tok


def _build(folder: Path, settings: dict[str, Any]) -> tuple[Tokenizer, bool]:
    """The tokenizer, and whether it was built here (then its specials still need registering)."""
    if (folder / TOKENIZER_JSON).is_file():
        try:
            tok = Tokenizer.from_file(str(folder / TOKENIZER_JSON))
        except Exception as error:  # noqa: BLE001 - the Rust parser raises plain Exception
            raise HFImportError(f"{folder / TOKENIZER_JSON} cannot be read: {error}") from None
        tok.no_padding()
        tok.no_truncation()
        return tok, False
    if (folder / "vocab.txt").is_file():
        return _wordpiece(folder, settings), True
    if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        return _byte_level_bpe(folder, settings), True
    raise HFImportError(f"{folder} has no tokenizer files: expected {TOKENIZER_JSON}, vocab.txt, or vocab.json "
                        f"with merges.txt")


def load_hf_tokenizer(folder: Path) -> WorkbenchTokenizer:
    """The folder's tokenizer with its five special roles; a tokenizer built from vocabulary files gets its
    specials registered as transformers does (RoBERTa's mask takes the space before it: `lstrip`)."""
    folder = Path(folder)
    settings = _read_json(folder / TOKENIZER_CONFIG)
    tok, built = _build(folder, settings)
    model_type = type(tok.model).__name__
    family = _MODEL_TYPES.get(model_type)
    if family is None:
        raise HFImportError(f"{folder}: a {model_type} tokenizer model is not supported (WordPiece, BPE or Unigram)")
    specials = _specials(folder, family, settings)
    absent = [token for token in specials.values() if tok.token_to_id(token) is None]
    if absent:
        raise HFImportError(f"{folder}: the tokenizer lacks its special tokens {', '.join(absent)}")
    if built:
        tok.add_special_tokens([AddedToken(token, special=True, normalized=False,
                                           lstrip=_lstrip(folder, settings, role, family))
                                for role, token in specials.items()])
    try:
        config = TokenizerConfig(type=family, vocab_size=tok.get_vocab_size(with_added_tokens=True),
                                 lowercase=bool(settings.get("do_lower_case", False)), min_frequency=1)
    except SettingError as error:
        raise HFImportError(f"{folder}: {error}") from None
    return WorkbenchTokenizer(tok, config, specials)
