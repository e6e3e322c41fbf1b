"""Export a run's checkpoint as a Hugging Face folder that checks itself before it says done.

`export_hf` writes `config.json`, `model.safetensors` (HF names, the tied decoder once), the tokenizer files and
a generated `README.md` model card into a hidden temporary folder beside `out_dir`, then reads the folder back:
a masked LM through the workbench's own importer (`hf_import.load_hf_model`), a fine-tuned model by mapping the
names back onto its task model (`hf_export.read_task_model`). Both must give the run's logits (within
`TOLERANCE`) on full-length and padded inputs, and the exported tokenizer its token ids on `PROBE_TEXTS`; only
then is the folder renamed into place. A failed check is a `UserError` and leaves nothing behind, nor does any
other failure. An existing `out_dir` must be an empty folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import safetensors.torch
from torch import nn

from workbench.core.checkpoints import checkpoint_step
from workbench.core.hf_export import (
    ExportPlan,
    HFExportError,
    hf_config,
    hf_state_dict,
    logit_difference,
    plan_export,
    read_task_model,
)
from workbench.core.hf_export_tokenizer import tokenizer_files, tokenizer_mismatches
from workbench.core.hf_import import CONFIG_FILE, SAFETENSORS_FILE, HFImportError, load_hf_model
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.jobs.errors import UserError
from workbench.jobs.checkpoint_check import verified_path
from workbench.jobs.finetune import finetuned_checkpoint, load_task_checkpoint
from workbench.jobs.model_card import model_card
from workbench.jobs.pretrain import get_run
from workbench.jobs.probe import MASKED_LM_KINDS, load_probe_model
from workbench.jobs.workspace import Workspace
from workbench.settings.model import BertConfig
from workbench.store.runstore import RunRecord

TOLERANCE = 1e-4  # largest logit difference an export may show when read back
CARD_FILE = "README.md"
PROBE_TEXTS = (  # what the exported tokenizer must encode exactly as the workbench does
    "The cat sat on the mat.", "Héllo wörld, naïve café! Ünïcödé àccents: résumé, façade.",
    "Punctuation!? (brackets) [square] {curly} -- dashes... \"quotes\" 'single'",
    "antidisestablishmentarianism supercalifragilisticexpialidocious", "Emoji: 😀 🚀 👍🏽 and 🇫🇷 flags",
    "Numbers 12345 and 3.14159, dates 2024-01-02.", "MiXeD CaSe WoRdS and UPPERCASE", "tabs\tand  double  spaces",
    "中文字符 and 日本語 text", "a", "  leading and trailing spaces  ", "line\nbreaks\r\nand\u00a0no-break spaces",
)


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote and how well it read back."""

    run_id: int
    run_name: str
    step: int
    format: str
    out_dir: str
    architecture: str
    files: dict[str, int]  # file name -> bytes
    verified: float  # the largest absolute logit difference between the read-back folder and the run's model
    tokenizer_texts: int  # texts the exported tokenizer encoded exactly as the workbench
    notes: list[str]

    @property
    def verified_text(self) -> str:
        return f"verified: max logit difference {scientific(self.verified)}"

    def to_dict(self) -> dict:
        return {**asdict(self), "verified_text": self.verified_text}

    def lines(self) -> list[str]:
        """What a front end prints: the files, the verification and the notes."""
        return [f"exported run {self.run_name!r} at step {self.step} as {self.architecture} to {self.out_dir}",
                *[f"  {name:<26} {size:>14,} bytes" for name, size in self.files.items()],
                f"{self.verified_text}; the tokenizer gave identical ids on {self.tokenizer_texts} texts",
                *[f"note: {note}" for note in self.notes]]


@dataclass(frozen=True)
class _Source:
    """The exported checkpoint, loaded: its run, step, model (eval mode), tokenizer, task and labels."""

    run: RunRecord
    step: int
    model: nn.Module
    tokenizer: WorkbenchTokenizer
    task: str | None  # None: a masked LM
    labels: list[str]


