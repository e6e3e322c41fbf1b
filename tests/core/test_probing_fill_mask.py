"""Fill-mask equals a plain forward pass; targets restrict the list; in-order filling picks the most confident
mask first; both mask spellings work; click-to-mask covers every piece of a word; bad input is refused."""

from __future__ import annotations

import pytest
import torch

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing import ProbeInputError, encode_text, fill_in_order, fill_mask, mask_word, word_spans
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import generate_documents
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig

TEXT = "the farmers near the dog [MASK] happy and the [MASK] says [MASK]."


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(generate_documents(300), TokenizerConfig(vocab_size=150))


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(3)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
                        intermediate_size=37, max_position_embeddings=40)
    return BertForMaskedLM(config).eval()


def direct_probs(model, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].softmax(dim=-1)  # (T, V)


def test_fill_mask_equals_a_direct_forward_pass(model, tokenizer) -> None:
    result = fill_mask(model, tokenizer, TEXT, top_k=4)
    ids = encode_text(tokenizer, TEXT)
    probs = direct_probs(model, ids)
    positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_id]
    assert [m.position for m in result.masks] == positions and len(positions) == 3
    for mask in result.masks:
        expected = probs[mask.position].topk(4)
        assert [p.token_id for p in mask.predictions] == expected.indices.tolist()
        assert [p.probability for p in mask.predictions] == pytest.approx(expected.values.tolist(), abs=1e-6)
        assert [p.token for p in mask.predictions] == [tokenizer.id_to_token(i) for i in expected.indices.tolist()]
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]" and result.notes == []


def test_targets_restrict_predictions_to_those_words(model, tokenizer) -> None:
    targets = ["is", "are", "the", "dog"]
    result = fill_mask(model, tokenizer, TEXT, top_k=10, targets=targets)
    target_ids = {tokenizer.encode(t)[0] for t in targets}
    probs = direct_probs(model, result.input_ids)
    for mask in result.masks:
        assert {p.token_id for p in mask.predictions} == target_ids  # top-k capped at the 4 targets
        values = [p.probability for p in mask.predictions]
        assert values == sorted(values, reverse=True)
        # Probabilities stay the full-vocabulary softmax, as with HF's targets.
        assert values == pytest.approx([float(probs[mask.position, p.token_id]) for p in mask.predictions], abs=1e-6)
    top_two = fill_mask(model, tokenizer, TEXT, top_k=2, targets=targets)
    assert top_two.masks[0].predictions == result.masks[0].predictions[:2]


def test_a_target_of_several_pieces_uses_its_first_piece_and_says_so(model, tokenizer) -> None:
    word = "unbelievably"
    pieces = tokenizer.encode(word)
    assert len(pieces) > 1
    result = fill_mask(model, tokenizer, TEXT, targets=[word, "is"])
    assert {p.token_id for p in result.masks[0].predictions} == {pieces[0], tokenizer.encode("is")[0]}
    assert len(result.notes) == 1 and "first piece" in result.notes[0] and word in result.notes[0]
    with pytest.raises(ProbeInputError, match="targets name no word"):
        fill_mask(model, tokenizer, TEXT, targets=[" ", ""])


def test_in_order_filling_fills_the_most_confident_mask_first(model, tokenizer) -> None:
    result = fill_in_order(model, tokenizer, TEXT, top_k=3)
    ids = list(result.input_ids)
    remaining = [i for i, t in enumerate(ids) if t == tokenizer.mask_id]
    assert sorted(s.position for s in result.steps) == remaining
    for step in result.steps:
        probs = direct_probs(model, ids)
        best = {p: float(probs[p].max()) for p in remaining}
        assert step.position == max(best, key=best.get)  # the most confident of the masks still open
        assert step.chosen.token_id == int(probs[step.position].argmax())
        assert step.chosen.probability == pytest.approx(best[step.position], abs=1e-6)
        assert step.candidates[0] == step.chosen and len(step.candidates) == 3
        ids[step.position] = step.chosen.token_id  # the next step predicts with this one filled in
        remaining.remove(step.position)
    assert ids == result.filled_ids
    assert result.text == tokenizer.decode(ids[1:-1])


def test_in_order_with_targets_fills_only_target_words(model, tokenizer) -> None:
    result = fill_in_order(model, tokenizer, TEXT, targets=["is", "are"])
    allowed = {tokenizer.encode("is")[0], tokenizer.encode("are")[0]}
    assert {s.chosen.token_id for s in result.steps} <= allowed and len(result.steps) == 3


def test_mask_token_spellings_and_ids_input() -> None:
    bpe = train_tokenizer(generate_documents(200), TokenizerConfig(type="bpe", vocab_size=320))
    assert bpe.mask_token == "<mask>"
    plain = encode_text(bpe, "the dog [MASK] happy.")
    assert plain == encode_text(bpe, "the dog <mask> happy.")
    assert plain.count(bpe.mask_id) == 1 and plain[0] == bpe.cls_id and plain[-1] == bpe.sep_id


def test_mask_word_masks_every_piece_of_the_clicked_word(model, tokenizer) -> None:
    ids = encode_text(tokenizer, "the unbelievably tired dog")
    spans = word_spans(tokenizer, ids)
    start, end = spans[1]
    assert end - start > 1 and len(spans) == 4  # the second word is several pieces
    assert [s for s, _ in spans] == [1, *(e for _, e in spans[:-1])] and spans[-1][1] == len(ids) - 1
    for position in range(start, end):
        masked = mask_word(tokenizer, ids, position)
        assert masked[start:end] == [tokenizer.mask_id] * (end - start)
        assert masked[:start] == ids[:start] and masked[end:] == ids[end:]
    result = fill_mask(model, tokenizer, masked)  # ids straight from click-to-mask
    assert [m.position for m in result.masks] == list(range(start, end))
    with pytest.raises(ProbeInputError, match="not part of a word"):
        mask_word(tokenizer, ids, 0)  # [CLS]


def test_bad_input_is_refused_with_one_line(model, tokenizer) -> None:
    with pytest.raises(ProbeInputError, match=r"no mask; write \[MASK\]"):
        fill_mask(model, tokenizer, "the dog is happy")
    with pytest.raises(ProbeInputError, match="at most 40"):
        fill_mask(model, tokenizer, "the dog [MASK] happy " * 12)
    with pytest.raises(ProbeInputError, match="top-k"):
        fill_mask(model, tokenizer, TEXT, top_k=0)
    with pytest.raises(ProbeInputError, match="empty"):
        fill_mask(model, tokenizer, "   ")


def test_a_training_model_is_probed_without_dropout_and_left_training(model, tokenizer) -> None:
    expected = fill_mask(model, tokenizer, TEXT)
    model.train()
    try:
        assert fill_mask(model, tokenizer, TEXT) == expected
        assert model.training
    finally:
        model.eval()
