"""Streaming corpus reading: plain text, Markdown, JSON Lines, CSV/TSV, their .gz, and folders of them.

A corpus is a list of files and folders. `scan_corpus` makes the one validating pass over it: every
file is read in chunks and decoded strictly (UTF-8 with or without a BOM, UTF-16 with a BOM), each
problem becomes a one-line `Problem` naming the file and the line or byte, a file with a fatal problem
is skipped while the others still load, and the same pass counts statistics and hashes the content so
caches can be keyed on it. `rescan_corpus` skips that pass when a stored scan's fingerprint (every file's
path, size and timestamps) still matches. Because a fatal problem may sit at the very end of a file,
`iter_documents` only streams files that a scan accepted; `iter_split` divides those documents into train
and validation by a stable hash of each document's text, so the split is the same in every process.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import json
import os
import stat
import sys
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Literal

_FORMATS = {".txt": "text", ".md": "text", ".jsonl": "jsonl", ".csv": "csv", ".tsv": "tsv"}
DEFAULT_EXTENSIONS = tuple(_FORMATS) + tuple(ext + ".gz" for ext in _FORMATS)
DOC_MODES = ("blank-line", "line")
_CHUNK = 1 << 18  # bytes per read: large enough to be fast, small enough to stream
_MAX_LINE_PROBLEMS = 20  # per file; the rest are only counted so one bad file cannot flood the report
# Longer documents are split, at whitespace where there is some: a line of text longer than this is read in
# pieces (see _LineReader), a paragraph or a JSONL/CSV value in documents of at most this size (see _documents).
# Whatever a file's line structure, no more than a few times this is ever held in memory.
_MAX_DOCUMENT_CHARS = 1 << 20
# A JSONL or CSV record can only be parsed whole, so a longer line is skipped (and never held whole).
_MAX_RECORD_CHARS = 8 << 20
# A .gz file that expands more than this many times its size past _GZIP_FLOOR is refused: no text compresses
# that well (text gives 3-10x); a decompression bomb does (2 GB of one letter gzips to 2 MB).
_GZIP_MAX_RATIO = 200
_GZIP_FLOOR = 256 << 20
_HASH_VERSION = 2  # bump when the reading rules change so content-keyed caches are rebuilt
_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE"}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_GZIP_MAGIC = b"\x1f\x8b"
# An edit within one timestamp tick of the previous one can leave a file's mtime as it was. 2 s is the coarsest
# tick in use (FAT), so a file modified less than this before a scan gets no fingerprint and is always re-read.
_MTIME_TICK_NS = 2_000_000_000


@dataclass(frozen=True)
class CorpusOptions:
    """How files become documents. `doc_mode` is for .txt/.md, `field` for .jsonl, `column` for .csv/.tsv;
    `extensions` picks the files taken from folders (files named explicitly need only a known format)."""

    doc_mode: str = "blank-line"
    field: str = "text"
    column: str = "text"
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS

    def __post_init__(self) -> None:
        if self.doc_mode not in DOC_MODES:
            raise ValueError(f"doc_mode must be one of {', '.join(DOC_MODES)}, not {self.doc_mode!r}")
        if not self.extensions or any(not ext.startswith(".") for ext in self.extensions):
            raise ValueError(f"extensions must look like ('.txt', '.csv.gz'), not {self.extensions!r}")
        object.__setattr__(self, "extensions", tuple(ext.lower() for ext in self.extensions))


@dataclass(frozen=True)
class Problem:
    """Something wrong with one file or line. `fatal` means the whole file was skipped."""

    path: str
    location: str | None
    message: str
    fatal: bool

    def __str__(self) -> str:
        where = f"{self.path}: {self.location}" if self.location else self.path
        return f"{where}: {self.message}" + ("; file skipped" if self.fatal else "")


@dataclass
class CorpusStats:
    """Counts over the documents as `iter_documents` yields them. `lines` counts the physical lines of
    the accepted files; `characters` excludes the separators between documents; words are
    whitespace-split tokens and `unique_words` counts them case-sensitively."""

    documents: int = 0
    lines: int = 0
    characters: int = 0
    words: int = 0
    unique_words: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class CorpusScan:
    """The outcome of `scan_corpus`: the files to read (in order), every problem, statistics and a
    sha256 hash of the accepted content and of the options that shape the documents. `fingerprint`
    digests the files as the scan found them (see `rescan_corpus`); None when one was too fresh to trust."""

    files: list[str]
    problems: list[Problem]
    stats: CorpusStats
    content_hash: str
    fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for storing the scan until `rescan_corpus` can reuse it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CorpusScan:
        return cls(
            files=list(data["files"]),
            problems=[Problem(**problem) for problem in data["problems"]],
            stats=CorpusStats(**data["stats"]),
            content_hash=data["content_hash"],
            fingerprint=data["fingerprint"],
        )


class CorpusError(ValueError):
    """A file that a scan accepted could no longer be read (it changed or vanished since the scan)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _FileError(Exception):
    """Internal: a fatal problem inside one file, before the file's display path is attached."""

    def __init__(self, location: str | None, message: str) -> None:
        super().__init__(message)
        self.location, self.message = location, message


