"""A QA fine-tuning run through the jobs API (issue 20): SQuAD v1.1 training data scored on v2.0 questions warns
and can allow no-answer anyway; a run that allows it learns its no-answer threshold on validation and `predict`
applies the learned one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.jobs.corpora import get_corpus
from workbench.jobs.finetune import FinetuneSpec, load_finetuned, start_finetuning
from workbench.jobs.finetune_scores import run_score_lines
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.finetune import FinetuneConfig
from workbench.settings.tokenizer import TokenizerConfig

CONTEXT = "the small cat sleeps near the old barn while the farmer walks home"


def squad(path: Path, impossible: int) -> Path:
    qas = [{"id": f"a{i}", "question": "who sleeps near the barn", "answers": [{"text": "cat", "answer_start": 10}]}
           for i in range(6)]
    qas += [{"id": f"n{i}", "question": "where is the moon", "answers": [], "is_impossible": True}
            for i in range(impossible)]
    path.write_text(json.dumps({"data": [{"title": "farm", "paragraphs": [{"context": CONTEXT, "qas": qas}]}]}),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    with Workspace(home) as ws:
        train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=300))
    return home


def finetune(home: Path, tmp_path: Path, no_answer: str, name: str):
    config = FinetuneConfig(task="qa", lr=3e-3, epochs=2, batch_size=4, max_len=32, device="cpu",
                            no_answer=no_answer)
    spec = FinetuneSpec(train=str(squad(tmp_path / "train.json", 0)), validation=str(squad(tmp_path / "dev.json", 3)),
                        scratch="seed-demo", config=config, name=name)
    with Workspace(home) as ws:
        return start_finetuning(ws, spec)


def test_v11_training_with_v20_validation_warns(home: Path, tmp_path: Path) -> None:
    run, result = finetune(home, tmp_path, "auto", "v11")
    assert not run.config["allow_no_answer"] and "null_threshold" not in result.best_metrics
    [warning] = run.config["warnings"]
    assert "no unanswerable questions (SQuAD v1.1)" in warning and "3 unanswerable" in warning
    assert "--no-answer allow" in warning and result.warnings == [warning]
    assert run_score_lines(run.config)[-1] == f"warning: {warning}"


def test_allowing_no_answer_learns_the_threshold_that_predict_applies(home: Path, tmp_path: Path) -> None:
    run, result = finetune(home, tmp_path, "allow", "allowed")
    assert run.config["allow_no_answer"] and run.config["warnings"] == []
    learned = result.best_metrics["null_threshold"]
    assert any("no-answer threshold" in line for line in run_score_lines(run.config))
    with Workspace(home) as ws:
        task, _, _ = load_finetuned(ws, "allowed")
    assert task.allow_no_answer and task.null_threshold == learned
