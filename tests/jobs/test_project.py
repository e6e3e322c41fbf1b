"""Project files: a set-up saved in one home opens in a fresh home elsewhere (the "other machine") with its corpus
found beside the project file, the same tokenizer (same ids for a sentence), the same settings and probe sentences;
a missing or changed corpus file is named with where it was looked for, and the rest still opens."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from workbench.jobs.corpora import add_corpus
from workbench.jobs.project import Setup, open_project, save_project
from workbench.jobs.project_file import FORMAT_VERSION, ProbeTexts, ProjectError, ProjectSettings, read_project
from workbench.jobs.tokenizers import load_tokenizer, train_tokenizer_on
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import ModelSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

SENTENCE = "the farmer feeds the cow and the cow says moo."
SETTINGS = ProjectSettings(
    masking=MaskingConfig(mlm_probability=0.2, strategy="whole-word"),
    model=ModelSpec(preset="mini", num_hidden_layers=3, max_position_embeddings=64, dropout=0.0),
    train=TrainConfig(steps=1234, batch_size=8, lr=3e-4, schedule="cosine", seed=7, time_budget=2.5),
    probe=ProbeTexts(fill_mask="lima is a city in [MASK].", attention=SENTENCE,
                     scoring=("the cow says moo.", "the cow says woof."), neighbours_word="dog"),
    panel="probe",
)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, list[int]]:
    """A lesson folder (corpus + project file) made in one home: (project path, the tokenizer's ids of SENTENCE)."""
    lesson = tmp_path / "first" / "lesson"
    lesson.mkdir(parents=True)
    corpus = lesson / "animals.txt"
    corpus.write_text("\n\n".join(generate_documents(60, seed=3)) + "\n", encoding="utf-8")
    with Workspace(tmp_path / "first" / "home") as ws:
        add_corpus(ws, [corpus], "animals")
        record, _ = train_tokenizer_on(ws, "animals", TokenizerConfig(vocab_size=150, min_frequency=1))
        path, outside = save_project(ws, lesson / "lesson", Setup("animals", record.id, SETTINGS))  # the suffix is added
        ids = load_tokenizer(record).encode(SENTENCE)
    assert path == lesson / "lesson.mlmwb" and outside == []
    return path, ids


def other_machine(tmp_path: Path, project: Path, with_corpus: bool = True) -> Path:
    """The lesson folder copied elsewhere (the corpus too, unless not), the original deleted."""
    copy = tmp_path / "second" / "usb-stick"
    copy.mkdir(parents=True)
    shutil.copy(project, copy)
    if with_corpus:
        shutil.copy(project.parent / "animals.txt", copy)
    shutil.rmtree(project.parent)
    return copy / project.name


def test_a_project_opens_in_a_fresh_home_elsewhere(tmp_path: Path, saved) -> None:
    project, ids = saved
    data = json.loads(project.read_text(encoding="utf-8"))
    assert data["version"] == FORMAT_VERSION and [f["path"] for f in data["corpus"]["files"]] == ["animals.txt"]
    moved = other_machine(tmp_path, project)
    with Workspace(tmp_path / "second" / "home") as ws:
        opened = open_project(ws, moved)
        assert opened.notes == ()
        assert opened.setup.settings == SETTINGS  # masking, model, training, probe sentences, panel
        assert opened.setup.corpus_name == "animals"
        corpus = ws.store.get_corpus("animals")
        assert corpus.paths == [str(moved.parent / "animals.txt")]
        tokenizer = ws.store.get_tokenizer(opened.setup.tokenizer_id)
        assert tokenizer.corpus_id == corpus.id and Path(tokenizer.path).is_relative_to(ws.home)
        assert load_tokenizer(tokenizer).encode(SENTENCE) == ids  # no retraining: the very same tokenizer

        again = open_project(ws, moved)  # opening twice records nothing new
        assert again.setup == opened.setup
        assert len(ws.store.list_corpora()) == 1 and len(ws.store.list_tokenizers()) == 1


def test_a_missing_corpus_file_is_named_and_the_rest_opens(tmp_path: Path, saved) -> None:
    project, _ = saved
    moved = other_machine(tmp_path, project, with_corpus=False)
    with Workspace(tmp_path / "second" / "home") as ws:
        opened = open_project(ws, moved)
        (note,) = opened.notes
        assert "animals.txt" in note and str(moved.parent / "animals.txt") in note and "\n" not in note
        assert opened.setup.corpus_name is None and opened.setup.tokenizer_id is None  # the sample instead
        assert opened.setup.settings == SETTINGS
        assert ws.store.get_corpus("animals") is None and not ws.store.list_tokenizers()


def test_a_changed_corpus_file_is_named_and_used(tmp_path: Path, saved) -> None:
    project, ids = saved
    moved = other_machine(tmp_path, project)
    with open(moved.parent / "animals.txt", "a", encoding="utf-8") as corpus:
        corpus.write("\nthe cat says meow.\n")
    with Workspace(tmp_path / "second" / "home") as ws:
        opened = open_project(ws, moved)
        (note,) = opened.notes
        assert "animals.txt" in note and "differs" in note
        tokenizer = load_tokenizer(ws.store.get_tokenizer(opened.setup.tokenizer_id))
        assert tokenizer.encode(SENTENCE) == ids


def test_a_corpus_outside_the_project_folder_is_kept_by_its_path_and_found_beside_a_copy(tmp_path: Path) -> None:
    corpus = tmp_path / "texts" / "animals.txt"
    corpus.parent.mkdir()
    corpus.write_text("\n\n".join(generate_documents(30, seed=4)) + "\n", encoding="utf-8")
    (tmp_path / "lesson").mkdir()
    with Workspace(tmp_path / "home") as ws:
        add_corpus(ws, [corpus], "animals")
        path, outside = save_project(ws, tmp_path / "lesson" / "a.mlmwb", Setup("animals", None, ProjectSettings()))
    assert outside == [str(corpus)]
    with Workspace(tmp_path / "home-2") as ws:  # same machine: found where it was
        assert open_project(ws, path).setup.corpus_name == "animals"
    shutil.move(corpus, path.parent / "animals.txt")  # copied beside the project, the original gone
    with Workspace(tmp_path / "home-3") as ws:
        opened = open_project(ws, path)
        assert opened.notes == () and ws.store.get_corpus("animals").paths == [str(path.parent / "animals.txt")]


def test_a_corpus_recorded_here_is_reused_only_while_its_files_are_where_it_was(tmp_path: Path, saved) -> None:
    project, _ = saved
    home = tmp_path / "first" / "home"
    with Workspace(home) as ws:  # the presenter's own home: nothing new
        assert open_project(ws, project).setup.corpus_name == "animals" and len(ws.store.list_corpora()) == 1
    moved = other_machine(tmp_path, project)  # the recorded file is gone; the project's copy is elsewhere
    with Workspace(home) as ws:
        opened = open_project(ws, moved)
        assert opened.setup.corpus_name == "animals-2"
        assert ws.store.get_corpus("animals-2").paths == [str(moved.parent / "animals.txt")]


def test_a_taken_corpus_name_gets_a_new_one(tmp_path: Path, saved) -> None:
    project, _ = saved
    other = tmp_path / "other.txt"
    other.write_text("a different text entirely.\n", encoding="utf-8")
    with Workspace(tmp_path / "second" / "home") as ws:
        add_corpus(ws, [other], "animals")
        opened = open_project(ws, project)
        assert opened.setup.corpus_name == "animals-2"
        assert any("'animals-2'" in note for note in opened.notes)


def test_the_bundled_sample_is_kept_by_name(tmp_path: Path, home: Path) -> None:
    with Workspace(home) as ws:
        path, _ = save_project(ws, tmp_path / "sample.mlmwb", Setup(None, None, ProjectSettings()))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["corpus"]["sample"] is True and data["corpus"]["files"] == [] and data["tokenizer"] is None
    with Workspace(tmp_path / "fresh") as ws:
        opened = open_project(ws, path)
        assert opened.notes == () and opened.setup == Setup(None, None, ProjectSettings())


@pytest.mark.parametrize(("content", "expected"), [
    ("not json", "is not an MLM Workbench project: it is not JSON"),
    ("[1, 2]", "not an MLM Workbench project"),
    ('{"format": "something-else", "version": 1}', "not an MLM Workbench project"),
    ('{"format": "mlm-workbench-project", "version": 99}', "newer MLM Workbench (project format 99"),
    ('{"format": "mlm-workbench-project", "version": 1, "slides": []}', "does not know: 'slides'"),
    ('{"format": "mlm-workbench-project", "version": 1, "training": {"steps": 0}}', "training: steps must be"),
    ('{"format": "mlm-workbench-project", "version": 1, "model": {"wings": 2}}', "model: wings is not"),
    ('{"format": "mlm-workbench-project", "version": 1, "probe": {"fill_mask": 3}}', "probe: fill_mask must be"),
    ('{"format": "mlm-workbench-project", "version": 1, "corpus": {"name": "x", "files": []}}', "must list"),
])
def test_a_file_this_version_cannot_read_is_refused_in_one_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "lesson.mlmwb"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ProjectError) as caught:
        read_project(path)
    message = str(caught.value)
    assert expected in message and str(path) in message and "\n" not in message


def test_a_refused_file_records_nothing(tmp_path: Path, saved) -> None:
    project, _ = saved
    data = json.loads(project.read_text(encoding="utf-8"))
    data["version"] = FORMAT_VERSION + 1
    project.write_text(json.dumps(data), encoding="utf-8")
    with Workspace(tmp_path / "second" / "home") as ws, pytest.raises(ProjectError, match="newer MLM Workbench"):
        open_project(ws, project)
    with Workspace(tmp_path / "second" / "home") as ws:
        assert not ws.store.list_corpora()


def test_a_damaged_tokenizer_is_left_out_with_a_note(tmp_path: Path, saved) -> None:
    project, _ = saved
    data = json.loads(project.read_text(encoding="utf-8"))
    data["tokenizer"]["json"] = data["tokenizer"]["json"].replace('"vocab"', '"vocab" ', 1)  # still valid JSON
    project.write_text(json.dumps(data), encoding="utf-8")
    with Workspace(tmp_path / "second" / "home") as ws:
        opened = open_project(ws, project)
        assert opened.setup.corpus_name == "animals" and opened.setup.tokenizer_id is None
        assert [note for note in opened.notes if "tokenizer is damaged" in note]