_WHITESPACE = " \t\n\r\f\v"


def split_text(text: str, max_chars: int) -> list[str]:
    """`text` in pieces of at most `max_chars` characters that join back to it, each cut just before a
    whitespace character (so no word is split and the whitespace stays with the next word, where byte-level
    and Metaspace pre-tokenizers want it); a stretch of `max_chars` with no whitespace is cut where it ends."""
    pieces, start = [], 0
    while len(text) - start > max_chars:
        cut = max(text.rfind(space, start + 1, start + max_chars + 1) for space in _WHITESPACE)
        cut = cut if cut > start else start + max_chars
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


class _LineReader:
    """The lines of one file, each ending in "\\n" (the last one may not), decoded strictly in chunks.

    Iterating raises `_FileError` naming the line and byte of an undecodable byte, a NUL, corrupt gzip data
    or a decompression bomb. `line_no` is the number of lines read so far, so parsers can say where they are;
    `digest`, when given, receives every (decompressed) byte of the file. Memory stays bounded whatever the
    line structure: with `split_long` a longer line than `_MAX_DOCUMENT_CHARS` is yielded in pieces (cut
    before a whitespace where there is one; only the last piece ends in "\\n"), without it a line longer
    than `_MAX_RECORD_CHARS` is skipped and noted in `problems`.
    """

    def __init__(
        self, path: Path, problems: _LineProblems, digest: hashlib._Hash | None = None, split_long: bool = True
    ) -> None:
        self.path, self.problems, self.digest = path, problems, digest
        self.compressed = path.name.lower().endswith(".gz")
        self.line_no = 0
        self.bytes_read = 0
        self.max_bytes = sys.maxsize  # uncompressed bytes allowed; set for .gz files when opened
        # text lines longer than _MAX_DOCUMENT_CHARS come in pieces; JSONL/CSV lines longer than
        # _MAX_RECORD_CHARS are skipped
        self.split_long = split_long
        self.max_line = _MAX_DOCUMENT_CHARS if split_long else _MAX_RECORD_CHARS
        self.long_lines = 0  # lines split or skipped so far
        self._tail_chars = 0  # characters of the unfinished line held in `tail`
        self._in_long_line = False  # the unfinished line was already split (or, too long to parse, dropped)

    def __iter__(self) -> Iterator[str]:
        try:
            file = open(self.path, "rb")
        except OSError as err:
            raise _FileError(None, f"cannot read ({err.strerror or err})") from err
        with file:
            raw = gzip.GzipFile(fileobj=file, mode="rb") if self.compressed else file
            if self.compressed:
                self.max_bytes = max(_GZIP_FLOOR, _GZIP_MAX_RATIO * os.fstat(file.fileno()).st_size)
            try:
                yield from self._lines(raw)
            except (OSError, EOFError, zlib.error) as err:
                if self.compressed:  # where the decompressor stopped: the end of a truncated file
                    raise _FileError(f"compressed byte {file.tell()}", f"corrupt gzip data ({err})") from err
                raise _FileError(f"byte {self.bytes_read}", f"cannot read ({err})") from err

    def _lines(self, raw: IO[bytes]) -> Iterator[str]:
        chunk = self._read(raw)
        if not self.compressed and chunk.startswith(_GZIP_MAGIC):
            raise _FileError("byte 0", "gzip-compressed data; give the file a .gz extension")
        encoding, bom = next(((enc, len(b)) for b, enc in _BOMS if chunk.startswith(b)), ("utf-8", 0))
        decoder = codecs.getincrementaldecoder(encoding)()
        fed, tail = bom, []  # bytes handed to the decoder so far; pieces of the unfinished line
        data = chunk[bom:]
        while True:
            start = fed - len(decoder.getstate()[0])  # the byte where this call's text begins
            text = self._decode(decoder, data, start, encoding, final=not chunk)
            fed += len(data)
            yield from self._split(text, tail)
            if not chunk:
                break
            chunk = data = self._read(raw)
        last = "".join(tail)
        if last or self._in_long_line:
            self.line_no += 1
            yield from self._line(last)

    def _read(self, raw: IO[bytes]) -> bytes:
        chunk = raw.read(_CHUNK)
        self.bytes_read += len(chunk)
        if self.bytes_read > self.max_bytes:
            raise _FileError(
                f"uncompressed byte {self.bytes_read:,}",
                f"gzip data expands more than {_GZIP_MAX_RATIO} times its size (a decompression bomb?); "
                "decompress it first if it really is text",
            )
        if self.digest is not None:
            self.digest.update(chunk)
        return chunk

    def _decode(
        self, decoder: codecs.IncrementalDecoder, data: bytes, start: int, encoding: str, final: bool
    ) -> str:
        try:
            text = decoder.decode(data, final=final)
        except UnicodeDecodeError as err:
            # err.object is the decoder's buffered bytes + data, so err.start counts from `start`
            before = err.object[: err.start].decode(encoding)
            bad = err.object[err.start]
            raise _FileError(
                self._where(before, start + err.start),
                f"not valid {_ENCODING_NAMES[encoding]} (0x{bad:02x}: {err.reason})",
            ) from err
        nul = text.find("\0")
        if nul >= 0:
            hint = "binary data?" if encoding != "utf-8" else "a binary file, or UTF-16 without a BOM"
            before = text[:nul]
            raise _FileError(self._where(before, start + len(before.encode(encoding))), f"NUL byte ({hint})")
        return text

    def _where(self, text_before: str, offset: int) -> str:
        line = self.line_no + 1 + text_before.count("\n")
        return f"line {line}, {'uncompressed byte' if self.compressed else 'byte'} {offset}"

    def _split(self, text: str, tail: list[str]) -> Iterator[str]:
        pieces = text.split("\n")
        if len(pieces) == 1:  # no line ends here: keep collecting (a list, so long lines stay linear)
            tail.append(text)
            self._tail_chars += len(text)
            yield from self._overflow(tail)
            return
        pieces[0] = "".join(tail) + pieces[0]
        tail[:] = [pieces.pop()]
        self._tail_chars = len(tail[0])
        for line in pieces:
            self.line_no += 1
            yield from self._line(line + "\n")
        yield from self._overflow(tail)

    def _line(self, line: str) -> Iterator[str]:
        """A whole line, or the end of one whose beginning `_overflow` handled."""
        continued, self._in_long_line = self._in_long_line, False
        if not continued and len(line) <= self.max_line:
            yield line
        elif self.split_long:
            if not continued:
                self._note_long_line(self.line_no)
            yield from split_text(line, self.max_line)
        elif not continued:
            self._skip_long_line(self.line_no)

    def _overflow(self, tail: list[str]) -> Iterator[str]:
        """An unfinished line that grew past `max_line`: yield all but its last piece, or drop it whole."""
        if self._tail_chars <= self.max_line:
            return
        if not self._in_long_line:
            (self._note_long_line if self.split_long else self._skip_long_line)(self.line_no + 1)
        self._in_long_line = True
        rest = ""
        if self.split_long:
            *done, rest = split_text("".join(tail), self.max_line)
            yield from done
        tail[:] = [rest]
        self._tail_chars = len(rest)

    def _note_long_line(self, line_no: int) -> None:
        if self.long_lines == 0:  # once per file: a file of long lines would fill the report with them
            message = f"longer than {self.max_line:,} characters, split into documents at whitespace"
            self.problems.note(f"line {line_no}", message)
        self.long_lines += 1

    def _skip_long_line(self, line_no: int) -> None:
        self.long_lines += 1
        self.problems.skip(f"line {line_no}", f"longer than {self.max_line:,} characters")


