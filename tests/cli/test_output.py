"""--json output is valid JSON whatever the numbers: a diverged run's NaN loss once made `probe --json` print NaN."""

from __future__ import annotations

import json

from workbench.cli.output import print_json


def test_non_finite_numbers_are_written_as_null(capsys) -> None:
    print_json({"loss": float("nan"), "curve": [1.5, float("inf"), (float("-inf"), 2)], "name": "run-1"})
    assert json.loads(capsys.readouterr().out, parse_constant=lambda name: 1 / 0) == {
        "loss": None, "curve": [1.5, None, [None, 2]], "name": "run-1"}
