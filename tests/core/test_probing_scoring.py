"""Pseudo-log-likelihood: the one-batch computation equals masking one token at a time (PLL-original and
PLL-word-l2r), pseudo-perplexity is exp(-PLL/N), sentences are ranked by PLL, unscorable input is refused."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing import ProbeInputError, encode_text, pseudo_log_likelihood, score_sentences, word_spans
from workbench.core.probing.scoring import pll_masks
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import generate_documents
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig

SENTENCE = "the unbelievably tired farmers sleep."


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(generate_documents(300), TokenizerConfig(vocab_size=150))


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(11)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=24, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=29, max_position_embeddings=48)
    return BertForMaskedLM(config).eval()


def loop_log_probs(model, tokenizer, ids: list[int], l2r: bool = False) -> list[float]:
    """One forward pass per token, masking it (and, with l2r, the later pieces of its word)."""
    ends = {p: end for start, end in word_spans(tokenizer, ids) for p in range(start, end)}
    values = []
    for position in range(1, len(ids) - 1):
        masked = list(ids)
        for hidden in range(position, ends[position] if l2r else position + 1):
            masked[hidden] = tokenizer.mask_id
        with torch.no_grad():
            logits = model(torch.tensor([masked])).logits[0, position]  # (V,)
        values.append(float(logits.log_softmax(dim=-1)[ids[position]]))
    return values


@pytest.mark.parametrize("method", ["original", "word-l2r"])
def test_batched_pll_equals_masking_one_token_at_a_time(model, tokenizer, method: str) -> None:
    score = pseudo_log_likelihood(model, tokenizer, SENTENCE, method)
    ids = encode_text(tokenizer, SENTENCE)
    expected = loop_log_probs(model, tokenizer, ids, l2r=method == "word-l2r")
    assert [t.log_prob for t in score.tokens] == pytest.approx(expected, abs=1e-5)
    assert [t.position for t in score.tokens] == list(range(1, len(ids) - 1))
    assert [t.token for t in score.tokens] == tokenizer.tokens(SENTENCE)
    assert score.pll == pytest.approx(sum(expected), abs=1e-4)
    assert score.pseudo_perplexity == pytest.approx(math.exp(-score.pll / len(expected)))


def test_word_l2r_masks_the_later_pieces_of_the_same_word(model, tokenizer) -> None:
    ids = encode_text(tokenizer, SENTENCE)
    start, end = word_spans(tokenizer, ids)[1]  # "unbelievably": several pieces
    assert end - start >= 3
    original, l2r = pll_masks(tokenizer, ids, "original"), pll_masks(tokenizer, ids, "word-l2r")
    assert original.shape == l2r.shape == (len(ids) - 2, len(ids))
    assert torch.equal(original.sum(dim=1), torch.ones(len(ids) - 2, dtype=torch.long))
    assert l2r[start - 1].nonzero().flatten().tolist() == list(range(start, end))
    assert l2r[end - 2].nonzero().flatten().tolist() == [end - 1]  # the last piece: only itself
    a = pseudo_log_likelihood(model, tokenizer, SENTENCE, "original")
    b = pseudo_log_likelihood(model, tokenizer, SENTENCE, "word-l2r")
    assert a.tokens[0].log_prob == pytest.approx(b.tokens[0].log_prob, abs=1e-5)  # "the" is one piece
    assert a.tokens[start - 1].log_prob != pytest.approx(b.tokens[start - 1].log_prob, abs=1e-5)


def test_sentences_are_ranked_by_pll(model, tokenizer) -> None:
    sentences = ["the dog is happy.", "happy the is dog.", "the dogs are happy in the garden.", SENTENCE]
    scores = score_sentences(model, tokenizer, sentences)
    assert [s.rank for s in scores] == [1, 2, 3, 4]
    assert [s.pll for s in scores] == sorted((s.pll for s in scores), reverse=True)
    assert sorted(s.sentence for s in scores) == sorted(sentences)
    alone = pseudo_log_likelihood(model, tokenizer, sentences[2])
    assert next(s for s in scores if s.sentence == sentences[2]).pll == pytest.approx(alone.pll, abs=1e-5)


def test_unscorable_input_is_refused(model, tokenizer) -> None:
    with pytest.raises(ProbeInputError, match="contains \\[MASK\\]"):
        pseudo_log_likelihood(model, tokenizer, "the dog [MASK] happy")
    with pytest.raises(ProbeInputError, match="method must be one of original, word-l2r"):
        pseudo_log_likelihood(model, tokenizer, SENTENCE, "word-r2l")
    with pytest.raises(ProbeInputError, match="at least one sentence"):
        score_sentences(model, tokenizer, [])
    with pytest.raises(ProbeInputError, match="empty"):
        score_sentences(model, tokenizer, ["the dog", ""])
