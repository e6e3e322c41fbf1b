"""`mlm-workbench`: the command line over the same engine as the desktop app.

Every command that prints data takes `--json`. Bad input of any kind ends with one line naming what is wrong and
what is allowed, and exit code 2; nothing is half-written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from workbench import __version__
from workbench.cli import open_cmd
from workbench.paths import write_privately

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; the contract is one line naming the problem."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def add_window_options(parser: argparse.ArgumentParser) -> None:
    """The options that also apply with no command, when `mlm-workbench` opens the window."""
    parser.add_argument("--home", metavar="DIR", help="home folder for the database, tokenizers, caches and runs "
                        "(default: $MLM_WORKBENCH_HOME, else the platform's user-data folder)")
    parser.add_argument("--quick-start", action="store_true",
                        help="open the window and start its Quick start at once: a tiny model trained on the sample "
                        "corpus (the desktop launcher's Quick Start action)")


def window_options(argv: list[str]) -> argparse.Namespace | None:
    """The window's options when `argv` asks for the window (no command, or `open FILE` without --check or
    --json; no --help or --version), else None. `project` is the file to open, or None."""
    parser = OneLineParser(prog="mlm-workbench", add_help=False)
    add_window_options(parser)
    options, rest = parser.parse_known_args(argv)
    options.project = None
    if rest[:1] == ["open"]:  # read here, not by build_parser, whose commands' modules import torch
        opening = OneLineParser(prog="mlm-workbench open")
        open_cmd.add_open_args(opening)
        opened = opening.parse_args(rest[1:])
        if opened.check or opened.json:
            return None
        options.project, rest = open_cmd.project_path(opened.project), []
    return None if rest else options


def open_window(options: argparse.Namespace) -> int:
    """The desktop app (Qt is imported only here), with the project to open once it is painted, if any."""
    if options.project is not None:
        if options.quick_start:
            print("mlm-workbench: error: --quick-start and open each set up the window: give one of them",
                  file=sys.stderr)
            return EXIT_USAGE
        problem = open_cmd.unreadable(options.project)
        if problem is not None:  # said here in one line, not in a window that opens for nothing
            print(f"mlm-workbench: error: {problem}", file=sys.stderr)
            return EXIT_USAGE
    from workbench.gui.app import run_app

    return run_app(options.home, quick_start=options.quick_start, project=options.project)


def build_parser() -> argparse.ArgumentParser:
    # the commands' modules import torch (1.5 s or more): only here, so the window opens without waiting for it
    from workbench.cli import (
        corpus_cmd,
        distill_cmd,
        export_cmd,
        finetune_cmd,
        import_cmd,
        pair_suite_cmd,
        preview_cmd,
        probe_cmd,
        probe_depth_cmd,
        runs_cmd,
        train_cmd,
    )

    parser = OneLineParser(prog="mlm-workbench", description=__doc__.splitlines()[0])
    add_window_options(parser)
    parser.add_argument("--version", action="version", version=f"mlm-workbench {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    corpus_cmd.register(commands)
    train_cmd.register(commands)
    distill_cmd.register(commands)
    runs_cmd.register(commands)
    preview_cmd.register(commands)
    finetune_cmd.register(commands)
    probe_cmd.register(commands)
    probe_depth_cmd.register(commands)
    pair_suite_cmd.register(commands)
    import_cmd.register(commands)
    export_cmd.register(commands)
    open_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    write_privately()
    words = list(sys.argv[1:] if argv is None else argv)
    window = window_options(words)
    if window is not None:
        return open_window(window)
    parser = build_parser()
    args = parser.parse_args(words)
    args.argv = words  # what `--nproc` hands to torchrun's processes
    if args.quick_start:  # (every command sets a handler: an argv without one asked for the window above)
        parser.error("--quick-start opens the window: give it without a command")
    return run_handler(args.handler, args)


def run_handler(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command, turning user-fixable errors into one line on stderr and exit code 2."""
    from workbench.core.devices import DeviceError
    from workbench.jobs.errors import UserError, one_line
    from workbench.store.records import StoreError

    try:
        return handler(args)
    except (UserError, StoreError, DeviceError, ValueError) as error:
        print(f"mlm-workbench: error: {one_line(error)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
