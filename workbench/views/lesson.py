"""The guided lesson of classroom mode: six steps, each shown on the real panels (the window's lesson strip drives
them: `workbench.gui.lesson_strip`). Qt-free: what each step says, which panel it shows and what it puts there.

`MASKING_WHY` explains why chosen words are not all replaced by [MASK]; the lesson's second step and the Masking
panel's own help both show it, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

MASKING_WHY = (
    "Why not hide every chosen word behind [MASK]? Because [MASK] never appears in real text. A model that only "
    "ever guessed at [MASK] would learn nothing about the words it can see, and later it only sees words. So of the "
    "15% of words chosen: 80% become [MASK], the main exercise; 10% are swapped for a random word, so the model "
    "learns that a word it sees may be wrong and must be checked against the sentence; 10% stay as they are, so "
    "it also learns that a word it sees is usually right. The model never knows which visible words it will be "
    "asked about, so it has to understand all of them. Why 15%? Hide too few and each sentence teaches little; hide "
    "too many and too little of the sentence is left to guess from. BERT's authors tried other splits: 80/10/10 "
    "worked best, though not by much."
)


@dataclass(frozen=True)
class LessonStep:
    """One step: its title, the panel it shows (a main-window panel attribute) and the tab there, what the
    presenter reads out, and the sentence it puts in that panel ("" for none)."""

    title: str
    panel: str
    text: str
    sentence: str = ""
    tab: str = ""  # the Probe panel's view: "fill" (fill in the blank) or "attention"
    action: str = ""  # the label of the strip's button that does the step's optional part ("" for none)


LESSON: tuple[LessonStep, ...] = (
    LessonStep(
        "The text", "data",
        "A language model learns only from text. This one reads the sample corpus: short made-up sentences about "
        "animals, cities, colours and everyday life, about a million and a half letters. It is never told any "
        "rule; everything it will know comes from reading these sentences.",
    ),
    LessonStep(
        "Hiding words", "masking",
        "To practise, the model plays a fill-in-the-blank game. In every sentence 15% of the words are chosen; "
        "the coloured ones below are what the model must guess, and the grey word under each is the answer. "
        "Press Re-roll for another draw. " + MASKING_WHY,
        sentence="the dogs near the old barn bark at the moon every night",
    ),
    LessonStep(
        "The model guesses", "probe",
        "Here is a model that has already practised on the sample text. We hid one word of a sentence it read: "
        "the bars are its guesses, the longest is what it thinks is most likely. It has learned a fact from the "
        "text, not looked it up.",
        sentence="lima is a city in [MASK].", tab="fill",
    ),
    LessonStep(
        "Watching it learn", "train",
        "Now a new model learns from scratch. Press Start training: the line \"how wrong its guesses are\" falls "
        "as it practises. The dashed line is \"just guess common words\": a model that never looks at the "
        "sentence. Once the curve goes below it, the model has started to use the words around the gap.",
        action="Start training",
    ),
    LessonStep(
        "New sentences", "probe",
        "Ask the model about sentences it never read: change the sentence, put [MASK] where a word should be. "
        "Where the text taught it a pattern, it generalises; where the text never said anything, it can only "
        "guess common words.",
        sentence="the little dog says [MASK] and the cow says [MASK].", tab="fill",
    ),
    LessonStep(
        "What attention shows", "probe",
        "Inside, every word looks at the other words of the sentence to work out what it means here. Each square "
        "shows how much the word of its row looks at the word of its column: darker is more. Pick another layer "
        "or head: each has learned to look for something different.",
        sentence="the farmer feeds the cow and the cow says moo.", tab="attention",
    ),
)