class _LineProblems:
    """Non-fatal problems of one file: the first few kept in full, the rest only counted."""

    def __init__(self) -> None:
        self.skipped = 0  # lines skipped
        self.first_skip: tuple[str, str] | None = None
        self.kept: list[tuple[str, str]] = []
        self.dropped = 0

    def skip(self, location: str, reason: str) -> None:
        self.skipped += 1
        self.first_skip = self.first_skip or (location, reason)
        self.note(location, f"{reason}; line skipped")

    def note(self, location: str, message: str) -> None:
        if len(self.kept) < _MAX_LINE_PROBLEMS:
            self.kept.append((location, message))
        else:
            self.dropped += 1

    def problems(self, path: str) -> list[Problem]:
        problems = [Problem(path, location, message, False) for location, message in self.kept]
        if self.dropped:
            problems.append(Problem(path, None, f"{self.dropped} more problems not listed", False))
        return problems


def _text_documents(
    lines: _LineReader, kind: str, options: CorpusOptions, problems: _LineProblems
) -> Iterator[str]:
    if options.doc_mode == "line":  # a long line comes in pieces: each is a document
        yield from lines
        return
    paragraph: list[str] = []
    size, warned = 0, False
    for line in lines:
        if line.strip():
            # a line keeps its end (as "\n"); a piece of a long line has none and joins the next one as it was
            paragraph.append(line.rstrip("\r\n") + "\n" if line.endswith("\n") else line)
            size += len(line)
            if size < _MAX_DOCUMENT_CHARS:
                continue
            # a file with no blank lines would otherwise become one document held whole in memory; a long line
            # split by the reader was noted there, and doc_mode 'line' would not help it
            if not warned and not lines.long_lines:
                message = f"no blank line for {_MAX_DOCUMENT_CHARS:,} characters, document split here"
                problems.note(f"line {lines.line_no}", f"{message} (one document per line? use doc_mode 'line')")
                warned = True
        if paragraph:
            yield "".join(paragraph)
            paragraph, size = [], 0
    if paragraph:
        yield "".join(paragraph)


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _jsonl_documents(
    lines: _LineReader, kind: str, options: CorpusOptions, problems: _LineProblems
) -> Iterator[str]:
    key = options.field
    keys_seen: set[str] = set()
    key_found = False
    for line in lines:
        if not line.strip():
            continue
        where = f"line {lines.line_no}"
        try:  # without its newline, which an unterminated string would otherwise be blamed on
            record = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as err:  # some of json's messages end in "at" ("Invalid control character at")
            at = "" if err.msg.endswith(" at") else " at"
            problems.skip(where, f"not valid JSON ({err.msg}{at} column {err.colno})")
            continue
        if not isinstance(record, dict):
            problems.skip(where, f"expected a JSON object, found {_json_type(record)}")
        elif key not in record:
            if len(keys_seen) < 50:
                keys_seen.update(record)
            problems.skip(where, f"no field {key!r}")
        elif not isinstance(value := record[key], str):
            key_found = True
            problems.skip(where, f"field {key!r} is {_json_type(value)}, not a string")
        else:
            key_found = True
            try:
                value.encode("utf-8")  # a lone surrogate escape (\ud800) would break tokenizers later
            except UnicodeEncodeError:
                problems.skip(where, f"field {key!r} holds an unpaired surrogate escape")
                continue
            yield value
    if keys_seen and not key_found:
        found = ", ".join(sorted(keys_seen)[:20])
        raise _FileError(None, f"no line has the field {key!r} (fields found: {found})")


