"""The three fine-tuning tasks: how examples become features and how a model's logits become scores.

Each task turns examples into features (`encode`), and scores the validation logits of those features against
the examples' gold labels (`score`), returning flat `{name: float}` metrics (what the run store records per
epoch) plus `details` (per-class / per-type tables, the confusion matrix). `main_metric` is what the best
epoch and early stopping are judged by: accuracy (classify), entity F1 (tag), token F1 (qa).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import torch

from workbench.core.finetune.data import ClassificationExample, QAExample, TaggedSentence
from workbench.core.finetune.encoding import Feature, encode_classification, encode_tagging, word_predictions
from workbench.core.finetune.metrics import classification_metrics, squad_metrics, tagging_metrics
from workbench.core.finetune.qa import best_answer, prepare_qa_features
from workbench.core.tokenization import WorkbenchTokenizer

TASKS = ("classify", "tag", "qa")


class ClassifyTask:
    name, main_metric = "classify", "accuracy"

    def __init__(self, labels: Sequence[str], max_len: int) -> None:
        self.labels, self.max_len = list(labels), max_len

    def encode(self, tokenizer: WorkbenchTokenizer, examples: Sequence[ClassificationExample]) -> list[Feature]:
        return encode_classification(tokenizer, examples, {x: i for i, x in enumerate(self.labels)}, self.max_len)

    def score(self, examples: Sequence[ClassificationExample], features: Sequence[Feature],
              logits: Sequence[torch.Tensor]) -> tuple[dict[str, float], dict]:
        m = classification_metrics([f["labels"] for f in features], [int(x.argmax()) for x in logits], self.labels)
        flat = {k: m[k] for k in ("accuracy", "macro_precision", "macro_recall", "macro_f1")}
        return flat, {"per_class": m["per_class"], "confusion": m["confusion"], "labels": self.labels}


class TagTask:
    name, main_metric = "tag", "f1"

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
              logits: Sequence[torch.Tensor]) -> tuple[dict[str, float], dict]:
        predicted = [self.word_tags(f, x) for f, x in zip(features, logits)]
        m = tagging_metrics([s.tags for s in examples], predicted)
        return {k: m[k] for k in ("precision", "recall", "f1", "token_accuracy")}, {"per_type": m["per_type"]}


class QATask:
    name, main_metric = "qa", "f1"

    def __init__(self, labels: Sequence[str], max_len: int, doc_stride: int, max_answer_len: int = 30,
                 allow_no_answer: bool = False) -> None:
        self.labels, self.max_len, self.doc_stride = list(labels), max_len, doc_stride
        self.max_answer_len, self.allow_no_answer = max_answer_len, allow_no_answer

    def encode(self, tokenizer: WorkbenchTokenizer, examples: Sequence[QAExample]) -> list[Feature]:
        return prepare_qa_features(tokenizer, examples, self.max_len, self.doc_stride)

    def answers(self, examples: Sequence[QAExample], features: Sequence[Feature],
                logits: Sequence[torch.Tensor]) -> list[str]:
        windows: dict[int, list[tuple[Feature, torch.Tensor]]] = defaultdict(list)
        for feature, x in zip(features, logits):
            windows[feature["example_index"]].append((feature, x))
        texts = []
        for i, example in enumerate(examples):
            group = windows[i]
            text, _ = best_answer(example.context, [f["offsets"] for f, _ in group], [x[:, 0] for _, x in group],
                                  [x[:, 1] for _, x in group], self.max_answer_len,
                                  allow_no_answer=self.allow_no_answer)
            texts.append(text)
        return texts

    def score(self, examples: Sequence[QAExample], features: Sequence[Feature],
              logits: Sequence[torch.Tensor]) -> tuple[dict[str, float], dict]:
        predictions = dict(zip((e.id for e in examples), self.answers(examples, features, logits)))
        m = squad_metrics({e.id: e.answers for e in examples}, predictions)
        return {k: float(v) for k, v in m.items()}, {}
