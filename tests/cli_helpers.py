"""Running the CLI in a test: its output, or for a refusal the one error line it must print."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.cli.main import main


def cli(capsys: pytest.CaptureFixture, home: Path, *args: str, code: int = 0) -> str:
    """stdout of `mlm-workbench --home HOME ARGS`; with a non-zero `code`, the single stderr line it printed."""
    assert main(["--home", str(home), *args]) == code
    captured = capsys.readouterr()
    if code:
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mlm-workbench: error: "), captured.err
        return lines[0]
    return captured.out
