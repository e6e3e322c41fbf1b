"""The pretraining loop on a tiny model and a toy repetitive corpus: learning, events, pause/resume/stop,
exact resume, divergence, evaluation with its unigram baseline, configuration errors and accumulation."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from workbench.core.checkpoints import checkpoint_step, file_sha256, list_checkpoints, read_checkpoint_config
from workbench.core.devices import DeviceError
from workbench.core.epochs import EpochSampler
from workbench.core.masking import Masker
from workbench.core.packing import PackedBlocks
from workbench.core.token_cache import build_or_load_cache
from workbench.core.tokenization import WorkbenchTokenizer, train_tokenizer
from workbench.core.training import Trainer, unigram_log_probs
from workbench.core.training_types import CheckpointEvent, EvalEvent, StatusEvent, StepEvent, TrainControl
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

SEQ_LEN = 13
MODEL = BertConfig(vocab_size=99, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                   intermediate_size=32, max_position_embeddings=16)
NO_DROPOUT = replace(MODEL, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
FAST = TrainConfig(steps=20, batch_size=8, lr=3e-3, warmup_steps=2, eval_every=10, eval_batches=2,
                   checkpoint_every=10, device="cpu", log_every=1)
MASKING = MaskingConfig(mlm_probability=0.2)


TOPICS = ["red green blue yellow purple", "dog cat horse sheep goat", "one two three four five"]


def _toy_documents(n: int, seed: int) -> list[str]:
    """Each document repeats the words of one topic: the other words of a block tell which topic a masked
    word comes from, which a model can learn in a few hundred steps and a unigram model cannot know."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(rng.choice(TOPICS).split(), k=rng.randint(20, 40))) for _ in range(n)]


class TensorBlocks:
    """Packed blocks held in memory: the smallest thing satisfying the trainer's data protocol."""

    def __init__(self, input_ids: torch.Tensor, pad_id: int) -> None:
        self.input_ids, self.pad_id = input_ids, pad_id

    def __len__(self) -> int:
        return len(self.input_ids)

    def get_batch(self, indices):
        input_ids = self.input_ids[list(indices)]  # (B, T)
        return {"input_ids": input_ids, "attention_mask": (input_ids != self.pad_id).long()}