def scientific(value: float) -> str:
    """3.2e-7 style (no zero-padded exponent); 0 as "0"."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _load_source(ws: Workspace, run_ref: str | int, step: int | None) -> _Source:
    run = get_run(ws, run_ref)
    if run.kind in MASKED_LM_KINDS:
        probe = load_probe_model(ws, run.id, step, cache=None)
        return _Source(run, probe.step, probe.model, probe.tokenizer, None, [])
    checkpoint = verified_path(ws, run, finetuned_checkpoint(ws, run, step))  # a damaged file is never exported
    task, model, tokenizer = load_task_checkpoint(checkpoint)
    return _Source(run, checkpoint_step(checkpoint), model, tokenizer, task.name, list(task.labels))


def _check_destination(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a new or empty folder")
    if out.is_dir() and any(out.iterdir()):
        raise UserError(f"--out {out} is not empty; give a new or empty folder")


def _notes(plan: ExportPlan, source: _Source, tokenizer_class: str) -> list[str]:
    """What a user of the folder should know that the file names do not say."""
    config, notes = source.model.config, []
    if plan.position_offset:
        notes.append(f"positions: Hugging Face RoBERTa numbers positions from pad_token_id + 1 = "
                     f"{plan.position_offset}; the run used 0..n-1, so the position table has {plan.position_offset} "
                     f"zero rows in front of the run's own (the same outputs)")
    if plan.family in ("bert", "roberta") and config.type_vocab_size == 0:
        notes.append("segments: the model has no segment embeddings; the export adds the one-row, all-zero table "
                     f"{plan.architecture} needs (the same outputs)")
    if plan.family == "roberta":
        cls, sep = source.tokenizer.special_tokens["cls"], source.tokenizer.special_tokens["sep"]
        notes.append(f"sentence pairs are encoded as the workbench does, {cls} a {sep} b {sep} with segment id "
                     f"{_pair_segment(config)} on the second part, not RoBERTa's usual <s> a </s></s> b </s>")
    if tokenizer_class == "PreTrainedTokenizerFast":
        notes.append("tokenizer: the generic PreTrainedTokenizerFast, which loads tokenizer.json exactly as the "
                     "workbench trained it")
    return notes


def _pair_segment(config: BertConfig) -> int:
    """The segment id of a sentence pair's second part: 1, as fine-tuning encodes it, where the model has a
    second segment row; 0 where it has one row (which reads every segment as the first) or none."""
    return 1 if config.type_vocab_size >= 2 else 0


def _write(folder: Path, plan: ExportPlan, source: _Source) -> dict:
    """config.json, model.safetensors and the tokenizer files; returns tokenizer_config.json's content."""
    config, tokenizer = source.model.config, source.tokenizer
    (folder / CONFIG_FILE).write_text(json.dumps(hf_config(plan, config, source.labels, tokenizer.cls_id,
                                                           tokenizer.sep_id), indent=2), encoding="utf-8")
    safetensors.torch.save_file(hf_state_dict(plan, source.model.state_dict()), str(folder / SAFETENSORS_FILE),
                                metadata={"format": "pt"})
    files = tokenizer_files(tokenizer, config.max_length, plan.family in ("bert", "roberta"), _pair_segment(config))
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return json.loads(files["tokenizer_config.json"])


def _verify(folder: Path, plan: ExportPlan, source: _Source) -> float:
    """The largest logit difference of the folder read back; a failed check raises `UserError`."""
    config, tokenizer = source.model.config, source.tokenizer
    try:
        exported = load_hf_model(folder).model if plan.task is None \
            else read_task_model(folder, plan.task, len(source.labels) or 2)
    except (HFImportError, HFExportError) as error:
        raise UserError(f"export check failed: the folder does not read back ({error}); nothing was written") from None
    difference = logit_difference(source.model, exported, config.max_length, config.vocab_size,
                                  tokenizer.special_ids, tokenizer.pad_id, _pair_segment(config) == 1)
    if not difference <= TOLERANCE:  # NaN fails too
        raise UserError(f"export check failed: max logit difference {scientific(difference)} is over {TOLERANCE:g}; "
                        f"nothing was written")
    wrong = tokenizer_mismatches(tokenizer, folder, PROBE_TEXTS, _pair_segment(config))
    if wrong:
        raise UserError(f"export check failed: the exported tokenizer encodes {wrong[0]!r} differently; nothing was "
                        f"written")
    return difference


def export_hf(ws: Workspace, run_ref: str | int, step: int | None, out_dir: str | Path) -> ExportReport:
    """Export run `run_ref`'s checkpoint at `step` (default: the latest; a fine-tuning run's best epoch) as a
    Hugging Face folder at `out_dir`, verified before it is renamed into place."""
    out = Path(out_dir).expanduser().resolve()
    _check_destination(out)
    source = _load_source(ws, run_ref, step)
    try:
        plan = plan_export(source.model.config, source.tokenizer.config.type, source.tokenizer.pad_id, source.task)
    except HFExportError as error:
        raise UserError(f"run {source.run.name!r}: {error}") from None
    created = next((p for p in reversed([out.parent, *out.parent.parents]) if not p.exists()), None)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        tokenizer_config = _write(work, plan, source)
        difference = _verify(work, plan, source)
        notes = _notes(plan, source, tokenizer_config["tokenizer_class"])
        report = ExportReport(source.run.id, source.run.name, source.step, "hf", str(out), plan.architecture, {},
                              difference, len(PROBE_TEXTS), notes)
        (work / CARD_FILE).write_text(_card(ws, source, plan, report), encoding="utf-8")
        files = {p.name: p.stat().st_size for p in sorted(work.iterdir())}
        if out.exists():
            out.rmdir()  # empty, as checked; a file written there since makes this fail and nothing is replaced
        work.rename(out)
    except BaseException:
        shutil.rmtree(created or work, ignore_errors=True)
        raise
    return ExportReport(**{**asdict(report), "files": files})


def _card(ws: Workspace, source: _Source, plan: ExportPlan, report: ExportReport) -> str:
    metrics = next((c.metrics or {} for c in ws.store.checkpoints(source.run.id) if c.step == source.step), {})
    verified = f"{report.verified_text}; the tokenizer gave identical ids on {report.tokenizer_texts} texts"
    return model_card(ws, source.run, source.step, source.model.config, plan.architecture, plan.task, metrics,
                      verified, report.notes, f"The cat sat on the {source.tokenizer.mask_token}.")
