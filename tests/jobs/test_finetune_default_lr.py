"""The fine-tuning learning rate by the model's size (issue 15, item 15): BERT-base's 3e-5 left a tiny model at
chance, so with no --lr a run takes the rate of its model's hidden size, and records the rate it used."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.jobs.corpora import get_corpus
from workbench.jobs.finetune import FinetuneSpec, start_finetuning
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.finetune import FinetuneConfig, lr_for_size
from workbench.settings.model import PRESETS
from workbench.settings.tokenizer import TokenizerConfig


@pytest.mark.parametrize(("preset", "lr"), [("seed-demo", 3e-4), ("tiny", 3e-4), ("small", 3e-4), ("medium", 1e-4),
                                            ("base", 3e-5), ("large", 3e-5)])
def test_the_default_learning_rate_follows_the_model_size(preset: str, lr: float) -> None:
    assert lr_for_size(PRESETS[preset]["hidden_size"]) == lr
    assert FinetuneConfig().resolved(PRESETS[preset]["hidden_size"]).lr == lr
    assert FinetuneConfig(lr=1e-2).resolved(PRESETS[preset]["hidden_size"]).lr == 1e-2  # a chosen rate stays


def test_a_run_records_the_learning_rate_its_model_size_chose(tmp_path: Path) -> None:
    rows = ["label\tsentence"] + [f"{i % 2}\t{'good fun' if i % 2 else 'dull slow'} film {i}" for i in range(24)]
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = FinetuneConfig(epochs=1, batch_size=8, max_len=16, device="cpu")
    assert config.lr is None
    with Workspace(tmp_path / "home") as ws:
        train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=200))
        run, result = start_finetuning(ws, FinetuneSpec(train=str(tmp_path / "train.tsv"), scratch="seed-demo",
                                                        config=config))
        assert result.status == "completed"
        assert ws.store.get_run(run.id).config["finetune"]["lr"] == 3e-4
