"""Nearest neighbours: token neighbours are the brute-force cosine ranking of input embeddings (self and specials
left out); a word's contextual vector is the mean of its pieces' last hidden states, and the same word in the
same context is its own nearest neighbour."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing import (
    ProbeInputError,
    contextual_neighbours,
    encode_text,
    nearest_tokens,
    word_spans,
    word_vectors,
)
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import generate_documents
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(generate_documents(300), TokenizerConfig(vocab_size=150))


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(7)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=20, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=31, max_position_embeddings=40)
    return BertForMaskedLM(config).eval()


def test_token_neighbours_are_the_cosine_ranking_of_input_embeddings(model, tokenizer) -> None:
    found = nearest_tokens(model, tokenizer, "the", k=6)
    query = tokenizer.encode("the")[0]
    assert found.query_id == query and found.query_token == "the" and found.note is None
    weights = model.bert.embeddings.word_embeddings.weight.detach()
    cosine = F.cosine_similarity(weights, weights[query][None], dim=-1)
    ranking = [i for i in cosine.argsort(descending=True).tolist() if i != query and i not in tokenizer.special_ids]
    assert [n.token_id for n in found.neighbours] == ranking[:6]
    assert [n.cosine for n in found.neighbours] == pytest.approx(cosine[ranking[:6]].tolist(), abs=1e-5)
    assert nearest_tokens(model, tokenizer, "##s", k=2).query_token == "##s"  # a vocabulary token as it is
    assert "first piece" in nearest_tokens(model, tokenizer, "unbelievably").note


def test_word_vectors_average_the_pieces_of_each_word(model, tokenizer) -> None:
    sentences = ["the unbelievably tired dog", "a cat"]
    words = word_vectors(model, tokenizer, sentences)
    ids = encode_text(tokenizer, sentences[0])
    with torch.no_grad():
        hidden = model.bert(torch.tensor([ids])).last_hidden_state[0]  # (T, H)
    spans = word_spans(tokenizer, ids)
    assert words[0].words == ["the", "unbelievably", "tired", "dog"] and words[1].words == ["a", "cat"]
    expected = torch.stack([hidden[s:e].mean(dim=0) for s, e in spans])
    assert torch.allclose(words[0].vectors, expected, atol=1e-5)  # padding in the batch changes nothing


def test_the_same_word_in_the_same_context_is_the_nearest(model, tokenizer) -> None:
    others = ["a cat sleeps near the barn", "the old dog barks at the moon", "the dog sleeps"]
    found = contextual_neighbours(model, tokenizer, "the dog sleeps", "DOG", others, k=4)
    assert found.word == "dog" and found.word_index == 1
    top = found.neighbours[0]
    assert (top.sentence_index, top.word_index, top.word) == (2, 1, "dog")
    assert top.cosine == pytest.approx(1.0, abs=1e-5)
    cosines = [n.cosine for n in found.neighbours]
    assert cosines == sorted(cosines, reverse=True) and len(cosines) == 4
    assert contextual_neighbours(model, tokenizer, "the dog sleeps", 1, others, k=4) == found
    with pytest.raises(ProbeInputError, match="not a word of the sentence"):
        contextual_neighbours(model, tokenizer, "the dog sleeps", "cat", others)
    with pytest.raises(ProbeInputError, match="word index must be in 0..2"):
        contextual_neighbours(model, tokenizer, "the dog sleeps", 3, others)