def _pack(tokenizer: WorkbenchTokenizer, documents: list[str]) -> TensorBlocks:
    stream = [i for ids in tokenizer.encode_batch(documents) for i in ids + [tokenizer.sep_id]]
    body = SEQ_LEN - 1
    n = -(-len(stream) // body)
    stream += [tokenizer.pad_id] * (n * body - len(stream))
    blocks = torch.tensor(stream).view(n, body)
    return TensorBlocks(torch.cat([torch.full((n, 1), tokenizer.cls_id), blocks], dim=1), tokenizer.pad_id)


@pytest.fixture(autouse=True)
def one_thread():
    # A tiny model on a busy machine: one thread avoids OpenMP hand-offs costing more than the math.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def corpus():
    train_docs, val_docs = _toy_documents(100, seed=0), _toy_documents(20, seed=1)
    tokenizer = train_tokenizer(train_docs, TokenizerConfig(type="wordpiece", vocab_size=99, min_frequency=1))
    train, val = _pack(tokenizer, train_docs), _pack(tokenizer, val_docs)
    counts = np.bincount(train.input_ids.flatten().numpy(), minlength=tokenizer.vocab_size)
    return tokenizer, train, val, counts


def _trainer(corpus, run_dir, config=FAST, model=MODEL, masking=MASKING, **kwargs) -> Trainer:
    tokenizer, train, val, counts = corpus
    kwargs.setdefault("unigram_counts", counts)
    return Trainer(model, config, masking, train, val, tokenizer, run_dir, **kwargs)


def _events(kind, events):
    return [e for e in events if isinstance(e, kind)]


def test_loss_decreases_and_beats_the_unigram_baseline(corpus, tmp_path):
    events = []
    config = replace(FAST, steps=200, batch_size=32, lr=1e-2, warmup_steps=10, eval_every=0, checkpoint_every=0)
    result = _trainer(corpus, tmp_path, config, listeners=[events.append]).run()
    losses = [e.loss for e in _events(StepEvent, events)]
    assert result.status == "completed" and len(losses) == 200
    assert np.mean(losses[-10:]) < 0.75 * np.mean(losses[:10])
    # it learned more than token frequencies: the topic of a block from its other words
    assert result.val_loss < result.unigram_baseline_loss - 0.3


def test_events_and_result_have_sane_fields(corpus, tmp_path):
    events = []
    config = replace(FAST, steps=10, log_every=3, eval_every=4, checkpoint_every=5, warmup_steps=4)
    result = _trainer(corpus, tmp_path, config, listeners=[events.append]).run()
    steps = _events(StepEvent, events)
    assert [e.step for e in steps] == [3, 6, 9, 10] and all(e.total_steps == 10 for e in steps)
    assert steps[0].lr == pytest.approx(3e-3 * 2 / 4)  # the lr of step 3 (0-based 2) during warmup
    assert all(e.tokens_per_second > 0 and e.grad_norm > 0 and e.loss > 0 for e in steps)
    assert [e.elapsed for e in steps] == sorted(e.elapsed for e in steps) and steps[-1].eta == 0
    evals = _events(EvalEvent, events)
    assert [e.step for e in evals] == [4, 8, 10]
    for e in evals:
        assert 0 <= e.val_accuracy <= 1 and e.val_perplexity == pytest.approx(np.exp(e.val_loss))
        assert e.unigram_baseline_loss > 0
    checkpoints = _events(CheckpointEvent, events)
    assert [c.step for c in checkpoints] == [5, 10]
    assert checkpoints[-1].sha256 == file_sha256(checkpoints[-1].path / "model.safetensors")
    assert set(checkpoints[-1].metrics) == {"train_loss", "val_loss", "val_accuracy", "val_perplexity"}
    statuses = _events(StatusEvent, events)
    assert [s.status for s in statuses] == ["running", "completed"] and "CPU" in statuses[0].message
    assert events[-1] == statuses[-1]
    assert (result.status, result.steps, result.last_checkpoint) == ("completed", 10, checkpoints[-1].path)
    assert result.val_loss == evals[-1].val_loss and result.train_loss == steps[-1].loss
    assert result.tokens_per_second > 0
    saved = read_checkpoint_config(result.last_checkpoint)
    assert saved["model"] == MODEL.to_dict() and TrainConfig.from_dict(saved["train"]) == config


def test_stop_from_a_listener_takes_effect_at_that_step(corpus, tmp_path):
    control, events = TrainControl(), []

    def stop_at_7(event):
        events.append(event)
        if isinstance(event, StepEvent) and event.step == 7:
            control.stop()

    result = _trainer(corpus, tmp_path, listeners=[stop_at_7], control=control).run()
    assert (result.status, result.steps) == ("stopped", 7)
    assert result.last_checkpoint.name == "step-0000007" and result.last_checkpoint.is_dir()
    assert max(e.step for e in _events(StepEvent, events)) == 7
    assert events[-1] == StatusEvent("stopped", "")  # the step is the result's; no "stopped: stopped at step 7"


def test_pause_resume_and_stop_from_another_thread(corpus, tmp_path):
    control = TrainControl()
    paused = threading.Event()
    reached = {5: threading.Event(), 12: threading.Event()}  # the loop is reporting this step
    sent = {5: threading.Event(), 12: threading.Event()}  # the other thread has called pause()
    steps, statuses, while_paused = [], [], {}

    def listener(event):
        if isinstance(event, StepEvent):
            steps.append(event.step)
            if event.step in reached:  # a handshake, not a sleep: the pause lands while this step is reported
                reached[event.step].set()
                sent[event.step].wait(30)
        if isinstance(event, StatusEvent):
            statuses.append((event.status, event.message))
            if event.status == "paused":
                paused.set()

    def remote():
        reached[5].wait(30)
        control.pause()
        sent[5].set()
        paused.wait(30)
        cpu_before, steps_before = time.process_time(), len(steps)
        time.sleep(0.5)
        while_paused.update(cpu=time.process_time() - cpu_before, progress=len(steps) - steps_before)
        control.resume()
        reached[12].wait(30)
        paused.clear()
        control.pause()  # then stop while paused: the loop must wake up and stop
        sent[12].set()
        paused.wait(30)
        control.stop()

    thread = threading.Thread(target=remote)
    thread.start()
    result = _trainer(corpus, tmp_path, replace(FAST, steps=1000, checkpoint_every=0), listeners=[listener],
                      control=control).run()
    thread.join()
    assert while_paused["progress"] == 0 and while_paused["cpu"] < 0.3  # asleep while paused
    assert [s for s, _ in statuses] == ["running", "paused", "running", "paused", "stopped"]
    assert statuses[1][1] == "paused at step 5" and statuses[2][1] == "resumed at step 5"
    assert result.status == "stopped" and result.steps == 12
    assert result.last_checkpoint.name == f"step-{result.steps:07d}"


def stop_and_resume(corpus, tmp_path, config, at: int):
    """A run of `config` whole, and the same run stopped at step `at` and resumed: (whole run's events, its result,
    the split run's events, its result)."""
    whole = []
    full = _trainer(corpus, tmp_path / "whole", config, listeners=[whole.append]).run()
    first, control = [], TrainControl()

    def stop_there(event):
        first.append(event)
        if isinstance(event, StepEvent) and event.step == at:
            control.stop()

    stopped = _trainer(corpus, tmp_path / "split", config, listeners=[stop_there], control=control).run()
    assert stopped.steps == at
    torch.manual_seed(123), random.seed(123), np.random.seed(123)  # whatever happens in between
    second = []
    resumed = _trainer(corpus, tmp_path / "split", config, listeners=[second.append]).run(stopped.last_checkpoint)
    assert resumed.status == "completed" and resumed.steps == config.steps
    assert [e.loss for e in _events(StepEvent, first + second)] == [e.loss for e in _events(StepEvent, whole)]
    assert "resumed at step" in _events(StatusEvent, second)[0].message
    return whole, full, first + second, resumed


def test_stop_and_resume_reproduces_the_uninterrupted_run_exactly(corpus, tmp_path):
    config = replace(FAST, steps=40, checkpoint_every=0, eval_every=0)
    assert MODEL.hidden_dropout_prob > 0  # dropout on: the torch RNG state must be restored too
    _, full, split, resumed = stop_and_resume(corpus, tmp_path, config, at=20)
    assert file_sha256(resumed.last_checkpoint / "model.safetensors") == \
        file_sha256(full.last_checkpoint / "model.safetensors")
    assert "resumed at step 20 of" in _events(StatusEvent, split)[-2].message  # no folder names (issue 15)


def test_divergence_keeps_the_last_good_checkpoint(corpus, tmp_path):
    events = []
    trainer = _trainer(corpus, tmp_path, replace(FAST, steps=40, log_every=5, checkpoint_every=5),
                       listeners=[events.append])

    def poison_after_10(event):
        if isinstance(event, CheckpointEvent) and event.step == 10:
            with torch.no_grad():  # the next steps see an infinite weight: their loss is NaN
                trainer.model.bert.embeddings.LayerNorm.weight.fill_(float("inf"))

    trainer.listeners.append(poison_after_10)
    result = trainer.run()
    assert result.status == "diverged" and result.steps == 15
    assert "at step 11" in result.message and "step-0000010" in result.message
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-0000005", "step-0000010"]
    good = _events(CheckpointEvent, events)[-1]
    assert good.step == 10 and file_sha256(good.path / "model.safetensors") == good.sha256
    assert result.last_checkpoint == good.path and events[-1].status == "diverged"


def test_weights_that_are_not_finite_are_never_saved(corpus, tmp_path):
    """A NaN in the weights whose loss has not shown it yet (bf16, --lr 1e3) was saved as the last good one."""
    trainer = _trainer(corpus, tmp_path, replace(FAST, steps=40, log_every=5, checkpoint_every=5))

    def poison_an_unread_weight(event):  # a position the blocks never reach: only the weights show it
        if isinstance(event, CheckpointEvent) and event.step == 5:
            with torch.no_grad():
                trainer.model.bert.embeddings.position_embeddings.weight[-1, 0] = float("nan")

    trainer.listeners.append(poison_an_unread_weight)
    result = trainer.run()
    assert result.status == "diverged" and "the weights stopped being finite at step 10" in result.message
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-0000005"] and "step-0000005" in result.message


def test_a_loss_that_blows_up_but_stays_finite_is_a_divergence(corpus, tmp_path):
    """--lr 50 once 'completed' at a loss of 43,000 without a word."""
    config = replace(FAST, steps=400, lr=50.0, warmup_steps=5, grad_clip=0.0, log_every=10, checkpoint_every=50,
                     eval_every=0)
    result = _trainer(corpus, tmp_path, config).run()
    assert result.status == "diverged" and "stayed above" in result.message and "unigram baseline" in result.message
    assert result.steps < 400
    for checkpoint in list_checkpoints(tmp_path):  # none saved while the loss was blown up
        assert checkpoint_step(checkpoint) <= 5


def test_a_huge_learning_rate_diverges_without_raising(corpus, tmp_path):
    config = replace(FAST, steps=200, lr=1e6, warmup_steps=0, grad_clip=0.0, log_every=10, checkpoint_every=0)
    result = _trainer(corpus, tmp_path, config).run()
    assert result.status == "diverged" and "lower lr" in result.message and result.steps < 200
    assert list_checkpoints(tmp_path) == [] and "no checkpoint was saved" in result.message


def test_unigram_log_probs_by_hand():
    log_p = unigram_log_probs(np.array([5, 0, 3, 1]), special_ids=[0])
    assert torch.allclose(log_p.exp(), torch.tensor([0.0, 1 / 7, 4 / 7, 2 / 7], dtype=torch.float64))


def test_unigram_baseline_is_the_mean_over_the_static_masked_positions(corpus, tmp_path):
    tokenizer, _, val, counts = corpus
    trainer = _trainer(corpus, tmp_path, replace(FAST, batch_size=5, eval_batches=3))
    metrics = trainer.evaluate()
    # the checks mask at the evaluation rate (15%), not the training rate (20% here)
    masker = Masker(replace(MASKING, dynamic=False, mlm_probability=0.15), tokenizer.vocab_size, tokenizer.mask_id,
                    tokenizer.special_ids)
    batch = val.get_batch(range(15))
    labels = masker(batch["input_ids"], batch["attention_mask"], None, torch.arange(15), epoch=7).labels
    targets = labels[labels != -100].numpy()
    p = (counts + 1.0) / (counts + 1.0)[5:].sum()  # the five specials get no mass
    assert metrics.unigram_baseline_loss == pytest.approx(float(-np.log(p[targets]).mean()), rel=1e-9)
    assert metrics.step == 0 and 0 <= metrics.val_accuracy <= 1
    assert trainer.evaluate() == metrics  # static masks, eval mode: the same numbers every time
    assert trainer.model.training


def test_configuration_errors_are_clear(corpus, tmp_path):
    for bad, pattern in [({"steps": 0}, "steps must be an integer from 1 to"),
                         ({"schedule": "step"}, "schedule must be one of linear, cosine, constant, wsd, one-cycle"),
                         ({"precision": "int8"}, "precision must be one of fp32, bf16, fp16"),
                         ({"adam_betas": (0.9, 1.0)}, "adam_betas must be two numbers"),
                         ({"lr": 0.0}, "lr must be a number > 0"),
                         ({"device": "gpu"}, "device must be auto, cpu, cuda")]:
        with pytest.raises(ValueError, match=pattern):
            replace(FAST, **bad)
    with pytest.raises(ValueError, match="stepz is not a training setting"):
        TrainConfig.from_dict({"stepz": 3})
    assert TrainConfig.from_dict(FAST.to_dict()) == FAST
    with pytest.raises(DeviceError, match="fp16 is not supported on cpu; available: fp32, bf16"):
        _trainer(corpus, tmp_path, replace(FAST, precision="fp16"))
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA device is available; available: .*cpu"):
            _trainer(corpus, tmp_path, replace(FAST, device="cuda"))
    with pytest.raises(ValueError, match="fewer than the batch size of 999"):
        _trainer(corpus, tmp_path, replace(FAST, batch_size=999))


def test_a_failing_listener_fails_the_run_without_raising(corpus, tmp_path):
    def broken(event):
        if isinstance(event, StepEvent) and event.step == 3:
            raise RuntimeError("disk full")

    result = _trainer(corpus, tmp_path, listeners=[broken]).run()
    assert result.status == "failed" and "RuntimeError: disk full" in result.message and result.steps == 3


def test_bf16_autocast_trains_on_cpu(corpus, tmp_path):
    result = _trainer(corpus, tmp_path, replace(FAST, steps=5, precision="bf16", checkpoint_every=0)).run()
    assert result.status == "completed" and np.isfinite(result.train_loss)


def test_gradient_accumulation_matches_one_big_batch(corpus, tmp_path):
    runs = []
    for batch_size, grad_accum in ((8, 1), (4, 2)):
        events = []
        config = replace(FAST, steps=6, batch_size=batch_size, grad_accum=grad_accum, checkpoint_every=0)
        trainer = _trainer(corpus, tmp_path / str(grad_accum), config, model=NO_DROPOUT, listeners=[events.append])
        trainer.run()
        runs.append(([e.loss for e in _events(StepEvent, events)], trainer.model.state_dict()))
    (big_losses, big_weights), (accum_losses, accum_weights) = runs
    assert accum_losses == pytest.approx(big_losses, rel=1e-5)
    for name, weight in big_weights.items():
        assert torch.allclose(weight, accum_weights[name], atol=1e-5), name


def test_real_packed_blocks_with_span_masking_resume_across_epochs(corpus, tmp_path):
    tokenizer = corpus[0]
    train_cache = build_or_load_cache(lambda: _toy_documents(60, 0), "toy-train", tokenizer, tmp_path / "cache")
    val_cache = build_or_load_cache(lambda: _toy_documents(10, 1), "toy-val", tokenizer, tmp_path / "cache")
    train, val = (PackedBlocks(cache, max_len=SEQ_LEN, cls_id=tokenizer.cls_id, pad_id=tokenizer.pad_id)
                  for cache in (train_cache, val_cache))
    config = replace(FAST, steps=24, batch_size=13, checkpoint_every=0, eval_every=8)
    masking = MaskingConfig(strategy="span", mlm_probability=0.3, seed=5)
    assert len(train) < 13 * config.steps  # the run crosses epoch boundaries
    counts = train_cache.token_counts(tokenizer.vocab_size)

    def run(run_dir, listeners, resume_from=None, control=None):
        trainer = Trainer(MODEL, config, masking, train, val, tokenizer, run_dir, listeners=listeners,
                          control=control, unigram_counts=counts)
        return trainer.run(resume_from)

    whole = []
    assert run(tmp_path / "whole", [whole.append]).status == "completed"
    control, split = TrainControl(), []

    def stop_at_10(event):
        split.append(event)
        if isinstance(event, StepEvent) and event.step == 10:
            control.stop()

    stopped = run(tmp_path / "split", [stop_at_10], control=control)
    run(tmp_path / "split", [split.append], resume_from=stopped.last_checkpoint)
    assert [e.loss for e in _events(StepEvent, split)] == [e.loss for e in _events(StepEvent, whole)]
    assert [e.val_loss for e in _events(EvalEvent, split)] == [e.val_loss for e in _events(EvalEvent, whole)]
    assert [e.step for e in _events(EvalEvent, whole)] == [8, 16, 24]


def test_sampler_resumes_mid_epoch_and_reshuffles_each_epoch():
    sampler = EpochSampler(n_blocks=10, batch_size=3, seed=4)
    batches = [sampler.next_batch() for _ in range(7)]
    assert [epoch for _, epoch in batches] == [0, 0, 0, 1, 1, 1, 2]
    first_epoch = [i for indices, _ in batches[:3] for i in indices]
    assert len(set(first_epoch)) == 9 and first_epoch != [i for indices, _ in batches[3:6] for i in indices]
    resumed = EpochSampler(10, 3, seed=4, epoch=1, cursor=6)
    assert resumed.next_batch() == batches[5]


def test_a_time_budget_ends_the_run_and_the_learning_rate_decays_with_the_clock(corpus, tmp_path):
    budget_s = 2.0
    config = replace(FAST, steps=1_000_000, time_budget=budget_s / 60, eval_every=0, checkpoint_every=0,
                     log_every=5)
    events: list = []
    started = time.perf_counter()
    result = _trainer(corpus, tmp_path / "run", config, listeners=[events.append]).run()
    took = time.perf_counter() - started
    steps = _events(StepEvent, events)
    assert result.status == "completed" and "in the 0.0333333-minute budget" in result.message
    assert 20 < result.steps < 1_000_000 and budget_s <= steps[-1].elapsed < budget_s + 1.0 and took < budget_s + 5
    assert result.last_checkpoint is not None  # saved at the end, as a run that reached its steps is
    # warm-up by steps, then a linear decay by the share of the budget spent: the rate at a logged step is the
    # peak times (1 - elapsed / budget), within the time one step takes
    for event in steps[1:-1]:
        assert event.lr == pytest.approx(FAST.lr * (1 - event.elapsed / budget_s), abs=FAST.lr * 0.1)
    assert steps[-1].lr < FAST.lr * 0.1
    assert all(e.total_steps >= e.step for e in steps) and steps[-1].eta == pytest.approx(0, abs=0.5)


def test_the_wsd_schedule_and_its_decay_fraction_reach_the_optimizer(corpus, tmp_path):
    config = replace(FAST, warmup_steps=0, schedule="wsd", decay_fraction=0.5, eval_every=0, checkpoint_every=0)
    events: list = []
    _trainer(corpus, tmp_path, config, listeners=[events.append]).run()
    lrs = {e.step: e.lr for e in _events(StepEvent, events)}  # the rate of 0-based step `step - 1`
    assert lrs[5] == lrs[11] == FAST.lr  # stable for the first half of 20 steps
    assert lrs[16] == pytest.approx(FAST.lr * 0.5) and lrs[20] == pytest.approx(FAST.lr * 0.1)


def test_a_mask_rate_schedule_masks_each_part_of_the_run_at_its_rate(corpus, tmp_path):
    masking = replace(MASKING, strategy="token", rate_schedule="60,30,5")
    trainer = _trainer(corpus, tmp_path, replace(FAST, steps=30, eval_every=0, checkpoint_every=0), masking=masking)
    seen: dict[int, float] = {}
    masked = trainer._masked

    def count(data, indices, epoch, masker):
        batch = masked(data, indices, epoch, masker)
        if data is trainer.train_data:
            original = torch.where(batch.labels != -100, batch.labels, batch.input_ids)
            selectable = (batch.attention_mask.bool() & (original >= 5)).sum()  # ids 0-4 are the specials
            seen[trainer.step] = float((batch.labels != -100).sum() / selectable)
        return batch

    trainer._masked = count
    assert trainer.run().status == "completed"
    for part, rate in enumerate((0.6, 0.3, 0.05)):
        shares = [seen[step] for step in range(part * 10, part * 10 + 10)]
        assert sum(shares) / len(shares) == pytest.approx(rate, abs=0.06), (part, shares)
    assert trainer.eval_masker.config.mlm_probability == 0.15  # the checks keep one rate
