"""The project file (`.mlmwb`): a presenter's whole set-up in one versioned JSON file that opens on another machine.

It holds the corpus by reference (each file's path, size and sha256; the bundled sample by name), the tokenizer
itself (its `tokenizer.json` embedded, so nothing is retrained), the masking, model and training settings (the
settings groups' own `to_dict`), the sentences in the Probe panel's boxes and the panel shown. A file's path is
written relative to the project file's folder when the file lies in it or below, else as it was; see
`candidates` for where a file is looked for on opening. Reading is strict: a file of a newer format version, an
entry this version does not know, or a value that is not allowed is refused with one line that names it.

Nothing here reads the store or imports torch: `mlm-workbench open` checks a file before the window starts.
`workbench.jobs.project` saves a workspace's set-up into this format and opens one into a workspace.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

from workbench import __version__
from workbench.jobs.errors import UserError
from workbench.settings.base import SettingError, Settings
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import ModelSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

SUFFIX = ".mlmwb"
FORMAT_NAME = "mlm-workbench-project"
FORMAT_VERSION = 1
_READ_CHUNK = 1 << 20


class ProjectError(UserError):
    """A project file that cannot be read or written: one line naming the file and what is wrong."""


@dataclass(frozen=True)
class ProbeTexts:
    """What the Probe panel's boxes hold; None leaves a box as it is (an entry the file does not have)."""

    fill_mask: str | None = None
    fill_targets: str | None = None
    attention: str | None = None
    scoring: tuple[str, ...] | None = None  # one sentence a line
    neighbours_token: str | None = None
    neighbours_sentence: str | None = None
    neighbours_word: str | None = None
    neighbours_others: tuple[str, ...] | None = None  # one sentence a line


@dataclass(frozen=True)
class ProjectSettings:
    """The choices of the Masking, Model, Train and Probe panels, and the panel shown (its name; "" for none)."""

    masking: MaskingConfig = field(default_factory=MaskingConfig)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainConfig = field(default_factory=TrainConfig)
    probe: ProbeTexts = field(default_factory=ProbeTexts)
    panel: str = ""


