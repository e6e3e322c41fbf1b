"""Probing a trained masked language model, with no Qt and no database: fill-mask (top-k, targets, filling in
order of confidence), attention maps and rollout, pseudo-log-likelihood sentence scoring, LAMA-style probe
suites and nearest neighbours. Every function takes a `BertForMaskedLM` and its `WorkbenchTokenizer`, runs in
eval mode without gradients (restoring the model's mode after) and raises `ProbeInputError` (a ValueError)
with a one-line message for input it cannot use. `workbench.jobs.probe` loads models from runs' checkpoints.
"""

from __future__ import annotations

from workbench.core.probing.attention import (
    AttentionMaps,
    AttentionMatrix,
    attention_maps,
    attention_rollout,
    hide_special_tokens,
    mean_over_heads,
    write_matrix_csv,
)
from workbench.core.probing.encoding import (
    ProbeInputError,
    encode_text,
    mask_word,
    word_at,
    word_spans,
    word_token_id,
)
from workbench.core.probing.fill_mask import (
    FillMaskResult,
    InOrderResult,
    fill_in_order,
    fill_mask,
    resolve_targets,
)
from workbench.core.probing.head_stats import (
    HeadStats,
    head_statistics,
    write_head_stats_csv,
)
from workbench.core.probing.neighbours import (
    contextual_neighbours,
    nearest_tokens,
    word_vectors,
)
from workbench.core.probing.scoring import (
    PLL_METHODS,
    SentenceScore,
    pseudo_log_likelihood,
    score_sentences,
)
from workbench.core.probing.suites import (
    ProbeSuite,
    SuiteResult,
    evaluate_suite,
    load_suite,
    suite_metrics,
)

__all__ = [
    "PLL_METHODS",
    "AttentionMaps",
    "AttentionMatrix",
    "FillMaskResult",
    "HeadStats",
    "InOrderResult",
    "ProbeInputError",
    "ProbeSuite",
    "SentenceScore",
    "SuiteResult",
    "attention_maps",
    "attention_rollout",
    "contextual_neighbours",
    "encode_text",
    "evaluate_suite",
    "fill_in_order",
    "fill_mask",
    "head_statistics",
    "hide_special_tokens",
    "load_suite",
    "mask_word",
    "mean_over_heads",
    "nearest_tokens",
    "pseudo_log_likelihood",
    "resolve_targets",
    "score_sentences",
    "suite_metrics",
    "word_at",
    "word_spans",
    "word_token_id",
    "word_vectors",
    "write_head_stats_csv",
    "write_matrix_csv",
]
