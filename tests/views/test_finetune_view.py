"""The Fine-tune panel's Qt-free logic: choices, the baseline twin, curve buffers and the HTML it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.finetune.data import DataError, preview_table
from workbench.core.finetune.trainer import EpochEvent, FinetuneResult
from workbench.core.training_types import StatusEvent, StepEvent, TrainControl
from workbench.jobs.baseline import baseline_spec, run_with_baseline
from workbench.jobs.corpora import add_corpus
from workbench.jobs.finetune import FinetuneSpec, predict, start_finetuning
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.finetune import FinetuneConfig
from workbench.settings.tokenizer import TokenizerConfig
from workbench.store.runstore import RunStore
from workbench.views.finetune_view import (
    ArmCurves,
    answer_html,
    arm_names,
    base_models,
    entity_types,
    guess_columns,
    heat_colour,
    predict_arms,
    probabilities_html,
    result_text,
    score_rows,
    summary_html,
    tagged_html,
)


def test_guess_columns() -> None:
    assert guess_columns(["sentence", "label"]) == ("sentence", None, "label")
    assert guess_columns(["id", "sentence1", "sentence2", "Label"]) == ("sentence1", "sentence2", "Label")
    assert guess_columns(["review", "stars"]) == ("review", None, "stars")  # the last column as the label


def test_preview_table(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": 0}\n\n{"text": "c", "label": 1}\n')
    assert preview_table(path, limit=2) == (["text", "label"], [["a", "1"], ["b", "0"]])
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n")
    with pytest.raises(DataError, match="no rows"):
        preview_table(empty)


def test_base_models_lists_every_pretraining_checkpoint(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "db.sqlite") as store:
        run = store.create_run("pre", "pretrain", {}, None, None, preset="tiny")
        store.create_run("ft", "finetune", {}, None, None)
        for step in (100, 200):
            store.add_checkpoint(run.id, step, f"/x/{step}", "0" * 64, 1)
        imported = store.create_run("bert", "imported", {}, None, None)  # a Hugging Face model: it fine-tunes too
        store.add_checkpoint(imported.id, 0, "/x/0", "0" * 64, 1)
        models = base_models(store)
    assert [m.reference for m in models] == [f"{imported.id}:0", f"{run.id}:200", f"{run.id}:100"]  # latest first
    assert models[1].label.startswith("pre · step 200 (tiny")


def test_baseline_spec_is_the_scratch_twin() -> None:
    spec = FinetuneSpec(train="t.conll", from_run="3:500", config=FinetuneConfig(task="tag", lr=1e-4), name="ft")
    twin = baseline_spec(spec)
    assert (twin.from_run, twin.scratch, twin.scratch_like, twin.name) == (None, None, "3:500", "ft (scratch)")
    assert twin.config == spec.config and twin.train == spec.train
    with pytest.raises(ValueError):
        baseline_spec(twin)


def test_run_with_baseline_runs_nothing_once_stopped() -> None:
    control = TrainControl()
    control.stop()
    assert run_with_baseline(None, FinetuneSpec(train="x", from_run="1", config=FinetuneConfig(task="tag")), True, print, control) == {}


def test_predict_arms_asks_every_arms_run(home: Path, tmp_path: Path) -> None:
    (tmp_path / "corpus.txt").write_text("the cat sleeps\n\nthe dog runs\n\na cat and a dog\n", encoding="utf-8")
    data = tmp_path / "train.tsv"
    data.write_text("sentence\tlabel\n" + "".join(f"the {a} sleeps\t{a}\n" for a in ("cat", "dog") * 6))
    config = FinetuneConfig(task="classify", epochs=1, batch_size=4, max_len=12, device="cpu")
    with Workspace(home) as ws:
        corpus, _ = add_corpus(ws, [tmp_path / "corpus.txt"], "animals")
        train_tokenizer_for(ws, corpus, TokenizerConfig(type="char", vocab_size=40))
        run, result = start_finetuning(ws, FinetuneSpec(train=str(data), scratch="seed-demo", config=config,
                                                        val_fraction=0.25))
        assert result.status == "completed"
        answers = predict_arms(ws, {"finetune": run.id, "baseline": run.id}, "the cat sleeps")
        assert answers == {arm: predict(ws, run.id, "the cat sleeps") for arm in ("finetune", "baseline")}
    assert answers["finetune"]["task"] == "classify" and set(answers["finetune"]["probabilities"]) == {"cat", "dog"}


def test_arm_curves_take_steps_and_epochs() -> None:
    curves = ArmCurves("f1")
    assert curves.add(StepEvent(1, 10, 2.5, 1e-4, 100.0, 0.1, 1.0, 0.5))
    assert curves.add(EpochEvent(1, 5, 2.0, 1.8, {"f1": 0.4, "precision": 0.5}, True))
    assert not curves.add(StatusEvent("running", ""))
    assert (curves.loss_steps, curves.loss, curves.metric_steps, curves.metric_values) == ([1], [2.5], [5], [0.4])
    assert curves.version == 2


def test_texts_and_colours() -> None:
    assert heat_colour(0, 10) == "#ffffff" and heat_colour(10, 10) == "#1f77b4" and heat_colour(3, 0) == "#ffffff"
    rows = score_rows({"per_class": {"a": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 4}}})
    assert rows == [("a", 1.0, 0.5, 2 / 3, 4)]
    assert score_rows({"per_type": {}}) == [] and score_rows({}) == []
    result = FinetuneResult("completed", 2, 40, best_epoch=2, best_metrics={"accuracy": 0.875})
    assert result_text("classify", result, "baseline").splitlines()[0] == \
        "Scratch baseline: completed after 40 steps; best accuracy 87.5% (epoch 2)"
    assert "stopped" in result_text("tag", FinetuneResult("stopped", 0, 3), "finetune")
    assert result_text("classify", result, "finetune").startswith("Fine-tune from the pretrained model: ")
    assert result_text("classify", result, "finetune", pretrained=False).startswith("Fine-tune from scratch: ")
    assert arm_names(True) == {"finetune": "from pretrained", "baseline": "from scratch"}
    assert arm_names(False)["finetune"] == "from scratch"
    assert entity_types(["O", "B-PER", "I-PER", "B-LOC"]) == ["PER", "LOC"]


def test_html_escapes_and_highlights() -> None:
    shown = probabilities_html({"<neg>": 0.25, "pos": 0.75})
    assert shown.startswith("<b>pos</b>") and "&lt;neg&gt;" in shown and "75.0%" in shown
    words = ["<b>alice</b>", "went", "to", "new", "york"]
    entities = [{"type": "PER", "start": 0, "end": 0}, {"type": "LOC", "start": 3, "end": 4}]
    shown = tagged_html(words, entities, ["PER", "LOC"])
    assert "&lt;b&gt;alice&lt;/b&gt;" in shown and "new york&nbsp;<sub>LOC</sub>" in shown
    assert shown.count("background") == 4  # two entities and a legend of two types
    assert "no entities found" in tagged_html(["hello"], [], ["PER"])
    shown = answer_html("paris is in france & more", "france")
    assert "<b>france</b></span> &amp; more" in shown
    assert "no answer in this passage" in answer_html("text", "")


def test_result_text_shows_validation_and_test_each_with_its_baseline() -> None:
    result = FinetuneResult("completed", 3, 30, best_epoch=3, best_metrics={"exact": 0.5, "f1": 0.6, "total": 4.0},
                            test_metrics={"exact": 0.25, "f1": 0.45, "NoAns_f1": 1.0},
                            baselines={"validation": {"exact": 0.25, "f1": 0.25, "total": 4.0},
                                       "test": {"exact": 0.5, "f1": 0.5, "NoAns_f1": 1.0}})
    lines = result_text("qa", result, "finetune").splitlines()
    assert lines[1:] == [
        "  validation (chose the epoch): exact 0.5000 (always no answer 0.2500), f1 0.6000 (always no answer 0.2500)",
        "  test: exact 0.2500 (always no answer 0.5000), f1 0.4500 (always no answer 0.5000), "
        "NoAns_f1 1.0000 (always no answer 1.0000)"]
    alone = FinetuneResult("completed", 1, 5, best_epoch=1, best_metrics={"f1": 0.0, "token_accuracy": 0.9},
                           baselines={"validation": {"f1": 0.0, "token_accuracy": 0.92}})
    lines = result_text("tag", alone, "baseline").splitlines()
    assert lines[1] == "  validation (chose the epoch): f1 0.0000 (all O 0.0000), token_accuracy 0.9000 (all O 0.9200)"
    assert lines[2].startswith("  no test file: the validation score also chose the epoch")
    shown = summary_html("tag", {"baseline": alone, "finetune": FinetuneResult("failed", 0, 0, message="a < b")})
    assert shown.startswith("Fine-tune from the pretrained model: failed (a &lt; b)<br>Scratch baseline: ")
    assert shown.count("<br>") == 3


def test_the_recommended_base_is_the_newest_finished_run_at_its_best_checkpoint(tmp_path: Path) -> None:
    """Issue 15 item 3: not step 1,000 of a completed 3,000-step run, nor a stopped run beside a finished one."""
    with RunStore.open(tmp_path / "db.sqlite") as store:
        done = store.create_run("done", "pretrain", {}, None, None, preset="tiny")
        for step, loss in ((1000, 5.0), (2000, 4.1), (3000, 4.3)):
            store.add_checkpoint(done.id, step, f"/x/{step}", "0" * 64, 1, metrics={"val_loss": loss})
        store.set_status(done.id, "running")
        store.set_status(done.id, "completed")
        stopped = store.create_run("stopped", "pretrain", {}, None, None, preset="tiny")  # newer, not finished
        store.add_checkpoint(stopped.id, 500, "/x/s500", "0" * 64, 1)
        models = base_models(store)
    assert [m.reference for m in models if m.recommended] == [f"{done.id}:2000"]
    assert next(m for m in models if m.recommended).label.endswith("recommended")
