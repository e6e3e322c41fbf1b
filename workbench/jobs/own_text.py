""""Train on your own text": pasted text or a file in, a model that fills in blanks of that text out, with no
setting to choose (issue 15). The window's "Train on your own text" dialog and `bench/own_text.py` run the same three
steps:

1. `add_own_text` records the text as a corpus (pasted text is kept as a file in the home);
2. `plan_own_text` picks the tokenizer, model, length and training time from the text's size and the machine's
   cores, each choice with its reason in plain words (the window plans pasted text before it is a corpus, with
   `plan_for_words`); `train_own_text` trains it for a time budget (`TrainConfig.time_budget`), so it ends on
   time on any machine;
3. `held_out_question` masks one word of a sentence the model never trained on (from the validation split) and
   asks the trained model, next to the unigram guess (the word's share of the training text): the check that the
   model learned more than word frequencies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from workbench.core.training_types import TrainResult
from workbench.jobs.corpora import add_corpus_unique, get_corpus, rescan, split_documents
from workbench.jobs.errors import UserError
from workbench.jobs.workspace import Workspace
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import MAX_STEPS, TrainConfig
from workbench.store.records import CorpusRecord, RunRecord

DEFAULT_MINUTES = 4.0  # of training, leaving about a minute of the five for reading, the tokenizer and the question
MIN_WORDS = 2_000  # below this there is too little text to learn anything but its most common words
MAX_LEN = 64  # tokens per block: short blocks train fastest, and a sentence fits
COMMON_WORDS = 30  # the question's word is not one of these: guessing "the" must not look like understanding


@dataclass(frozen=True)
class OwnTextPlan:
    """The run to train (`spec`), its tokenizer, and why each was chosen."""

    spec: PretrainSpec
    tokenizer: TokenizerConfig
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    """One masked word of a held-out sentence, the model's answers and the unigram guess."""

    sentence: str  # as written (the tokenizer's case), with the word in place
    masked: str  # the sentence with the word replaced by the tokenizer's mask token
    answer: str
    predictions: list[tuple[str, float]]  # the model's top 5: (word, probability)
    answer_probability: float  # the model's
    answer_rank: int  # 1 = the model's first guess
    unigram_probability: float  # the word's share of the training tokens
    unigram_guess: str  # the most common word of the training text (punctuation is not a word)
    unseen: bool  # the training text does not hold the sentence word for word (it may, in repetitive text)

    @property
    def beats_unigram(self) -> bool:
        return self.answer_probability > self.unigram_probability


def add_own_text(ws: Workspace, name: str, text: str | None = None, path: str | Path | None = None) -> CorpusRecord:
    """Record pasted `text` (kept as `<home>/texts/<name>.txt`) or the file or folder at `path` as a corpus."""
    if (text is None) == (path is None):
        raise UserError("give either some text or a file")
    if text is not None:
        if not text.strip():
            raise UserError("the text is empty: paste some text or choose a file")
        folder = ws.home / "texts"
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / f"{re.sub(r'[^A-Za-z0-9_-]+', '-', name).strip('-') or 'text'}.txt"
        path.write_text(text, encoding="utf-8")
    return add_corpus_unique(ws, [path], name)


def text_words(text: str) -> tuple[int, int]:
    """(words, different words) of `text`, counted as a corpus' statistics count them (whitespace-split,
    case-sensitive), so a plan made from pasted text is the plan of the corpus it becomes."""
    words = text.split()
    return len(words), len(set(words))


def plan_own_text(corpus: CorpusRecord, cores: int, minutes: float = DEFAULT_MINUTES) -> OwnTextPlan:
    """The tokenizer, model and training that fit this corpus and machine in `minutes` of training."""
    return plan_for_words(corpus.name, int(corpus.stats["words"]), int(corpus.stats["unique_words"]), cores, minutes)


def plan_for_words(name: str, words: int, unique: int, cores: int, minutes: float = DEFAULT_MINUTES) -> OwnTextPlan:
    """The plan for a corpus called `name` of `words` words, `unique` of them different (the window plans pasted
    text before it becomes a corpus)."""
    if words < MIN_WORDS:
        raise UserError(f"{name!r} has {words:,} words; a model needs at least {MIN_WORDS:,} to learn more "
                        "than the most common ones (a few pages of text)")
    vocab = min(8000, max(2000, round(unique / 4 / 500) * 500))
    preset = "mini" if cores >= 8 and words >= 2_000_000 else "tiny"
    reasons = (
        f"A WordPiece tokenizer of {vocab:,} pieces: about a quarter of the {unique:,} different words, so common "
        "words stay whole and rare ones are built from pieces.",
        f"The {preset} model: " + ("a bigger one pays off with this much text and these cores." if preset == "mini"
                                   else f"on {cores} cores a small model sees more text in the time than a big one."),
        f"Blocks of {MAX_LEN} tokens, about two sentences: short blocks train fastest.",
        f"{duration_words(minutes)} of training, with the learning rate falling as the time runs out, so the run ends "
        "on time on any computer.",
    )
    train = TrainConfig(steps=MAX_STEPS, time_budget=minutes, batch_size=32, lr=1e-3, warmup_steps=100,
                        eval_every=100, eval_batches=10, checkpoint_every=0, log_every=10)
    spec = PretrainSpec(corpus=name, name=f"{name} (own text)", train=train,
                        model=ModelSpec(preset=preset, max_position_embeddings=MAX_LEN))
    return OwnTextPlan(spec, TokenizerConfig(type="wordpiece", vocab_size=vocab), reasons)


