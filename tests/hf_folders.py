"""Tiny random-init Hugging Face masked-LM folders for the import tests, built offline with `transformers`:
a WordPiece (BERT, DistilBERT) or byte-level BPE (RoBERTa) tokenizer trained on a few sentences, and a model
of two layers, hidden size 32 and an odd feed-forward width (37) saved with `save_pretrained`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    import torch

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
