"""Data-parallel pretraining on 2 gloo ranks (CPU) against one process, on the same global batch and seed.

The 2 ranks read exactly the blocks and masks one process reads (each its half of the global batch; masks are a
function of seed, block and epoch), weigh their losses by the global masked-token count and average gradients,
so the curves agree up to floating-point summation order: a gradient summed over two half batches and then
all-reduced is not bit-identical to one summed over the whole batch, and AdamW carries those last-bit
differences forward. Dropout is off here (ranks cannot draw one process's dropout masks). Tolerance: 1e-4
relative on every step's loss (the largest difference measured over 12 steps: 1.1e-7).
A checkpoint holds the unwrapped model and the position in global batches, so each side resumes the other. The same
holds with the model sharded over the 2 ranks (FSDP2, `--shard`): its gradients are reduce-scattered instead of
all-reduced, and its checkpoints are gathered whole, in the one-process format.

ELECTRA trains on 2 ranks as well, and to the same tolerance: its generator samples each masked position from a
uniform number that is a function of (seed, block, epoch, position), as the masks are, so the 2 ranks draw exactly
the samples one process draws; its discriminator's loss (a mean over real tokens) is weighted by each micro-batch's
share of the real tokens, as the generator's is by masked tokens; the discriminator's masked-LM head, which no
loss reaches, is left out of the gradient reduction. Largest difference measured over 12 steps: 1.1e-7 relative
(of a loss near 37, mostly 50 x the discriminator's); the same 1e-4 tolerance holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core.checkpoints import checkpoints_dir, checkpoint_name

WORKER = Path(__file__).resolve().parents[2] / "bench" / "ddp_rank.py"
sys.path.insert(0, str(WORKER.parent))
import ddp_rank  # noqa: E402

STEPS, RTOL = 12, 1e-4
pytestmark = pytest.mark.slow  # torchrun and 2 processes: about 10 s a launch on an idle 2-core machine


def two_ranks(out: Path, resume_from: Path | None = None, shard: bool = False,
              objective: str = "mlm") -> dict[int, float]:
    """The worker on 2 gloo ranks under torchrun (the model sharded with `shard`); rank 0's losses by step. A
    hang fails after 120 s."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(WORKER),
               str(out), str(STEPS), "--objective", objective] + \
        (["--resume", str(resume_from)] if resume_from else []) + (["--shard"] if shard else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "result.json").read_text())
    assert report["status"] == "completed"
    # rank 0 holds every weight, or its half of each tensor and the whole of those with one row (a 1-row bias)
    assert report["held_share"] == 1.0 if not shard else 0.5 <= report["held_share"] < 0.52
    assert report["backend"] == ("gloo, sharded (FSDP2)" if shard else "gloo")
    return {int(step): loss for step, loss in report["losses"].items()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, float]]:
    """One process, the whole run; its step-6 checkpoint is where the 2 ranks resume."""
    run_dir = tmp_path_factory.mktemp("one") / "run"
    result, losses = ddp_rank.train(run_dir, STEPS, None)
    assert result.status == "completed" and sorted(losses) == list(range(1, STEPS + 1))
    return run_dir, losses


def assert_same_curve(got: dict[int, float], want: dict[int, float], steps: range) -> None:
    assert sorted(got) == list(steps)
    for step in steps:
        assert got[step] == pytest.approx(want[step], rel=RTOL), f"step {step}"


@pytest.mark.parametrize("shard", [False, True], ids=["ddp", "fsdp2"])
def test_two_ranks_match_one_process_and_their_checkpoint_resumes_on_one(reference, tmp_path: Path,
                                                                          shard: bool) -> None:
    run_dir, want = reference
    assert_same_curve(two_ranks(tmp_path, shard=shard), want, range(1, STEPS + 1))
    # the 2-rank checkpoint at step 6 (written by rank 0 alone), resumed by one process
    saved = sorted(p.name for p in checkpoints_dir(tmp_path / "run").iterdir())
    assert saved == [checkpoint_name(6), checkpoint_name(12)]
    from_two = checkpoints_dir(tmp_path / "run") / checkpoint_name(6)
    result, resumed = ddp_rank.train(tmp_path / "again", STEPS, from_two)
    assert result.status == "completed"
    assert_same_curve(resumed, want, range(7, STEPS + 1))


@pytest.mark.parametrize("shard", [False, True], ids=["ddp", "fsdp2"])
def test_a_one_process_checkpoint_resumes_on_two_ranks(reference, tmp_path: Path, shard: bool) -> None:
    run_dir, want = reference
    resumed = two_ranks(tmp_path, checkpoints_dir(run_dir) / checkpoint_name(6), shard)
    assert_same_curve(resumed, want, range(7, STEPS + 1))


@pytest.fixture(scope="module")
def electra_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, float]]:
    run_dir = tmp_path_factory.mktemp("electra-one") / "run"
    result, losses = ddp_rank.train(run_dir, STEPS, None, objective="electra")
    assert result.status == "completed" and sorted(losses) == list(range(1, STEPS + 1))
    return run_dir, losses


def test_electra_on_two_ranks_matches_one_process_and_resumes_either_way(electra_reference, tmp_path: Path) -> None:
    run_dir, want = electra_reference
    assert_same_curve(two_ranks(tmp_path / "two", objective="electra"), want, range(1, STEPS + 1))
    from_two = checkpoints_dir(tmp_path / "two" / "run") / checkpoint_name(6)
    assert (from_two / "electra.safetensors").is_file()  # the generator, written by rank 0 beside the model
    result, resumed = ddp_rank.train(tmp_path / "again", STEPS, from_two, objective="electra")
    assert result.status == "completed"
    assert_same_curve(resumed, want, range(7, STEPS + 1))
    resumed = two_ranks(tmp_path / "back", checkpoints_dir(run_dir) / checkpoint_name(6), objective="electra")
    assert_same_curve(resumed, want, range(7, STEPS + 1))
