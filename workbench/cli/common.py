"""Small pieces shared by the CLI's commands: opening the workspace and the `--json` flag."""

from __future__ import annotations

import argparse

from workbench.jobs.workspace import Workspace


def open_workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.open(args.home)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
