"""Save a workspace's set-up as a project file (`workbench.jobs.project_file`) and open one into a workspace: another
home, maybe on another machine.

Opening records what the project needs in the home, as adding a corpus and training a tokenizer do: the corpus
from its files (a corpus of the same content already recorded is reused; a name already taken gets "-2"), and the
embedded tokenizer as one trained on that corpus (the same tokenizer already recorded is reused). It returns the
choices the window shows in its panels, and notes on what could not be restored as saved.

A missing corpus file (looked for where the project says, then beside the project file) or one that cannot be
read leaves the corpus out, and its tokenizer with it, since a tokenizer is recorded as trained on a corpus:
everything else opens, the corpus choice falls back to the bundled sample, and a note names the file and where
it was looked for. A file found but changed since the project was saved is used, with a note saying so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from workbench.core.corpus import CorpusOptions
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.jobs.corpora import (
    SAMPLE_CORPUS_NAME,
    add_corpus,
    ensure_sample_registered,
    get_corpus,
    options_from_dict,
    rescan,
    unique_corpus_name,
)
from workbench.jobs.errors import UserError, one_line
from workbench.jobs.project_file import (
    CorpusFile,
    CorpusRef,
    EmbeddedTokenizer,
    FileCheck,
    Project,
    ProjectError,
    ProjectSettings,
    check_file,
    file_digest,
    missing_message,
    read_project,
    relative_reference,
    write_project,
)
from workbench.jobs.tokenizers import add_tokenizer_record, load_tokenizer
from workbench.jobs.workspace import Workspace
from workbench.store.runstore import CorpusRecord, TokenizerRecord


@dataclass(frozen=True)
class Setup:
    """What the window's panels show: the corpus (None: the bundled sample), the tokenizer (None: the corpus'
    newest, else a default one trained at the start of training) and the other panels' settings."""

    corpus_name: str | None
    tokenizer_id: int | None
    settings: ProjectSettings


@dataclass(frozen=True)
class OpenedProject:
    path: Path
    setup: Setup
    notes: tuple[str, ...]  # one line each: what could not be restored as saved, and what to do


def save_project(ws: Workspace, path: str | Path, setup: Setup) -> tuple[Path, list[str]]:
    """Write `setup` to `path` as a project file (".mlmwb" added when missing). Returns the path written and the
    corpus files outside the project's folder: to take the project to another machine, copy them beside it."""
    path = Path(path).expanduser().absolute()
    corpus = get_corpus(ws, setup.corpus_name)
    project = Project(corpus=_corpus_ref(ws, corpus, path.parent),
                      tokenizer=_embedded_tokenizer(ws, corpus, setup.tokenizer_id), settings=setup.settings)
    return write_project(path, project), [file.path for file in project.corpus.files if Path(file.path).is_absolute()]


def _corpus_ref(ws: Workspace, corpus: CorpusRecord, project_dir: Path) -> CorpusRef:
    if corpus.name == SAMPLE_CORPUS_NAME:  # every installation has it: by name, not by its copy in this home
        return CorpusRef(SAMPLE_CORPUS_NAME, sample=True, content_hash=corpus.content_hash)
    scan = rescan(ws, corpus)  # the files training reads now (a folder's, expanded)
    files = tuple(CorpusFile(relative_reference(Path(file), project_dir), *file_digest(Path(file)))
                  for file in scan.files)
    return CorpusRef(corpus.name, sample=False, files=files, options=dict(corpus.options),
                     content_hash=scan.content_hash)


def _embedded_tokenizer(ws: Workspace, corpus: CorpusRecord, tokenizer_id: int | None) -> EmbeddedTokenizer | None:
    """The tokenizer training would use: the chosen one, else the corpus' newest; None when it has none yet."""
    record = ws.store.get_tokenizer(tokenizer_id) if tokenizer_id is not None else None
    if record is None or record.corpus_id != corpus.id:
        record = max(ws.store.list_tokenizers(corpus.id), key=lambda t: t.id, default=None)
    if record is None:
        return None
    tokenizer = load_tokenizer(record)
    return EmbeddedTokenizer(settings=tokenizer.config, special_tokens=dict(tokenizer.special_tokens),
                             vocab_size=tokenizer.vocab_size, sha256=tokenizer.fingerprint(), json=tokenizer.to_json())


