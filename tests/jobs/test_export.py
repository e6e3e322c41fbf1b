"""`export_hf` round trips through `transformers`, for runs trained here (WordPiece, BPE), imported random-init
BERT, RoBERTa and DistilBERT, and fine-tuned runs of every task: the folder loads with no missing or unexpected
keys, token ids equal ours on 50 varied sentences, logits agree at full length and with padding, the fill-mask
pipeline's top 5 equals `fill_mask`'s, importing the export back gives the same logits and attentions, and the
text-classification / token-classification pipelines (and a QA forward pass) predict what `predict` does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import safetensors.torch
import torch
from hf_export_runs import IMPORTED, PRETRAINED, VARIED, make_finetuned, make_imported, make_pretrained, \
    write_task_data

from workbench import __version__
from workbench.core.probing.fill_mask import fill_mask
from workbench.jobs.export import TOLERANCE, export_hf
from workbench.jobs.finetune import predict
from workbench.jobs.interop import import_model
from workbench.jobs.probe import load_probe_model
from workbench.jobs.workspace import Workspace

transformers = pytest.importorskip("transformers")

MASKED_LMS = [*PRETRAINED.values(), *IMPORTED.values()]
ARCHITECTURES = {"wp": "BertForMaskedLM", "bpe": "RobertaForMaskedLM", "hf-bert": "BertForMaskedLM",
                 "hf-roberta": "RobertaForMaskedLM", "hf-distilbert": "DistilBertForMaskedLM"}
FILES = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
         "README.md"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """A home with every kind of run, each exported once: (home, {run name: (folder, report)})."""
    root = tmp_path_factory.mktemp("export")
    home = root / "home"
    with Workspace(home) as ws:
        make_pretrained(ws, root)
        make_imported(ws, root)
        data = write_task_data(root)
        finetuned = [*make_finetuned(ws, "wp", data).values(), *make_finetuned(ws, "bpe", data).values()]
        exports = {name: (root / "out" / name, export_hf(ws, name, None, root / "out" / name))
                   for name in [*MASKED_LMS, *finetuned]}
    return home, exports


@pytest.fixture(scope="module")
def ws(built):
    with Workspace(built[0]) as workspace:
        yield workspace


def _hf(folder: Path, auto: str = "AutoModelForMaskedLM"):
    model, info = getattr(transformers, auto).from_pretrained(folder, output_loading_info=True)
    return model.eval(), info


@pytest.mark.parametrize("run", MASKED_LMS)
def test_the_export_loads_with_every_key_and_reports_its_check(built, run: str) -> None:
    folder, report = built[1][run]
    model, info = _hf(folder)
    assert type(model).__name__ == ARCHITECTURES[run] == report.architecture
    assert not any(info.values()), info
    assert set(report.files) == FILES == {p.name for p in folder.iterdir()}
    assert report.verified <= TOLERANCE and report.verified_text.startswith("verified: max logit difference ")
    assert not [k for k in safetensors.torch.load_file(folder / "model.safetensors") if "decoder" in k]


@pytest.mark.parametrize("run", MASKED_LMS)
def test_token_ids_equal_ours_on_50_varied_sentences(built, ws, run: str) -> None:
    ours = load_probe_model(ws, run, cache=None).tokenizer
    theirs = transformers.AutoTokenizer.from_pretrained(built[1][run][0])
    assert len(VARIED) == 50
    for text in VARIED:
        assert theirs(text)["input_ids"] == [ours.cls_id, *ours.encode(text), ours.sep_id], text


@pytest.mark.parametrize("run", MASKED_LMS)
def test_logits_agree_at_full_length_and_with_padding(built, ws, run: str) -> None:
    probe = load_probe_model(ws, run, cache=None)
    folder = built[1][run][0]
    theirs, _ = _hf(folder)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    length = probe.model.config.max_length
    full = torch.randint(5, probe.model.config.vocab_size, (2, length), generator=torch.Generator().manual_seed(1))
    full[:, 0], full[:, -1] = probe.tokenizer.cls_id, probe.tokenizer.sep_id
    padded = tokenizer(VARIED[:8], padding=True, truncation=True, max_length=length, return_tensors="pt")
    assert (padded["attention_mask"] == 0).any()
    for batch in ({"input_ids": full, "attention_mask": torch.ones_like(full)}, dict(padded)):
        with torch.no_grad():
            mine = probe.model(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids")).logits
            hf = theirs(**batch).logits
        real = batch["attention_mask"].bool()
        assert (mine[real] - hf[real]).abs().max().item() < 1e-4


@pytest.mark.parametrize("run", MASKED_LMS)
def test_fill_mask_pipeline_top5_equals_the_probe(built, ws, run: str) -> None:
    probe = load_probe_model(ws, run, cache=None)
    folder = built[1][run][0]
    pipe = transformers.pipeline("fill-mask", model=str(folder), tokenizer=str(folder))
    mask = probe.tokenizer.mask_token
    for text in (f"The cat sat on the {mask}.", f"{mask} is the capital of France.", f"a {mask} and a river"):
        theirs = [p["token"] for p in pipe(text, top_k=5)]
        assert theirs == [p.token_id for p in fill_mask(probe.model, probe.tokenizer, text, 5).masks[0].predictions]


@pytest.mark.parametrize("run", MASKED_LMS)
def test_importing_the_export_back_gives_the_same_logits_and_attentions(built, ws, run: str) -> None:
    back = import_model(ws, built[1][run][0], f"back-{run}")
    source, again = load_probe_model(ws, run, cache=None), load_probe_model(ws, back.id, cache=None)
    ids = torch.tensor([[source.tokenizer.cls_id, *source.tokenizer.encode(VARIED[0]), source.tokenizer.sep_id]])
    mask = torch.ones_like(ids)
    padded, padded_mask = torch.cat([ids, ids]), torch.cat([mask, mask])
    padded[1, 4:], padded_mask[1, 4:] = source.tokenizer.pad_id, 0
    with torch.no_grad():
        a = source.model(padded, padded_mask, output_attentions=True)
        b = again.model(padded, padded_mask, output_attentions=True)
    real = padded_mask.bool()
    assert (a.logits[real] - b.logits[real]).abs().max().item() < 1e-4
    for x, y in zip(a.attentions, b.attentions):
        assert (x[0] - y[0]).abs().max().item() < 1e-4  # the unpadded row, every head


def _words_to_chars(words: list[str], start: int, end: int) -> tuple[int, int]:
    offsets = [sum(len(w) + 1 for w in words[:i]) for i in range(len(words))]
    return offsets[start], offsets[end] + len(words[end])


@pytest.mark.parametrize("base", PRETRAINED.values())
def test_classification_pipeline_predicts_like_predict(built, ws, base: str) -> None:
    folder, report = built[1][f"{base}-classify"]
    assert report.architecture == ("BertForSequenceClassification" if base == "wp"
                                   else "RobertaForSequenceClassification")
    assert json.loads((folder / "config.json").read_text())["id2label"] == {"0": "0", "1": "1"}
    pipe = transformers.pipeline("text-classification", model=str(folder), tokenizer=str(folder), top_k=None)
    firsts = ["the cat sat on the mat", "the dog sat on the mat", "a café", "Zürich"]
    seconds = ["it was happy", "it was sad", "nothing", "déjà vu 😀"]
    tokenizer = load_probe_model(ws, base, cache=None).tokenizer
    for i in range(20):
        text, pair = firsts[i % 4], seconds[(i // 4) % 4]
        # within the model's 32 positions: longer pairs are cut by our truncation, which splits an odd budget
        # between the two parts the other way round from transformers' longest_first
        assert len(tokenizer.encode(text)) + len(tokenizer.encode(pair)) + 3 <= 32
        ours = predict(ws, f"{base}-classify", text, pair)
        theirs = {p["label"]: p["score"] for p in pipe({"text": text, "text_pair": pair})}
        assert max(theirs, key=theirs.get) == ours["label"]
        assert all(abs(theirs[label] - p) < 1e-4 for label, p in ours["probabilities"].items())


@pytest.mark.parametrize("base", PRETRAINED.values())
def test_token_classification_pipeline_tags_like_predict(built, ws, base: str) -> None:
    folder, report = built[1][f"{base}-tag"]
    assert report.architecture.endswith("ForTokenClassification")
    pipe = transformers.pipeline("token-classification", model=str(folder), tokenizer=str(folder),
                                 aggregation_strategy="first")
    people, places = ["Anna", "Boris", "Chen", "Dara", "Emil"], ["Paris", "Lyon", "Oslo", "Rome"]
    for i in range(20):
        words = f"{people[i % 5]} flew from {places[i % 4]} to {places[(i + 1) % 4]} with {people[(i + 2) % 5]}".split()
        ours = predict(ws, f"{base}-tag", " ".join(words))
        expected = [(e["type"], *_words_to_chars(words, e["start"], e["end"])) for e in ours["entities"]]
        theirs = [(g["entity_group"], g["start"], g["end"]) for g in pipe([words], is_split_into_words=True)[0]]
        assert theirs == expected, (words, ours["tags"])


def _hf_answer(model, tokenizer, question: str, context: str, max_answer_len: int) -> str:
    """The question-answering pipeline's choice (transformers 5 has no such pipeline): the best start + end
    logit over context tokens with start <= end < start + max_answer_len, cut from the context by offsets."""
    batch = tokenizer(question, context, return_offsets_mapping=True, return_tensors="pt")
    offsets, sequence = batch.pop("offset_mapping")[0], batch.sequence_ids(0)
    with torch.no_grad():
        out = model(**batch)
    in_context = torch.tensor([s == 1 for s in sequence])
    scores = out.start_logits[0][:, None] + out.end_logits[0][None, :]  # (T, T): start, end
    legal = in_context[:, None] & in_context[None, :]
    legal &= torch.ones_like(scores, dtype=torch.bool).triu().tril(max_answer_len - 1)
    start, end = divmod(int(scores.masked_fill(~legal, float("-inf")).argmax()), scores.shape[1])
    return context[int(offsets[start][0]): int(offsets[end][1])]


@pytest.mark.parametrize("base", PRETRAINED.values())
def test_question_answering_export_answers_like_predict(built, ws, base: str) -> None:
    folder, report = built[1][f"{base}-qa"]
    assert report.architecture.endswith("ForQuestionAnswering")
    model, info = _hf(folder, "AutoModelForQuestionAnswering")
    assert not any(info.values()), info
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    max_answer_len = ws.store.get_run(f"{base}-qa").config["finetune"]["max_answer_len"]
    people, cities = ["Anna", "Boris", "Chen", "Dara", "Emil"], ["Paris", "Lyon", "Oslo", "Rome"]
    ours_tokenizer = load_probe_model(ws, base, cache=None).tokenizer
    for i in range(20):
        person, city = people[i % 5], cities[i % 4]
        question, context = f"Who is in {city}?", f"{person} is in {city}."
        # one window of the model's 32 positions: the workbench and the pipeline window longer passages differently
        assert len(ours_tokenizer.encode(question)) + len(ours_tokenizer.encode(context)) + 3 <= 32
        ours = predict(ws, f"{base}-qa", question, context=context)["answer"]
        assert _hf_answer(model, tokenizer, question, context, max_answer_len) == ours


def test_the_model_card_describes_the_run(built) -> None:
    card = (built[1]["wp"][0] / "README.md").read_text(encoding="utf-8")
    for words in ("pipeline_tag: fill-mask", "Corpus `small`", "documents", "unique words", "token masking of 15%",
                  "validation loss", "validation accuracy", f"MLM Workbench {__version__}", "## Intended use",
                  "verified: max logit difference", "Tokenizer: wordpiece, 300 tokens"):
        assert words in card, words
    card = (built[1]["bpe-classify"][0] / "README.md").read_text(encoding="utf-8")
    for words in ("pipeline_tag: text-classification", "started from run `bpe`", "validation (chose the epoch)",
                  "majority class", "Labels: `0`, `1`", "positions: Hugging Face RoBERTa numbers positions"):
        assert words in card, words
    assert "Imported into MLM Workbench from" in (built[1]["hf-roberta"][0] / "README.md").read_text()
