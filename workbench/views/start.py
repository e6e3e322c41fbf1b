"""What the start page decides, without Qt: whether a home is still fresh (the window then opens on the start
page) and which model "Ask a model to fill in the blanks" opens the Probe panel on.
"""

from __future__ import annotations

from workbench.jobs.corpora import SAMPLE_CORPUS_NAME
from workbench.jobs.demo_model import find_demo_run, is_demo_run
from workbench.store.runstore import RunRecord, RunStore


def is_fresh_home(store: RunStore) -> bool:
    """Nothing of the user's yet: no run but the bundled demo model, no corpus but the bundled sample."""
    return (all(is_demo_run(run) for run in store.list_runs())
            and all(corpus.name == SAMPLE_CORPUS_NAME for corpus in store.list_corpora()))


def model_to_ask(store: RunStore) -> RunRecord | None:
    """The user's newest imported model that can be probed, else the demo model (None until it is recorded)."""
    imported = [run for run in store.list_runs(kind="imported", status="completed")
                if not is_demo_run(run) and store.checkpoints(run.id)]
    return imported[0] if imported else find_demo_run(store)
