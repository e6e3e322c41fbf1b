"""Atomic checkpoints: model weights as safetensors plus everything needed to resume exactly.

A checkpoint is a folder `run_dir/checkpoints/step-0000100` holding `model.safetensors` (the weights;
safetensors stores the tied decoder/embedding matrix once), `training_state.pt` (optimizer, scheduler
and grad-scaler states, the python/numpy/torch RNG states, step, data position, elapsed time) and
`config.json`. It is written into a hidden temporary folder beside its final place, every file and the
folder are fsynced, and only then is the folder renamed into place, so a crash or an error mid-write
never leaves a half-written `step-*` folder that a resume could pick up.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import safetensors.torch
import torch
from torch import nn

from workbench.core.storage import as_storage_error, storage_problem

MODEL_FILE = "model.safetensors"
STATE_FILE = "training_state.pt"
CONFIG_FILE = "config.json"
_PREFIX = "step-"


@dataclass(frozen=True)
class CheckpointInfo:
    """A written checkpoint: its folder, step, sha256 of `model.safetensors`, total size in bytes and sha256 of
    `training_state.pt`."""

    path: Path
    step: int
    sha256: str
    size: int
    state_sha256: str | None = None


def checkpoints_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def checkpoint_name(step: int) -> str:
    return f"{_PREFIX}{step:07d}"


def _fsync(path: Path) -> None:
    if path.is_dir() and os.name == "nt":
        return  # Windows cannot open a folder for fsync; NTFS journals the rename itself.
    fd = os.open(path, os.O_RDONLY if path.is_dir() else os.O_RDWR)  # Windows' fsync needs a writable handle
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _save_weights(model: nn.Module, path: Path) -> None:
    """Like `safetensors.torch.save_model`, but byte-identical for identical weights: save_model lists the
    dropped tied names in the header in an order that varies between saves, so its sha256 would too."""
    tensors: dict[str, torch.Tensor] = {}
    seen: set[tuple[int, tuple[int, ...]]] = set()
    for name, tensor in model.state_dict().items():
        alias = (tensor.data_ptr(), tuple(tensor.shape))
        if tensor.numel() and alias in seen:
            continue  # a tied weight (the decoder's) is stored once, under its first name
        seen.add(alias)
        tensors[name] = tensor.contiguous()
    try:
        safetensors.torch.save_file(tensors, str(path), metadata={"format": "pt"})
    except safetensors.SafetensorError as error:  # an OS error arrives as text: "... (os error 28)"
        code = re.search(r"os error (\d+)", str(error))
        if code is None:
            raise
        raise OSError(int(code[1]), os.strerror(int(code[1])), str(path)) from error


def _write_files(folder: Path, model: nn.Module, training_state: dict, config: dict,
                 companions: Mapping[str, nn.Module]) -> None:
    _save_weights(model, folder / MODEL_FILE)
    for name, companion in companions.items():
        _save_weights(companion, folder / name)
    # Through whole writes of our own: given a path (or a buffered file, whose short write surfaces later) torch's
    # writer reports a full disk as "RuntimeError: [enforce fail at inline_container.cc:672]"; here it is
    # OSError(ENOSPC), which names the problem.
    with open(folder / STATE_FILE, "wb", buffering=0) as f:
        torch.save(training_state, _WholeWrites(f))
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    for name in (MODEL_FILE, STATE_FILE, CONFIG_FILE, *companions):
        _fsync(folder / name)
    _fsync(folder)


class _WholeWrites:
    """A binary file whose `write` writes every byte or raises (an unbuffered file may write only some)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def write(self, data: bytes) -> int:
        view = memoryview(data).cast("B")
        while view:
            view = view[self.raw.write(view):]
        return len(data)

    def flush(self) -> None:
        self.raw.flush()


def save_checkpoint(run_dir: Path, model: nn.Module, training_state: dict, config: dict,
                    companions: Mapping[str, nn.Module] | None = None) -> CheckpointInfo:
    """Write `run_dir/checkpoints/step-NNNNNNN` (step from `training_state["step"]`) atomically. `companions`
    are more weights saved beside the model, by file name (an ELECTRA run's generator).

    An existing checkpoint of the same step (a run resumed from an earlier one) is replaced. A full or read-only
    disk raises `StorageError` ("disk full while saving checkpoint step-40"), with nothing of this save left.
    """
    step = int(training_state["step"])
    try:
        target = _save_atomically(run_dir, step, model, training_state, config, companions or {})
    except (OSError, RuntimeError) as error:  # torch's writer may wrap our OSError in a RuntimeError as it closes
        storage = next((as_storage_error(e, f"saving checkpoint step-{step}") for e in _chain(error)
                        if storage_problem(e)), None)
        if storage is None:
            raise
        raise storage from error
    size = sum(f.stat().st_size for f in target.iterdir())
    return CheckpointInfo(target, step, file_sha256(target / MODEL_FILE), size, file_sha256(target / STATE_FILE))


