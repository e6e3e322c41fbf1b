"""Checkpoints are checked against the sha256s recorded when they were saved before anything loads them.

Every reader goes through here: resume (weights and training state; it falls back to the newest intact
checkpoint and says which), probe, fine-tune `--from`, fine-tune resume and predict, and export. A damaged
checkpoint is refused with one line, "checkpoint step-20 of run 3 is damaged (checksum mismatch): ...", and
nothing about the run changes. Hashes are remembered per (path, size, mtime) in the process
(`core.integrity.sha256_once`), so probing the same checkpoint again costs a `stat`, not a read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from workbench.core.checkpoints import MODEL_FILE, STATE_FILE
from workbench.core.integrity import damage
from workbench.jobs.errors import UserError
from workbench.jobs.workspace import Workspace
from workbench.store.records import CheckpointRecord, RunRecord


class DamagedCheckpoint(UserError):
    """A checkpoint whose files are missing or differ from what was saved."""


def checkpoint_damage(checkpoint: CheckpointRecord, run: RunRecord, with_state: bool) -> str | None:
    """Why the checkpoint may not be loaded, as the one line a user sees, or None when it is intact. `with_state`
    checks `training_state.pt` too (what resuming reads); the weights alone are what probing reads."""
    expected: dict[str, str | None] = {MODEL_FILE: checkpoint.sha256}
    if with_state:
        expected[STATE_FILE] = checkpoint.state_sha256
    found = damage(checkpoint.path, expected)
    if found is None:
        return None
    kind, detail = found
    return f"checkpoint step-{checkpoint.step} of run {run.id} is damaged ({kind}): {detail}"


def verify(checkpoint: CheckpointRecord, run: RunRecord, with_state: bool = False) -> CheckpointRecord:
    """`checkpoint`, once its files match their recorded checksums; else `DamagedCheckpoint`."""
    problem = checkpoint_damage(checkpoint, run, with_state)
    if problem is not None:
        raise DamagedCheckpoint(problem)
    return checkpoint


def verified_checkpoint(ws: Workspace, run: RunRecord, step: int | None = None,
                        with_state: bool = False) -> CheckpointRecord:
    """The run's checkpoint at `step` (default: its latest), checked (`verify`); `UserError` when there is none."""
    checkpoints = ws.store.checkpoints(run.id)
    if not checkpoints:
        raise UserError(f"run {run.name!r} has no checkpoint yet")
    chosen = checkpoints[-1] if step is None else next((c for c in checkpoints if c.step == step), None)
    if chosen is None:
        steps = ", ".join(str(c.step) for c in checkpoints)
        raise UserError(f"run {run.name!r} has no checkpoint at step {step}; its checkpoints are at steps {steps}")
    return verify(chosen, run, with_state)


def verified_path(ws: Workspace, run: RunRecord, path: str | Path, with_state: bool = False) -> Path:
    """A checkpoint folder of `run` named by path (a fine-tuning run's best epoch), checked as `verify` does."""
    wanted = Path(path).resolve()
    record = next((c for c in ws.store.checkpoints(run.id) if Path(c.path).resolve() == wanted), None)
    if record is None:
        raise UserError(f"run {run.name!r} has no recorded checkpoint at {path}")
    return Path(verify(record, run, with_state).path)


def newest_intact(ws: Workspace, run: RunRecord) -> tuple[CheckpointRecord | None, list[str]]:
    """The run's newest checkpoint whose weights and training state are intact (what a resume can start from),
    and the lines naming each newer one that is damaged, newest first."""
    damaged = []
    for checkpoint in reversed(ws.store.checkpoints(run.id)):
        problem = checkpoint_damage(checkpoint, run, with_state=True)
        if problem is None:
            return checkpoint, damaged
        damaged.append(problem)
    return None, damaged


def resume_point(ws: Workspace, run: RunRecord, notify: Callable[[str], None] | None = None) -> CheckpointRecord:
    """The checkpoint a resume starts from: the newest intact one. Damaged newer ones are named to `notify`; with
    none intact (or none at all) the resume is refused and the run keeps its status."""
    checkpoint, damaged = newest_intact(ws, run)
    if checkpoint is None:
        if damaged:
            raise DamagedCheckpoint(f"{damaged[0]}; run {run.name!r} has no intact checkpoint to resume from")
        if (run.error or "").startswith("never started"):  # its process died before training began (liveness)
            raise UserError(f"run {run.name!r} never started ({run.error.removeprefix('never started: ')}); "
                            f"delete it (`runs delete {run.name}`) and start it again")
        raise UserError(f"run {run.name!r} has no checkpoint to resume from; start it again instead")
    if damaged and notify is not None:
        for line in damaged:
            notify(line)
        notify(f"resuming run {run.name!r} from step-{checkpoint.step}, its newest intact checkpoint")
    return checkpoint
