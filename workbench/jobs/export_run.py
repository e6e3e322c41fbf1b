"""One entry for every export format, shared by `mlm-workbench export` and the Runs panel's "Export model…"
dialog: `export_run` writes and verifies the export and returns what `--json` prints and the lines a person
reads, the "verified: max logit difference ..." line among them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from workbench.jobs.errors import UserError
from workbench.jobs.export import export_hf
from workbench.jobs.onnx_export import export_onnx
from workbench.jobs.workspace import Workspace

FORMAT_CHOICES = ("hf", "onnx")


@dataclass(frozen=True)
class Exported:
    """What an export wrote: `data` (the report as plain data) and `lines` (the report as text)."""

    data: dict
    lines: list[str]

    @property
    def verified_line(self) -> str:
        """The line that says how the export read back."""
        return next(line for line in self.lines if line.startswith("verified:"))


def export_run(ws: Workspace, run_ref: str | int, step: int | None, out_dir: str | Path, fmt: str,
               quantize: str | None = None) -> Exported:
    """Export run `run_ref` at `step` (None: the latest; a fine-tuning run's best epoch) as `fmt` ("hf" or
    "onnx", the latter with an int8 copy when `quantize` is "int8") into the new or empty folder `out_dir`."""
    if fmt not in FORMAT_CHOICES:
        raise UserError(f"--format takes {', '.join(FORMAT_CHOICES)}; got {fmt!r}")
    if fmt == "hf":
        if quantize:
            raise UserError("--quantize applies to --format onnx only")
        report = export_hf(ws, run_ref, step, out_dir)
        return Exported(report.to_dict(), report.lines())
    onnx_report = export_onnx(ws, run_ref, step, out_dir, quantize)
    return Exported(dataclasses.asdict(onnx_report), onnx_report.lines())
