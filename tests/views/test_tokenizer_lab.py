"""The Lab's Qt-free parts: the tokenizers offered (the workspace's, then the runs' own), the CSV rows of each
picture against the comparison they come from, and the colours of the aligned segmentations."""

from __future__ import annotations

from collections import Counter

from workbench.core.tokenization import train_tokenizer
from workbench.core.tokenizer_stats import compare_tokenizers
from workbench.jobs.corpora import get_corpus
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents
from workbench.settings.tokenizer import TokenizerConfig
from workbench.views.tokenizer_lab import (
    MANY_PIECES,
    UNKNOWN,
    alignment_html,
    alignment_rows,
    histogram_rows,
    lab_choices,
)


def test_choices_list_workspace_tokenizers_then_runs(home) -> None:
    with Workspace.open(str(home)) as ws:
        record = train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=300))
        imported = ws.store.create_run("bert-like", "imported", {}, None, None)
        ws.store.add_checkpoint(imported.id, 0, str(home / "weights"), "0" * 64, 1)
        ws.store.create_run("no-checkpoint-yet", "pretrain", {}, None, None)
        choices = lab_choices(ws.store)
    assert choices == [(str(record.id), f"#{record.id} wordpiece {record.vocab_size:,} (sample)"),
                       ("run:bert-like", "run bert-like (imported)")]


def test_rows_and_colours_follow_the_comparison() -> None:
    tokenizer = train_tokenizer(generate_documents(200), TokenizerConfig(vocab_size=120))
    text = "the cat sleeps. zebras quack ☃"
    result = compare_tokenizers(["a", "b"], [tokenizer, tokenizer], Counter(text.split()), [text])
    rows = histogram_rows(result)
    assert len(rows) == 20 and sum(r[2] for r in rows[:10]) == result.stats[0].words
    cells = alignment_rows(result)
    assert [c[2] for c in cells[::2]] == result.sentences[0].words
    assert [c[4] for c in cells[::2]] == [" ".join(p) for p in result.sentences[0].pieces[0]]
    page = alignment_html(result)
    assert UNKNOWN in page  # "☃" is unknown to a vocabulary trained without it
    assert MANY_PIECES in page  # "zebras" is cut into many pieces by 120 tokens
