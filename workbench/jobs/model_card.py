"""The README.md model card of an exported run, generated from what the run store recorded about it.

A pretraining run's card names its corpus and the corpus' statistics, the tokenizer, the masking, the steps and
settings it trained with, and the validation loss and accuracy at the exported checkpoint; an imported run's
names where it came from; a fine-tuning run's names its task, labels, data, the model it started from and its
scores beside the trivial baseline's. Every card has the workbench version, the intended use, a usage snippet
and the export's own check ("verified: max logit difference ...").
"""

from __future__ import annotations

from typing import Any, Sequence

from workbench import __version__
from workbench.core.model_config import count_parameters
from workbench.jobs.finetune_scores import run_score_lines
from workbench.jobs.workspace import Workspace
from workbench.settings.model import BertConfig
from workbench.store.runstore import RunRecord

PIPELINES = {None: "fill-mask", "classify": "text-classification", "tag": "token-classification",
             "qa": "question-answering"}
TASK_WORDS = {"classify": "text classification", "tag": "token classification (tagging)",
              "qa": "extractive question answering"}
CORPUS_STATS = ("documents", "lines", "words", "unique_words", "characters")
USAGE = {None: 'fill = pipeline("fill-mask", model="{path}")\nprint(fill("{example}"))',
         "classify": 'classify = pipeline("text-classification", model="{path}")\nprint(classify("a sentence"))',
         "tag": 'tag = pipeline("token-classification", model="{path}", aggregation_strategy="first")\n'
                'print(tag("a sentence to tag"))',
         "qa": 'qa = pipeline("question-answering", model="{path}")\n'
               'print(qa(question="Who?", context="A passage that answers it."))'}


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _model_lines(config: BertConfig, architecture: str) -> list[str]:
    return ["## Model", "", "| architecture | layers | hidden | heads | feed-forward | max length | vocabulary | "
            "parameters |", "| --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| {architecture} | {config.num_hidden_layers} | {config.hidden_size} | {config.num_attention_heads} | "
            f"{config.intermediate_size} | {config.max_length} | {config.vocab_size:,} | "
            f"{count_parameters(config):,} |", ""]


def _pretraining_lines(ws: Workspace, run: RunRecord, metrics: dict[str, float]) -> list[str]:
    """Corpus, tokenizer, masking, training settings and the scores at the exported checkpoint."""
    config, data = run.config, run.config.get("data", {})
    corpus = ws.store.get_corpus(run.corpus_id) if run.corpus_id is not None else None
    lines = ["## Training data", ""]
    if corpus is not None:
        stats = ", ".join(f"{_number(corpus.stats[k])} {k.replace('_', ' ')}" for k in CORPUS_STATS
                          if k in corpus.stats)
        lines.append(f"Corpus `{corpus.name}`: {stats}; {data.get('val_fraction', 0):.1%} of the documents held out "
                     f"for validation, {_number(data.get('train_blocks', 0))} training blocks of "
                     f"{data.get('max_len')} tokens.")
    else:
        lines.append(f"Corpus `{data.get('corpus', 'unknown')}` (no longer in the workbench; statistics unknown).")
    tokenizer = ws.store.get_tokenizer(run.tokenizer_id) if run.tokenizer_id is not None else None
    if tokenizer is not None:
        lines.append(f"Tokenizer: {tokenizer.type}, {tokenizer.vocab_size:,} tokens, "
                     f"{'lowercased' if tokenizer.lowercase else 'cased'}, trained on that corpus.")
    elif data.get("tokenizer_path"):  # a student of an imported teacher
        lines.append(f"Tokenizer: its teacher's, imported with it from Hugging Face "
                     f"({_number(config['model']['vocab_size'])} tokens).")
    masking, train = config.get("masking", {}), config.get("train", {})
    share, replaced = masking.get("mlm_probability", 0.15), masking.get("mask_replace_prob", 0.8)
    randomised = masking.get("random_replace_prob", 0.1)
    lines += ["", "## Training", "",
              f"Masked-language-model pretraining from random weights: {masking.get('strategy', 'token')} masking "
              f"of {share:.0%} of the tokens ({replaced:.0%} [MASK], {randomised:.0%} random, "
              f"{1 - replaced - randomised:.0%} kept), "
              f"{'dynamic' if masking.get('dynamic', True) else 'static'} masks.",
              f"The run reached step {_number(run.last_step or 0)} of {_number(train.get('steps', 0))}; batch size "
              f"{train.get('batch_size')}, learning rate {train.get('lr')} ({train.get('schedule')} schedule, "
              f"{train.get('warmup_steps')} warm-up steps), seed {train.get('seed')}, {train.get('precision')} on "
              f"{run.device or 'an unknown device'}.", *_distillation_lines(config), ""]
    scores = [f"{k.replace('val_', 'validation ')} {_number(metrics[k])}"
              for k in ("val_loss", "val_accuracy", "val_perplexity") if metrics.get(k) is not None]
    lines += ["## Evaluation", "", "At the exported checkpoint: " + (", ".join(scores) + "." if scores
                                                                      else "no validation score was recorded.")]
    return lines


