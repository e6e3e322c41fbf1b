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
    (as HF's num_parameters() does), so BERT-base at V=30522, T=512 gives 109,514,298.

    With h hidden, I intermediate, V vocabulary, P positions, S segment types, L layers, b = 1 with linear
    biases (else 0), n = 2 with LayerNorm biases (else 1), a dense layer from m to k has m*k + b*k parameters
    and a LayerNorm n*h:
      embeddings   (V + P + S) * h + n*h (RoPE, ALiBi: no P * h position table)
      per layer    4 dense h->h (query, key, value, output) + n*h, then the feed-forward: dense h->I and I->h
                   (mlp) or h->2I and I->h (geglu, swiglu), + n*h; first_attention_norm off drops layer 0's n*h
      head         dense h->h + n*h + V (the decoder's bias; its weight is the word embeddings)
      final norm   n*h with pre-LN
    docs/architecture-options.md writes these out."""
    h, i, v = config.hidden_size, config.intermediate_size, config.vocab_size

    def dense(m: int, k: int) -> int:
        return m * k + (k if config.linear_bias else 0)

    layer_norm = (2 if config.norm_bias else 1) * h
    positions = config.max_position_embeddings if config.position_embedding_type == "absolute" else 0
    embeddings = (v + positions + config.type_vocab_size) * h + layer_norm
    attention = 4 * dense(h, h) + layer_norm  # query, key, value, output dense
    gated = config.feed_forward != "mlp"
    feed_forward = dense(h, 2 * i if gated else i) + dense(i, h) + layer_norm
    head = dense(h, h) + layer_norm + v  # transform dense, LayerNorm, decoder bias (weight is tied)
    final = layer_norm if config.pre_layer_norm else 0
    skipped = 0 if config.first_attention_norm else layer_norm
    return embeddings + config.num_hidden_layers * (attention + feed_forward) - skipped + head + final


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
    ffn_widths = 3 if config.feed_forward != "mlp" else 2  # a GLU's first dense is h x 2I
    matmul_weights = config.num_hidden_layers * (4 * h * h + ffn_widths * h * i) + h * h + v * h  # + tied decoder
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
                  context (the output dense's input); with attention dropout on the CPU the explicit path's
                  three (B, A, T, T) tensors, the fp32 softmax output, the mask and the dropped probabilities
                  (quadratic in seq_len), else (no dropout, or CUDA) the fused kernel's fp32 logsumexp (B, A, T); two
                  LayerNorm inputs with mean and rstd, two hidden dropout masks, the feed-forward input, the
                  GELU input and output (n*I each; ReLU saves only its output, which the next dense saves;
                  GeGLU/SwiGLU: the first dense's (n, 2I) output, the activation's output and the gated
                  product, 4 n*I). The last layer keeps everything after attention only at the N positions the
                  loss reads. Pre-LN adds a final LayerNorm (at those N); first_attention_norm off drops layer
                  0's first one. RoPE: the fp32 cos and sin tables (T, hs) per layer and no position ids; a
                  sliding-window layer on the fused path: its additive (T, T) mask, counted for packed blocks
                  (with padding it is one per sequence, B times that: the estimate is low there). ALiBi: no
                  position ids, and per layer the (A, T, T) bias attention keeps for backward (B times that
                  with padding, low there too).
      MLM head    only at N = ceil(mlm_probability * n) positions: the selection mask, the int64 targets,
                  the transform's four (N, H) tensors and its LayerNorm's mean and rstd, the fp32
                  log-softmax (N, V), the logits (N, V) the training loop's output holds, and two fp32
                  (N, V) gradients (of the log-probabilities, and the one log-softmax's backward returns).
    """
    h, i, v, a = config.hidden_size, config.intermediate_size, config.vocab_size, config.num_attention_heads
    n, selected = batch_size * seq_len, math.ceil(mlm_probability * batch_size * seq_len)
    hidden_dropout, attention_dropout = config.hidden_dropout_prob > 0, config.attention_probs_dropout_prob > 0
    mask, embedding_mask = (s, 4) if device == "cpu" else (1, 1)  # bytes per element
    acts = 1 if config.hidden_act == "relu" else 2  # tensors the activation function adds (the head's too)
    ffn_acts = 4 if config.feed_forward != "mlp" else acts  # (n, I) tensors the feed-forward adds
    qkv_inputs = 1 if s == 4 else 3  # autocast does not cache casts of activations
    layer_norm = 4 * h + 8  # per token: the fp32 input, fp32 mean and rstd

    rope, alibi = config.position_embedding_type == "rope", config.position_embedding_type == "alibi"
    embeddings = 2 * n * 8 + (seq_len * 8 if config.position_embedding_type == "absolute" else 0) + n * layer_norm + hidden_dropout * n * h * embedding_mask
    explicit = attention_dropout and device == "cpu"  # BertSelfAttention's explicit softmax; else SDPA
    if explicit:
        attention = batch_size * a * seq_len * seq_len * (4 + mask + s)
    else:
        attention = batch_size * a * seq_len * 4

    def layer(index: int, rows: int) -> int:
        """Layer `index`, its attention output and feed-forward run at `rows` positions (q, k, v at all n)."""
        attention_input_norm = layer_norm * (n if config.pre_layer_norm else rows)
        if index == 0 and not config.first_attention_norm:
            attention_input_norm = 0
        context = h * s * rows  # the output dense's input
        if not explicit and rows < n:  # the fused kernel keeps its whole output, elsewhere that input
            context += h * s * n
        rotary = 2 * seq_len * config.head_size * 4 if rope else 0  # cos, sin
        window = seq_len * seq_len * s if config.is_local_layer(index) and not explicit else 0
        distances = a * seq_len * seq_len * s if alibi and not explicit else 0  # the fused kernel keeps it
        return ((qkv_inputs + 3) * n * h * s + attention + context + attention_input_norm + rotary + window
                + distances
                + rows * (layer_norm + hidden_dropout * 2 * h * mask + h * s + ffn_acts * i * s))

    # the last layer only at the selected positions (BertForMaskedLM with labels), pre-LN's final norm too
    last = config.num_hidden_layers - 1
    layers = sum(layer(index, n) for index in range(last)) + layer(last, selected)
    final_norm = selected * layer_norm if config.pre_layer_norm else 0
    head = n + 2 * selected * 8 + (2 + acts) * selected * h * s + selected * v * (4 + s + 2 * 4)
    return embeddings + layers + final_norm + head