def open_project(ws: Workspace, path: str | Path) -> OpenedProject:
    """Record the project's corpus and tokenizer in `ws` and return its set-up with notes; ProjectError when the
    file is no project this version reads (nothing is recorded then)."""
    path = Path(path).expanduser().absolute()
    project = read_project(path)
    notes: list[str] = []
    corpus = _open_corpus(ws, project.corpus, path, notes) or ensure_sample_registered(ws)  # the sample instead
    tokenizer = None
    if project.tokenizer is not None and (corpus.name == SAMPLE_CORPUS_NAME) == project.corpus.sample:
        tokenizer = _open_tokenizer(ws, corpus, project.tokenizer, notes)
    corpus_name = None if corpus.name == SAMPLE_CORPUS_NAME else corpus.name
    setup = Setup(corpus_name, None if tokenizer is None else tokenizer.id, project.settings)
    return OpenedProject(path, setup, tuple(notes))


def _open_corpus(ws: Workspace, ref: CorpusRef, path: Path, notes: list[str]) -> CorpusRecord | None:
    if ref.sample:
        record = ensure_sample_registered(ws)
        if ref.content_hash and record.content_hash != ref.content_hash:
            notes.append("The bundled sample corpus of this version differs from the one the project was saved "
                         "with; the project's tokenizer was trained on that one.")
        return record
    try:
        options = options_from_dict(ref.options)
    except (TypeError, ValueError) as error:
        raise ProjectError(f"{path}: corpus: options: {one_line(error)}") from error
    checks = [check_file(file, path.parent) for file in ref.files]
    missing = [check for check in checks if check.found is None]
    if missing:
        notes.append(f"{missing_message(missing)}. The corpus {ref.name!r} and its tokenizer were left out and the "
                     "bundled sample is chosen instead: put the file there and open the project again.")
        return None
    notes.extend(_changed_note(check) for check in checks if check.changed)
    if not any(check.changed for check in checks):
        same = [c for c in ws.store.list_corpora() if c.content_hash == ref.content_hash
                and c.name != SAMPLE_CORPUS_NAME and all(Path(p).exists() for p in c.paths)]
        if same:  # opened here before, or added by hand: the same text, still where it was, under its name here
            return same[0]
    return _add_corpus(ws, ref, [str(check.found) for check in checks], options, notes)


def _changed_note(check: FileCheck) -> str:
    size = check.found.stat().st_size if check.found is not None else 0
    return (f"{check.found} differs from the file the project was saved with ({check.ref.size:,} bytes then, "
            f"{size:,} now): the corpus opens with the file as it is, and its tokenizer was trained on the old one.")


def _add_corpus(ws: Workspace, ref: CorpusRef, files: list[str], options: CorpusOptions,
                notes: list[str]) -> CorpusRecord | None:
    name = unique_corpus_name(ws.store, ref.name)
    try:
        record, _ = add_corpus(ws, files, name, options)
    except UserError as error:
        notes.append(f"The corpus {ref.name!r} could not be read ({one_line(error)}), so it and its tokenizer were "
                     "left out and the bundled sample is chosen instead.")
        return None
    if name != ref.name:
        notes.append(f"This home already has another corpus called {ref.name!r}: the project's is called {name!r}.")
    return record


def _open_tokenizer(ws: Workspace, corpus: CorpusRecord, embedded: EmbeddedTokenizer,
                    notes: list[str]) -> TokenizerRecord | None:
    if hashlib.sha256(embedded.json.encode("utf-8")).hexdigest() != embedded.sha256:
        notes.append("The project's tokenizer is damaged (its sha256 does not match), so it was left out: "
                     "training trains a new one.")
        return None
    try:
        tokenizer = WorkbenchTokenizer.from_json(embedded.json, embedded.settings, embedded.special_tokens)
    except Exception as error:  # noqa: BLE001 (ValueError: no special tokens; `tokenizers` raises bare Exceptions)
        notes.append(f"The project's tokenizer cannot be loaded ({one_line(error)}), so it was left out: "
                     "training trains a new one.")
        return None
    fingerprint = tokenizer.fingerprint()
    for record in ws.store.list_tokenizers(corpus.id):
        if record.fingerprint == fingerprint and Path(record.path, "tokenizer.json").is_file():
            return record
    return add_tokenizer_record(ws, corpus, tokenizer)
