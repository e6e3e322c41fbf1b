"""Build the bundled demo model (resources/demo_model/, see `workbench.jobs.demo_model`) from the code alone.

In a throw-away home: the bundled sample corpus, a WordPiece tokenizer big enough to hold every word of it whole
(so a fact is one token to predict), then `SPEC`'s pretraining without dropout (the model is to learn this
corpus' facts; with BERT's 0.1 the same 6,000 steps reached precision@1 0.43, not 0.75) on the CPU with one
thread from seed 0, so the same torch build writes the same bytes on any machine. The last checkpoint becomes
a verified Hugging Face folder (`export_hf`, with its model card); the earlier ones are weights files under
checkpoints/ in float16 (half the bytes; the importer reads them back as float32), and checkpoints.json lists
every step with its validation scores and the cloze suite's precision@1. A model that scores under
`MIN_PRECISION_AT_1` (issue 15's bar) on the bundled cloze suite is not written unless a lower
`--min-precision` is given: the model shipped now is under that bar (see resources/README.md).

    python -m workbench.jobs.demo_build --write --min-precision 0   # rebuild resources/demo_model/ (~15 min on 2 quiet cores)
    python -m workbench.jobs.demo_build OUTDIR --min-precision 0    # build elsewhere (to compare with it)
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import safetensors.torch
import torch

from workbench.core.hf_export import hf_state_dict, plan_export
from workbench.jobs.demo_model import CHECKPOINTS_FOLDER, HISTORY_FILE, demo_model_dir
from workbench.jobs.errors import UserError
from workbench.jobs.export import export_hf
from workbench.jobs.pretrain import start_pretraining
from workbench.jobs.probe import load_probe_model, run_probe_suite
from workbench.jobs.tokenizers import train_tokenizer_on
from workbench.jobs.workspace import Workspace
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

TOKENIZER = TokenizerConfig(type="wordpiece", vocab_size=1200)  # stops at 1,018: every word of the corpus whole
SPEC = PretrainSpec(
    name="demo",
    # hidden 128 (not 96) and 8,000 steps (not 6,000): precision@1 0.82, not 0.75, in 4.9 of the 5 MB allowed
    model=ModelSpec(preset="tiny", num_hidden_layers=2, hidden_size=128, num_attention_heads=2, intermediate_size=384,
                    max_position_embeddings=64, dropout=0.0),  # without dropout: precision@1 0.75, not 0.43
    masking=MaskingConfig(mlm_probability=0.25),
    train=TrainConfig(steps=8000, batch_size=32, lr=3e-3, warmup_steps=800, eval_every=1000, checkpoint_every=2000,
                      device="cpu", seed=0),
)
MIN_PRECISION_AT_1 = 0.9
CHECKPOINT_DTYPE = torch.float16


def _suite_scores(ws: Workspace, run_id: int) -> dict[int, float]:
    """The bundled cloze suite's precision@1 at every checkpoint of the run."""
    return {record.checkpoint_step: result.metrics["overall"]["precision_at_1"]
            for record, result in run_probe_suite(ws, run_id, all_checkpoints=True)}


def _write_checkpoint(ws: Workspace, run_id: int, step: int, path: Path) -> None:
    probe = load_probe_model(ws, run_id, step, cache=None)
    plan = plan_export(probe.model.config, probe.tokenizer.config.type, probe.tokenizer.pad_id)
    state = hf_state_dict(plan, probe.model.state_dict())
    state = {name: tensor.to(CHECKPOINT_DTYPE) for name, tensor in state.items()}
    safetensors.torch.save_file(state, str(path), metadata={"format": "pt"})


def _write_folder(ws: Workspace, run_id: int, work: Path) -> list[dict]:
    """The Hugging Face folder of the last checkpoint and the earlier ones' files; the history entries."""
    export_hf(ws, run_id, None, work)
    (work / CHECKPOINTS_FOLDER).mkdir()
    scores = _suite_scores(ws, run_id)
    checkpoints = ws.store.checkpoints(run_id)
    history = []
    for checkpoint in checkpoints:
        if checkpoint is checkpoints[-1]:
            file = "model.safetensors"
        else:
            file = f"{CHECKPOINTS_FOLDER}/step-{checkpoint.step:07d}.safetensors"
            _write_checkpoint(ws, run_id, checkpoint.step, work / file)
        metrics = {k: v for k, v in (checkpoint.metrics or {}).items() if k.startswith("val_")}
        history.append({"step": checkpoint.step, "file": file,
                        "metrics": {**metrics, "cloze_precision_at_1": scores[checkpoint.step]}})
    (work / HISTORY_FILE).write_text(json.dumps(history, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return history


def build_demo_model(out: Path, spec: PretrainSpec = SPEC, min_precision: float = MIN_PRECISION_AT_1,
                     say: Callable[[str], None] = print) -> list[dict]:
    """Train the demo model and write its folder at `out` (replaced whole, only once the model is good enough);
    returns the history entries written to checkpoints.json."""
    torch.set_num_threads(1)  # one thread: the same sums in the same order on every machine, so the same bytes
    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix="mlm-demo-build-") as home, Workspace(Path(home)) as ws:
        started = time.monotonic()
        tokenizer, _ = train_tokenizer_on(ws, None, TOKENIZER)
        run, _ = start_pretraining(ws, spec.replace(tokenizer_id=tokenizer.id))
        say(f"trained {spec.train.steps} steps in {time.monotonic() - started:.0f} s")
        work = Path(home) / "demo_model"
        history = _write_folder(ws, run.id, work)
        final = history[-1]["metrics"]["cloze_precision_at_1"]
        if final < min_precision:
            raise UserError(f"the demo model scores precision@1 {final:.3f} on the cloze suite, under "
                            f"{min_precision}; nothing was written")
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(work, out)
    return history


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the bundled demo model.")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--write", action="store_true", help=f"rebuild {demo_model_dir()}")
    target.add_argument("outdir", nargs="?", type=Path, help="build into this folder instead")
    parser.add_argument("--min-precision", type=float, default=MIN_PRECISION_AT_1,
                        help=f"the cloze suite's precision@1 the model must reach to be written (default "
                             f"{MIN_PRECISION_AT_1})")
    args = parser.parse_args(argv)
    out = demo_model_dir() if args.write else args.outdir
    for entry in build_demo_model(out, min_precision=args.min_precision):
        print(f"step {entry['step']:>6,}: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(entry["metrics"].items())))
    print(f"wrote {out} ({sum(p.stat().st_size for p in out.rglob('*') if p.is_file()) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
