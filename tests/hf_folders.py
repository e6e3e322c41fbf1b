"""Tiny random-init Hugging Face masked-LM folders for the import tests, built offline with `transformers`:
a WordPiece (BERT, DistilBERT) or byte-level BPE (RoBERTa) tokenizer trained on a few sentences, and a model
of two layers, hidden size 32 and an odd feed-forward width (37) saved with `save_pretrained`."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

SENTENCES = [
    "The cat sat on the mat.", "Héllo wörld, naïve café!", "Ünïcödé àccents: résumé, façade, jalapeño.",
    "Punctuation!? (brackets) [square] {curly} -- dashes... \"quotes\" 'single'",
    "antidisestablishmentarianism supercalifragilisticexpialidocious", "Emoji: 😀 🚀 👍🏽 and 🇫🇷 flags",
    "Numbers 12345 and 3.14159, dates 2024-01-02.", "MiXeD CaSe WoRdS and UPPERCASE", "tabs\tand  double  spaces",
    "中文字符 and 日本語 text", "a", "Paris is the capital of France.", "The quick brown fox jumps over the lazy dog.",
]
TEXTS = SENTENCES * 20


def _train_wordpiece(folder: Path, tokenizer_json: bool) -> int:
    from tokenizers import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(TEXTS, vocab_size=300, min_frequency=1,
                                special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    trainer.save_model(str(folder))
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}), encoding="utf-8")
    if tokenizer_json:
        transformers = pytest.importorskip("transformers")
        transformers.BertTokenizerFast.from_pretrained(folder).save_pretrained(folder)  # converted from vocab.txt
    return trainer.get_vocab_size()


def _train_bpe(folder: Path, tokenizer_json: bool) -> int:
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(TEXTS, vocab_size=400, min_frequency=1,
                                special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    trainer.save_model(str(folder))
    mask = {"__type": "AddedToken", "content": "<mask>", "lstrip": True, "rstrip": False, "normalized": False, "special": True}
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "RobertaTokenizer",
                                                              "mask_token": mask}), encoding="utf-8")
    if tokenizer_json:
        transformers = pytest.importorskip("transformers")
        transformers.RobertaTokenizerFast.from_pretrained(folder).save_pretrained(folder)  # from vocab + merges
    return trainer.get_vocab_size()


def make_hf_folder(folder: Path, family: str, tokenizer_json: bool = True, seed: int = 0):
    """Save a tiny `family` (bert | roberta | distilbert) masked LM with its tokenizer into `folder`; the model
    in eval mode."""
    transformers = pytest.importorskip("transformers")
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    shape = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                 initializer_range=0.2)
    if family == "roberta":
        vocab = _train_bpe(folder, tokenizer_json)
        config = transformers.RobertaConfig(vocab_size=vocab, max_position_embeddings=66, type_vocab_size=1,
                                            pad_token_id=1, bos_token_id=0, eos_token_id=2, **shape)
        model = transformers.RobertaForMaskedLM(config)
    elif family == "distilbert":
        vocab = _train_wordpiece(folder, tokenizer_json)
        config = transformers.DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=2, hidden_dim=37,
                                               max_position_embeddings=64, initializer_range=0.2)
        model = transformers.DistilBertForMaskedLM(config)
    else:
        vocab = _train_wordpiece(folder, tokenizer_json)
        model = transformers.BertForMaskedLM(transformers.BertConfig(vocab_size=vocab, max_position_embeddings=64,
                                                                     **shape))
    model.eval().save_pretrained(folder)
    return model


class _Payload:
    """Not a tensor: torch.load(weights_only=True) refuses to rebuild it."""


def _edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


def _edit_weights(folder: Path, edit) -> None:
    tensors = load_file(folder / "model.safetensors")
    edit(tensors)
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


def make_bad_folder(source: Path, tmp_path: Path, case: str) -> Path:
    """A copy of the tiny BERT folder `source` broken in one way (a key of BAD_FOLDERS)."""
    folder = tmp_path / "model"
    shutil.copytree(source, folder)
    if case == "no-config":
        (folder / "config.json").unlink()
    elif case == "unsupported":
        _edit_config(folder, architectures=["AlbertForMaskedLM"], model_type="albert")
    elif case == "vocab-size":
        _edit_config(folder, vocab_size=301)
    elif case == "missing-keys":
        _edit_weights(folder, lambda t: [t.pop(k) for k in [k for k in t if "layer.1." in k]])
    elif case == "extra-keys":
        _edit_weights(folder, lambda t: t.update({"bert.encoder.layer.2.output.dense.weight": torch.zeros(1)}))
    elif case == "truncated":
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif case == "header-cap":
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes((200_000_000).to_bytes(8, "little") + data[8:])
    elif case == "unsafe-pickle":
        (folder / "model.safetensors").unlink()
        torch.save({"bert.embeddings.word_embeddings.weight": torch.zeros(1), "x": _Payload()},
                   folder / "pytorch_model.bin")
    elif case == "no-tokenizer":
        for name in ("tokenizer.json", "vocab.txt"):
            (folder / name).unlink()
    return folder


BAD_FOLDERS = {  # each broken folder and the words its refusal contains
    "no-config": "has no config.json", "unsupported": "AlbertForMaskedLM is not supported; the supported",
    "vocab-size": "vocab_size 301 but the word embeddings have 300 rows", "missing-keys": "lack 16 keys",
    "extra-keys": "keys the config does not: bert.encoder.layer.2.output.dense.weight",
    "truncated": "is truncated", "header-cap": "over the 100,000,000-byte cap",
    "unsafe-pickle": "weights_only=True refused it", "no-tokenizer": "has no tokenizer files"}


def cache_snapshot(hub: Path, repo_id: str, source: Path, revision: str = "0123456789abcdef") -> Path:
    """Put the model folder `source` into a fake Hugging Face cache at `hub` the way huggingface_hub lays it out:
    its files as blobs named by their sha256 under `models--ORG--NAME/blobs/`, the snapshot folder a set of
    relative symlinks into them. The snapshot folder."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True)
    for path in sorted(p for p in source.iterdir() if p.is_file()):
        blob = repo / "blobs" / hashlib.sha256(path.read_bytes()).hexdigest()
        if not blob.exists():
            shutil.copyfile(path, blob)
        (snapshot / path.name).symlink_to(Path("..") / ".." / "blobs" / blob.name)
    return snapshot
