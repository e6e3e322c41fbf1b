"""`train --recipe` end to end through the CLI: the recipe's values become the run's, a flag given as well
overrides one, and `runs show` has the recipe with what was changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli_e2e import cli

pytestmark = pytest.mark.slow


def test_a_recipe_run_from_the_command_line(tmp_path: Path) -> None:
    tok = json.loads(cli(tmp_path, "tokenizer", "train", "--type", "wordpiece", "--vocab-size", "500",
                         "--json").stdout)
    summary = json.loads(cli(tmp_path, "train", "--recipe", "mosaicbert", "--preset", "seed-demo", "--max-len", "32",
                             "--steps", "20", "--batch-size", "8", "--eval-every", "10", "--device", "cpu",
                             "--mask-rate", "0.2", "--tokenizer", str(tok["id"]), "--name", "mosaic",
                             "--json").stdout)
    assert summary["status"] == "completed"
    config = json.loads(cli(tmp_path, "runs", "show", "mosaic", "--json").stdout)["config"]
    assert config["recipe"] == {"name": "mosaicbert", "changed": ["mask-rate"]}
    assert (config["model"]["position_embedding_type"], config["model"]["feed_forward"],
            config["masking"]["mlm_probability"], config["train"]["weight_decay"]) == ("alibi", "geglu", 0.2, 1e-5)
