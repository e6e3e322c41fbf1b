"""`open FILE.mlmwb`: the window with a saved project (`workbench.jobs.project`); `open FILE --check` prints what the
file holds and whether its corpus files are found, without the window.

`mlm-workbench open FILE` is read before the other commands' modules are imported (`workbench.cli.main`), so the
window opens before torch loads, as it does with no command; only `--check` reaches this module's handler. Nothing
here imports torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from workbench.cli.output import print_json
from workbench.jobs.errors import UserError, one_line
from workbench.jobs.project_file import (
    FORMAT_VERSION,
    FileCheck,
    Project,
    check_file,
    file_name,
    read_project,
)
from workbench.settings.base import Settings

EXIT_FILES_DIFFER = 1


def add_open_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="FILE.mlmwb", help="a project saved with the window's File > Save project…")
    parser.add_argument("--check", action="store_true", help="print what the project holds and whether its corpus "
                        f"files are found, without opening the window; exit code {EXIT_FILES_DIFFER} when one is "
                        "missing or changed")
    parser.add_argument("--json", action="store_true", help="print the check as machine-readable JSON on stdout "
                        "(implies --check)")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("open", help="open the window with a saved project (corpus, tokenizer, settings, "
                                 "probe sentences)", description="Opens the desktop window and fills its panels from "
                                 "the project. The corpus files are looked for where the project says, then beside "
                                 "the project file; a missing one is named and the rest still opens.")
    add_open_args(parser)
    parser.set_defaults(handler=cmd_check)


def project_path(text: str) -> Path:
    return Path(text).expanduser().absolute()


def unreadable(path: Path) -> str | None:
    """None when `path` is a project this version opens, else why not (one line)."""
    try:
        read_project(path)
    except UserError as error:
        return one_line(error)
    return None


def cmd_check(args: argparse.Namespace) -> int:
    path = project_path(args.project)
    project = read_project(path)
    checks = [check_file(file, path.parent) for file in project.corpus.files]
    ok = all(check.found is not None and not check.changed for check in checks)
    if args.json:
        print_json(_as_json(path, project, checks, ok))
    else:
        _print(path, project, checks)
    return 0 if ok else EXIT_FILES_DIFFER


def _as_json(path: Path, project: Project, checks: list[FileCheck], ok: bool) -> dict[str, Any]:
    settings, tokenizer = project.settings, project.tokenizer
    return {
        "path": str(path), "version": FORMAT_VERSION, "saved_by": project.saved_by, "files_ok": ok,
        "corpus": {"name": project.corpus.name, "sample": project.corpus.sample, "files": [
            {"path": c.ref.path, "size": c.ref.size, "sha256": c.ref.sha256, "found": c.found and str(c.found),
             "changed": c.changed, "looked_in": [str(p) for p in c.looked_in]} for c in checks]},
        "tokenizer": tokenizer and {**tokenizer.settings.to_dict(), "vocab_size": tokenizer.vocab_size,
                                    "sha256": tokenizer.sha256},
        "masking": settings.masking.to_dict(), "model": settings.model.to_dict(), "training": settings.train.to_dict(),
        "probe": {name: value for name, value in vars(settings.probe).items() if value is not None},
        "panel": settings.panel,
    }


def _print(path: Path, project: Project, checks: list[FileCheck]) -> None:
    """Plain lines (rich would fold long paths)."""
    settings, corpus, tokenizer = project.settings, project.corpus, project.tokenizer
    print(f"{path}: MLM Workbench project (format {FORMAT_VERSION}, saved by {project.saved_by})")
    if corpus.sample:
        print("corpus: the bundled sample")
    else:
        print(f"corpus {corpus.name!r}: {len(checks)} file{'s' * (len(checks) != 1)}")
    for check in checks:
        print(f"  {file_name(check.ref.path)}: {_where(check)}")
    print("tokenizer: " + (f"{tokenizer.settings.type}, {tokenizer.vocab_size:,} tokens (in the file)" if tokenizer
                           else "none yet (training trains a default one)"))
    for name, group in (("masking", settings.masking), ("model", settings.model), ("training", settings.train)):
        print(f"{name}: {_differences(group)}")
    probe = [f"{name} {value!r}" for name, value in vars(settings.probe).items() if value is not None]
    print(f"probe boxes: {'; '.join(probe) or 'as the window has them'}")
    print(f"panel shown: {settings.panel or 'Data'}")


def _where(check: FileCheck) -> str:
    if check.found is None:
        return f"MISSING (looked in {', '.join(str(p) for p in check.looked_in)})"
    return f"{'CHANGED since it was saved, ' if check.changed else ''}found at {check.found}"


def _differences(group: Settings) -> str:
    """The settings that differ from the defaults, as name=value."""
    defaults = type(group)().to_dict()
    changed = [f"{name}={value}" for name, value in group.to_dict().items() if value != defaults[name]]
    return ", ".join(changed) or "the defaults"
