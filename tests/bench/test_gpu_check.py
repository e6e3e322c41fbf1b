"""bench/gpu_check.py starts: its CPU dry run exits 0 and appends one JSON line with every section, in a Python
where the app's GUI and store dependencies cannot be imported (as on the GPU machine, which lacks them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "gpu_check.py"
SECTIONS = ["env", "correctness", "throughput", "curves", "memory", "finetune", "probing", "pinned", "levers", "ddp",
            "trainer_ddp"]
MISSING_THERE = ["platformdirs", "sqlalchemy", "alembic", "PySide6", "pyqtgraph"]


def test_dry_run_runs_every_section_without_the_app_only_dependencies(tmp_path: Path) -> None:
    results = tmp_path / "gpu_check.jsonl"
    shared_results = ROOT / "bench" / "results" / "gpu_check.jsonl"
    before = shared_results.stat().st_mtime_ns if shared_results.exists() else None
    code = "\n".join([
        "import runpy, sys",
        f"for name in {MISSING_THERE!r}:",
        "    sys.modules[name] = None  # any import of it now raises ImportError",
        f"sys.argv = [{str(SCRIPT)!r}, '--dry-run', '--results', {str(results)!r}]",
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')",
    ])
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]

    lines = results.read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["bench"] == "gpu_check" and record["quick"] is True
    sections = record["results"]["sections"]
    assert list(sections) == SECTIONS
    for name in [s for s in SECTIONS if s != "ddp"]:
        assert sections[name]["status"] == "ok", (name, sections[name].get("traceback"))
    assert sections["ddp"]["status"] == "skipped" and sections["ddp"]["headline"] == "skipped: 0 GPU(s)"
    assert sections["ddp"]["cpu_rehearsal"]["ranks_2"]["finite"]  # the DDP code ran, on gloo
    assert Path(sections["env"]["workbench"]).is_relative_to(ROOT)  # this checkout's engine, not another one's
    assert run.stdout.rstrip().splitlines()[-13].startswith("section")  # the summary table (11 rows) is last
    after = shared_results.stat().st_mtime_ns if shared_results.exists() else None
    assert after == before  # nothing written into bench/results
    trainer_ddp = sections["trainer_ddp"]["nproc_2"]  # the engine's own Trainer on 2 gloo ranks, via torchrun
    assert trainer_ddp["backend"] == "gloo" and len(trainer_ddp["rank_tokens_per_second"]) == 2