def _csv_documents(
    lines: _LineReader, kind: str, options: CorpusOptions, problems: _LineProblems
) -> Iterator[str]:
    # the default 128 KiB rejects long documents; a quoted field may span lines, so bound it as a line is bounded
    csv.field_size_limit(_MAX_RECORD_CHARS)
    # TSV files in the wild (GLUE's SST-2 included) do not quote, so a stray " is text there; in CSV a
    # broken quote would silently swallow the rest of the file into one document, so it is an error
    dialect = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if kind == "tsv" else {"strict": True}
    rows = csv.reader(lines, **dialect)
    try:
        header = next(rows, None)
        if header is None:
            return
        if options.column not in header:
            columns = ", ".join(repr(name) for name in header[:30])
            raise _FileError("line 1", f"no column {options.column!r} in the header (columns: {columns})")
        index = header.index(options.column)
        for row in rows:
            if index < len(row):
                yield row[index]
            elif any(cell.strip() for cell in row):
                message = f"only {len(row)} fields, none for column {options.column!r}"
                problems.skip(f"line {rows.line_num}", message)
    except csv.Error as err:
        raise _FileError(f"line {rows.line_num}", f"malformed {kind.upper()} ({err})") from err


_PARSERS = {"text": _text_documents, "jsonl": _jsonl_documents, "csv": _csv_documents, "tsv": _csv_documents}


