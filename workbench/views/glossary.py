"""Plain words for the window's technical terms, for classroom mode (View → Classroom): the window shows the plain
words and keeps the technical term, with what it means, one hover away. Qt-free: panels ask `words(key, plain)`
for a label and `explain(key)` for its tooltip.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """A technical term, the words a person without the jargon reads instead, and one sentence on what it is."""

    technical: str
    plain: str
    meaning: str


GLOSSARY: dict[str, Term] = {
    "accuracy": Term("masked-token accuracy", "how often it guesses the hidden word right",
                     "The share of hidden words the model guesses exactly, on text it did not train on."),
    "loss": Term("loss", "how wrong its guesses are",
                 "The average surprise of the model at the right word (cross-entropy): lower is better."),
    "train_loss": Term("training loss", "how wrong its guesses are while it practises",
                       "The loss on the batches the model is learning from."),
    "val_loss": Term("validation loss", "how wrong its guesses are on new text",
                     "The loss on held-out text the model never learns from: it shows what the model really knows."),
    "baseline": Term("unigram baseline", "just guess common words",
                     "The loss of a guesser that always bets on the corpus' most common words, ignoring the sentence: "
                     "a model below this line has learned to use the context."),
    "perplexity": Term("perplexity", "how many words it is still choosing between",
                       "e to the power of the loss: as unsure as picking among this many words at random."),
    "lr": Term("learning rate (lr)", "how big each learning step is",
               "How far the weights move at each update: too big and training goes wild, too small and it crawls."),
    "step": Term("step", "practice round",
                 "One update of the model's weights, after reading one batch of text."),
    "mask": Term("[MASK]", "hidden",
                 "The special token that replaces a word the model must guess."),
    "mask_rate": Term("masking rate (mlm_probability)", "share of words hidden",
                      "The share of the tokens chosen for the model to guess in each sequence (BERT: 15%)."),
    "random": Term("random token", "swapped",
                   "A chosen token replaced by any token of the vocabulary; the model must still guess the real one."),
    "kept": Term("kept token", "left as is",
                 "A chosen token left unchanged; the model must still say it is the right word."),
    "split": Term("80/10/10 split", "how they are hidden",
                  "Of the chosen tokens: 80% become [MASK], 10% a random token, 10% stay as they are."),
    "fill_mask": Term("fill-mask", "fill in the blank",
                      "The model's guesses for each [MASK] in a sentence, with its probability for each."),
    "top_k": Term("top k", "how many guesses to show",
                  "The number of the model's best guesses listed at each mask."),
    "attention": Term("attention", "where each word looks",
                      "How much each token takes from every other token of the sentence, per layer and head."),
    "head": Term("attention head", "one way of looking",
                 "One of the parallel attention patterns of a layer; each learns to look for something different."),
    "layer": Term("layer", "layer",
                  "One of the model's stacked transformer blocks; 0 is the one nearest the text."),
    "checkpoint": Term("checkpoint", "saved moment",
                       "A copy of the model's weights saved at one step of its training."),
    "pll": Term("PLL (pseudo-log-likelihood)", "how natural the sentence sounds to the model",
                "Each word hidden in turn and the model's log-probability of it summed: higher is more natural."),
    "mrr": Term("MRR (mean reciprocal rank)", "how high the right answer comes in its list",
                "1 when the right word is its first guess, 1/2 when second, and so on, averaged."),
    "precision_at_1": Term("precision@1", "how often its first guess is right",
                           "The share of questions where the model's top guess is the expected answer."),
    "post_ln": Term("post-LN", "the original BERT layout",
                    "LayerNorm after each block's sum, as in the original BERT."),
    "pre_ln": Term("pre-LN", "the steadier layout for training from scratch",
                   "LayerNorm before each block, plus a final one: often trains more steadily from scratch."),
}


def words(key: str, plain: bool) -> str:
    """The label of term `key`: its plain words in classroom mode, else the technical term."""
    term = GLOSSARY[key]
    return term.plain if plain else term.technical


def explain(key: str) -> str:
    """The tooltip under a plain label: the technical term and what it means."""
    term = GLOSSARY[key]
    return f"{term.technical}: {term.meaning}"


def layer_label(layer: int, plain: bool = False) -> str:
    """L0, or in classroom mode "layer 1" (people count from 1)."""
    return f"layer {layer + 1}" if plain else f"L{layer}"


def head_label(head: int, plain: bool = False) -> str:
    """H0, or in classroom mode "head 1"."""
    return f"head {head + 1}" if plain else f"H{head}"

