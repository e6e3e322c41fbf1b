"""The glossary of classroom mode: plain words for the technical terms the issue names, the term on hover."""

from __future__ import annotations

from workbench.views.glossary import GLOSSARY, explain, head_label, layer_label, words


def test_the_issues_terms_have_plain_words() -> None:
    assert words("accuracy", True) == "how often it guesses the hidden word right"
    assert words("accuracy", False) == "masked-token accuracy"
    assert words("baseline", True) == "just guess common words"
    for key in ("perplexity", "loss", "pll", "mrr", "post_ln", "pre_ln", "lr"):
        assert words(key, True) != words(key, False)


def test_each_tooltip_names_the_technical_term_and_says_what_it_is() -> None:
    for key, term in GLOSSARY.items():
        tip = explain(key)
        assert tip.startswith(term.technical) and tip.endswith(".") and len(tip) > len(term.technical) + 10, key


def test_heads_are_counted_from_one_in_plain_words() -> None:
    assert (layer_label(0), head_label(1)) == ("L0", "H1")
    assert (layer_label(0, plain=True), head_label(1, plain=True)) == ("layer 1", "head 2")
