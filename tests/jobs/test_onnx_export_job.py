"""`export_onnx` on real runs: a tiny pretraining run (with int8 and its cloze-suite agreement), an imported
RoBERTa, a classifier fine-tuned from the pretraining run (agreement on its validation data); and bad input:
an unknown run, a non-empty or file target, an unknown quantization, a missing package, a failed check."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from hf_folders import make_hf_folder  # noqa: E402
from tiny_probe_run import make_tiny_run  # noqa: E402

from workbench.core import onnx_export as ox  # noqa: E402
from workbench.core.finetune.data import ClassificationExample  # noqa: E402
from workbench.core.finetune.encoding import collate  # noqa: E402
from workbench.core.tokenization import WorkbenchTokenizer  # noqa: E402
from workbench.jobs.errors import UserError  # noqa: E402
from workbench.jobs.finetune import FinetuneSpec, load_finetuned, start_finetuning  # noqa: E402
from workbench.jobs.interop import import_model  # noqa: E402
from workbench.jobs.onnx_export import INT8_FILE, MODEL_FILE, REPORT_FILE, export_onnx  # noqa: E402
from workbench.jobs.probe import load_probe_model  # noqa: E402
from workbench.jobs.workspace import Workspace  # noqa: E402
from workbench.settings.finetune import FinetuneConfig  # noqa: E402

FRAMES = ["the {} sleeps near the old barn", "a small {} runs in the field", "my {} watches the moon at night"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pretraining run `tiny` (max length 32, checkpoints at 10 and 20) and a classifier `ft` from it."""
    home = make_tiny_run(tmp_path_factory.mktemp("home"), "tiny")
    rng = random.Random(0)
    data = tmp_path_factory.mktemp("data") / "animals.tsv"
    rows = [f"{rng.choice(FRAMES).format(label)}\t{label}" for label in ["cat", "dog"] * 30]
    data.write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with Workspace.open(str(home)) as ws:
        config = FinetuneConfig(task="classify", epochs=1, batch_size=16, lr=1e-3, device="cpu")
        start_finetuning(ws, FinetuneSpec(train=str(data), from_run="tiny", config=config, name="ft"))
    return home


def test_a_pretraining_run_exports_verified_with_int8_and_its_tokenizer(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "onnx"
    with Workspace.open(str(home)) as ws:
        report = export_onnx(ws, "tiny", 10, out, "int8")
        probe = load_probe_model(ws, "tiny", 10, cache=None)
    assert report.step == 10 and report.task == "fill-mask" and report.out_dir == str(out.resolve())
    assert report.verified_lengths == (7, 32) and report.max_logit_difference < 1e-4
    assert report.inputs == ["input_ids", "attention_mask", "token_type_ids"] and report.outputs == ["logits"]
    assert set(report.files) == {MODEL_FILE, INT8_FILE, "tokenizer.json", "workbench_tokenizer.json"}
    assert report.files[INT8_FILE] < report.files[MODEL_FILE] == (out / MODEL_FILE).stat().st_size
    assert report.int8_agreement_n > 0 and 0.0 <= report.int8_agreement <= 1.0
    assert "cloze suite" in report.int8_agreement_on
    assert json.loads((out / REPORT_FILE).read_text())["opset"] == report.opset
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left

    # the folder alone: its tokenizer and file give the checkpoint's logits
    tokenizer = WorkbenchTokenizer.load(out)
    ids = torch.tensor([[tokenizer.cls_id, *tokenizer.encode("the farmer walks [MASK] home"), tokenizer.sep_id]])
    feed = ox.model_inputs(probe.model, ids, torch.ones_like(ids))
    logits = ox.session(out / MODEL_FILE).run(None, feed)[0]
    assert np.abs(logits - ox.torch_outputs(probe.model, feed)[0]).max() < 1e-4
    lines = report.lines()
    assert lines[-2].startswith("verified: max logit difference") and lines[-1].startswith("int8: top-1 agreement")


def test_an_imported_roberta_exports_without_segment_ids(home: Path, tmp_path: Path) -> None:
    make_hf_folder(tmp_path / "hf", "roberta")
    with Workspace.open(str(home)) as ws:
        run = import_model(ws, tmp_path / "hf", name="rob")
        report = export_onnx(ws, run.name, None, tmp_path / "out", None)
    assert report.step == 0 and report.inputs == ["input_ids", "attention_mask"]
    assert report.verified_lengths == (7, 64) and report.max_logit_difference < 1e-4  # 66 positions less 2
    assert INT8_FILE not in report.files and report.int8_agreement is None and not report.int8_agreement_on
    assert len(report.lines()) == 1 + len(report.files) + 1


def test_a_fine_tuned_classifier_exports_and_agrees_on_its_validation_data(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "onnx"
    out.mkdir()  # an empty folder is taken
    with Workspace.open(str(home)) as ws:
        report = export_onnx(ws, "ft", None, out, "int8")
        task, model, tokenizer = load_finetuned(ws, "ft")
        n = ws.store.get_run("ft").config["data"]["validation_examples"]  # the split keeps duplicates together
    assert report.task == "classify" and report.outputs == ["logits"] and report.max_logit_difference < 1e-4
    assert report.int8_agreement_on == f"the run's {n} validation examples" and report.int8_agreement_n == n >= 6
    examples = [ClassificationExample("a small cat runs", "cat"), ClassificationExample("my dog", "dog")]
    batch = collate(task.encode(tokenizer, examples), tokenizer.pad_id)  # padded: the second is shorter
    feed = ox.model_inputs(model, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    assert np.abs(ox.session(out / MODEL_FILE).run(None, feed)[0] - ox.torch_outputs(model, feed)[0]).max() < 1e-4
    props = _metadata(out / MODEL_FILE)
    assert json.loads(props["labels"]) == ["cat", "dog"] and props["task"] == "classify"
    assert props["opset"] == str(report.opset) and props["step"] == str(report.step)


def _metadata(path: Path) -> dict[str, str]:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_bad_input_is_refused_and_leaves_nothing(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with Workspace.open(str(home)) as ws:
        with pytest.raises(UserError, match="no run .nope."):
            export_onnx(ws, "nope", None, tmp_path / "a", None)
        with pytest.raises(UserError, match="not an empty folder"):
            export_onnx(ws, "tiny", None, full, None)
        with pytest.raises(UserError, match="not an empty folder"):
            export_onnx(ws, "tiny", None, full / "keep.txt", None)
        with pytest.raises(UserError, match="--quantize takes int8"):
            export_onnx(ws, "tiny", None, tmp_path / "a", "int4")
        with pytest.raises(UserError, match="no checkpoint at step 7"):
            export_onnx(ws, "tiny", 7, tmp_path / "a", None)
        monkeypatch.setattr(ox, "MAX_LOGIT_DIFFERENCE", -1.0)  # no file can pass: the failure path
        with pytest.raises(UserError, match="disagrees with torch"):
            export_onnx(ws, "tiny", None, tmp_path / "a", "int8")
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # an environment without it
        with pytest.raises(UserError, match="pip install onnx onnxruntime"):
            export_onnx(ws, "tiny", None, tmp_path / "a", None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"] and (full / "keep.txt").read_text() == "mine"
