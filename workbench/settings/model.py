"""The encoder's shape: `BertConfig` (HuggingFace's field names and meanings), the named size presets, and
`ModelSpec`, what a user chooses (a preset, fields that override it, the maximum length, pre- or post-LN).

A `ModelSpec` becomes a `BertConfig` once the tokenizer's vocabulary size is known (`spec.config(vocab_size)`);
its fields carry the same names as BertConfig's, so an error in either names the same setting.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass
from typing import Any

from workbench.settings.base import SettingError, Settings, setting

MIN_VOCAB = 5  # [PAD] [UNK] [CLS] [SEP] [MASK]
MIN_POSITIONS = 8
MAX_POSITIONS = 8192
HIDDEN_ACTS = ("gelu", "gelu_new", "relu")  # HF names: gelu is exact (erf), gelu_new the tanh approximation
POSITION_TYPES = ("absolute", "rope", "alibi")  # HF BertConfig's position_embedding_type, with rotary and ALiBi added
FEED_FORWARDS = ("mlp", "geglu", "swiglu")
GLU_SIZES = ("same-parameters", "same-width")
ARCHITECTURE = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size")

# Architecture fields only; vocab_size and max_position_embeddings come from the tokenizer and the data.
PRESETS: dict[str, dict[str, int]] = {
    "seed-demo": dict(num_hidden_layers=2, hidden_size=100, num_attention_heads=2, intermediate_size=400),
    "tiny": dict(num_hidden_layers=2, hidden_size=128, num_attention_heads=2, intermediate_size=512),
    "mini": dict(num_hidden_layers=4, hidden_size=192, num_attention_heads=3, intermediate_size=768),
    "small": dict(num_hidden_layers=4, hidden_size=256, num_attention_heads=4, intermediate_size=1024),
    "medium": dict(num_hidden_layers=8, hidden_size=512, num_attention_heads=8, intermediate_size=2048),
    "base": dict(num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072),
    "large": dict(num_hidden_layers=24, hidden_size=1024, num_attention_heads=16, intermediate_size=4096),
}

# The (vocab_size, max_len) each preset is sized for: seed-demo is the character-level model of the MLM tutorial it
# is named after, about 270,000 parameters (269,029) with its 29 symbols (26 letters, space, newline, [MASK]);
# base/large are BERT-base (109.5M) and BERT-large (335M).
PRESET_DEFAULT_SIZES: dict[str, tuple[int, int]] = {
    "seed-demo": (29, 128), "tiny": (8000, 128), "mini": (8000, 128), "small": (8000, 128),
    "medium": (16000, 256), "base": (30522, 512), "large": (30522, 512),
}

_LAYERS = "How many transformer blocks are stacked; more layers, a deeper model."
_HIDDEN = "The width of every token's vector inside the model."
_HEADS = "How many attention heads each layer has; it must divide the hidden size."
_FFN = "The width of each block's inner feed-forward layer, usually 4 x the hidden size."
_MAX_LEN = "The longest sequence, in tokens, the model reads at once (pretraining's sequence length)."
_POSITIONS = ("How the model knows word order: absolute learns one vector per position (BERT); rope rotates each "
              "head's queries and keys by their position (rotary, RoFormer/ModernBERT), so attention sees distances; alibi "
              "adds a penalty growing with the distance between two tokens to their attention score, one slope per "
              "head (ALiBi, Press et al. 2022, both directions as in MosaicBERT), with no position table.")
_ROPE_THETA = ("RoPE only: the base of the rotation frequencies in global-attention layers (ModernBERT's "
               "global_rope_theta, 160,000 there); a larger base suits longer texts.")
_LOCAL_ROPE_THETA = ("RoPE only: the base of the rotation frequencies in local (sliding-window) layers (ModernBERT's "
                     "local_rope_theta, 10,000 there).")
_FEED_FORWARD = ("The block's feed-forward: mlp is dense, activation, dense (BERT); geglu gates GELU(xW) by a second "
                 "projection xV (ModernBERT); swiglu gates SiLU(xW) the same way (LLaMA).")
_BIAS = ("Off: no bias in any linear layer or LayerNorm (Cramming, ModernBERT); the output layer's per-token "
         "bias stays.")
_LOCAL_ATTENTION = ("Sliding-window attention: a local layer's token sees only tokens at most half this many "
                    "positions away (ModernBERT's local_attention, 128); 0: every layer attends to the whole text.")
_GLOBAL_EVERY = ("With a window: the first layer and every k-th after it attend to the whole text, the others "
                 "locally (ModernBERT's global_attn_every_n_layers, 3); 0: every layer is local.")
_SEGMENTS = ("How many segment types (sentence A / B) the model tells apart; 0: no segment embeddings (DistilBERT, "
             "ModernBERT).")
_FIRST_NORM = ("Pre-LN only: off, the first layer reads the embeddings' LayerNorm output without a LayerNorm of "
               "its own (ModernBERT's layout).")
_PRE_LN = ("LayerNorm before each block, plus a final one (pre-LN): often steadier from scratch; off is the original "
           "BERT layout (post-LN).")


@dataclass(frozen=True)
class BertConfig(Settings):
    """The model's full shape, as HuggingFace's `BertConfig` names it (what a checkpoint's config.json holds)."""

    section = "model"

    vocab_size: int = setting(MISSING, "Vocabulary size: one embedding per token id (the tokenizer's).", "Vocabulary",
                              low=MIN_VOCAB)
    hidden_size: int = setting(256, _HIDDEN, "Hidden size", low=1)
    num_hidden_layers: int = setting(4, _LAYERS, "Layers", low=1)
    num_attention_heads: int = setting(4, _HEADS, "Attention heads", low=1)
    intermediate_size: int = setting(1024, _FFN, "Feed-forward size", low=1)
    max_position_embeddings: int = setting(128, _MAX_LEN, "Max length", low=MIN_POSITIONS)
    type_vocab_size: int = setting(2, _SEGMENTS, "Segment types", low=0, advanced=True)
    hidden_dropout_prob: float = setting(0.1, "While training, this share of values is zeroed at random to make the "
                                         "model generalise.", "Dropout", low=0.0, high=1.0, high_open=True)
    attention_probs_dropout_prob: float = setting(0.1, "Dropout on the attention weights while training.",
                                                  "Attention dropout", low=0.0, high=1.0, high_open=True, advanced=True)
    layer_norm_eps: float = setting(1e-12, "LayerNorm's small number that keeps a division finite.",
                                    "LayerNorm epsilon", low=0.0, low_open=True, high=1.0, high_open=True,
                                    advanced=True)
    initializer_range: float = setting(0.02, "The spread of the random starting weights.", "Initial spread",
                                       low=0.0, low_open=True, high=1.0, high_open=True, advanced=True)
    pad_token_id: int = setting(0, "The token id of padding.", "Padding id", low=0, advanced=True)
    pre_layer_norm: bool = setting(False, _PRE_LN, "Pre-LN", advanced=True)
    hidden_act: str = setting("gelu", "The feed-forward activation (HuggingFace's names: gelu is exact, gelu_new "
                              "the tanh approximation).", "Activation", choices=HIDDEN_ACTS, advanced=True)
    roberta_positions: bool = setting(False, "Position ids count only non-padding tokens and start after the padding "
                                      "id, as RoBERTa's do (so max length is max_position_embeddings - "
                                      "pad_token_id - 1).", "RoBERTa positions", advanced=True)
    is_decoder: bool = setting(False, "Each token attends only to itself and the tokens before it (a causal mask), "
                               "as a causal language model (CLM) reads; off, every token sees the whole sequence.",
                               "Causal attention")
    position_embedding_type: str = setting("absolute", _POSITIONS, "Positions", choices=POSITION_TYPES)
    rope_theta: float = setting(10000.0, _ROPE_THETA, "RoPE base", low=1.0, low_open=True)
    local_rope_theta: float = setting(10000.0, _LOCAL_ROPE_THETA, "Local RoPE base", low=1.0, low_open=True)
    feed_forward: str = setting("mlp", _FEED_FORWARD + " intermediate_size is the gated width I (the first dense "
                                "makes 2 x I).", "Feed-forward", choices=FEED_FORWARDS)
    linear_bias: bool = setting(True, "Biases in the linear layers (attention, feed-forward, the head's dense); "
                                "the output layer's per-token bias stays either way.", "Linear biases")
    norm_bias: bool = setting(True, "Biases (beta) in the LayerNorms.", "LayerNorm biases")
    local_attention: int = setting(0, _LOCAL_ATTENTION, "Local window", low=0, special="off")
    global_attn_every_n_layers: int = setting(3, _GLOBAL_EVERY, "Global every", low=0, special="never")
    first_attention_norm: bool = setting(True, _FIRST_NORM, "First attention LayerNorm")

    @property
    def max_length(self) -> int:
        """The longest input in tokens: RoBERTa's positions skip the ids up to and including the padding id."""
        return self.max_position_embeddings - (self.pad_token_id + 1 if self.roberta_positions else 0)

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def is_local_layer(self, index: int) -> bool:
        """Whether layer `index` (from 0) attends within the sliding window: ModernBERT's rule, global where
        index % global_attn_every_n_layers == 0."""
        every = self.global_attn_every_n_layers
        return self.local_attention > 0 and (every == 0 or index % every != 0)

    def check(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            divisors = [d for d in range(1, min(self.hidden_size, 64) + 1) if self.hidden_size % d == 0]
            raise SettingError("num_attention_heads", f"must divide the hidden size {self.hidden_size}, such as "
                               f"{divisors}; got {self.num_attention_heads}")
        if self.pad_token_id >= self.vocab_size:
            raise SettingError("pad_token_id", f"must be an id below the vocabulary size {self.vocab_size}; got "
                               f"{self.pad_token_id}")
        if self.position_embedding_type == "rope" and self.head_size % 2:
            raise SettingError("position_embedding_type", f"rope needs an even head size (hidden size / heads); "
                               f"got {self.head_size}")
        if self.position_embedding_type != "absolute" and self.roberta_positions:
            raise SettingError("roberta_positions", f"must be false with {self.position_embedding_type}: it numbers "
                               "a position table")
        if not self.first_attention_norm and not self.pre_layer_norm:
            raise SettingError("first_attention_norm", "can be off only with pre_layer_norm")


def preset_config(name: str, vocab_size: int, max_len: int, **overrides: Any) -> BertConfig:
    """The validated config of preset `name` for a vocabulary and a maximum sequence length;
    `overrides` set any other BertConfig field (e.g. pre_layer_norm=True, hidden_dropout_prob=0.0)."""
    if name not in PRESETS:
        raise SettingError("preset", f"must be one of {', '.join(PRESETS)}; got {name!r}")
    return BertConfig(**{**PRESETS[name], "vocab_size": vocab_size, "max_position_embeddings": max_len, **overrides})


@dataclass(frozen=True)
class ModelSpec(Settings):
    """What a user chooses: a preset, the fields that override it (None: the preset's), max length, and the
    architecture options (pre-LN, positions, feed-forward, biases, attention window)."""

    section = "model"

    preset: str = setting("tiny", "A named model size; its fields can be overridden one by one.", "Preset",
                          choices=tuple(PRESETS))
    num_hidden_layers: int | None = setting(None, _LAYERS, "Layers", flag="--layers", low=1, high=96,
                                            none="the preset's")
    hidden_size: int | None = setting(None, _HIDDEN, "Hidden size", flag="--hidden", low=1, high=8192, step=32,
                                      none="the preset's")
    num_attention_heads: int | None = setting(None, _HEADS, "Attention heads", flag="--heads", low=1, high=128,
                                              none="the preset's")
    intermediate_size: int | None = setting(None, _FFN, "Feed-forward size", flag="--ffn", low=1, high=32768,
                                            step=128, none="the preset's", advanced=True)
    max_position_embeddings: int = setting(128, _MAX_LEN, "Max length", flag="--max-len", low=MIN_POSITIONS,
                                           high=MAX_POSITIONS, step=8)
    pre_layer_norm: bool = setting(False, _PRE_LN, "Pre-LN", flag="--pre-ln", advanced=True)
    first_attention_norm: bool = setting(True, _FIRST_NORM, "First attention LayerNorm", advanced=True)
    type_vocab_size: int = setting(2, _SEGMENTS, "Segment types", flag="--segments", low=0, high=16, advanced=True)
    dropout: float = setting(0.1, "While training, this share of the hidden values and of the attention weights is "
                             "zeroed at random (BERT's 0.1); 0 lets a small model learn a small corpus' facts "
                             "faster.", "Dropout", low=0.0, high=1.0, high_open=True, advanced=True)
    position_embedding_type: str = setting("absolute", _POSITIONS, "Positions", flag="--positions",
                                           choices=POSITION_TYPES, advanced=True)
    rope_theta: float = setting(10000.0, _ROPE_THETA, "RoPE base", low=1.0, low_open=True, high=1e9, step=1000,
                                decimals=0, advanced=True)
    local_rope_theta: float = setting(10000.0, _LOCAL_ROPE_THETA, "Local RoPE base", low=1.0, low_open=True,
                                      high=1e9, step=1000, decimals=0, advanced=True)
    feed_forward: str = setting("mlp", _FEED_FORWARD, "Feed-forward", choices=FEED_FORWARDS, advanced=True)
    glu_size: str = setting("same-parameters", "GeGLU/SwiGLU only: same-parameters makes the gated width 2/3 of the "
                            "feed-forward size (rounded), so a block keeps about an MLP's parameter count; "
                            "same-width keeps the size, 1.5 x the feed-forward parameters.", "GLU size",
                            choices=GLU_SIZES, advanced=True)
    bias: bool = setting(True, _BIAS, "Biases", advanced=True)
    local_attention: int = setting(0, _LOCAL_ATTENTION, "Local window", low=0, high=MAX_POSITIONS, step=16,
                                   special="off", advanced=True)
    global_attn_every_n_layers: int = setting(3, _GLOBAL_EVERY, "Global every", low=0, high=96, special="never",
                                            advanced=True)

    def architecture(self) -> dict[str, int]:
        """The four architecture fields: the preset's, with this spec's overrides."""
        values = dict(PRESETS[self.preset])
        values.update({name: getattr(self, name) for name in ARCHITECTURE if getattr(self, name) is not None})
        return values

    def overrides(self) -> dict[str, int]:
        """The architecture fields that differ from the preset."""
        preset = PRESETS[self.preset]
        return {name: value for name, value in self.architecture().items() if value != preset[name]}

    def config(self, vocab_size: int) -> BertConfig:
        """The full model config for a tokenizer's vocabulary."""
        architecture = self.architecture()
        if self.feed_forward != "mlp" and self.glu_size == "same-parameters":
            # 2hI + I + h parameters in an MLP; 3hI' + 2I' + h in a GLU: I' = 2I/3 matches them (up to I/3)
            architecture["intermediate_size"] = max(1, round(architecture["intermediate_size"] * 2 / 3))
        return BertConfig(**architecture, vocab_size=vocab_size,
                          max_position_embeddings=self.max_position_embeddings, pre_layer_norm=self.pre_layer_norm,
                          hidden_dropout_prob=self.dropout, attention_probs_dropout_prob=self.dropout,
                          position_embedding_type=self.position_embedding_type, rope_theta=self.rope_theta,
                          local_rope_theta=self.local_rope_theta, feed_forward=self.feed_forward,
                          linear_bias=self.bias, norm_bias=self.bias, local_attention=self.local_attention,
                          global_attn_every_n_layers=self.global_attn_every_n_layers,
                          first_attention_norm=self.first_attention_norm or not self.pre_layer_norm,  # pre-LN only
                          type_vocab_size=self.type_vocab_size)

    def check(self) -> None:
        self.config(vocab_size=max(self.max_position_embeddings, 1000))  # the shape's own rules, before any vocab
