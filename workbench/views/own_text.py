"""What the "Train on your own text" dialog and the Probe panel say about it, without Qt: the text's size (or why
it is too short), the plan with its reasons, and the held-out question's outcome beside the unigram guess."""

from __future__ import annotations

import html

from workbench.jobs.errors import UserError
from workbench.jobs.own_text import MIN_WORDS, OwnTextPlan, Question, plan_for_words, text_words


def plan_for_text(name: str, text: str, cores: int, minutes: float) -> tuple[str, OwnTextPlan | None]:
    """(what to tell the user about `text`, the plan for it or None when it cannot be trained on)."""
    words, unique = text_words(text)
    if words == 0:
        return f"Paste some text above or open a text file: at least {MIN_WORDS:,} words (a few pages).", None
    try:
        plan = plan_for_words(name, words, unique, cores, minutes)
    except UserError:
        return (f"Your text has {words:,} words: too few. A model needs at least {MIN_WORDS:,} (a few pages) to "
                "learn more than the most common words. Paste more text or open a longer file."), None
    return f"Your text: {words:,} words, {unique:,} of them different.", plan


def plan_text(plan: OwnTextPlan) -> str:
    """The plan's choices, one a line, each with its reason."""
    return "\n".join(f"• {reason}" for reason in plan.reasons)


def percent(p: float) -> str:
    """"12.3%", or two significant digits below 0.1% ("0.021%"), so a small probability never reads as 0.0%."""
    return f"{p:.1%}" if p >= 0.001 else f"{p * 100:.2g}%"


def question_html(question: Question) -> str:
    """The held-out question's outcome: where the sentence comes from, then the model's probability of the hidden
    word against the unigram guess's (what guessing by word frequency alone gives it)."""
    origin = ("a sentence of your text that it did not train on" if question.unseen
              else "a sentence of your text held out of training (your text also holds it elsewhere)")
    verdict = ("better than guessing by word frequency: it learned from the context" if question.beats_unigram
               else "no better than guessing by word frequency yet: train longer or on more text")
    answer = html.escape(question.answer)
    return (f"<b>Your model's test:</b> {origin}, with the word <b>{answer}</b> hidden (below). The model gives "
            f"<b>{answer}</b> {percent(question.answer_probability)} (its guess number {question.answer_rank:,}); "
            f"guessing by word frequency alone gives it {percent(question.unigram_probability)} and always guesses "
            f"“{html.escape(question.unigram_guess)}”. The model is {verdict}.")
