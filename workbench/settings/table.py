"""The README's settings table, made from the settings' metadata: `python -m workbench.settings.table --write`
rewrites the block between the markers in README.md, `--check` fails when it is out of date (a test runs it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.settings.base import Settings, describe_allowed, format_default
from workbench.settings.distill import DistillConfig
from workbench.settings.finetune import FinetuneConfig
from workbench.settings.launch import LaunchConfig
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.probe import ProbeConfig
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

START = "<!-- settings table: made by `python -m workbench.settings.table --write`; do not edit by hand -->"
END = "<!-- end of settings table -->"
README = Path(__file__).resolve().parents[2] / "README.md"
# (title with the commands that take it, settings class); PretrainSpec's nested groups have rows of their own
GROUPS: tuple[tuple[str, type[Settings]], ...] = (
    ("Data (`train`, `distill`)", PretrainSpec), ("Model (`train`, `distill`)", ModelSpec),
    ("Masking (`train`, `distill`, `mask-preview`)", MaskingConfig), ("Training (`train`, `distill`)", TrainConfig),
    ("Distillation (`distill`)", DistillConfig),
    ("Tokenizer (`tokenizer train`)", TokenizerConfig), ("Fine-tuning (`finetune`)", FinetuneConfig),
    ("Processes (`train`, `resume`, `finetune`)", LaunchConfig),
    ("Probing (`probe`, `score`, `attention`, `rank-heads`)", ProbeConfig),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def settings_table() -> str:
    """Markdown: one table row per setting, grouped, with flag, window label, default, allowed values and help."""
    lines = ["| setting | CLI flag | in the window | default | allowed | what it does |",
             "| --- | --- | --- | --- | --- | --- |"]
    for title, cls in GROUPS:
        lines.append(f"| **{title}** | | | | | |")
        for spec in cls.specs():
            if isinstance(spec.kind, type) and issubclass(spec.kind, Settings):
                continue  # a nested group: its own rows
            flag = f"`{spec.flag}`" if spec.meta.on_cli or spec.meta.flag else \
                "(window only)" if spec.meta.window_only else "(set by the run)"
            allowed = "" if spec.kind is str and spec.meta.choices is None and not spec.meta.allowed \
                else describe_allowed(spec)
            label = spec.meta.label + (" (advanced: hidden in classroom mode)" if spec.meta.advanced else "")
            lines.append(f"| `{spec.name}` | {flag} | {_cell(label)} | {_cell(format_default(spec))} | "
                         f"{_cell(allowed)} | {_cell(spec.meta.help)} |")
    return "\n".join(lines)


def with_table(readme: str) -> str:
    """`readme` with the block between the markers replaced by the current table."""
    if START not in readme or END not in readme:
        raise ValueError("README.md has no settings-table markers")
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{settings_table()}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's table")
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md's table is out of date")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(settings_table())
        return 0
    readme = README.read_text(encoding="utf-8")
    updated = with_table(readme)
    if args.write:
        README.write_text(updated, encoding="utf-8")
    elif updated != readme:
        print("README.md's settings table is out of date: run python -m workbench.settings.table --write",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