def _distillation_lines(config: dict) -> list[str]:
    """For a distill run: what it learned from (Hinton et al. 2015's soft targets, as DistilBERT)."""
    if "distill" not in config:
        return []
    teacher, settings = config["distill"]["teacher"], config["distill"]["settings"]
    return [f"Knowledge distillation: besides the true tokens, the model learned the predictions of run "
            f"`{teacher['name']}` at step {teacher['step']} ({_number(teacher['parameters'])} parameters) at the "
            f"masked positions, softened at temperature {settings['temperature']} with weight {settings['alpha']} "
            f"(Hinton et al. 2015; DistilBERT, Sanh et al. 2019)."]


def _imported_lines(run: RunRecord) -> list[str]:
    config = run.config
    return ["## Origin", "", f"Imported into MLM Workbench from `{config.get('source')}` ({config.get('architecture')},"
            f" weights sha256 `{config.get('sha256', '')[:16]}…`). See that model's own card for its training data."]


def _finetune_lines(ws: Workspace, run: RunRecord) -> list[str]:
    config, data = run.config, run.config.get("data", {})
    parent = ws.store.get_run(run.parent_run_id) if run.parent_run_id is not None else None
    start = f"run `{parent.name}` ({parent.kind})" if parent else "random weights (a from-scratch baseline)"
    settings = config.get("finetune", {})
    lines = ["## Fine-tuning", "",
             f"Task: {TASK_WORDS.get(config.get('task'), config.get('task'))}, started from {start}.",
             f"Data: `{data.get('train')}` ({_number(data.get('train_examples', 0))} training examples, "
             f"{_number(data.get('validation_examples', 0))} validation, {_number(data.get('test_examples', 0))} "
             f"test).",
             f"Settings: {settings.get('epochs')} epochs, batch size {settings.get('batch_size')}, learning rate "
             f"{settings.get('lr')}, max length {settings.get('max_len')}, seed {settings.get('seed')}."]
    if config.get("labels"):
        lines.append("Labels: " + ", ".join(f"`{label}`" for label in config["labels"]) + ".")
    lines += ["", "## Evaluation", "", *[f"- {line}" for line in run_score_lines(config)]]
    return lines


def _intended_use(task: str | None) -> list[str]:
    if task is None:
        what = ("probing what a masked language model learned (fill-mask, attention, scoring), teaching, and as a "
                "starting point for fine-tuning")
    else:
        what = f"{TASK_WORDS[task]} on text like its training data"
    return ["## Intended use", "", f"Research and teaching: {what}. Models trained in the workbench are usually small "
            "and trained on small corpora; check them on your own data before relying on them, and do not use them "
            "for decisions about people.", ""]


def model_card(ws: Workspace, run: RunRecord, step: int, config: BertConfig, architecture: str, task: str | None,
               metrics: dict[str, float], verified: str, notes: Sequence[str], example: str) -> str:
    """The card's Markdown; `metrics` are the exported checkpoint's, `example` a fill-mask input for the usage."""
    origin = {"pretrain": "trained from scratch", "imported": "imported", "finetune": "fine-tuned",
              "distill": "distilled from a larger model"}[run.kind]
    lines = ["---", "library_name: transformers", f"pipeline_tag: {PIPELINES[task]}", "tags:", "- mlm-workbench",
             f"- {architecture.split('For')[0].lower()}", "---", "", f"# {run.name}", "",
             f"A {architecture} {origin} with MLM Workbench {__version__}: run `{run.name}` (id {run.id}) at step "
             f"{step}.", "", *_model_lines(config, architecture)]
    if run.kind in ("pretrain", "distill"):
        lines += _pretraining_lines(ws, run, metrics)
    elif run.kind == "imported":
        lines += _imported_lines(run)
    else:
        lines += _finetune_lines(ws, run)
    usage = USAGE[task].format(path="path/to/this/folder", example=example)
    lines += ["", *_intended_use(task), "## How to use", "", "```python", "from transformers import pipeline", "",
              usage, "```", "", "## Export", "", f"{verified} (this folder read back through the workbench's own "
              "importer and compared with the run's checkpoint).", *[f"- {note}" for note in notes], ""]
    return "\n".join(lines)
