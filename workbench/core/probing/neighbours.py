"""Nearest neighbours: which tokens a model's input embeddings place close together, and which words in other
sentences a word's contextual vector is closest to.

Both use cosine similarity. A token's neighbours come from the input embedding matrix (tied to the output
decoder), leaving out the token itself and the special tokens. A word's contextual vector is the mean over
its pieces of the last hidden layer (after the final LayerNorm of a pre-LN model), as in the usual
word-level readings of BERT; words are the tokenizer's (see encoding.word_spans).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing.encoding import (
    ProbeInputError,
    encode_text,
    inference,
    model_device,
    pad_batch,
    tokens_of,
    word_spans,
    word_token_id,
)
from workbench.core.tokenization import WorkbenchTokenizer


@dataclass(frozen=True)
class TokenNeighbour:
    token_id: int
    token: str
    cosine: float


@dataclass(frozen=True)
class TokenNeighbours:
    query: str
    query_id: int
    query_token: str
    neighbours: list[TokenNeighbour]  # most similar first
    note: str | None  # set when the query was cut to its first piece or is unknown

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SentenceWords:
    words: list[str]
    vectors: torch.Tensor  # (W, H): one contextual vector per word


@dataclass(frozen=True)
class WordNeighbour:
    sentence_index: int  # into `others`
    word_index: int
    word: str
    cosine: float


@dataclass(frozen=True)
class ContextualNeighbours:
    word: str
    word_index: int
    neighbours: list[WordNeighbour]  # most similar first

    def to_dict(self) -> dict:
        return asdict(self)


def nearest_tokens(model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, token: str, k: int = 10) -> TokenNeighbours:
    """The k tokens whose input embeddings have the highest cosine with `token`'s (a word or a vocabulary token)."""
    query_id, note = word_token_id(tokenizer, token.strip())
    embeddings = model.bert.embeddings.word_embeddings.weight.detach().float().cpu()  # (V, H)
    cosine = F.normalize(embeddings, dim=-1) @ F.normalize(embeddings[query_id], dim=0)  # (V,)
    cosine[[query_id, *tokenizer.special_ids]] = -math.inf
    candidates = int(torch.isfinite(cosine).sum())
    values, ids = cosine.topk(min(k, candidates))
    neighbours = [TokenNeighbour(int(i), tokens_of(tokenizer, [int(i)])[0], float(v)) for i, v in zip(ids, values)]
    return TokenNeighbours(token, query_id, tokens_of(tokenizer, [query_id])[0], neighbours, note)


def word_vectors(
    model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, sentences: Sequence[str]
) -> list[SentenceWords]:
    """Each sentence's words and their contextual vectors, all sentences in one padded batch."""
    encoded = [encode_text(tokenizer, s, model.config.max_length) for s in sentences]
    input_ids, attention_mask = pad_batch(encoded, tokenizer.pad_id, model_device(model))  # (B, T)
    with inference(model):
        hidden = model.bert(input_ids, attention_mask).last_hidden_state.float().cpu()  # (B, T, H)
    H = hidden.shape[-1]
    result = []
    for row, ids in enumerate(encoded):
        spans = word_spans(tokenizer, ids)
        vectors = [hidden[row, start:end].mean(dim=0) for start, end in spans]  # (H,) each
        words = [tokenizer.decode(ids[start:end]).strip() for start, end in spans]
        result.append(SentenceWords(words, torch.stack(vectors) if vectors else hidden.new_zeros((0, H))))
    return result


def _word_index(words: list[str], word: int | str) -> int:
    if isinstance(word, int):
        if not 0 <= word < len(words):
            raise ProbeInputError(f"word index must be in 0..{len(words) - 1}; got {word}")
        return word
    lowered = [w.lower() for w in words]
    if word.strip().lower() not in lowered:
        raise ProbeInputError(f"{word!r} is not a word of the sentence; its words are {words}")
    return lowered.index(word.strip().lower())


def contextual_neighbours(
    model: BertForMaskedLM,
    tokenizer: WorkbenchTokenizer,
    sentence: str,
    word: int | str,
    others: Sequence[str],
    k: int = 10,
) -> ContextualNeighbours:
    """The k words of `others` whose contextual vectors are closest to `word` (an index or the first equal word)
    of `sentence`."""
    if not others:
        raise ProbeInputError("give at least one other sentence to search")
    query, *rest = word_vectors(model, tokenizer, [sentence, *others])
    index = _word_index(query.words, word)
    target = F.normalize(query.vectors[index], dim=0)  # (H,)
    found = []
    for sentence_index, words in enumerate(rest):
        cosine = F.normalize(words.vectors, dim=-1) @ target  # (W,)
        found += [WordNeighbour(sentence_index, i, w, float(c)) for i, (w, c) in enumerate(zip(words.words, cosine))]
    found.sort(key=lambda n: -n.cosine)
    return ContextualNeighbours(query.words[index], index, found[:k])
