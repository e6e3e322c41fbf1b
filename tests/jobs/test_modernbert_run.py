"""A run trained here with ModernBERT's options (pre-LN without the first attention norm, RoPE, GeGLU, no
biases, sliding-window layers, no segment embeddings) goes through the whole pipeline: pretraining completes, the
probe model loads with those options from the run's config, and `export_hf` writes a `ModernBertForMaskedLM`
folder whose logits `transformers` reproduces. With segment embeddings (BERT's two) the export is refused with
that reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

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
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

MODERN = ModelSpec(preset="seed-demo", hidden_size=32, intermediate_size=48, max_position_embeddings=32,
                   pre_layer_norm=True, first_attention_norm=False, position_embedding_type="rope",
                   rope_theta=160000.0, feed_forward="geglu", bias=False, local_attention=8,
                   global_attn_every_n_layers=2, type_vocab_size=0)


def test_a_modernbert_style_run_trains_and_exports(tmp_path: Path) -> None:
    corpus_file = tmp_path / "corpus.txt"
    corpus_file.write_text("\n\n".join(generate_documents(300, seed=1)), encoding="utf-8")
    with Workspace(tmp_path / "home") as ws:
        corpus = add_corpus_unique(ws, [corpus_file], "small")
        record = train_tokenizer_for(ws, corpus, TokenizerConfig(type="bpe", vocab_size=300))
        train = TrainConfig(steps=6, batch_size=8, lr=1e-3, warmup_steps=2, eval_every=3, checkpoint_every=3,
                            device="cpu")
        _, result = start_pretraining(ws, PretrainSpec(corpus="small", tokenizer_id=record.id, model=MODERN,
                                                       train=train, name="modern"))
        assert result.status == "completed", result.message
        probe = load_probe_model(ws, "modern", cache=None)
        config = probe.model.config
        assert (config.feed_forward, config.position_embedding_type, config.first_attention_norm) == \
            ("geglu", "rope", False)
        ids = torch.randint(5, config.vocab_size, (2, 32), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            assert torch.isfinite(probe.model(ids).logits).all()
        report = export_hf(ws, "modern", None, tmp_path / "out")
        _, result = start_pretraining(ws, PretrainSpec(corpus="small", tokenizer_id=record.id, name="segments",
                                                       model=MODERN.replace(type_vocab_size=2), train=train))
        with pytest.raises(UserError, match="no segment embeddings; this one has 2 segment types"):
            export_hf(ws, "segments", None, tmp_path / "out2")
    assert report.architecture == "ModernBertForMaskedLM"
    transformers = pytest.importorskip("transformers")
    hf, info = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "out", output_loading_info=True)
    assert not any(info.values()), info
    with torch.no_grad():
        diff = (probe.model(ids).logits - hf.eval()(input_ids=ids).logits).abs().max().item()
    assert diff < 1e-4
