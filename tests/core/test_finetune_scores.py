"""What fine-tuning scores are read against and which epoch they come from: the trivial baselines by hand, QA's
tie-break between equally scored epochs, and a test set scored once with the chosen epoch's weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from workbench.core.finetune.data import ClassificationExample, QAExample, TaggedSentence
from workbench.core.finetune.heads import build_task_model
from workbench.core.finetune.tasks import ClassifyTask, QATask, TagTask, epoch_rank
from workbench.core.finetune.trainer import FinetuneTrainer
from workbench.core.tokenization import train_tokenizer
from workbench.settings.finetune import FinetuneConfig
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig

CONTEXT = "paris is the capital of france and the cat sat on the mat"


def test_majority_class_baseline_by_hand() -> None:
    task = ClassifyTask(["neg", "pos", "neutral"], max_len=16)
    train = [ClassificationExample("x", label) for label in ("pos", "neg", "pos", "neg", "pos")]
    scored = [ClassificationExample("x", label) for label in ("neg", "pos", "pos", "neutral")]
    floor = task.baseline(train, scored)  # always "pos": right on 2 of 4; only pos has F1, 2/3
    assert floor == pytest.approx({"accuracy": 0.5, "macro_precision": 0.5 / 3, "macro_recall": 1 / 3,
                                   "macro_f1": 2 / 9})
    tied = [ClassificationExample("x", label) for label in ("pos", "neg")]
    assert ClassifyTask(["neg", "pos"], 16).baseline(tied, tied)["accuracy"] == 0.5  # "neg", first in label order


def test_all_o_baseline_by_hand() -> None:
    task = TagTask(["O", "B-PER", "I-PER", "B-LOC"], max_len=16)
    scored = [TaggedSentence(["ada", "lovelace", "wrote"], ["B-PER", "I-PER", "O"]),
              TaggedSentence(["in", "london"], ["O", "B-LOC"])]
    assert task.baseline([], scored) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "token_accuracy": 0.4}


def test_no_answer_baseline_by_hand_with_hasans_and_noans() -> None:
    scored = [QAExample("a", "capital of france?", CONTEXT, ["paris"], [0]),
              QAExample("b", "capital of spain?", CONTEXT, [], [], is_impossible=True),
              QAExample("c", "who barks?", CONTEXT, [], [], is_impossible=True)]
    floor = QATask([], 24, 8).baseline([], scored)
    assert floor == pytest.approx({"exact": 2 / 3, "f1": 2 / 3, "total": 3, "HasAns_exact": 0.0, "HasAns_f1": 0.0,
                                   "HasAns_total": 1, "NoAns_exact": 1.0, "NoAns_f1": 1.0, "NoAns_total": 2})


def test_epoch_rank_breaks_qa_ties_by_hasans_f1() -> None:
    qa, tag = QATask([], 24, 8), TagTask(["O"], 24)
    silent, answering = {"f1": 0.4923, "HasAns_f1": 0.0}, {"f1": 0.4923, "HasAns_f1": 0.2}
    assert epoch_rank(qa, answering) > epoch_rank(qa, silent)
    assert epoch_rank(qa, {"f1": 0.5}) == [0.5, 0.0]  # no answerable question: no tie-break to use
    assert epoch_rank(tag, {"f1": 0.3, "token_accuracy": 0.9}) == [0.3]


class ScriptedQA(QATask):
    """Validation scores from a script, one dict an epoch; every call's logits are kept, to tell which weights
    scored what."""

    def __init__(self, script: list[dict[str, float]]) -> None:
        super().__init__([], max_len=24, doc_stride=8)
        self.script, self.seen = list(script), []

    def score(self, examples, features, logits, fitted=None):
        self.seen.append(torch.cat([x.flatten() for x in logits]))
        return (self.script.pop(0) if self.script else {"f1": -1.0}), {}


@pytest.fixture(scope="module")
def qa_data():
    tokenizer = train_tokenizer([CONTEXT, "what is the capital of france", "where did the cat sit"] * 20,
                                TokenizerConfig(type="wordpiece", vocab_size=120, min_frequency=1))
    examples = [QAExample("a", "what is the capital of france", CONTEXT, ["paris"], [0]),
                QAExample("b", "where did the cat sit", CONTEXT, ["on the mat"], [CONTEXT.index("on the mat")]),
                QAExample("c", "who barks", CONTEXT, [], [], is_impossible=True)]
    features = QATask([], 24, 8).encode(tokenizer, examples)
    return tokenizer, examples, features


def train_scripted(qa_data, tmp_path: Path, script: list[dict], with_test: bool) -> tuple[ScriptedQA, object]:
    tokenizer, examples, features = qa_data
    torch.manual_seed(0)
    model = build_task_model("qa", BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1,
                                              num_attention_heads=2, intermediate_size=24,
                                              max_position_embeddings=24), 2)
    task = ScriptedQA(script)
    config = FinetuneConfig(task="qa", lr=1e-2, epochs=3, batch_size=4, max_len=24, device="cpu")
    test = dict(test_examples=examples, test_features=features) if with_test else {}
    trainer = FinetuneTrainer(model, config, task, features, examples, features, tokenizer.pad_id, tmp_path, {},
                              **test)
    return task, trainer.run()


SCRIPT = [{"f1": 0.4923, "HasAns_f1": 0.0}, {"f1": 0.4923, "HasAns_f1": 0.21}, {"f1": 0.40, "HasAns_f1": 0.3}]


def test_an_epoch_that_answers_nothing_loses_the_tie(qa_data, tmp_path: Path) -> None:
    _, result = train_scripted(qa_data, tmp_path, SCRIPT, with_test=False)
    assert result.status == "completed" and result.best_epoch == 2 and result.best_metrics == SCRIPT[1]
    assert result.best_checkpoint.name.endswith(str(result.steps * 2 // 3))  # epoch 2's checkpoint
    assert result.test_metrics == {}


def test_the_test_set_is_scored_once_with_the_chosen_epoch(qa_data, tmp_path: Path) -> None:
    task, result = train_scripted(qa_data, tmp_path, SCRIPT, with_test=True)
    assert result.best_epoch == 2 and len(task.seen) == 4  # three epochs, then the test set once
    after_epoch_2, after_epoch_3, test = task.seen[1], task.seen[2], task.seen[3]
    assert torch.equal(test, after_epoch_2) and not torch.equal(test, after_epoch_3)  # the same file, epoch 2's weights
    assert result.test_metrics == {"f1": -1.0}