def duration_words(minutes: float) -> str:
    """"6 seconds", "1 minute", "4.5 minutes"."""
    return f"{minutes * 60:.0f} seconds" if minutes < 1 else f"{minutes:g} minute" + ("" if minutes == 1 else "s")


def train_own_text(ws: Workspace, corpus: CorpusRecord, plan: OwnTextPlan, **training) -> tuple[RunRecord, TrainResult]:
    """Train the plan's tokenizer, then its run (`training`: start_pretraining's listeners, control, progress);
    (run, result)."""
    from workbench.jobs.pretrain import start_pretraining  # torch loads here
    from workbench.jobs.tokenizers import train_tokenizer_for

    progress = training.get("progress")
    tokenizer = train_tokenizer_for(ws, corpus, plan.tokenizer,
                                    (lambda done: progress("training tokenizer", done, None)) if progress else None)
    return start_pretraining(ws, plan.spec.replace(tokenizer_id=tokenizer.id), **training)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s.strip()]


def _candidates(documents, tokenizer, common: set[int]):
    """(sentence, word) for each sentence of 6 to 25 words, with its last word that is one whole token, alphabetic
    and not among the training text's most common."""
    for document in documents:
        for sentence in _sentences(document):
            words = re.findall(r"[A-Za-z]+", sentence)
            if 6 <= len(words) <= 25:
                for word in reversed(words[1:]):
                    ids = tokenizer.encode(word)
                    if len(word) >= 3 and len(ids) == 1 and ids[0] not in common:
                        yield sentence, word
                        break


def _pick(ws: Workspace, corpus: CorpusRecord, val_fraction: float, tokenizer,
          common: set[int]) -> tuple[str, str, bool]:
    """A validation sentence and its word to ask about, preferring a sentence that the training text does not
    also hold word for word; (sentence, word, unseen)."""
    scan = rescan(ws, corpus)
    seen = {sentence.lower() for document in split_documents(corpus, scan, "train", val_fraction)
            for sentence in _sentences(document)}
    first = None
    for sentence, word in _candidates(split_documents(corpus, scan, "validation", val_fraction), tokenizer, common):
        if sentence.lower() not in seen:
            return sentence, word, True
        first = first or (sentence, word, False)
    if first is None:
        raise UserError(f"no held-out sentence of {corpus.name!r} has a word to ask about")
    return first


def held_out_question(ws: Workspace, run: RunRecord, corpus: CorpusRecord) -> Question:
    """Ask the run's model about one word of a sentence it did not train on."""
    from workbench.core.probing.fill_mask import fill_mask  # torch loads here, not when the window starts
    from workbench.jobs.pretrain import prepare_data
    from workbench.jobs.probe import load_probe_model

    probe = load_probe_model(ws, run.id, cache=None)
    tokenizer, val_fraction = probe.tokenizer, float(run.config["data"]["val_fraction"])
    counts = prepare_data(ws, corpus, tokenizer, MAX_LEN, val_fraction).unigram_counts  # the training split's
    specials = set(tokenizer.special_ids)
    order = [int(i) for i in counts.argsort()[::-1] if int(i) not in specials]
    sentence, answer, unseen = _pick(ws, corpus, val_fraction, tokenizer, set(order[:COMMON_WORDS]))
    masked = re.sub(rf"\b{answer}\b(?!.*\b{answer}\b)", tokenizer.mask_token, sentence)
    answer_id = tokenizer.encode(answer)[0]
    probabilities = fill_mask(probe.fill_model, tokenizer, masked, top_k=probe.model.config.vocab_size)
    ranked = probabilities.masks[0].predictions
    rank = next(i for i, p in enumerate(ranked, 1) if p.token_id == answer_id)
    return Question(sentence, masked, tokenizer.id_to_token(answer_id), [(p.token, p.probability) for p in ranked[:5]],
                    ranked[rank - 1].probability, rank, float(counts[answer_id] / counts.sum()),
                    next(word for word in map(tokenizer.id_to_token, order) if word.isalpha()), unseen)


def ask_run(ws: Workspace, run_id: int) -> Question:
    """`held_out_question` for the run `run_id`, about the corpus it trained on (the window asks it so)."""
    run = ws.store.get_run(run_id)
    return held_out_question(ws, run, get_corpus(ws, run.config["data"]["corpus"]))
