"""The bundled demo model: a tiny BERT that already knows the sample corpus' facts, probed from the first launch.

It ships in resources/demo_model/ (made by `python -m workbench.jobs.demo_build --write`): a Hugging Face folder
(config.json, model.safetensors, tokenizer files, a model card) holding its last checkpoint, plus its earlier
checkpoints as weights files in checkpoints/ and `checkpoints.json`, each checkpoint's step, file and validation
scores. `demo_register.ensure_demo_run` records it in a home as a completed run of kind `imported`, marked
`"demo": true` in its config, with one checkpoint per shipped step: every probing view, the knowledge-over-
checkpoints chart, export and `finetune --from demo` take it like any run, and nothing of the user's is needed.
It is read-only: `delete_run` refuses it (it would only come back at the next start). This module is
torch-free: the window asks `is_demo_run` before torch loads.
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.jobs.errors import UserError
from workbench.paths import resources_dir
from workbench.store.runstore import RunRecord, RunStore

DEMO_RUN_NAME = "demo"
DEMO_FOLDER = "demo_model"
CHECKPOINTS_FOLDER = "checkpoints"
HISTORY_FILE = "checkpoints.json"  # [{"step": N, "file": "checkpoints/step-N.safetensors", "metrics": {...}}]


def demo_model_dir() -> Path:
    return resources_dir() / DEMO_FOLDER


def is_demo_run(run: RunRecord) -> bool:
    return run.kind == "imported" and run.config.get("demo") is True


def find_demo_run(store: RunStore) -> RunRecord | None:
    return next((run for run in store.list_runs(kind="imported") if is_demo_run(run)), None)


def read_history(folder: Path) -> list[dict]:
    """The shipped checkpoints, by step: each a dict with `step`, `file` (relative to the folder), `metrics`."""
    try:
        entries = json.loads((folder / HISTORY_FILE).read_text(encoding="utf-8"))
        return sorted(({"step": int(e["step"]), "file": str(e["file"]), "metrics": dict(e["metrics"])}
                       for e in entries), key=lambda e: e["step"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"the demo model's {folder / HISTORY_FILE} cannot be read ({error})") from None
