"""Extractive QA: contexts longer than the model's window are split into overlapping windows, and the answer
is the best legal span over all of a question's windows.

A window is `[CLS] question [SEP] context piece [SEP]` with the question cut to `max_query_len` tokens.
`doc_stride` is, as in BERT's run_squad.py, the step between the first context tokens of consecutive windows
(so windows overlap by `room - doc_stride` tokens; a stride larger than the room is reduced to it, so no
context token is ever skipped). Training labels are the answer's first and last token in the window, or the
[CLS] index 0 for both when the answer does not lie wholly inside the window or the question is unanswerable.
A span is legal when both ends are context tokens of one window, start <= end and it has at most
`max_answer_len` tokens; its score is start logit + end logit. With SQuAD v2.0 behaviour (`allow_no_answer`)
the answer is "" when the null score (start + end logit at [CLS], the smallest over the windows, as
HuggingFace's run_qa does) beats the best span. The text is cut from the context by character offsets, so it
keeps the context's own case and spacing.
"""

from __future__ import annotations

from typing import Sequence

import torch

from workbench.core.finetune.data import QAExample
from workbench.core.finetune.encoding import Feature, with_specials
from workbench.core.tokenization import WorkbenchTokenizer


def _answer_tokens(offsets: Sequence[tuple[int, int]], start_char: int, end_char: int) -> tuple[int, int] | None:
    """First and last context token overlapping the characters [start_char, end_char)."""
    inside = [i for i, (s, e) in enumerate(offsets) if e > start_char and s < end_char]
    return (inside[0], inside[-1]) if inside else None


def prepare_qa_features(tokenizer: WorkbenchTokenizer, examples: Sequence[QAExample], max_len: int,
                        doc_stride: int, max_query_len: int = 64, with_labels: bool = True) -> list[Feature]:
    """Windows of every example, each with example_index, offsets (character span per token, None outside the
    context) and, with labels, start_positions / end_positions."""
    features = []
    for index, example in enumerate(examples):
        question = tokenizer.encode(example.question)[:max_query_len]
        context = tokenizer.tokenizer.encode(example.context, add_special_tokens=False)
        room = max_len - len(question) - 3
        if room < 1:
            raise ValueError(f"--max-len {max_len} leaves no room for the context after a {len(question)}-token "
                             "question; raise it")
        answer = None
        if with_labels and not example.is_impossible and example.answers:
            start = example.answer_starts[0]
            answer = _answer_tokens(context.offsets, start, start + len(example.answers[0]))
        for first in _window_starts(len(context.ids), room, doc_stride):
            last = min(first + room, len(context.ids))  # exclusive
            ids, types = with_specials(tokenizer, question, context.ids[first:last])
            shift = len(question) + 2 - first  # context token i sits at sequence position i + shift
            offsets: list[tuple[int, int] | None] = [None] * (len(question) + 2)
            offsets += [tuple(o) for o in context.offsets[first:last]] + [None]
            feature = {"input_ids": ids, "token_type_ids": types, "example_index": index, "offsets": offsets}
            if with_labels:
                inside = answer is not None and first <= answer[0] and answer[1] < last
                feature["start_positions"] = answer[0] + shift if inside else 0
                feature["end_positions"] = answer[1] + shift if inside else 0
            features.append(feature)
    return features


def _window_starts(n_tokens: int, room: int, doc_stride: int) -> list[int]:
    stride = max(1, min(doc_stride, room))
    starts = [0]
    while starts[-1] + room < n_tokens:
        starts.append(starts[-1] + stride)
    return starts


def best_answer(context: str, offsets: Sequence[Sequence[tuple[int, int] | None]],
                start_logits: Sequence[torch.Tensor], end_logits: Sequence[torch.Tensor],
                max_answer_len: int = 30, n_best: int = 20, allow_no_answer: bool = False) -> tuple[str, float]:
    """The answer text and its score over one example's windows (offsets and (T,) logits per window);
    ("", null score) when no span is legal or, with `allow_no_answer`, when the null score is higher."""
    best_text, best_score = "", float("-inf")
    null_score = float("inf")
    for window_offsets, starts, ends in zip(offsets, start_logits, end_logits):
        starts, ends = starts[: len(window_offsets)].float(), ends[: len(window_offsets)].float()
        null_score = min(null_score, float(starts[0] + ends[0]))
        k = min(n_best, len(window_offsets))
        for s in starts.topk(k).indices.tolist():
            for e in ends.topk(k).indices.tolist():
                if window_offsets[s] is None or window_offsets[e] is None or not 0 <= e - s < max_answer_len:
                    continue
                score = float(starts[s] + ends[e])
                if score > best_score:
                    best_text, best_score = context[window_offsets[s][0]: window_offsets[e][1]], score
    if best_score == float("-inf") or (allow_no_answer and null_score > best_score):
        return "", null_score
    return best_text, best_score