def _chain(error: BaseException | None) -> list[BaseException]:
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _save_atomically(run_dir: Path, step: int, model: nn.Module, training_state: dict, config: dict,
                     companions: Mapping[str, nn.Module]) -> Path:
    parent = checkpoints_dir(run_dir)
    parent.mkdir(parents=True, exist_ok=True)
    remove_partial_saves(run_dir)
    target = parent / checkpoint_name(step)
    tmp = parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _write_files(tmp, model, training_state, config, companions)
        if target.exists():
            # A folder cannot be renamed over a non-empty one: move the old one aside first.
            old = parent / f".old-{target.name}-{uuid.uuid4().hex[:8]}"
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


class CheckpointError(ValueError):
    """A checkpoint file that is refused; the message says which and why."""


def load_checkpoint(checkpoint: Path, model: nn.Module, map_location: str | torch.device = "cpu") -> dict:
    """Load the weights into `model` (strictly, onto `map_location`) and return the training state dict, on the
    CPU: its RNG states must be CPU tensors, and an optimizer moves its own state to its parameters' device when
    it loads it (a GPU run restored the numpy key on the GPU and failed to resume)."""
    checkpoint = Path(checkpoint)
    if not (checkpoint / MODEL_FILE).is_file() or not (checkpoint / STATE_FILE).is_file():
        raise FileNotFoundError(f"{checkpoint} is not a checkpoint: it lacks {MODEL_FILE} or {STATE_FILE}")
    try:
        safetensors.torch.load_model(model, str(checkpoint / MODEL_FILE), strict=True, device=str(map_location))
    except safetensors.SafetensorError as error:  # a damaged header or a truncated file
        raise CheckpointError(f"{checkpoint / MODEL_FILE} cannot be read ({error})") from error
    # weights_only keeps a tampered checkpoint from running code; the state holds only tensors and plain data.
    try:
        return torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # PyTorch's own text advises weights_only=False: never do that here
        raise CheckpointError(f"{checkpoint / STATE_FILE} holds more than tensors and plain data, so it is not "
                              "loaded (it was not written by the workbench, or was changed since)") from error
    except (RuntimeError, EOFError) as error:  # a damaged or truncated zip archive
        raise CheckpointError(f"{checkpoint / STATE_FILE} cannot be read ({error})") from error


def load_companion(checkpoint: Path, name: str, module: nn.Module, map_location: str | torch.device = "cpu") -> None:
    """Load the weights file `name` saved beside a checkpoint's model (`save_checkpoint`'s companions), strictly."""
    path = Path(checkpoint) / name
    if not path.is_file():
        raise FileNotFoundError(f"{checkpoint} lacks {name}")
    try:
        safetensors.torch.load_model(module, str(path), strict=True, device=str(map_location))
    except safetensors.SafetensorError as error:
        raise CheckpointError(f"{path} cannot be read ({error})") from error


def remove_partial_saves(run_dir: Path) -> int:
    """Delete what saves cut short by a kill left behind (`.tmp-*` and `.old-*` folders: one test run leaked 26
    of them, 112 MB); the run's writer calls it when it opens the run and before each save. Returns how many."""
    parent = checkpoints_dir(run_dir)
    leftovers = [p for p in parent.iterdir() if p.is_dir() and p.name.startswith((".tmp-", ".old-"))] \
        if parent.is_dir() else []
    for folder in leftovers:
        shutil.rmtree(folder, ignore_errors=True)
    return len(leftovers)


def read_checkpoint_config(checkpoint: Path) -> dict:
    """The `config.json` saved with a checkpoint."""
    return json.loads((Path(checkpoint) / CONFIG_FILE).read_text(encoding="utf-8"))


def checkpoint_step(checkpoint: Path) -> int:
    """The step encoded in a checkpoint folder's name (`step-0000100` -> 100)."""
    return int(Path(checkpoint).name[len(_PREFIX):])


def list_checkpoints(run_dir: Path) -> list[Path]:
    """The run's complete checkpoint folders, oldest step first (temporary folders are ignored)."""
    parent = checkpoints_dir(run_dir)
    if not parent.is_dir():
        return []
    found = [p for p in parent.iterdir()
             if p.is_dir() and p.name.startswith(_PREFIX) and p.name[len(_PREFIX):].isdigit()]
    return sorted(found, key=checkpoint_step)


def capture_rng_state() -> dict[str, Any]:
    """Python, numpy, torch CPU and CUDA RNG states, in a form `torch.load(weights_only=True)` accepts."""
    np_state = np.random.get_state(legacy=False)
    numpy_state = {  # numpy arrays are not allowed by weights_only loading, tensors are
        "bit_generator": np_state["bit_generator"],
        "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
        "pos": int(np_state["state"]["pos"]),
        "has_gauss": int(np_state["has_gauss"]),
        "gauss": float(np_state["gauss"]),
    }
    return {
        "python": random.getstate(),
        "numpy": numpy_state,
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Undo `capture_rng_state`: the next random draws repeat those that followed the capture."""
    random.setstate(_as_tuples(state["python"]))
    np_state = state["numpy"]
    np.random.set_state({"bit_generator": np_state["bit_generator"],
                         "state": {"key": np_state["key"].numpy().astype(np.uint32), "pos": np_state["pos"]},
                         "has_gauss": np_state["has_gauss"], "gauss": np_state["gauss"]})
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _as_tuples(value: Any) -> Any:
    # random.setstate wants the nested tuples it returned, and a save/load round trip may yield lists.
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value