def _documents(
    lines: _LineReader, kind: str, options: CorpusOptions, problems: _LineProblems
) -> Iterator[str]:
    """The stripped, non-empty documents of one file, none longer than `_MAX_DOCUMENT_CHARS`; the single
    source for both scanning and reading."""
    for document in _PARSERS[kind](lines, kind, options, problems):
        for piece in split_text(document, _MAX_DOCUMENT_CHARS):  # a long JSONL or CSV value
            piece = piece.strip()
            if piece:
                yield piece


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    name = name[:-3] if name.endswith(".gz") else name
    return _FORMATS.get(os.path.splitext(name)[1])


def _unsupported(path: Path) -> Problem:
    suffixes = path.suffixes[-2:] if path.suffix.lower() == ".gz" else path.suffixes[-1:]
    found = "".join(suffixes) or "no extension"
    known = ", ".join(_FORMATS)
    message = f"unsupported file type ({found}); supported: {known}, each optionally .gz"
    return Problem(str(path), None, message, True)


def _not_a_file(path: Path) -> Problem | None:
    """Why `path` cannot be read as a file, or None: a FIFO would block reading forever, a symlink loop or a
    dangling link would fail (both once crashed `corpus add`), a socket or device is no text."""
    try:
        mode = os.stat(path).st_mode  # follows links; a loop raises ELOOP, a dangling link ENOENT
    except OSError as error:
        return Problem(str(path), None, f"cannot be read ({error.strerror or error})", True)
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe), not a file" if stat.S_ISFIFO(mode) else "not a regular file"
        return Problem(str(path), None, kind, True)
    return None


def _walk(folder: Path, extensions: tuple[str, ...], problems: list[Problem]) -> list[Path]:
    def unreadable(err: OSError) -> None:
        problems.append(Problem(str(err.filename), None, f"cannot list folder ({err.strerror or err})", True))

    found = []
    for root, dirs, names in os.walk(folder, onerror=unreadable):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        names = [name for name in names if not name.startswith(".") and name.lower().endswith(extensions)]
        for path in (Path(root, name) for name in names):
            problem = _not_a_file(path)
            if problem is None:
                found.append(path)
            else:
                problems.append(problem)
    return sorted(found, key=lambda path: path.relative_to(folder).parts)


