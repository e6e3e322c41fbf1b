"""Screenshots of a project opened as `mlm-workbench open lesson.mlmwb` opens it, for the README.

Run under a virtual display (see make_screenshots.py):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_project_screenshots.py

It makes a lesson folder (a corpus file from the sample generator, a small WordPiece trained on it, the Masking,
Model and Train panels' settings, Probe sentences) in one home, saves it as lesson.mlmwb, and opens it in a window on
a fresh home: docs/screenshots/project-opened.png (the Probe panel the lesson was saved on, the demo model answering
its sentence), project-opened-tokenizer.png (the corpus and tokenizer it recorded in the fresh home) and
project-file-menu.png (the File menu). Then it opens a copy of the project without its corpus file:
project-missing-file.png (the notification naming the file and where it was looked for; the rest opened).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from make_screenshots import OUT, settle


def make_lesson(root: Path) -> Path:
    from workbench.jobs.corpora import add_corpus
    from workbench.jobs.project import Setup, save_project
    from workbench.jobs.project_file import ProbeTexts, ProjectSettings
    from workbench.jobs.tokenizers import train_tokenizer_on
    from workbench.jobs.workspace import Workspace
    from workbench.samples.corpus import generate_documents
    from workbench.settings.masking import MaskingConfig
    from workbench.settings.model import ModelSpec
    from workbench.settings.tokenizer import TokenizerConfig
    from workbench.settings.train import TrainConfig

    lesson = root / "lesson"
    lesson.mkdir(parents=True)
    corpus = lesson / "animals-and-cities.txt"
    corpus.write_text("\n\n".join(generate_documents(2000, seed=11)) + "\n", encoding="utf-8")
    settings = ProjectSettings(
        masking=MaskingConfig(mlm_probability=0.15, strategy="whole-word"),
        model=ModelSpec(preset="tiny", max_position_embeddings=64, dropout=0.0),
        train=TrainConfig(steps=2000, batch_size=32, lr=2e-3, device="cpu"),
        probe=ProbeTexts(fill_mask="lima is a city in [MASK].", attention="the farmer feeds the cow.",
                         scoring=("the cow says moo.", "the cow says woof.")),
        panel="probe")
    with Workspace(root / "presenter-home") as ws:
        add_corpus(ws, [corpus], "animals-and-cities")
        tokenizer, _ = train_tokenizer_on(ws, "animals-and-cities", TokenizerConfig(vocab_size=2000))
        path, _ = save_project(ws, lesson / "lesson.mlmwb", Setup("animals-and-cities", tokenizer.id, settings))
    return path


def open_in_window(app, home: Path, project: Path):
    from workbench.gui.main_window import MainWindow

    window = MainWindow(home, project=project)  # what `mlm-workbench open` starts
    window.resize(1440, 900)
    window.show()
    settle(app, 3)
    while window.projects.task is not None:
        settle(app, 0.2)
    settle(app, 4)  # the Probe panel loads the demo model and answers
    return window


def grab_screen(app, window, path: Path) -> None:
    """The screen where `window` is: pop-up menus and message boxes are windows of their own."""
    frame = window.frameGeometry()
    app.primaryScreen().grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height()).save(str(path))
    print(f"saved {path}")


def main() -> None:
    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)  # the user's own remembered settings stay untouched
    app = QApplication(sys.argv[:1])
    OUT.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="mlm-project-screens-"))
    project = make_lesson(root)

    window = open_in_window(app, root / "classroom-home", project)
    window.grab().save(str(OUT / "project-opened.png"))
    print(f"saved {OUT / 'project-opened.png'}")
    window.show_panel_named("tokenizer")  # the corpus and its tokenizer, recorded in the fresh home
    settle(app, 2)
    window.grab().save(str(OUT / "project-opened-tokenizer.png"))
    print(f"saved {OUT / 'project-opened-tokenizer.png'}")
    window.show_panel_named("probe")
    file_menu = window.menuBar().actions()[0].menu()
    file_menu.popup(window.mapToGlobal(window.menuBar().geometry().bottomLeft()))
    settle(app, 1)
    grab_screen(app, window, OUT / "project-file-menu.png")
    file_menu.hide()
    window.confirm_stop_running = lambda: True
    window.close()

    elsewhere = root / "usb-stick"  # the project copied without its corpus file
    elsewhere.mkdir()
    shutil.copy(project, elsewhere)
    window = open_in_window(app, root / "other-home", elsewhere / project.name)
    grab_screen(app, window, OUT / "project-missing-file.png")
    window.confirm_stop_running = lambda: True
    window.close()


if __name__ == "__main__":
    main()
