"""Two planning numbers computed from a model's config alone (`workbench.settings.model.BertConfig`), without
building a model: the exact parameter count and an estimate of the memory one training step needs. Pure Python:
nothing here imports torch, so the CLI and GUI can price a model before they commit to it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from workbench.settings.base import SettingError
from workbench.settings.model import BertConfig

ACTIVATION_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}  # bytes per activation element, by precision


def count_parameters(config: BertConfig) -> int:
    """Exact trainable parameter count of BertForMaskedLM(config); the tied decoder weight counts once
    (as HF's num_parameters() does), so BERT-base at V=30522, T=512 gives 109,514,298."""
    h, i, v = config.hidden_size, config.intermediate_size, config.vocab_size
    layer_norm = 2 * h
    embeddings = (v + config.max_position_embeddings + config.type_vocab_size) * h + layer_norm
    attention = 4 * (h * h + h) + layer_norm  # query, key, value, output dense
    feed_forward = (h * i + i) + (i * h + h) + layer_norm
    head = (h * h + h) + layer_norm + v  # transform dense, LayerNorm, decoder bias (weight is tied)
    final = layer_norm if config.pre_layer_norm else 0
    return embeddings + config.num_hidden_layers * (attention + feed_forward) + head + final


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes at the peak of one training step with AdamW; `total` is their sum."""

    weights: int
    gradients: int
    optimizer_state: int
    activations: int
    runtime: int  # CPU only: the process's resident memory besides its tensors
    total: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


DEVICES = ("cpu", "cuda")
# The CPU process's resident memory besides its tensors, measured as bench/scaling.py measures (peak RSS minus
# the RSS before the model is built, fused AdamW, a few steps):
# - a near-empty model (L1/H64, 2 x 32 tokens) adds 88 MiB: kernel code paged in, oneDNN and autograd caches,
#   the Python objects of the model, optimizer and masker;
# - glibc keeps freed heap memory resident, and the heap fragments as every step frees and reallocates its
#   activations and gradients: over two full runs of the scaling points (L2-12, T64-512, B8-64; H512 and
#   H768 checked too) the peak RSS beyond the counted tensors and those 88 MiB came to 0.13-0.44 of the
#   tensor bytes (medians 0.25 and 0.3; it varies from run to run and creeps up over steps).
CPU_RUNTIME_BYTES = 88 * 2**20
CPU_HEAP_SLACK = 0.25


def estimate_training_memory(config: BertConfig, batch_size: int, seq_len: int, precision: str = "fp32",
                             mlm_probability: float = 0.15, device: str = "cpu") -> MemoryEstimate:
    """A planning estimate of peak training memory (not a measurement), counted from what the engine in
    modeling_bert.py keeps; bench/scaling.py compares it with the measured peak RSS on CPU.

    Parameters stay fp32 masters (4 B each) with fp32 gradients (4 B) and AdamW's two fp32 moments (8 B);
    under bf16/fp16 autocast the 16-bit copies of the matmul weights, which autograd keeps for backward,
    add 2 B each. Activations peak at the start of backward (`_activation_bytes`), before any gradient
    exists in a first micro-batch; gradients are counted whole anyway, which is exact with gradient
    accumulation and makes the sum cover the end of backward too (all gradients, no activations).
    Runtime: on CPU, CPU_RUNTIME_BYTES plus CPU_HEAP_SLACK of the tensor bytes; on CUDA none, the figure is
    tensors only (compare torch.cuda.max_memory_allocated; the CUDA context and the caching allocator's
    reserve come on top).
    """
    if precision not in ACTIVATION_BYTES:
        raise SettingError("precision", f"must be one of {', '.join(ACTIVATION_BYTES)}; got {precision!r}")
    if device not in DEVICES:
        raise SettingError("device", f"must be one of {', '.join(DEVICES)}; got {device!r}")
    if batch_size < 1 or seq_len < 1:
        raise SettingError("batch_size" if batch_size < 1 else "seq_len", "must be a positive integer")
    params = count_parameters(config)
    h, i, v = config.hidden_size, config.intermediate_size, config.vocab_size
    matmul_weights = config.num_hidden_layers * (4 * h * h + 2 * h * i) + h * h + v * h  # the tied decoder too
    weights = params * 4 + (0 if precision == "fp32" else matmul_weights * 2)
    gradients, optimizer_state = params * 4, params * 8
    activations = _activation_bytes(config, batch_size, seq_len, ACTIVATION_BYTES[precision], device, mlm_probability)
    tensors = weights + gradients + optimizer_state + activations
    runtime = CPU_RUNTIME_BYTES + round(CPU_HEAP_SLACK * tensors) if device == "cpu" else 0
    return MemoryEstimate(weights, gradients, optimizer_state, activations, runtime, tensors + runtime)


def _activation_bytes(config: BertConfig, batch_size: int, seq_len: int, s: int, device: str,
                      mlm_probability: float) -> int:
    """Activation bytes at the start of backward, the step's peak: what autograd saved, tensor by tensor,
    plus the MLM head's logits and gradients alive there (later each layer frees more than it adds).

    s = bytes of an activation (4 fp32, 2 bf16/fp16); the residual stream (embedding sum, LayerNorm inputs
    and outputs) stays fp32 under autocast, as do softmax and log-softmax. A dropout mask has its input's
    dtype on CPU (the engine's cheaper Dropout) and is a 1-byte bool on CUDA (F.dropout); none at p = 0.
    n = batch * seq_len tokens, H hidden, I intermediate, A heads; per tensor:
      embeddings  token and type ids, the LayerNorm input with its mean and rstd, the dropout mask
      per layer   the q/k/v input (under autocast, one 16-bit copy per projection), q (scaled), k, v, the
                  context (the output dense's input); with attention dropout the explicit path's three
                  (B, A, T, T) tensors, the fp32 softmax output, the mask and the dropped probabilities
                  (quadratic in seq_len), without it the fused kernel's fp32 logsumexp (B, A, T); two
                  LayerNorm inputs with mean and rstd, two hidden dropout masks, the feed-forward input, the
                  GELU input and output (n*I each; ReLU saves only its output, which the next dense saves).
                  The last layer keeps everything after attention only at the N positions the loss reads.
                  Pre-LN adds a final LayerNorm (at those N).
      MLM head    only at N = ceil(mlm_probability * n) positions: the selection mask, the int64 targets,
                  the transform's four (N, H) tensors and its LayerNorm's mean and rstd, the fp32
                  log-softmax (N, V), the logits (N, V) the training loop's output holds, and two fp32
                  (N, V) gradients (of the log-probabilities, and the one log-softmax's backward returns).
    """
    h, i, v, a = config.hidden_size, config.intermediate_size, config.vocab_size, config.num_attention_heads
    n, selected = batch_size * seq_len, math.ceil(mlm_probability * batch_size * seq_len)
    hidden_dropout, attention_dropout = config.hidden_dropout_prob > 0, config.attention_probs_dropout_prob > 0
    mask, embedding_mask = (s, 4) if device == "cpu" else (1, 1)  # bytes per element
    acts = 1 if config.hidden_act == "relu" else 2  # tensors the activation function adds
    qkv_inputs = 1 if s == 4 else 3  # autocast does not cache casts of activations
    layer_norm = 4 * h + 8  # per token: the fp32 input, fp32 mean and rstd

    embeddings = 2 * n * 8 + seq_len * 8 + n * layer_norm + hidden_dropout * n * h * embedding_mask
    if attention_dropout:
        attention = batch_size * a * seq_len * seq_len * (4 + mask + s)
    else:
        attention = batch_size * a * seq_len * 4

    def layer(rows: int) -> int:
        """A layer whose attention output and feed-forward run at `rows` positions (q, k, v at all n)."""
        attention_input_norm = layer_norm * (n if config.pre_layer_norm else rows)
        context = h * s * rows  # the output dense's input
        if not attention_dropout and rows < n:  # the fused kernel keeps its whole output, elsewhere that input
            context += h * s * n
        return ((qkv_inputs + 3) * n * h * s + attention + context + attention_input_norm
                + rows * (layer_norm + hidden_dropout * 2 * h * mask + h * s + acts * i * s))

    # the last layer only at the selected positions (BertForMaskedLM with labels), pre-LN's final norm too
    layers = (config.num_hidden_layers - 1) * layer(n) + layer(selected)
    final_norm = selected * layer_norm if config.pre_layer_norm else 0
    head = n + 2 * selected * 8 + (2 + acts) * selected * h * s + selected * v * (4 + s + 2 * 4)
    return embeddings + layers + final_norm + head
