"""ONNX export of tiny models (hidden 32, two layers, max length 136): the file against torch at lengths 2, 7,
128 and the maximum, at batch 1 and 3 with padding; the one-segment layout; the task models; int8 and the
agreement figures; a file that disagrees; a missing package."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from workbench.core import onnx_export as ox  # noqa: E402
from workbench.core.finetune.heads import build_task_model  # noqa: E402
from workbench.core.modeling_bert import BertForMaskedLM  # noqa: E402
from workbench.core.tokenization import train_tokenizer  # noqa: E402
from workbench.settings.model import BertConfig  # noqa: E402
from workbench.settings.tokenizer import TokenizerConfig  # noqa: E402

MAX_POSITIONS = 136
SHAPE = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
             max_position_embeddings=MAX_POSITIONS)
SENTENCES = ["the cat sat on the [MASK] .", "a dog runs in the [MASK] near the barn .", "the [MASK] is blue .",
             "my farmer walks home at [MASK] .", "the moon rises over the [MASK] river ."]


def tiny_config(**overrides) -> BertConfig:
    return BertConfig(**{"vocab_size": 99, **SHAPE, **overrides})


def exported(model: torch.nn.Module, folder: Path, name: str) -> tuple[Path, int]:
    path = folder / f"{name}.onnx"
    return path, ox.export_model(model.eval(), path, {"task": name})


@pytest.fixture(scope="module")
def mlm(tmp_path_factory: pytest.TempPathFactory) -> tuple[BertForMaskedLM, Path, int]:
    torch.manual_seed(0)
    model = BertForMaskedLM(tiny_config()).eval()
    return (model, *exported(model, tmp_path_factory.mktemp("onnx"), "mlm"))


def test_the_file_agrees_with_torch_at_every_length_and_batch(mlm) -> None:
    model, path, opset = mlm
    onnx_session = ox.session(path)
    assert [i.name for i in onnx_session.get_inputs()] == ["input_ids", "attention_mask", "token_type_ids"]
    assert [o.name for o in onnx_session.get_outputs()] == ["logits"]
    assert all(isinstance(d, str) for d in onnx_session.get_inputs()[0].shape)  # batch and sequence are dynamic
    for batch in (1, 3):  # batch 3 pads its second and third rows
        assert ox.max_difference(model, onnx_session, [2, 7, 128, MAX_POSITIONS], batch) < 1e-4
    ids, mask = ox.random_batch(model, 7, 3)
    assert (mask[1:] == 0).any() and (ids[mask == 0] == model.config.pad_token_id).all()
    logits = onnx_session.run(None, ox.model_inputs(model, ids, mask))[0]
    assert logits.shape == (3, 7, 99)


def test_opset_and_metadata_are_in_the_file(mlm) -> None:
    import onnx

    _, path, opset = mlm
    proto = onnx.load(str(path))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props == {"task": "mlm", "opset": str(opset)} and opset >= 17
    assert not list(path.parent.glob("*.data"))  # the weights are inside the one file


def test_a_longer_input_than_the_model_reads_is_refused(mlm) -> None:
    model, path, _ = mlm
    ids = np.full((1, MAX_POSITIONS + 1), 5, dtype=np.int64)
    with pytest.raises(Exception):
        ox.session(path).run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                    "token_type_ids": np.zeros_like(ids)})


def test_a_one_segment_model_has_no_token_type_input(tmp_path: Path) -> None:
    torch.manual_seed(0)  # an imported RoBERTa's layout: one segment row, positions after the padding id
    model = BertForMaskedLM(tiny_config(type_vocab_size=1, pad_token_id=1, roberta_positions=True)).eval()
    path, _ = exported(model, tmp_path, "roberta")
    onnx_session = ox.session(path)
    assert [i.name for i in onnx_session.get_inputs()] == ["input_ids", "attention_mask"]
    assert ox.max_difference(model, onnx_session, [2, 7, 128, model.config.max_length], 3) < 1e-4


@pytest.mark.parametrize("task, outputs", [("classify", ["logits"]), ("tag", ["logits"]),
                                           ("qa", ["start_logits", "end_logits"])])
def test_task_models_agree_with_torch(tmp_path: Path, task: str, outputs: list[str]) -> None:
    torch.manual_seed(0)
    model = build_task_model(task, tiny_config(), 3).eval()
    path, _ = exported(model, tmp_path, task)
    fp32 = ox.session(path)
    assert [o.name for o in fp32.get_outputs()] == outputs
    assert ox.max_difference(model, fp32, [2, 7, 128, MAX_POSITIONS], 3) < 1e-4

    ox.quantize_int8(path, tmp_path / "int8.onnx")
    feeds = [ox.model_inputs(model, *ox.random_batch(model, length, 3)) for length in (7, 30)]
    agreement = ox.prediction_agreement(feeds, fp32, ox.session(tmp_path / "int8.onnx"), "random batches")
    real_tokens = sum(int(f["attention_mask"].sum()) for f in feeds)
    assert agreement.n == {"classify": 6, "tag": real_tokens, "qa": 12}[task]  # 6 rows; QA: a start and an end
    assert 0 <= agreement.agree <= agreement.n
    assert ox.prediction_agreement(feeds, fp32, fp32, "itself").fraction == 1.0


def test_int8_is_smaller_runs_and_its_fill_mask_agreement_is_counted(tmp_path: Path) -> None:
    tokenizer = train_tokenizer(SENTENCES * 20, TokenizerConfig(type="wordpiece", vocab_size=120, min_frequency=1))
    torch.manual_seed(0)
    model = BertForMaskedLM(tiny_config(vocab_size=tokenizer.vocab_size, max_position_embeddings=16)).eval()
    fp32_path, _ = exported(model, tmp_path, "mlm")
    ox.quantize_int8(fp32_path, tmp_path / "int8.onnx")
    assert (tmp_path / "int8.onnx").stat().st_size < fp32_path.stat().st_size
    fp32, int8 = ox.session(fp32_path), ox.session(tmp_path / "int8.onnx")
    too_long = "the " * 20 + "[MASK] ."  # over the 16 tokens this model reads: left out
    agreement = ox.fill_mask_agreement(model, tokenizer, [*SENTENCES, too_long, "no mask here ."], fp32, int8, "five")
    assert agreement.n == len(SENTENCES) and 0 <= agreement.agree <= agreement.n
    itself = ox.fill_mask_agreement(model, tokenizer, SENTENCES, fp32, fp32, "five")
    assert itself.fraction == 1.0
    feed = ox.model_inputs(model, *ox.random_batch(model, 9, 3))
    assert np.abs(int8.run(None, feed)[0] - fp32.run(None, feed)[0]).max() < 0.5  # close, not equal


def test_verify_reports_lengths_and_refuses_a_file_that_disagrees(mlm) -> None:
    model, path, _ = mlm
    difference, lengths = ox.verify(model, path)
    assert lengths == (7, 128) and difference < 1e-4
    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.cls.predictions.bias += 0.01  # every logit 0.01 off the file's
    with pytest.raises(ox.OnnxExportError, match="disagrees with torch: max logit difference"):
        ox.verify(changed, path)


def test_a_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an environment without it finds
    with pytest.raises(ox.OnnxExportError, match=r"needs onnxruntime: pip install onnx onnxruntime"):
        ox.require_onnx()


def test_an_alibi_model_exports_and_agrees_with_torch(tmp_path: Path) -> None:
    torch.manual_seed(0)  # MosaicBERT's positions: the distance bias is part of the exported graph
    model = BertForMaskedLM(tiny_config(position_embedding_type="alibi", num_attention_heads=4)).eval()
    path, _ = exported(model, tmp_path, "alibi")
    for batch in (1, 3):  # padded rows too
        assert ox.max_difference(model, ox.session(path), [2, 7, 64], batch) < 1e-4
