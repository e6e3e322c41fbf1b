"""Tiny runs of every kind for the export tests, built offline in a few seconds: pretraining runs with a WordPiece
and a byte-level BPE tokenizer (a small generated corpus, hidden size 32, 2 layers, 32 positions, 6 steps),
imported random-init Hugging Face BERT, RoBERTa and DistilBERT folders (tests/hf_folders.py), and one-epoch
fine-tuning runs of each task (sentence pairs for classification) from a pretraining run. Also the 50 varied
sentences the token ids are compared on."""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch
from hf_folders import SENTENCES, make_hf_folder

from workbench.jobs.corpora import add_corpus_unique
from workbench.jobs.finetune import FinetuneSpec, start_finetuning
from workbench.jobs.interop import import_model
from workbench.jobs.pretrain import start_pretraining
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents
from workbench.samples.tasks import write_entities
from workbench.settings.finetune import FinetuneConfig
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

PRETRAINED = {"wordpiece": "wp", "bpe": "bpe"}  # tokenizer type -> run name
IMPORTED = {"bert": "hf-bert", "roberta": "hf-roberta", "distilbert": "hf-distilbert"}  # family -> run name
TASKS = ("classify", "tag", "qa")
_WORDS = ["naïve", "café", "résumé", "jalapeño", "Zürich", "déjà-vu", "antidisestablishmentarianism",
          "supercalifragilisticexpialidocious", "😀", "🚀", "👍🏽", "🇫🇷", "(brackets)", "[square]", "{curly}", "--",
          "...", "?!", "\"quoted\"", "'single'", "3.14159", "2024-01-02", "UPPER", "MiXeD", "tab\there", "中文",
          "the", "cat", "sat", "on", "mat", "river", "king", "queen", "Paris", "x"]
VARIED = SENTENCES + [" ".join(random.Random(i).sample(_WORDS, 3 + i % 5)) + random.Random(i).choice(".!?,;")
                      for i in range(50 - len(SENTENCES))]
QA_CONTEXTS = [("Who lives in {city}?", "{person} lives in {city} with a small dog.", "{person}"),
               ("Where does {person} work?", "{person} works in {city} near the river.", "{city}")]
PEOPLE = ["Anna", "Boris", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jana"]
CITIES = ["Paris", "Lyon", "Oslo", "Rome", "Kyiv", "Lima", "Quito", "Riga", "Bern", "Cork"]


def _one_thread(build):
    """Run `build` with one torch thread (the tests share two cores), restored after."""
    def wrapped(*args, **kwargs):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return build(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)
    return wrapped


@_one_thread
def make_pretrained(ws: Workspace, folder: Path) -> None:
    """The two pretraining runs `wp` and `bpe` on a small generated corpus."""
    corpus_file = folder / "corpus.txt"
    corpus_file.write_text("\n\n".join(generate_documents(400, seed=1)), encoding="utf-8")
    corpus = add_corpus_unique(ws, [corpus_file], "small")
    for tokenizer_type, name in PRETRAINED.items():
        record = train_tokenizer_for(ws, corpus, TokenizerConfig(type=tokenizer_type, vocab_size=300))
        train = TrainConfig(steps=6, batch_size=8, lr=1e-3, warmup_steps=2, eval_every=3, checkpoint_every=3,
                            device="cpu")
        model = ModelSpec(preset="seed-demo", hidden_size=32, intermediate_size=37, max_position_embeddings=32)
        _, result = start_pretraining(ws, PretrainSpec(corpus="small", tokenizer_id=record.id, model=model,
                                                       train=train, name=name))
        assert result.status == "completed", result.message


def make_imported(ws: Workspace, folder: Path) -> dict[str, object]:
    """The three imported runs; returns each family's `transformers` model (eval mode) by family."""
    models = {}
    for family, name in IMPORTED.items():
        models[family] = make_hf_folder(folder / family, family)
        import_model(ws, folder / family, name)
    return models


def write_task_data(folder: Path) -> dict[str, Path]:
    """Small training files: sentence pairs to classify, CoNLL entities, SQuAD questions answerable in context."""
    rng = random.Random(0)
    pairs = ["sentence\tsecond\tlabel"] + [
        f"the {rng.choice(['cat', 'dog'])} sat on the mat\t{rng.choice(['it was happy', 'it was sad'])}\t{i % 2}"
        for i in range(48)]
    (folder / "pairs.tsv").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    write_entities(folder / "entities.conll", 48, seed=3, held_out=False)
    qas = []
    for i in range(48):
        question, context, answer = QA_CONTEXTS[i % 2]
        values = {"person": PEOPLE[i % 10], "city": CITIES[(i * 3) % 10]}
        text, answer = context.format(**values), answer.format(**values)
        qas.append({"context": text, "qas": [{"id": str(i), "question": question.format(**values),
                                               "answers": [{"text": answer, "answer_start": text.index(answer)}]}]})
    (folder / "squad.json").write_text(json.dumps({"data": [{"title": "t", "paragraphs": qas}]}), encoding="utf-8")
    return {"classify": folder / "pairs.tsv", "tag": folder / "entities.conll", "qa": folder / "squad.json"}


@_one_thread
def make_finetuned(ws: Workspace, base: str, data: dict[str, Path]) -> dict[str, str]:
    """One fine-tuning run per task from run `base`, named `<base>-<task>`; returns task -> run name."""
    names = {}
    for task in TASKS:
        config = FinetuneConfig(task=task, epochs=1, batch_size=8, lr=1e-3, device="cpu")
        spec = FinetuneSpec(train=str(data[task]), from_run=base, config=config, name=f"{base}-{task}",
                            text_column="sentence" if task == "classify" else None,
                            text_pair_column="second" if task == "classify" else None)
        _, result = start_finetuning(ws, spec)
        assert result.status == "completed", result.message
        names[task] = f"{base}-{task}"
    return names
