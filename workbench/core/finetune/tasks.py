"""The three fine-tuning tasks: how examples become features and how a model's logits become scores.

Each task turns examples into features (`encode`), and scores the validation logits of those features against
the examples' gold labels (`score`), returning flat `{name: float}` metrics (what the run store records per
epoch) plus `details` (per-class / per-type tables, the confusion matrix). `main_metric` is what the best
epoch and early stopping are judged by: accuracy (classify), entity F1 (tag), token F1 (qa); QA breaks a tie
by HasAns F1, since an epoch that answers nothing scores the share of unanswerable questions and would otherwise
stay best over later, equally scored epochs that do find spans (`epoch_rank`).

`score` learns what the task fits on validation data: with no-answer allowed, QA's no-answer threshold, reported
as `null_threshold` among the metrics. Given `fitted` (the chosen epoch's validation metrics), it applies what
was learned there instead, as the test set must be scored.

`baseline` scores the trivial predictor on the same examples with the same metric code, the floor every score is
read against: the most frequent training label (classify; ties go to the first in label order), all-`O` (tag),
always no answer (qa, with HasAns and NoAns apart).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Mapping, Sequence

import torch

from workbench.core.finetune.data import ClassificationExample, QAExample, TaggedSentence
from workbench.core.finetune.encoding import Feature, encode_classification, encode_tagging, word_predictions
from workbench.core.finetune.metrics import classification_metrics, squad_metrics, tagging_metrics
from workbench.core.finetune.qa import Candidate, best_candidate, learn_null_threshold, prepare_qa_features
from workbench.core.tokenization import WorkbenchTokenizer

TASKS = ("classify", "tag", "qa")
Scores = tuple[dict[str, float], dict]  # flat metrics, details


class ClassifyTask:
    name, main_metric, tie_break, baseline_name = "classify", "accuracy", None, "majority class"

    def __init__(self, labels: Sequence[str], max_len: int) -> None:
        self.labels, self.max_len = list(labels), max_len

    def encode(self, tokenizer: WorkbenchTokenizer, examples: Sequence[ClassificationExample]) -> list[Feature]:
        return encode_classification(tokenizer, examples, {x: i for i, x in enumerate(self.labels)}, self.max_len)

    def score(self, examples: Sequence[ClassificationExample], features: Sequence[Feature],
              logits: Sequence[torch.Tensor], fitted: Mapping[str, float] | None = None) -> Scores:
        m = classification_metrics([f["labels"] for f in features], [int(x.argmax()) for x in logits], self.labels)
        return self._flat(m), {"per_class": m["per_class"], "confusion": m["confusion"], "labels": self.labels}

    def baseline(self, train: Sequence[ClassificationExample], examples: Sequence[ClassificationExample]) -> dict:
        counts = Counter(e.label for e in train)
        majority = max(self.labels, key=lambda label: counts[label])  # max keeps the first of equal counts
        index = {x: i for i, x in enumerate(self.labels)}
        return self._flat(classification_metrics([index[e.label] for e in examples],
                                                 [index[majority]] * len(examples), self.labels))

    @staticmethod
    def _flat(m: dict) -> dict[str, float]:
        return {k: m[k] for k in ("accuracy", "macro_precision", "macro_recall", "macro_f1")}


class TagTask:
    name, main_metric, tie_break, baseline_name = "tag", "f1", None, "all O"

    def __init__(self, labels: Sequence[str], max_len: int) -> None:
        self.labels, self.max_len = list(labels), max_len

    def encode(self, tokenizer: WorkbenchTokenizer, examples: Sequence[TaggedSentence]) -> list[Feature]:
        return encode_tagging(tokenizer, examples, {x: i for i, x in enumerate(self.labels)}, self.max_len)

    def word_tags(self, feature: Feature, logits: torch.Tensor) -> list[str]:
        """Per-word tags from one feature's (T, K) logits ("O" for words cut off by max_len)."""
        ids = word_predictions(feature["word_ids"], logits.argmax(-1).tolist(), feature["n_words"],
                               outside=self.labels.index("O") if "O" in self.labels else 0)
        return [self.labels[i] for i in ids]

    def score(self, examples: Sequence[TaggedSentence], features: Sequence[Feature],
              logits: Sequence[torch.Tensor], fitted: Mapping[str, float] | None = None) -> Scores:
        predicted = [self.word_tags(f, x) for f, x in zip(features, logits)]
        m = tagging_metrics([s.tags for s in examples], predicted)
        return self._flat(m), {"per_type": m["per_type"]}

    def baseline(self, train: Sequence[TaggedSentence], examples: Sequence[TaggedSentence]) -> dict:
        return self._flat(tagging_metrics([s.tags for s in examples], [["O"] * len(s.tags) for s in examples]))

    @staticmethod
    def _flat(m: dict) -> dict[str, float]:
        return {k: m[k] for k in ("precision", "recall", "f1", "token_accuracy")}


