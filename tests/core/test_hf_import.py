"""Hugging Face masked LMs read into our encoder: logits equal `transformers`' (full length and padded), token
ids equal its tokenizer's, every weight layout loads (single, sharded, pickle), and bad folders are refused
with one line naming the problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from hf_folders import BAD_FOLDERS, SENTENCES, make_bad_folder, make_hf_folder

from workbench.core.hf_import import HFImportError, load_hf_model
from workbench.core.hf_tokenizer import load_hf_tokenizer

transformers = pytest.importorskip("transformers")

FAMILIES = ("bert", "roberta", "distilbert")
TOLERANCE = 1e-4
MASKED = ["The cat sat on the [MASK].", "Paris is the [MASK] of France.", "[MASK] [MASK] twice!"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], tuple[Path, object]]:
    root = tmp_path_factory.mktemp("hf")
    return {(family, tj): (root / f"{family}-{tj}", make_hf_folder(root / f"{family}-{tj}", family, tj))
            for family in FAMILIES for tj in (True, False)}


def _hf_logits(hf, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return hf(input_ids=input_ids, attention_mask=attention_mask).logits  # (B, T, V)


@pytest.mark.parametrize("family", FAMILIES)
def test_logits_equal_transformers_at_full_length_and_with_padding(folders, family: str) -> None:
    folder, hf = folders[(family, True)]
    ours = load_hf_model(folder).model
    full = torch.randint(5, ours.config.vocab_size, (2, ours.config.max_length))  # the longest input it takes
    ones = torch.ones_like(full)
    with torch.no_grad():
        diff_full = (ours(full, ones).logits - _hf_logits(hf, full, ones)).abs().max().item()
    reference = transformers.AutoTokenizer.from_pretrained(folder)
    batch = reference(SENTENCES[:6], padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any()  # some rows are padded
    with torch.no_grad():
        theirs = _hf_logits(hf, batch["input_ids"], batch["attention_mask"])
        mine = ours(batch["input_ids"], batch["attention_mask"]).logits
    real = batch["attention_mask"].bool()
    diff_padded = (mine[real] - theirs[real]).abs().max().item()
    assert diff_full < TOLERANCE and diff_padded < TOLERANCE, (diff_full, diff_padded)
    assert theirs[real].std() > 0.1  # the weights are not trivial: the comparison means something


@pytest.mark.parametrize("tokenizer_json", [True, False], ids=["tokenizer.json", "vocab-files"])
@pytest.mark.parametrize("family", FAMILIES)
def test_token_ids_equal_transformers(folders, family: str, tokenizer_json: bool) -> None:
    folder, _ = folders[(family, tokenizer_json)]
    ours = load_hf_tokenizer(folder)
    reference = transformers.AutoTokenizer.from_pretrained(folder)
    mask = reference.mask_token
    texts = SENTENCES + [t.replace("[MASK]", mask) for t in MASKED]
    for text in texts:
        assert ours.encode(text) == reference(text, add_special_tokens=False)["input_ids"], text
    assert (ours.cls_id, ours.sep_id, ours.pad_id, ours.unk_id, ours.mask_id) == (
        reference.cls_token_id, reference.sep_token_id, reference.pad_token_id, reference.unk_token_id,
        reference.mask_token_id)
    assert ours.config.type == ("bpe" if family == "roberta" else "wordpiece")


def test_sharded_safetensors_and_pickle_weights_load_alike(folders, tmp_path: Path) -> None:
    folder, hf = folders[("bert", True)]
    expected = load_hf_model(folder).model.state_dict()
    hf.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    (tmp_path / "pickle").mkdir()
    shutil.copy(folder / "config.json", tmp_path / "pickle")
    torch.save(hf.state_dict(), tmp_path / "pickle" / "pytorch_model.bin")
    for variant in ("sharded", "pickle"):
        loaded = load_hf_model(tmp_path / variant)
        assert len(loaded.weight_files) > 1 if variant == "sharded" else loaded.weight_files[0].suffix == ".bin"
        state = loaded.model.state_dict()
        assert all(torch.equal(state[k], v) for k, v in expected.items()), variant


@pytest.mark.parametrize("case", BAD_FOLDERS)
def test_bad_folders_are_refused_with_one_line(folders, tmp_path: Path, case: str) -> None:
    folder = make_bad_folder(folders[("bert", True)][0], tmp_path, case)
    with pytest.raises(HFImportError) as caught:
        load_hf_model(folder)
        load_hf_tokenizer(folder)
    message = str(caught.value)
    assert BAD_FOLDERS[case] in message and "\n" not in message, message


def test_xlm_roberta_maps_like_roberta(folders, tmp_path: Path) -> None:
    source, _ = folders[("roberta", True)]
    folder = tmp_path / "xlmr"
    shutil.copytree(source, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(architectures=["XLMRobertaForMaskedLM"], model_type="xlm-roberta")
    (folder / "config.json").write_text(json.dumps(config))
    hf = transformers.XLMRobertaForMaskedLM.from_pretrained(folder).eval()
    imported = load_hf_model(folder)
    ids = torch.tensor([[0, 50, 60, 70, 2, 1, 1]])
    mask = (ids != 1).long()
    with torch.no_grad():
        diff = (imported.model(ids, mask).logits - hf(input_ids=ids, attention_mask=mask).logits)[mask.bool()]
    assert imported.family == "roberta" and diff.abs().max().item() < TOLERANCE
