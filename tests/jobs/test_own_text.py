""""Train on your own text" without a window: the plan follows the text and the cores, pasted text becomes a
corpus, and a short real run answers a question about a sentence it never trained on, beside the unigram guess."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from workbench.jobs.corpora import get_corpus, rescan, split_documents
from workbench.jobs.errors import UserError
from workbench.jobs.own_text import MAX_LEN, add_own_text, held_out_question, plan_own_text, train_own_text
from workbench.jobs.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path):
    with Workspace.open(str(tmp_path / "home")) as ws:
        yield ws


def test_the_plan_follows_the_text_and_the_cores(ws: Workspace):
    sample = get_corpus(ws, None)
    plan = plan_own_text(sample, cores=2, minutes=3)
    assert plan.spec.corpus == sample.name and plan.spec.train.time_budget == 3
    assert plan.spec.model.preset == "tiny" and plan.spec.model.max_position_embeddings == MAX_LEN
    assert plan.tokenizer.type == "wordpiece" and 2000 <= plan.tokenizer.vocab_size <= 8000
    assert len(plan.reasons) == 4 and "3 minutes" in plan.reasons[-1] and "2 cores" in plan.reasons[1]
    big = replace(sample, stats={**sample.stats, "words": 5_000_000, "unique_words": 100_000})
    assert plan_own_text(big, cores=16).spec.model.preset == "mini"
    assert plan_own_text(big, cores=16).tokenizer.vocab_size == 8000
    small = replace(sample, stats={**sample.stats, "words": 500})
    with pytest.raises(UserError, match="500 words"):
        plan_own_text(small, cores=2)


def test_pasted_text_becomes_a_private_corpus(ws: Workspace):
    text = "The owl sleeps by day. The owl hunts at night.\n" * 50
    record = add_own_text(ws, "my notes", text=text)
    assert record.name == "my notes" and record.stats["words"] == 500
    saved = ws.home / "texts" / "my-notes.txt"
    assert saved.read_text(encoding="utf-8") == text
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    with pytest.raises(UserError, match="empty"):
        add_own_text(ws, "blank", text="  \n")
    with pytest.raises(UserError, match="either"):
        add_own_text(ws, "both", text="x", path=saved)


def test_a_short_run_answers_a_held_out_question(ws: Workspace):
    torch.set_num_threads(1)
    sample = get_corpus(ws, None)
    plan = plan_own_text(sample, cores=os.cpu_count() or 1, minutes=0.1)
    run, result = train_own_text(ws, sample, plan)
    assert result.status == "completed" and "budget" in result.message
    assert ws.store.get_tokenizer(run.tokenizer_id).config["vocab_size"] == plan.tokenizer.vocab_size
    question = held_out_question(ws, run, sample)
    assert question.masked.count("[MASK]") == 1 and question.masked.replace("[MASK]", question.answer) \
        .lower() == question.sentence.lower()
    fraction = run.config["data"]["val_fraction"]
    split = {part: " ".join(" ".join(split_documents(sample, rescan(ws, sample), part, fraction)).split())
             for part in ("train", "validation")}
    assert question.sentence in split["validation"]
    assert question.unseen == (question.sentence not in split["train"])  # the templated sample repeats sentences
    assert re.fullmatch(r"[a-z]{3,}", question.answer)
    assert 1 <= question.answer_rank <= plan.tokenizer.vocab_size + 5
    assert 0 < question.answer_probability < 1 and 0 < question.unigram_probability < 1
    assert len(question.predictions) == 5 and question.predictions == sorted(question.predictions,
                                                                                key=lambda p: -p[1])
    assert question.unigram_guess and question.beats_unigram == (question.answer_probability >
                                                                 question.unigram_probability)