class QATask:
    name, main_metric, tie_break, baseline_name = "qa", "f1", "HasAns_f1", "always no answer"

    def __init__(self, labels: Sequence[str], max_len: int, doc_stride: int, max_answer_len: int = 30,
                 allow_no_answer: bool = False, null_threshold: float = 0.0) -> None:
        self.labels, self.max_len, self.doc_stride = list(labels), max_len, doc_stride
        self.max_answer_len, self.allow_no_answer = max_answer_len, allow_no_answer
        self.null_threshold = null_threshold  # what `answers` applies: the one a run learned, for predictions

    def encode(self, tokenizer: WorkbenchTokenizer, examples: Sequence[QAExample]) -> list[Feature]:
        return prepare_qa_features(tokenizer, examples, self.max_len, self.doc_stride,
                                   max_answer_len=self.max_answer_len)

    def candidates(self, examples: Sequence[QAExample], features: Sequence[Feature],
                   logits: Sequence[torch.Tensor]) -> list[Candidate]:
        """Each example's best span and null score over its windows."""
        windows: dict[int, list[tuple[Feature, torch.Tensor]]] = defaultdict(list)
        for feature, x in zip(features, logits):
            windows[feature["example_index"]].append((feature, x))
        return [best_candidate(example.context, [f["offsets"] for f, _ in windows[i]],
                               [x[:, 0] for _, x in windows[i]], [x[:, 1] for _, x in windows[i]],
                               self.max_answer_len) for i, example in enumerate(examples)]

    def answers(self, examples: Sequence[QAExample], features: Sequence[Feature],
                logits: Sequence[torch.Tensor]) -> list[str]:
        return [c.answer(self.allow_no_answer, self.null_threshold)
                for c in self.candidates(examples, features, logits)]

    def score(self, examples: Sequence[QAExample], features: Sequence[Feature],
              logits: Sequence[torch.Tensor], fitted: Mapping[str, float] | None = None) -> Scores:
        candidates = self.candidates(examples, features, logits)
        threshold = None
        if self.allow_no_answer:
            threshold = (fitted.get("null_threshold", 0.0) if fitted is not None
                         else learn_null_threshold(candidates, [e.answers for e in examples]))
        predictions = {e.id: c.answer(self.allow_no_answer, threshold or 0.0) for e, c in zip(examples, candidates)}
        m = {k: float(v) for k, v in squad_metrics({e.id: e.answers for e in examples}, predictions).items()}
        return (m if threshold is None else {**m, "null_threshold": threshold}), {}

    def baseline(self, train: Sequence[QAExample], examples: Sequence[QAExample]) -> dict:
        m = squad_metrics({e.id: e.answers for e in examples}, {})  # a missing prediction is ""
        return {k: float(v) for k, v in m.items()}


def epoch_rank(task, metrics: dict[str, float]) -> list[float]:
    """What the best epoch maximises: the main metric, then the task's tie-break (0 where the data has none,
    e.g. HasAns F1 without answerable questions). A list, so it survives a checkpoint's plain-data state."""
    rank = [metrics[task.main_metric]]
    if task.tie_break is not None:
        rank.append(metrics.get(task.tie_break, 0.0))
    return rank