@dataclass(frozen=True)
class CorpusFile:
    """One file of the corpus: `path` in the file's own spelling (relative ones with "/"), its size and sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class CorpusRef:
    """The corpus by reference: its name, its files (none for the bundled sample), the options that make its
    documents (`workbench.core.corpus.CorpusOptions` as a dict) and the content hash of its scan."""

    name: str
    sample: bool
    files: tuple[CorpusFile, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""


@dataclass(frozen=True)
class EmbeddedTokenizer:
    """A trained tokenizer carried in the file: its settings, special tokens, vocabulary size and the text of its
    `tokenizer.json`, whose sha256 (the tokenizer's fingerprint) tells a damaged copy."""

    settings: TokenizerConfig
    special_tokens: dict[str, str]
    vocab_size: int
    sha256: str
    json: str


@dataclass(frozen=True)
class Project:
    corpus: CorpusRef
    tokenizer: EmbeddedTokenizer | None
    settings: ProjectSettings
    saved_by: str = f"mlm-workbench {__version__}"


@dataclass(frozen=True)
class FileCheck:
    """Where a corpus file was looked for on opening, where it was found (None: nowhere), and whether the file
    found differs from the one saved (size or sha256)."""

    ref: CorpusFile
    looked_in: tuple[Path, ...]
    found: Path | None
    changed: bool


# ---- writing ---------------------------------------------------------------------------------------------------


def project_to_dict(project: Project) -> dict[str, Any]:
    corpus, tokenizer, settings = project.corpus, project.tokenizer, project.settings
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "saved_by": project.saved_by,
        "corpus": {"name": corpus.name, "sample": corpus.sample, "options": corpus.options,
                   "content_hash": corpus.content_hash,
                   "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in corpus.files]},
        "tokenizer": None if tokenizer is None else {
            "settings": tokenizer.settings.to_dict(), "special_tokens": tokenizer.special_tokens,
            "vocab_size": tokenizer.vocab_size, "sha256": tokenizer.sha256, "json": tokenizer.json},
        "masking": settings.masking.to_dict(),
        "model": settings.model.to_dict(),
        "training": settings.train.to_dict(),
        "probe": {f.name: _plain(getattr(settings.probe, f.name)) for f in fields(ProbeTexts)
                  if getattr(settings.probe, f.name) is not None},
        "panel": settings.panel,
    }


def _plain(value: str | tuple[str, ...]) -> str | list[str]:
    return list(value) if isinstance(value, tuple) else value


def write_project(path: Path, project: Project) -> Path:
    """Write `project` to `path` (".mlmwb" added when missing), all at once: a failed write leaves no half file."""
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    text = json.dumps(project_to_dict(project), indent=2, ensure_ascii=False) + "\n"
    try:
        handle, staging = tempfile.mkstemp(prefix=".tmp-", suffix=SUFFIX, dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(staging, path)
    except OSError as error:
        raise ProjectError(f"{path}: cannot be written ({error.strerror or error})") from error
    return path


def relative_reference(file: Path, project_dir: Path) -> str:
    """`file` as the project writes it: relative to the project's folder ("/"-separated) when it lies in it or
    below, so the two can be copied together; else its absolute path."""
    file, project_dir = Path(file).resolve(), Path(project_dir).resolve()
    if file.is_relative_to(project_dir):
        return file.relative_to(project_dir).as_posix()
    return str(file)


def file_digest(path: Path) -> tuple[int, str]:
    """(size in bytes, sha256) of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as data:
        while chunk := data.read(_READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


# ---- reading ---------------------------------------------------------------------------------------------------


def read_project(path: Path) -> Project:
    """The project in `path`; ProjectError (one line naming the file) when it is no project this version reads."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProjectError(f"{path}: cannot be read ({error.strerror or error})") from error
    except (UnicodeDecodeError, ValueError) as error:
        raise ProjectError(f"{path} is not an MLM Workbench project: it is not JSON text ({error})") from error
    try:
        return project_from_dict(data)
    except (SettingError, TypeError, ValueError, KeyError) as error:
        raise ProjectError(f"{path}: {error}") from error


def project_from_dict(data: Any) -> Project:
    """Build a Project from the file's JSON; a ValueError says what is wrong in one line (without the file name)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ValueError(f"not an MLM Workbench project (no \"format\": \"{FORMAT_NAME}\" entry)")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"the project format version must be a whole number from 1; got {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"saved by a newer MLM Workbench (project format {version}; this version reads format "
                         f"{FORMAT_VERSION}): update MLM Workbench to open it")
    known = ("format", "version", "saved_by", "corpus", "tokenizer", "masking", "model", "training", "probe", "panel")
    _refuse_unknown(data, known, "the project")
    settings = ProjectSettings(
        masking=_settings(MaskingConfig, data.get("masking"), "masking"),
        model=_settings(ModelSpec, data.get("model"), "model"),
        train=_settings(TrainConfig, data.get("training"), "training"),
        probe=_probe(data.get("probe") or {}),
        panel=_text(data.get("panel", ""), "panel"),
    )
    corpus = data.get("corpus")
    tokenizer = data.get("tokenizer")
    return Project(corpus=_corpus(corpus) if corpus is not None else CorpusRef("sample", sample=True),
                   tokenizer=None if tokenizer is None else _tokenizer(tokenizer), settings=settings,
                   saved_by=_text(data.get("saved_by", "unknown"), "saved_by"))


def _refuse_unknown(data: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"{where} has an entry this version does not know: {unknown[0]!r} (known: "
                         f"{', '.join(known)}); it may come from a newer MLM Workbench")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{where} must be a JSON object; got {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where} must be text; got {value!r}")
    return value


def _whole(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where} must be a whole number >= 0; got {value!r}")
    return value


def _sha256(value: Any, where: str) -> str:
    if not isinstance(value, str) or re.fullmatch(r"[0-9a-f]{64}", value) is None:
        raise ValueError(f"{where} must be a sha256 (64 hexadecimal digits); got {value!r}")
    return value


def _settings(cls: type[Settings], value: Any, where: str) -> Any:
    if value is None:
        return cls()
    try:
        return cls.from_dict(_object(value, where))
    except SettingError as error:
        raise ValueError(f"{where}: {error}") from error


def _probe(value: Any) -> ProbeTexts:
    data = _object(value, "probe")
    _refuse_unknown(data, tuple(f.name for f in fields(ProbeTexts)), "probe")
    texts: dict[str, Any] = {}
    for name, item in data.items():
        if name in ("scoring", "neighbours_others"):
            if not isinstance(item, list) or not all(isinstance(line, str) for line in item):
                raise ValueError(f"probe: {name} must be a list of sentences; got {item!r}")
            texts[name] = tuple(item)
        else:
            texts[name] = _text(item, f"probe: {name}")
    return ProbeTexts(**texts)


def _corpus(value: Any) -> CorpusRef:
    data = _object(value, "corpus")
    _refuse_unknown(data, ("name", "sample", "options", "content_hash", "files"), "corpus")
    sample = data.get("sample", False)
    if not isinstance(sample, bool):
        raise TypeError(f"corpus: sample must be true or false; got {sample!r}")
    files = data.get("files", [])
    if not isinstance(files, list) or (not sample and not files):
        raise ValueError("corpus: files must list the corpus' files (or \"sample\": true for the bundled sample)")
    refs = []
    for item in files:
        entry = _object(item, "corpus: a file")
        _refuse_unknown(entry, ("path", "size", "sha256"), "corpus: a file")
        refs.append(CorpusFile(_text(entry.get("path"), "corpus: a file's path"),
                               _whole(entry.get("size"), "corpus: a file's size"),
                               _sha256(entry.get("sha256"), "corpus: a file's sha256")))
    content_hash = data.get("content_hash", "")
    return CorpusRef(name=_text(data.get("name", "corpus"), "corpus: name"), sample=sample, files=tuple(refs),
                     options=_object(data.get("options", {}), "corpus: options"),
                     content_hash=_sha256(content_hash, "corpus: content_hash") if content_hash else "")


def _tokenizer(value: Any) -> EmbeddedTokenizer:
    data = _object(value, "tokenizer")
    _refuse_unknown(data, ("settings", "special_tokens", "vocab_size", "sha256", "json"), "tokenizer")
    specials = _object(data.get("special_tokens"), "tokenizer: special_tokens")
    for role, token in specials.items():
        _text(token, f"tokenizer: special token {role}")
    return EmbeddedTokenizer(settings=_settings(TokenizerConfig, data.get("settings"), "tokenizer: settings"),
                             special_tokens=dict(specials),
                             vocab_size=_whole(data.get("vocab_size"), "tokenizer: vocab_size"),
                             sha256=_sha256(data.get("sha256"), "tokenizer: sha256"),
                             json=_text(data.get("json"), "tokenizer: json"))


# ---- finding the corpus' files ---------------------------------------------------------------------------------


def candidates(ref: CorpusFile, project_dir: Path) -> tuple[Path, ...]:
    """Where a file is looked for, in order: where the project says (a relative path from the project's folder),
    then beside the project file under the same name (a project copied with its corpus into one folder)."""
    written = Path(ref.path) if _is_absolute(ref.path) else Path(project_dir, *PurePosixPath(ref.path).parts)
    beside = Path(project_dir, file_name(ref.path))
    return (written,) if beside == written else (written, beside)


def file_name(path: str) -> str:
    """The last part of a path written on any system ("C:\\lessons\\a.txt" and "lessons/a.txt" alike)."""
    return re.split(r"[\\/]", path)[-1]


def _is_absolute(path: str) -> bool:
    return Path(path).is_absolute() or re.match(r"^[A-Za-z]:[\\/]", path) is not None


def check_file(ref: CorpusFile, project_dir: Path) -> FileCheck:
    """Look for one corpus file: the first place holding the saved file unchanged, else the first holding a file
    of that name (changed), else none."""
    looked_in = candidates(ref, project_dir)
    existing = [path for path in looked_in if path.is_file()]
    for path in existing:
        if file_digest(path) == (ref.size, ref.sha256):
            return FileCheck(ref, looked_in, path, changed=False)
    return FileCheck(ref, looked_in, existing[0] if existing else None, changed=bool(existing))


def missing_message(missing: list[FileCheck]) -> str:
    """One line naming each missing file and where it was looked for."""
    parts = [f"{file_name(check.ref.path)} (looked in {', '.join(str(p) for p in check.looked_in)})"
             for check in missing]
    return f"corpus file{'s' * (len(missing) > 1)} not found: {'; '.join(parts)}"
