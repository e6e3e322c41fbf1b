"""Training a tokenizer on a corpus by name: progress in documents of the corpus, and whether it was reused."""

from __future__ import annotations

from pathlib import Path

from workbench.jobs.corpora import add_corpus
from workbench.jobs.tokenizers import train_tokenizer_on
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents
from workbench.settings.tokenizer import TokenizerConfig


def test_train_tokenizer_on_reports_progress_and_reuse(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "animals.txt"
    path.write_text("\n\n".join(generate_documents(40, seed=1)) + "\n", encoding="utf-8")
    config = TokenizerConfig(vocab_size=120, min_frequency=1)
    seen: list[tuple[int, int]] = []
    with Workspace(home) as ws:
        corpus, _ = add_corpus(ws, [path], "animals")
        record, reused = train_tokenizer_on(ws, "animals", config, lambda done, total: seen.append((done, total)))
        assert not reused and record.corpus_id == corpus.id and record.config == config.to_dict()
        assert seen and seen[-1] == (40, 40) and all(total == 40 for _, total in seen)
        again, reused = train_tokenizer_on(ws, "animals", config)
        assert reused and again.id == record.id
        assert [t.id for t in ws.store.list_tokenizers(corpus.id)] == [record.id]
