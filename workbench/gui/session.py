"""What the window remembers between starts (QSettings): the last panel, corpus, masking, model and training
settings, the recently added files and the recently opened or saved projects.

Values are stored as JSON text rather than QVariants so a settings file written by one Qt or Python version reads
the same in another, and a damaged or outdated entry is simply ignored (the defaults stay).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from workbench.gui.state import AppState
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import ModelSpec
from workbench.settings.train import TrainConfig

RECENT_KEY = "recent/paths"
RECENT_PROJECTS_KEY = "recent/projects"
RECENT_LIMIT = 10


def _load(settings: QSettings, key: str) -> Any:
    text = settings.value(key)
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def save_choices(settings: QSettings, state: AppState, train: TrainConfig, panel: str) -> None:
    settings.setValue("session/panel", json.dumps(panel))
    settings.setValue("session/corpus", json.dumps(state.corpus_name))
    settings.setValue("session/masking", json.dumps(state.masking.to_dict()))
    settings.setValue("session/model", json.dumps(state.model.to_dict()))
    settings.setValue("session/train", json.dumps(train.to_dict()))


def restore_choices(settings: QSettings, state: AppState) -> tuple[TrainConfig | None, str | None]:
    """Put the remembered corpus, masking and model into `state`; the training settings and the panel to show (its
    name; None if none is remembered: an older version remembered a number)."""
    corpus = _load(settings, "session/corpus")
    if isinstance(corpus, str) and state.store.get_corpus(corpus) is not None:
        state.set_corpus(corpus)
    try:
        masking = _load(settings, "session/masking")
        if masking:
            state.set_masking(MaskingConfig.from_dict(masking))
        model = _load(settings, "session/model")
        if model:
            state.set_model(ModelSpec.from_dict(model))
        train = _load(settings, "session/train")
        train = TrainConfig.from_dict(train) if train else None
    except (TypeError, ValueError, KeyError):  # written by an older version: keep the defaults
        train = None
    panel = _load(settings, "session/panel")
    return train, panel if isinstance(panel, str) else None


def recent_paths(settings: QSettings, key: str = RECENT_KEY) -> list[str]:
    """Recently added files and folders (or, with RECENT_PROJECTS_KEY, opened projects) that still exist, newest
    first."""
    paths = _load(settings, key)
    return [p for p in paths if isinstance(p, str) and Path(p).exists()] if isinstance(paths, list) else []


def add_recent(settings: QSettings, paths: list[str], key: str = RECENT_KEY) -> None:
    kept = [p for p in recent_paths(settings, key) if p not in paths]
    settings.setValue(key, json.dumps((list(paths) + kept)[:RECENT_LIMIT]))
