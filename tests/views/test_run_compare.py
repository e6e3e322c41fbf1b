"""Run comparison helpers: flattening, config diffs, CSV rows (shared with `runs export`), resumability, search,
and the short texts the Runs panel shows."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace
from pathlib import Path

import pytest

from workbench.core.model_config import count_parameters
from workbench.jobs.metrics_csv import METRICS_CSV_HEADER, metrics_csv_rows, write_metrics_csv
from workbench.settings.model import BertConfig
from workbench.store.runstore import MetricPoint, RunStore
from workbench.views.curves import load_curves
from workbench.views.run_compare import (
    MISSING,
    ConfigDifference,
    can_resume,
    config_diff,
    describe_run,
    flatten_config,
    format_value,
    human_size,
    local_time,
    loss_text,
    metrics_text,
    parse_tags,
    run_matches,
    steps_text,
)

CONFIG = {
    "model": {"hidden_size": 64, "num_hidden_layers": 2, "pre_layer_norm": False},
    "train": {"lr": 5e-4, "adam_betas": [0.9, 0.999], "steps": 30},
    "data": {"corpus": "sample", "extra": {}},
}


@pytest.fixture
def store(tmp_path: Path):
    with RunStore.open(tmp_path / "workbench.db") as opened:
        yield opened


def test_flatten_config_dotted_in_order_with_lists_and_empty_dicts_as_leaves() -> None:
    flat = flatten_config(CONFIG)
    assert list(flat) == [
        "model.hidden_size", "model.num_hidden_layers", "model.pre_layer_norm",
        "train.lr", "train.adam_betas", "train.steps", "data.corpus", "data.extra",
    ]
    assert flat["train.adam_betas"] == [0.9, 0.999] and flat["data.extra"] == {}
    assert flatten_config({"a": {"b": {"c": 1}}}) == {"a.b.c": 1}


def test_config_diff_lists_exactly_the_changed_added_and_removed_settings() -> None:
    other = {
        "model": {"hidden_size": 128, "num_hidden_layers": 2, "pre_layer_norm": True},
        "train": {"lr": 5e-4, "adam_betas": [0.9, 0.98], "steps": 30, "seed": 3},
        "data": {"extra": {}},
    }
    assert config_diff(CONFIG, other) == [
        ConfigDifference("model.hidden_size", 64, 128),
        ConfigDifference("model.pre_layer_norm", False, True),
        ConfigDifference("train.adam_betas", [0.9, 0.999], [0.9, 0.98]),
        ConfigDifference("data.corpus", "sample", MISSING),
        ConfigDifference("train.seed", MISSING, 3),
    ]
    assert config_diff(CONFIG, CONFIG) == []


def test_config_diff_notices_a_change_of_type() -> None:
    assert [d.key for d in config_diff({"a": 1, "b": True}, {"a": 1.0, "b": 1})] == ["a", "b"]


def test_format_value() -> None:
    assert format_value("sample") == "sample"
    assert format_value([0.9, 0.999]) == "[0.9, 0.999]"
    assert format_value(True) == "true" and format_value(None) == "null" and format_value(5e-4) == "0.0005"
    assert format_value(MISSING) == "(not set)"


def test_csv_rows_keep_every_digit_and_nan() -> None:
    points = [MetricPoint("train_loss", 10, 2.0 / 3.0, 1700000000123), MetricPoint("val_loss", 20, math.nan, 5)]
    out = io.StringIO()
    assert write_metrics_csv(out, metrics_csv_rows(7, points)) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == METRICS_CSV_HEADER
    assert rows[1] == ["7", "train_loss", "10", repr(2.0 / 3.0), "1700000000123"]
    assert float(rows[1][3]) == 2.0 / 3.0
    assert rows[2] == ["7", "val_loss", "20", "nan", "5"]


def test_load_curves_skips_keys_without_points(store: RunStore) -> None:
    run = store.create_run("a", "pretrain", CONFIG, None, None)
    store.log_metrics(run.id, [("train_loss", 20, 2.5, 2), ("train_loss", 10, 3.0, 1), ("val_loss", 20, 2.9, 2)])
    curves = load_curves(store, run.id)
    shown = {key: (list(series.steps), list(series.values)) for key, series in curves.series.items() if len(series)}
    assert shown == {"train_loss": ([10, 20], [3.0, 2.5]), "val_loss": ([20], [2.9])}


@pytest.mark.parametrize("kind, status, has_checkpoint, expected", [
    ("pretrain", "stopped", True, True),
    ("pretrain", "interrupted", True, True),
    ("pretrain", "failed", True, True),
    ("pretrain", "stopped", False, False),
    ("pretrain", "completed", True, False),
    ("pretrain", "diverged", True, False),
    ("pretrain", "running", True, False),
    ("finetune", "stopped", True, True),
    ("finetune", "completed", True, False),
])
def test_can_resume(store: RunStore, kind: str, status: str, has_checkpoint: bool, expected: bool) -> None:
    run = store.set_status(store.create_run(None, kind, {}, None, None).id, status)
    assert can_resume(run, has_checkpoint) is expected


def test_run_matches_searches_name_status_and_tags(store: RunStore) -> None:
    run = store.create_run("Baseline-Tiny", "pretrain", {}, None, None)
    run = store.update_run(store.set_status(run.id, "stopped").id, tags=["ablation", "lr-sweep"])
    assert run_matches(run)
    assert run_matches(run, "baseline") and run_matches(run, "STOPPED") and run_matches(run, "sweep")
    assert run_matches(run, "tiny ablation")  # every word must be found somewhere
    assert not run_matches(run, "tiny completed")
    assert run_matches(run, status="stopped") and not run_matches(run, status="completed")
    assert not run_matches(run, "baseline", status="running")


def test_parse_tags() -> None:
    assert parse_tags(" a, b ,, a,c d ") == ["a", "b", "c d"]
    assert parse_tags("") == []


def test_short_texts(store: RunStore) -> None:
    run = store.create_run("a", "pretrain", {"train": {"steps": 300}, "data": {"corpus": "sample"}}, None, None,
                           preset="tiny", device="CPU")
    assert steps_text(run) == "- / 300"
    store.log_metrics(run.id, [("val_loss", 120, 3.14159, 1)])
    run = store.set_status(run.id, "failed", error="out of memory")
    assert steps_text(run) == "120 / 300" and loss_text(run.best_val_loss) == "3.1416"
    assert steps_text(store.create_run(None, "pretrain", {}, None, None)) == "-"
    assert loss_text(None) == "-" and loss_text(math.nan) == "-"
    text = describe_run(run)
    assert "pretrain · failed · preset tiny · CPU" in text and "Corpus sample" in text and "120 / 300" in text
    assert text.splitlines()[-1] == "Error: out of memory"
    assert local_time(None) == "-"


def test_human_size_and_metrics_text() -> None:
    assert [human_size(n) for n in (0, 999, 1000, 1_724_547, 2_500_000_000, 3 * 10**12)] == [
        "0 B", "999 B", "1.0 KB", "1.7 MB", "2.5 GB", "3.0 TB"]
    assert metrics_text({"val_loss": 3.214159, "step": 7}) == "val_loss 3.214, step 7"
    assert metrics_text(None) == ""


def test_describe_run_shows_a_finetune_runs_scores_with_their_baselines(store: RunStore) -> None:
    result = {"best_metrics": {"accuracy": 0.9, "macro_f1": 0.85}, "test_metrics": {"accuracy": 0.8, "macro_f1": 0.7},
              "baselines": {"validation": {"accuracy": 0.5, "macro_f1": 1 / 3},
                            "test": {"accuracy": 0.6, "macro_f1": 0.375}}}
    run = store.create_run("ft", "finetune", {"task": "classify", "data": {}, "result": result}, None, None)
    assert describe_run(run).splitlines()[3:] == [
        "validation (chose the epoch): accuracy 0.9000 (majority class 0.5000), macro_f1 0.8500 (majority class 0.3333)",
        "test: accuracy 0.8000 (majority class 0.6000), macro_f1 0.7000 (majority class 0.3750)"]
    unscored = store.create_run("ft2", "finetune", {"task": "classify", "data": {}}, None, None)
    assert len(describe_run(unscored).splitlines()) == 3


def test_describe_run_shows_a_distill_run_beside_its_teacher(store: RunStore) -> None:
    teacher_model = BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=256, max_position_embeddings=32)
    student_model = replace(teacher_model, hidden_size=32, num_hidden_layers=1, intermediate_size=64)
    teacher = store.create_run("big", "pretrain", {"model": teacher_model.to_dict()}, None, None)
    distill = {"settings": {"temperature": 2.0, "alpha": 0.5},
               "teacher": {"run_id": teacher.id, "name": "big", "step": 60, "checkpoint": "/x", "sha256": "0" * 64,
                           "parameters": count_parameters(teacher_model), "val_loss": 4.25}}
    run = store.create_run("small", "distill", {"model": student_model.to_dict(), "distill": distill}, None, None,
                           parent_run_id=teacher.id)
    student_size, teacher_size = count_parameters(student_model), count_parameters(teacher_model)
    store.log_metrics(run.id, [("val_loss", 30, 4.5, 1)])
    assert describe_run(store.get_run(run.id)).splitlines()[3:] == [
        f"Teacher: run big (id {teacher.id}) at step 60 · temperature 2.0, alpha 0.5",
        f"Size: {student_size:,} parameters, {student_size / teacher_size:.2g}x the teacher's {teacher_size:,}",
        "Best val loss 4.5000 · the teacher's 4.2500 at its step 60"]
    speed = {"student_tokens_per_second": 90_000.0, "teacher_tokens_per_second": 30_000.0, "batch": [32, 32],
             "device": "cpu"}
    run = store.update_run(run.id, config={**run.config, "distill": {**distill, "speed": speed}})
    assert describe_run(run).splitlines()[5] == \
        "Speed reading 32 x 32 tokens on cpu: 90,000 tokens/s, 3x the teacher's 30,000"


def test_describe_run_says_what_a_pretraining_runs_loss_counts(store: RunStore) -> None:
    causal = store.create_run("causal", "pretrain", {"train": {"objective": "clm"}, "data": {}}, None, None)
    assert describe_run(causal).splitlines()[3].startswith("Objective clm · val loss: cross-entropy per next token")
    older = store.create_run("older", "pretrain", {"train": {}, "data": {}}, None, None)  # before the setting
    assert describe_run(older).splitlines()[3].startswith("Objective mlm · val loss: cross-entropy per masked token")
