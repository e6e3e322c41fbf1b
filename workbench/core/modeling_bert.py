"""A BERT encoder with its masked-language-model head in plain PyTorch, small enough to read in one sitting.

Module and parameter names equal HuggingFace `BertForMaskedLM`'s, one to one (`bert.embeddings.*`,
`bert.encoder.layer.{i}.attention.self.query.*`, ..., `cls.predictions.*`), so HF checkpoints load with
`load_state_dict` and ours export to HF. The decoder weight is tied to the word embeddings and the decoder
bias is `cls.predictions.bias`, as in HF. Attention without dropout uses `F.scaled_dot_product_attention`
(fused kernels, no (T, T) matrix kept); with attention dropout (PyTorch's CPU kernel has no fused path for it)
or `output_attentions=True` it is computed explicitly. Dropout draws its random mask more cheaply than
PyTorch's CPU dropout (`Dropout`), and packed blocks without padding build no attention mask at all.
With `labels`, only the positions to predict (labels != -100) go through the vocabulary projection, which
is most of the head's compute and memory at 15% masking, and through the last layer after its attention
(every position is still a key and value there): the loss reads nothing else. `is_decoder=True` (HF's name) adds a causal mask: position t attends to positions 0..t only, for causal
language modelling (CLM) on the same encoder. `pre_layer_norm=True` moves
each LayerNorm before its sub-block (same names: `attention.output.LayerNorm` then normalises the
attention's input) and adds `bert.encoder.final_layer_norm`; the default is BERT's post-LN.
A `HeadMask` switches attention heads off for probing (ablation) without touching a weight: HF's `head_mask`
(a head's context vectors scaled by 0) or their mean over the sequence's real tokens.

Architecture options (BertConfig; the defaults are BERT's, with BERT's names and shapes; docs/architecture-options.md
has the formulas): rotary positions (`position_embedding_type="rope"`: no position table, queries and keys rotated
by position, HF's rotate-half layout), a gated feed-forward (`feed_forward="geglu"|"swiglu"`: `intermediate.dense`
makes 2 x I, the first half activated, the second its gate, as ModernBERT's `Wi`), no biases (`linear_bias`,
`norm_bias`; the decoder's per-token bias stays), and sliding-window attention (`local_attention`, global every
`global_attn_every_n_layers`-th layer, ModernBERT's rule). ALiBi (`position_embedding_type="alibi"`, Press et al.
2022, as MosaicBERT uses it) has no position table either: each head adds -slope * |i - j| to the score of query i
for key j, both directions alike for an encoder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from workbench.settings.model import BertConfig

ACT2FN = {"gelu": F.gelu, "gelu_new": partial(F.gelu, approximate="tanh"), "relu": F.relu}  # gelu: exact erf
GLU_ACTS = {"geglu": F.gelu, "swiglu": F.silu}  # the activation a gated feed-forward applies before its gate


def linear(config: BertConfig, in_features: int, out_features: int) -> nn.Linear:
    return nn.Linear(in_features, out_features, bias=config.linear_bias)


def layer_norm(config: BertConfig) -> nn.LayerNorm:
    return nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps, bias=config.norm_bias)


@dataclass
class BaseModelOutput:
    last_hidden_state: torch.Tensor  # (B, T, H)
    hidden_states: tuple[torch.Tensor, ...] | None = None  # embeddings + each layer, (B, T, H) each
    attentions: tuple[torch.Tensor, ...] | None = None  # one (B, A, T, T) per layer


@dataclass
class MaskedLMOutput:
    loss: torch.Tensor | None  # scalar, mean cross-entropy over the labelled positions
    logits: torch.Tensor  # (N_selected, V) with labels, (B, T, V) without
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


HEAD_MASK_MODES = ("zero", "mean")


@dataclass(frozen=True)
class HeadMask:
    """Attention heads switched off, for probing. `keep` is (L, A), or (B, L, A) for one choice per sequence:
    1 where a head works as trained, 0 where it is off. "zero" scales an off head's context vectors (its output
    before the layer's output projection) by `keep`, which is HF's `head_mask` (there it scales the attention
    probabilities, the same by linearity); "mean" moves them towards their mean over the sequence's real tokens
    instead (mean ablation: the head still adds its average, but nothing that depends on the position).
    The attention probabilities returned with output_attentions are the head's own, unscaled."""

    keep: torch.Tensor
    mode: Literal["zero", "mean"] = "zero"

    def __post_init__(self) -> None:
        if self.mode not in HEAD_MASK_MODES:
            raise ValueError(f"head mask mode must be one of {', '.join(HEAD_MASK_MODES)}; got {self.mode!r}")
        if self.keep.dim() not in (2, 3):
            raise ValueError(f"head mask must be (layers, heads) or (batch, layers, heads); "
                             f"got {tuple(self.keep.shape)}")

    def layer(self, index: int) -> torch.Tensor:
        """Layer `index`'s keep factors as (B or 1, A, 1, 1), to scale a (B, A, T, hs) context."""
        keep = self.keep if self.keep.dim() == 3 else self.keep[None]  # (B|1, L, A)
        return keep[:, index, :, None, None]

    def apply(self, index: int, context: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        """Layer `index`'s context (B, A, T, hs) with its off heads zeroed or replaced by their mean."""
        keep = self.layer(index).to(context.dtype)
        if self.mode == "zero":
            return context * keep
        if key_mask is None:
            fill = context.mean(dim=2, keepdim=True)  # (B, A, 1, hs)
        else:
            # the last query's row: a causal mask's last row allows every real token, as a padding mask's does
            real = key_mask[..., -1:, :].transpose(-1, -2).to(context.dtype)  # (B, 1, T, 1): 1 at real tokens
            fill = (context * real).sum(dim=2, keepdim=True) / real.sum(dim=2, keepdim=True).clamp_min(1)
        return torch.lerp(fill, context, keep)  # exact at both ends: a kept head's context is untouched


class BertEmbeddings(nn.Module):
    """Word + position (+ segment) embeddings. `type_vocab_size=0` has no segment embeddings (DistilBERT's
    layout: token_type_ids are ignored); `roberta_positions` numbers positions as RoBERTa does; rotary
    positions (RoPE) have no table here: attention rotates queries and keys instead."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size) \
            if config.position_embedding_type == "absolute" else None  # rope and alibi act in attention
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size) \
            if config.type_vocab_size else None
        self.LayerNorm = layer_norm(config)
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.padding_idx = config.pad_token_id if config.roberta_positions else None
        self.max_length = config.max_length

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None) -> torch.Tensor:
        seq_len = input_ids.shape[1]
        if seq_len > self.max_length:
            raise ValueError(f"sequence length {seq_len} exceeds the model's maximum length {self.max_length} "
                             f"(max_position_embeddings)")
        x = self.word_embeddings(input_ids)  # (B, T, H)
        if self.position_embeddings is not None:
            if position_ids is None:
                position_ids = torch.arange(seq_len, device=input_ids.device) if self.padding_idx is None \
                    else roberta_position_ids(input_ids, self.padding_idx)  # (T,) broadcasts over B, or (B, T)
            x = x + self.position_embeddings(position_ids)
        if self.token_type_embeddings is not None:
            if token_type_ids is None or self.token_type_embeddings.num_embeddings == 1:
                # a one-segment model (RoBERTa) reads a pair as one segment, as its tokenizer's all-zero ids say
                token_type_ids = torch.zeros_like(input_ids)
            x = x + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))


def roberta_position_ids(input_ids: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """RoBERTa's positions (B, T): padding_idx + 1, + 2, ... over the non-padding tokens, padding_idx at padding
    (HF's create_position_ids_from_input_ids), so a padded sequence's tokens get the positions they have unpadded."""
    mask = input_ids.ne(padding_idx).int()  # (B, T)
    return torch.cumsum(mask, dim=1) * mask + padding_idx


class Dropout(nn.Module):
    """nn.Dropout with a cheaper random mask on CPU (HF's `dropout` module names are kept).

    PyTorch's CPU dropout draws a Bernoulli per element, about a quarter of a `tiny` training step; here one
    64-bit draw of the default generator gives four 16-bit uniforms, so an element is dropped with
    probability round(p * 2**16) / 2**16 (0.100006 for 0.1) and the survivors are scaled by the inverse
    of its complement. Seeded by torch.manual_seed and checkpointed with its state, like nn.Dropout.
    Other devices use the fused F.dropout.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, True)
        threshold = round(self.p * 65536)  # drop where a uniform 16-bit number is below it
        n_words = -(-x.numel() // 4)  # four 16-bit numbers per 64-bit draw
        bits = torch.empty(n_words, dtype=torch.int64).random_(-2**63, None)  # full 64-bit range
        uniform = bits.view(torch.int16)[:x.numel()].view(x.shape)  # signed: -32768 .. 32767
        scale = 65536 / (65536 - threshold)
        # the kept elements' scale or 0, in x's dtype; comparing into a float buffer and scaling it in place is
        # 3-7x cheaper here than torch.where with scalars (which fills full-size tensors) and gives equal values
        mask = torch.empty_like(x)  # (x.shape)
        torch.ge(uniform, threshold - 32768, out=mask)
        return x * mask.mul_(scale)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoPE, Su et al. 2021) in HF's rotate-half layout: dimension pair (j, j + hs/2)
    of a head turns by the angle position * theta^(-2j/hs). A query at position m and a key at n then score
    q R(m)^T R(n) k = q R(n - m) k: attention sees their distance, not where they are. No parameters; the
    frequencies are a buffer outside the state dict."""

    def __init__(self, head_size: int, theta: float) -> None:
        super().__init__()
        inv_freq = 1.0 / theta ** (torch.arange(0, head_size, 2, dtype=torch.float) / head_size)  # (hs/2,)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, q: torch.Tensor, k: torch.Tensor, position_ids: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """q, k: (B, A, T, hs); position_ids: (T,) or (B, T). Both rotated, in their dtype (rotated in fp32)."""
        angles = position_ids[..., None].float() * self.inv_freq  # (T, hs/2) or (B, T, hs/2)
        angles = torch.cat((angles, angles), dim=-1)
        if angles.dim() == 3:
            angles = angles[:, None]  # (B, 1, T, hs): the same for every head
        cos, sin = angles.cos(), angles.sin()
        return _rotate(q, cos, sin), _rotate(k, cos, sin)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (..., hs) turned pair by pair: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin), x1/x2 its two halves."""
    x32 = x.float()
    half = x.shape[-1] // 2
    rotated_half = torch.cat((-x32[..., half:], x32[..., :half]), dim=-1)  # (-x2, x1)
    return (x32 * cos + rotated_half * sin).to(x.dtype)


def alibi_slopes(num_heads: int) -> torch.Tensor:
    """ALiBi's per-head slopes (Press et al. 2022): for n heads, n a power of two, the geometric sequence
    2^(-8/n), 2^(-16/n), ..., 2^(-8); otherwise those of the power of two c just below n, then every other slope
    of 2c (the ones that fall between c's) until there are n, the paper's rule for other head counts."""
    def geometric(n: int) -> list[float]:
        return [2.0 ** (-8.0 * (i + 1) / n) for i in range(n)]

    c = 2 ** math.floor(math.log2(num_heads))
    return torch.tensor(geometric(c) + geometric(2 * c)[0::2][:num_heads - c])  # (A,)


class ALiBi(nn.Module):
    """Attention with linear biases: the score of query i for key j is lowered by slope_h * |p_i - p_j| (p the
    positions), so nearer tokens weigh more and no position vector is learned; symmetric in i and j, as
    MosaicBERT uses it in an encoder. No parameters; the slopes are a buffer outside the state dict."""

    def __init__(self, num_heads: int) -> None:
        super().__init__()
        self.register_buffer("slopes", alibi_slopes(num_heads), persistent=False)

    def forward(self, position_ids: torch.Tensor) -> torch.Tensor:
        """position_ids: (T,) or (B, T). The additive bias (1, A, T, T) or (B, A, T, T), in fp32."""
        positions = position_ids.float()
        distance = (positions[..., :, None] - positions[..., None, :]).abs()  # (T, T) or (B, T, T)
        if distance.dim() == 2:
            distance = distance[None]
        return -self.slopes[None, :, None, None] * distance[:, None]  # (B|1, A, T, T)


class BertSelfAttention(nn.Module):
    """Multi-head self-attention: `F.scaled_dot_product_attention` (fused, no (T, T) matrix kept), with its own
    attention dropout on a GPU. Two cases run the explicit softmax instead: probabilities to return, and dropout
    on the CPU, where PyTorch's kernel would fall back to an unfused path anyway and the cheaper `Dropout` wins
    (on an H200 the explicit path made BERT-base bf16 training 0.74x Hugging Face's, bench/gpu_check.py)."""

    def __init__(self, config: BertConfig, index: int = 0) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_size = config.head_size
        self.query = linear(config, config.hidden_size, config.hidden_size)
        self.key = linear(config, config.hidden_size, config.hidden_size)
        self.value = linear(config, config.hidden_size, config.hidden_size)
        self.dropout = Dropout(config.attention_probs_dropout_prob)
        local = config.is_local_layer(index)
        # a local layer's query sees keys at most `window` positions away on either side (ModernBERT's
        # local_attention // 2); None: every key
        self.window = config.local_attention // 2 if local else None
        self.rotary = None if config.position_embedding_type != "rope" else \
            RotaryEmbedding(self.head_size, config.local_rope_theta if local else config.rope_theta)
        self.alibi = ALiBi(self.num_heads) if config.position_embedding_type == "alibi" else None

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None, output_attentions: bool = False,
                head_mask: HeadMask | None = None, layer_index: int = 0,
                position_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (B, T, H); key_mask: (B, 1, 1, T) bool, True where a key may be attended to, (B, 1, T, T) with a
        causal mask, or None (no padding); position_ids: (T,) or (B, T), RoPE's or ALiBi's positions (None: 0..T-1).
        Returns the context (B, T, H) and, if asked, the attention probabilities (B, A, T, T)."""
        B, T, H = x.shape
        q, k, v = self._project(x)  # (B, A, T, hs) each
        if self.rotary is not None:
            position_ids = torch.arange(T, device=x.device) if position_ids is None else position_ids
            q, k = self.rotary(q, k, position_ids)
        mask = key_mask  # (B, 1, 1, T), (B|1, 1, T, T) causal, or None
        if self.window is not None:
            index = torch.arange(T, device=x.device)
            band = (index[:, None] - index[None, :]).abs() <= self.window  # (T, T): query row, key column
            mask = band if key_mask is None else key_mask & band  # (B|1, 1, T, T) as it broadcasts
        if self.alibi is not None:
            distances = self.alibi(torch.arange(T, device=x.device) if position_ids is None else position_ids)
            bias = alibi_mask(distances, mask, q.dtype)  # (B|1, A, T, T)
        else:
            bias = None if mask is None else additive_mask(mask, q.dtype)
        dropout = self.dropout.p if self.training else 0.0
        probs = None
        if output_attentions or (dropout > 0.0 and x.device.type == "cpu"):
            scores = (q * (1.0 / math.sqrt(self.head_size))) @ k.transpose(-2, -1)  # (B, A, T, T)
            if bias is not None:
                scores = scores + bias
            probs = scores.float().softmax(dim=-1).to(q.dtype)  # fp32 softmax under autocast too
            context = self.dropout(probs) @ v  # (B, A, T, hs)
        else:
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)
        if head_mask is not None:
            context = head_mask.apply(layer_index, context, key_mask)  # (B, A, T, hs)
        return context.transpose(1, 2).reshape(B, T, H), probs if output_attentions else None

    def _project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # Three matmuls, not one on concatenated weights: bench/levers.py measured that at 0.96-1.01x here.
        B, T, _ = x.shape
        return tuple(proj(x).view(B, T, self.num_heads, self.head_size).transpose(1, 2)  # (B, A, T, hs)
                     for proj in (self.query, self.key, self.value))


def additive_mask(key_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """0 where a key may be attended to, the dtype's most negative number where not. Not a boolean mask
    or -inf: a row whose keys are all padding stays finite (uniform) instead of NaN; the dtype follows
    the queries' so autocast and the fused kernels accept it."""
    bias = torch.zeros(key_mask.shape, dtype=dtype, device=key_mask.device)
    return bias.masked_fill_(~key_mask, torch.finfo(dtype).min)


def alibi_mask(distances: torch.Tensor, key_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """ALiBi's biases (B|1, A, T, T) where a key may be attended to, the dtype's most negative number where not
    (set, not added, so it stays finite as `additive_mask`'s does)."""
    bias = distances.to(dtype)
    if key_mask is None:
        return bias
    return torch.where(key_mask, bias, torch.tensor(torch.finfo(dtype).min, dtype=dtype, device=bias.device))


class BertResidualOutput(nn.Module):
    """Projection back to hidden size, dropout, residual and LayerNorm: HF's BertSelfOutput
    (`attention.output`) and BertOutput (`output`), which differ only in the input width."""

    def __init__(self, config: BertConfig, in_features: int, norm: bool = True) -> None:
        super().__init__()
        self.dense = linear(config, in_features, config.hidden_size)
        # pre-LN only can go without (first_attention_norm=False: the embeddings' LayerNorm already normalised)
        self.LayerNorm = layer_norm(config) if norm else None
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.pre_layer_norm = config.pre_layer_norm

    def normalize_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the sub-block reads: pre-LN normalises the residual stream here, post-LN passes it on."""
        return self.LayerNorm(x) if self.pre_layer_norm and self.LayerNorm is not None else x

    def forward(self, h: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        h = self.dropout(self.dense(h))  # (B, T, H)
        return residual + h if self.pre_layer_norm else self.LayerNorm(residual + h)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig, index: int = 0) -> None:
        super().__init__()
        self.self = BertSelfAttention(config, index)
        self.output = BertResidualOutput(config, config.hidden_size, norm=index > 0 or config.first_attention_norm)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None, output_attentions: bool,
                rows: torch.Tensor | None = None, head_mask: HeadMask | None = None,
                layer_index: int = 0, position_ids: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (B, T, H). With `rows` ((B, T) bool), every position still serves as a key and value, but only
        the N selected ones go on: the output is (N, H), row-major."""
        context, probs = self.self(self.output.normalize_input(x), key_mask, output_attentions, head_mask, layer_index,
                                   position_ids)
        if rows is not None:
            context, x = context[rows], x[rows]  # (N, H) each
        return self.output(context, x), probs


class BertIntermediate(nn.Module):
    """The feed-forward's first half: act(x W) (BERT's MLP), or act(x W) * (x V) (GeGLU, SwiGLU), W and V the
    two halves of one dense layer's output, as ModernBERT's `Wi`."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.gated = config.feed_forward != "mlp"
        width = 2 * config.intermediate_size if self.gated else config.intermediate_size
        self.dense = linear(config, config.hidden_size, width)
        self.intermediate_act_fn = GLU_ACTS[config.feed_forward] if self.gated else ACT2FN[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.gated:
            return self.intermediate_act_fn(self.dense(x))  # (B, T, I)
        h, gate = self.dense(x).chunk(2, dim=-1)  # (B, T, I) each
        return self.intermediate_act_fn(h) * gate  # (B, T, I)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig, index: int = 0) -> None:
        super().__init__()
        self.attention = BertAttention(config, index)
        self.intermediate = BertIntermediate(config)
        self.output = BertResidualOutput(config, config.intermediate_size)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None, output_attentions: bool,
                rows: torch.Tensor | None = None, head_mask: HeadMask | None = None,
                layer_index: int = 0, position_ids: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x, probs = self.attention(x, key_mask, output_attentions, rows, head_mask, layer_index,
                                  position_ids)  # (B, T, H) or (N, H)
        return self.output(self.intermediate(self.output.normalize_input(x)), x), probs


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config, i) for i in range(config.num_hidden_layers))
        # Pre-LN leaves the residual stream unnormalised; this normalises what the head reads.
        self.final_layer_norm = layer_norm(config) if config.pre_layer_norm else None

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None, output_attentions: bool,
                output_hidden_states: bool, rows: torch.Tensor | None = None, head_mask: HeadMask | None = None,
                first_layer: int = 0, position_ids: torch.Tensor | None = None) -> BaseModelOutput:
        """With `rows` ((B, T) bool), the last layer computes its outputs only there: (N, H). With `first_layer`,
        x is what enters that layer and the layers before it are skipped (hidden_states and attentions then
        start there): head ablation reruns only the layers from the one whose head is off."""
        if rows is not None and output_hidden_states:
            raise ValueError("rows and output_hidden_states exclude each other: the last layer is partial")
        hidden_states, attentions = [x], []
        last = len(self.layer) - 1
        for i in range(first_layer, len(self.layer)):
            x, probs = self.layer[i](x, key_mask, output_attentions, rows if i == last else None, head_mask, i,
                                     position_ids)
            hidden_states.append(x)
            attentions.append(probs)
        if self.final_layer_norm is not None:
            x = hidden_states[-1] = self.final_layer_norm(x)  # as GPT-2: the last entry is normalised
        return BaseModelOutput(x, tuple(hidden_states) if output_hidden_states else None,
                               tuple(attentions) if output_attentions else None)


class BertModel(nn.Module):
    """The encoder without a head (HF's BertModel with add_pooling_layer=False)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.is_decoder = config.is_decoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                rows: torch.Tensor | None = None, head_mask: HeadMask | None = None) -> BaseModelOutput:
        """input_ids: (B, T); attention_mask: (B, T), 1 for tokens, 0 for padding. last_hidden_state is
        (B, T, H), or (N, H) at the N positions where `rows` ((B, T) bool) is True, row-major."""
        x = self.embeddings(input_ids, token_type_ids, position_ids)
        key_mask = attention_key_mask(attention_mask, input_ids.shape[1], self.is_decoder, input_ids.device)
        return self.encoder(x, key_mask, output_attentions, output_hidden_states, rows, head_mask,
                            position_ids=position_ids)


def attention_key_mask(attention_mask: torch.Tensor | None, seq_len: int, is_decoder: bool,
                       device: torch.device) -> torch.Tensor | None:
    """What the encoder's attention may read: (B, 1, 1, T) True at real tokens, (B or 1, 1, T, T) with a causal
    mask (query t reads keys 0..t), or None (every key, every query). attention_mask: (B, T), 1 for tokens."""
    key_mask = None if attention_mask is None else attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T)
    if key_mask is not None and key_mask.device.type == "cpu" and not torch.compiler.is_compiling() \
            and bool(key_mask.all()):  # (a data-dependent branch would break a compiled graph)
        key_mask = None  # packed blocks have no padding: no mask to build, and SDPA's fastest kernel
    if is_decoder:
        causal = torch.ones(seq_len, seq_len, dtype=torch.bool, device=device).tril()[None, None]  # (1, 1, T, T)
        key_mask = causal if key_mask is None else key_mask & causal  # (B, 1, T, T)
    return key_mask


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = linear(config, config.hidden_size, config.hidden_size)
        self.transform_act_fn = ACT2FN[config.hidden_act]
        self.LayerNorm = layer_norm(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias  # one tensor under both HF names

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(x))  # (..., H) -> (..., V)


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.predictions(x)


class BertForMaskedLM(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = BertModel(config)
        self.cls = BertOnlyMLMHead(config)
        self.apply(self._init_weights)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def for_training(self, device: torch.device) -> BertForMaskedLM:
        """This model moved to `device`, its tied matrix's lookup gradient chosen for it. On the CPU the lookup's
        gradient goes as (rows, values): the decoder's dense (V, H) gradient of the same matrix always joins it
        (every forward here runs the head), so the sum is dense for the optimizer, and no (V, H) zeros are
        filled and added per step (bench/levers.py: 1.03-1.08x on the BERT-base shape). On a GPU the dense
        lookup is faster (1.22x on BERT-base bf16 on an H200, bench/gpu_check.py's levers section)."""
        self.bert.embeddings.word_embeddings.sparse = device.type == "cpu"
        return self.to(device)

    def _init_weights(self, module: nn.Module) -> None:
        """HF's initialisation: N(0, initializer_range) weights, zero biases, the padding row zero."""
        std = self.config.initializer_range
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
        if isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, output_attentions: bool = False,
                output_hidden_states: bool = False, head_mask: HeadMask | None = None) -> MaskedLMOutput:
        """input_ids, attention_mask, token_type_ids, labels: (B, T); labels are -100 where nothing is
        predicted. With labels, logits are (N, V) for the N labelled positions in row-major order."""
        selected = None if labels is None else labels != -100  # (B, T)
        # The loss reads the last layer only where it predicts, so there that layer's attention output and
        # feed-forward run on those N rows alone: the same loss and gradients with about 70% less of the
        # layer's work at 15% masking (bench/levers.py), unless every position's hidden state is asked for.
        rows = None if output_hidden_states else selected
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, rows, head_mask)
        if selected is None:
            return MaskedLMOutput(None, self.cls(out.last_hidden_state), out.hidden_states, out.attentions)
        if rows is None:
            logits = self.logits_at(out.last_hidden_state, selected)  # (N, V)
        else:
            logits = self.cls(out.last_hidden_state)  # the last layer's output is already the N rows
        # Sum / max(N, 1) rather than a mean: a batch with nothing to predict gives 0 (with a grad), not NaN.
        loss = F.cross_entropy(logits, labels[selected], reduction="sum") / selected.sum().clamp(min=1)
        return MaskedLMOutput(loss, logits, out.hidden_states, out.attentions)

    def logits_at(self, hidden_states: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits (N, V) at the N positions where `selected` (B, T) is True, row-major;
        hidden_states: (B, T, H). Probing [MASK] positions goes through here too."""
        return self.cls(hidden_states[selected])  # (N, H) -> (N, V)
