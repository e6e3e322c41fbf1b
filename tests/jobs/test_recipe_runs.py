"""Runs trained from a recipe: MosaicBERT-style (ALiBi, GeGLU, 30% masking) trains a few steps and fill-mask probes
it; the run records its recipe and what was changed after choosing it, the Runs panel's details say so, and a run
recorded before recipes existed still describes itself. Its Hugging Face export is refused with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from workbench.core.probing.fill_mask import fill_mask
from workbench.jobs.corpora import add_corpus_unique
from workbench.jobs.errors import UserError
from workbench.jobs.export import export_hf
from workbench.jobs.pretrain import start_pretraining
from workbench.jobs.probe import load_probe_model
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.recipes import apply_recipe
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig
from workbench.views.run_compare import describe_run

SMALL = ModelSpec(preset="seed-demo", hidden_size=32, intermediate_size=48, max_position_embeddings=32)
TRAIN = TrainConfig(steps=20, batch_size=8, warmup_steps=2, eval_every=10, checkpoint_every=10, device="cpu")


@pytest.mark.parametrize("recipe", ["mosaicbert", "cramming"])
def test_a_recipe_run_trains_probes_and_records_its_recipe(tmp_path: Path, recipe: str) -> None:
    corpus_file = tmp_path / "corpus.txt"
    corpus_file.write_text("\n\n".join(generate_documents(200, seed=1)), encoding="utf-8")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with Workspace(tmp_path / "home") as ws:
            corpus = add_corpus_unique(ws, [corpus_file], "small")
            record = train_tokenizer_for(ws, corpus, TokenizerConfig(vocab_size=300))
            spec = apply_recipe(PretrainSpec(corpus="small", tokenizer_id=record.id, model=SMALL, train=TRAIN,
                                             name="recipe"), recipe)
            spec = spec.replace(train=spec.train.replace(lr=2e-3))  # changed after choosing the recipe
            run, result = start_pretraining(ws, spec)
            assert result.status == "completed", result.message
            assert result.val_loss is not None and torch.isfinite(torch.tensor(result.val_loss))
            run = ws.store.get_run(run.id)
            assert run.config["recipe"] == {"name": recipe, "changed": ["lr"]}
            label = {"mosaicbert": "MosaicBERT-style", "cramming": "Cramming"}[recipe]
            assert f"Recipe {label}, changed: lr" in describe_run(run).splitlines()
            probe = load_probe_model(ws, "recipe", cache=None)
            assert probe.model.config.position_embedding_type == spec.model.position_embedding_type
            [mask] = fill_mask(probe.model, probe.tokenizer, "the cat sat on the [MASK] .").masks
            assert len(mask.predictions) > 0
            if recipe == "mosaicbert":
                with pytest.raises(UserError, match="ALiBi"):
                    export_hf(ws, "recipe", None, tmp_path / "out")
            old = ws.store.create_run("old", "pretrain", {k: v for k, v in run.config.items() if k != "recipe"},
                                      corpus.id, record.id, preset="seed-demo")
            assert "Recipe custom (recorded before recipes)" in describe_run(old).splitlines()
    finally:
        torch.set_num_threads(threads)
