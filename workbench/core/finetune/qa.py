"""Extractive QA: contexts longer than the model's window are split into overlapping windows, and the answer
is the best legal span over all of a question's windows.

A window is `[CLS] question [SEP] context piece [SEP]` with the question cut to `max_query_len` tokens.
`doc_stride` is, as in Hugging Face's tokenizers and run_qa.py, the number of context tokens consecutive windows
share (their overlap; BERT's original run_squad.py used the name for the step between windows instead). Unlike
Hugging Face, the overlap is raised to `max_answer_len - 1` when it is smaller: an answer of at most
`overlap + 1` tokens lies wholly inside some window wherever it is, so every answer the model could give is seen
whole (with Hugging Face's default, 128 at 384, this never changes anything). An overlap that leaves no room to
advance is cut to `room - 1`. An answer that still fits no window (longer than `max_answer_len`, or than the
room) is lost to training; `answers_outside_windows` counts them. Training labels are the answer's first and
last token in the window, or the [CLS] index 0 for both when the answer does not lie wholly inside the window or
the question is unanswerable.
A span is legal when both ends are context tokens of one window, start <= end and it has at most
`max_answer_len` tokens; its score is start logit + end logit. The null score is start + end logit at [CLS], the
smallest over the windows, as Hugging Face's run_qa does. With SQuAD v2.0 behaviour (`allow_no_answer`) the
answer is "" when the null score beats the best span's by more than a threshold: 0 by default (Hugging Face's
`null_score_diff_threshold`), or the one `learn_null_threshold` finds on validation data, as the official SQuAD
v2.0 evaluation's best-threshold search does. The text is cut from the context by character offsets, so it keeps
the context's own case and spacing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from workbench.core.finetune.data import QAExample
from workbench.core.finetune.encoding import Feature, with_specials
from workbench.core.finetune.metrics import gold_texts, token_f1
from workbench.core.tokenization import WorkbenchTokenizer


def _answer_tokens(offsets: Sequence[tuple[int, int]], start_char: int, end_char: int) -> tuple[int, int] | None:
    """First and last context token overlapping the characters [start_char, end_char)."""
    inside = [i for i, (s, e) in enumerate(offsets) if e > start_char and s < end_char]
    return (inside[0], inside[-1]) if inside else None


def prepare_qa_features(tokenizer: WorkbenchTokenizer, examples: Sequence[QAExample], max_len: int,
                        doc_stride: int, max_query_len: int = 64, with_labels: bool = True,
                        max_answer_len: int = 1) -> list[Feature]:
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
        for first in _window_starts(len(context.ids), room, max(doc_stride, max_answer_len - 1)):
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


def _window_starts(n_tokens: int, room: int, overlap: int) -> list[int]:
    step = room - min(overlap, room - 1)  # at least 1: every window must move on
    starts = [0]
    while starts[-1] + room < n_tokens:
        starts.append(starts[-1] + step)
    return starts


def default_doc_stride(max_len: int) -> int:
    """Hugging Face's default overlap, 128 tokens at max_len 384, scaled to shorter windows."""
    return max_len // 3


def answers_outside_windows(examples: Sequence[QAExample], features: Sequence[Feature]) -> int:
    """Answerable examples whose answer lies wholly inside none of their windows (labelled features), so that
    training never sees it: answers longer than the overlap that straddle two windows."""
    labelled = {f["example_index"] for f in features if f.get("start_positions", 0) != 0}
    return sum(1 for i, e in enumerate(examples) if not e.is_impossible and e.answers and i not in labelled)


@dataclass(frozen=True)
class Candidate:
    """One example's best legal span over its windows ("" and -inf when there is none) and its null score."""

    text: str
    score: float
    null_score: float

    @property
    def null_margin(self) -> float:
        """How much more the null score is than the best span's: the answer is "" above the threshold."""
        return self.null_score - self.score

    def answer(self, allow_no_answer: bool, null_threshold: float = 0.0) -> str:
        if self.score == float("-inf") or (allow_no_answer and self.null_margin > null_threshold):
            return ""
        return self.text


def best_candidate(context: str, offsets: Sequence[Sequence[tuple[int, int] | None]],
                   start_logits: Sequence[torch.Tensor], end_logits: Sequence[torch.Tensor],
                   max_answer_len: int = 30, n_best: int = 20) -> Candidate:
    """The best legal span and the null score over one example's windows (offsets and (T,) logits per window)."""
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
    return Candidate(best_text, best_score, null_score)


def best_answer(context: str, offsets: Sequence[Sequence[tuple[int, int] | None]],
                start_logits: Sequence[torch.Tensor], end_logits: Sequence[torch.Tensor],
                max_answer_len: int = 30, n_best: int = 20, allow_no_answer: bool = False,
                null_threshold: float = 0.0) -> tuple[str, float]:
    """The answer text and its score over one example's windows; ("", null score) when no span is legal or,
    with `allow_no_answer`, when the null score beats the best span's by more than `null_threshold`."""
    candidate = best_candidate(context, offsets, start_logits, end_logits, max_answer_len, n_best)
    text = candidate.answer(allow_no_answer, null_threshold)
    return (text, candidate.score) if text else ("", candidate.null_score)


def learn_null_threshold(candidates: Sequence[Candidate], gold_answers: Sequence[Sequence[str]]) -> float:
    """The null-margin threshold that maximises summed F1 on these examples (the official SQuAD v2.0
    evaluation's best-threshold search): examples are switched from "" to their span in order of rising margin,
    a run of equal margins at once, and the best point is kept (the first, so the fewest answers, on a tie).
    Below every margin (all "") it is the smallest finite margin minus 1; without any span, 0."""
    null_f1 = [1.0 if gold_texts(gold) == [""] else 0.0 for gold in gold_answers]
    span_f1 = [max(token_f1(g, c.text) for g in gold_texts(gold)) for c, gold in zip(candidates, gold_answers)]
    order = sorted((i for i, c in enumerate(candidates) if math.isfinite(c.null_margin)),
                   key=lambda i: candidates[i].null_margin)
    if not order:
        return 0.0
    total = best_total = sum(null_f1)
    threshold = candidates[order[0]].null_margin - 1.0
    for n, i in enumerate(order):
        total += span_f1[i] - null_f1[i]
        margin = candidates[i].null_margin
        if (n + 1 == len(order) or candidates[order[n + 1]].null_margin != margin) and total > best_total:
            best_total, threshold = total, margin
    return threshold