def expand_paths(
    paths: Sequence[str | os.PathLike], options: CorpusOptions
) -> tuple[list[Path], list[Problem]]:
    """Files and folders -> the files to read, in order, each once; and problems with the paths themselves."""
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for given in paths:
        path, found = Path(given), []
        if path.is_dir():
            found = _walk(path, options.extensions, problems)
            if not found:
                looked_for = ", ".join(options.extensions)
                message = f"no corpus files in this folder (looked for {looked_for})"
                problems.append(Problem(str(path), None, message, False))
        elif not path.exists() and not path.is_symlink():
            problems.append(Problem(str(path), None, "no such file or folder", True))
        elif _format_of(path) is None:
            problems.append(_unsupported(path))
        elif problem := _not_a_file(path):
            problems.append(problem)
        else:
            found = [path]
        for file in found:
            if (key := file.resolve()) not in seen:
                seen.add(key)
                files.append(file)
    return files, problems


class _Counts:
    """Running statistics, kept per file and merged only when the whole file was accepted."""

    def __init__(self) -> None:
        self.documents = self.lines = self.characters = self.words = 0
        self.vocabulary: set[str] = set()

    def add(self, document: str) -> None:
        tokens = document.split()
        self.documents += 1
        self.characters += len(document)
        self.words += len(tokens)
        self.vocabulary.update(tokens)

    def merge(self, other: _Counts) -> None:
        self.documents += other.documents
        self.lines += other.lines
        self.characters += other.characters
        self.words += other.words
        self.vocabulary |= other.vocabulary

    def stats(self) -> CorpusStats:
        return CorpusStats(self.documents, self.lines, self.characters, self.words, len(self.vocabulary))


def _no_documents(lines: _LineReader, problems: _LineProblems) -> str:
    if lines.bytes_read == 0:
        return "empty file"
    if problems.first_skip:
        location, reason = problems.first_skip
        return f"no documents: all {problems.skipped} lines with text skipped (first, {location}: {reason})"
    return f"no documents in {lines.line_no} line{'' if lines.line_no == 1 else 's'}"


def _scan_file(path: Path, options: CorpusOptions) -> tuple[_Counts | None, bytes, list[Problem]]:
    """One file -> (its counts, or None when skipped; the digest of its content; its problems)."""
    kind = _format_of(path)
    digest = hashlib.sha256(kind.encode())  # .txt and .md read alike; .csv and .tsv do not
    counts, line_problems = _Counts(), _LineProblems()
    lines = _LineReader(path, line_problems, digest, split_long=kind == "text")
    try:
        for document in _documents(lines, kind, options, line_problems):
            counts.add(document)
    except _FileError as err:
        return None, b"", [Problem(str(path), err.location, err.message, True)]
    if counts.documents == 0:
        return None, b"", [Problem(str(path), None, _no_documents(lines, line_problems), True)]
    counts.lines = lines.line_no
    return counts, digest.digest(), line_problems.problems(str(path))


def _options_key(options: CorpusOptions) -> bytes:
    # only what changes the documents of a given file; `extensions` already shows in the file list
    key = {"doc_mode": options.doc_mode, "field": options.field, "column": options.column}
    return json.dumps({"version": _HASH_VERSION, **key}, sort_keys=True).encode()


def _fingerprint(files: list[Path], path_problems: list[Problem], options: CorpusOptions) -> str | None:
    """A digest of the reading rules, the options, what the paths expanded to (problems included) and each
    file's path, size, mtime and ctime; None when a file cannot be stat'ed or was modified within
    `_MTIME_TICK_NS` of now. Take it before reading: a file that changes while it is read then no longer
    matches it."""
    now = time.time_ns()
    digest = hashlib.sha256(json.dumps([_HASH_VERSION, asdict(options), [str(p) for p in path_problems]]).encode())
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            return None
        if stat.st_mtime_ns > now - _MTIME_TICK_NS:
            return None
        # ctime as well: copies that keep the mtime (rsync -a, cp -p, tar) cannot keep it
        digest.update(json.dumps([str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]).encode())
    return digest.hexdigest()


