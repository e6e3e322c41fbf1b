"""Fine-tuning runs stop cleanly with a checkpoint and resume to exactly the uninterrupted curve (CPU):
through the jobs API, through `finetune --resume` / `resume` after a real SIGINT, and with clear refusals."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.core.training_types import StepEvent, TrainControl
from workbench.jobs.corpora import get_corpus
from workbench.jobs.errors import UserError
from workbench.jobs.finetune import FinetuneSpec, resume_finetuning, start_finetuning
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.samples.tasks import write_entities
from workbench.settings.finetune import FinetuneConfig
from workbench.settings.tokenizer import TokenizerConfig

STEPS_PER_EPOCH = 7  # 90 sentences in batches of 13


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A home with a small tokenizer, and small tagging files from the demo generator."""
    home, data = tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("data")
    with Workspace(home) as ws:
        train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=300))
    train = write_entities(data / "train.conll", 90, seed=5, held_out=False)
    validation = write_entities(data / "validation.conll", 20, seed=6, held_out=True)
    return home, train, validation


def spec(train: Path, validation: Path, name: str) -> FinetuneSpec:
    config = FinetuneConfig(task="tag", lr=3e-3, epochs=3, batch_size=13, max_len=24, device="cpu", seed=3)
    return FinetuneSpec(train=str(train), validation=str(validation), scratch="seed-demo", config=config,
                        name=name)


def stop_at(control: TrainControl, step: int):
    def listener(event: object) -> None:
        if isinstance(event, StepEvent) and event.step == step:
            control.stop()
    return listener


def curves(ws: Workspace, run_id: int) -> dict[str, list[tuple[int, float]]]:
    return {key: [(p.step, p.value) for p in ws.store.metrics(run_id, key)]
            for key in ("train_loss", "lr", "val_f1", "val_loss", "epoch_train_loss")}


@pytest.mark.parametrize("stop_step", [STEPS_PER_EPOCH + 3, STEPS_PER_EPOCH])
def test_stopped_and_resumed_run_equals_the_uninterrupted_one(prepared, stop_step: int) -> None:
    home, train, validation = prepared
    with Workspace(home) as ws:
        whole, whole_result = start_finetuning(ws, spec(train, validation, f"whole-{stop_step}"))
        control = TrainControl()
        part, stopped = start_finetuning(ws, spec(train, validation, f"part-{stop_step}"),
                                         listeners=[stop_at(control, stop_step)], control=control)
        assert stopped.status == "stopped" and stopped.steps == stop_step
        assert ws.store.get_run(part.id).status == "stopped"
        assert ws.store.latest_checkpoint(part.id).step == stop_step  # mid-epoch, or the epoch's own one
        resumed_run, resumed = resume_finetuning(ws, part.id)
        assert resumed.status == "completed" and resumed_run.status == "completed"
        assert curves(ws, part.id) == curves(ws, whole.id)
        assert (resumed.steps, resumed.epochs, resumed.best_epoch) == (whole_result.steps, 3, whole_result.best_epoch)
        assert resumed.best_metrics == whole_result.best_metrics
        assert resumed.best_details == whole_result.best_details
        final = [c for c in ws.store.checkpoints(part.id) if c.step == 3 * STEPS_PER_EPOCH]
        assert final[0].sha256 == ws.store.latest_checkpoint(whole.id).sha256  # the same weights, bit for bit
        with pytest.raises(UserError, match="completed"):
            resume_finetuning(ws, part.id)


def test_ctrl_c_in_the_cli_stops_with_a_checkpoint_and_resume_continues(prepared, capsys, monkeypatch) -> None:
    home, train, validation = prepared
    stop_step = 4

    def sigint(event: object) -> None:  # a real SIGINT, as Ctrl-C sends, handled by the CLI's own handler
        if isinstance(event, StepEvent) and event.step == stop_step:
            signal.raise_signal(signal.SIGINT)

    import workbench.cli.finetune_cmd as finetune_cmd
    original = finetune_cmd._print_epoch
    monkeypatch.setattr(finetune_cmd, "_print_epoch", lambda event: (original(event), sigint(event)))
    args = ["--home", str(home), "finetune", "--task", "tag", "--train", str(train), "--validation", str(validation),
            "--scratch", "seed-demo", "--epochs", "2", "--batch-size", "13", "--max-len", "24", "--device", "cpu",
            "--name", "cli", "--json"]
    assert main(args) == 130  # 128 + SIGINT, as shells expect of a process Ctrl-C stopped
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "stopped" and summary["steps"] == stop_step
    monkeypatch.setattr(finetune_cmd, "_print_epoch", original)
    assert main(["--home", str(home), "resume", "cli", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "completed" and summary["steps"] == 2 * STEPS_PER_EPOCH
    assert main(["--home", str(home), "finetune", "--resume", "cli"]) == 2
    assert "is completed" in capsys.readouterr().err
    assert main(["--home", str(home), "finetune", "--task", "tag"]) == 2
    assert "needs --train, --from RUN or --scratch PRESET" in capsys.readouterr().err