def _scan_files(
    files: list[Path], problems: list[Problem], options: CorpusOptions, fingerprint: str | None
) -> CorpusScan:
    total, accepted = _Counts(), []
    content_hash = hashlib.sha256(_options_key(options))
    for path in files:
        counts, file_digest, file_problems = _scan_file(path, options)
        problems += file_problems
        if counts is not None:
            total.merge(counts)
            content_hash.update(file_digest)
            accepted.append(str(path))
    return CorpusScan(accepted, problems, total.stats(), content_hash.hexdigest(), fingerprint)


def scan_corpus(
    paths: Sequence[str | os.PathLike] | str | os.PathLike, options: CorpusOptions = CorpusOptions()
) -> CorpusScan:
    """Validate, count and hash a corpus in one streaming pass. Skipped files appear only in `problems`.

    The hash covers the options that shape documents and, in order, each accepted file's format and
    (decompressed) bytes, not its name or folder: moving a corpus keeps its hash, editing it does not.
    """
    if isinstance(paths, (str, os.PathLike)):  # one path, not a sequence of one-character paths
        paths = [paths]
    files, problems = expand_paths(paths, options)
    return _scan_files(files, problems, options, _fingerprint(files, problems, options))


def rescan_corpus(
    paths: Sequence[str | os.PathLike], options: CorpusOptions, previous: CorpusScan | None
) -> CorpusScan:
    """`previous` (a scan of the same paths) if no file changed since it was made, else a fresh scan.

    Unchanged means the same fingerprint: the paths expand to the same files (a file added to or removed from
    a folder shows) and each has the size, mtime and ctime it had then. Only file metadata is read, so a
    rescan of an unchanged corpus costs one stat per file; a touched but unedited file is simply read again.
    """
    files, problems = expand_paths(paths, options)
    fingerprint = _fingerprint(files, problems, options)
    if previous is not None and fingerprint is not None and fingerprint == previous.fingerprint:
        return previous
    return _scan_files(files, problems, options, fingerprint)


def iter_documents(
    files: Iterable[str | os.PathLike], options: CorpusOptions = CorpusOptions()
) -> Iterator[str]:
    """Stream the documents (stripped, never empty) of files a scan accepted, in order. Lines the scan
    reported as skipped are skipped silently; a file that became unreadable raises `CorpusError`."""
    for file in files:
        path = Path(file)
        kind = _format_of(path)
        if kind is None:
            raise CorpusError(_unsupported(path))
        try:
            problems = _LineProblems()
            yield from _documents(_LineReader(path, problems, split_long=kind == "text"), kind, options, problems)
        except _FileError as err:
            raise CorpusError(Problem(str(path), err.location, err.message, True)) from err


def is_validation(document: str, fraction: float) -> bool:
    """Whether a document belongs to the validation split: a stable hash of its text (never Python's
    salted hash()), so every process agrees and duplicate documents never straddle the split."""
    digest = hashlib.blake2b(document.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


def iter_split(
    files: Iterable[str | os.PathLike],
    options: CorpusOptions,
    split: Literal["train", "validation"],
    fraction: float = 0.02,
) -> Iterator[str]:
    """Stream one side of the deterministic train/validation split of the documents."""
    if split not in ("train", "validation"):
        raise ValueError(f"split must be 'train' or 'validation', not {split!r}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    want_validation = split == "validation"
    return (doc for doc in iter_documents(files, options) if is_validation(doc, fraction) == want_validation)


def format_problems(problems: Iterable[Problem]) -> list[str]:
    """One line per problem, fatal ones first (they change what gets trained on)."""
    return [str(problem) for problem in sorted(problems, key=lambda problem: not problem.fatal)]
