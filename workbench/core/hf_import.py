"""A Hugging Face masked-LM folder read into the workbench's own encoder, without `transformers`.

`BertForMaskedLM`, `RobertaForMaskedLM` (and `XLMRobertaForMaskedLM`), `DistilBertForMaskedLM` and
`ModernBertForMaskedLM` map onto `BertForMaskedLM` here: their `config.json` becomes a `BertConfig` (RoBERTa:
`roberta_positions`; DistilBERT: no segment embeddings; ModernBERT: pre-LN without the first attention norm,
RoPE, GeGLU, no biases, sliding-window layers) and their weight names become ours, one to one (ModernBERT's
fused `Wqkv` is cut into query, key and value). Weights come from `model.safetensors`,
sharded safetensors with `model.safetensors.index.json`, or `pytorch_model.bin` read with
`torch.load(weights_only=True)` only: a pickle that needs more is refused, never run. Every problem is an
`HFImportError` with one line that names the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.settings.base import SettingError
from workbench.settings.model import BertConfig

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE_FILE = "pytorch_model.bin"
MAX_HEADER_BYTES = 100_000_000  # safetensors' own cap on a header
FAMILIES = {"BertForMaskedLM": "bert", "RobertaForMaskedLM": "roberta", "XLMRobertaForMaskedLM": "roberta",
            "CamembertForMaskedLM": "roberta", "DistilBertForMaskedLM": "distilbert",
            "ModernBertForMaskedLM": "modernbert"}
MODEL_TYPES = {"bert": "BertForMaskedLM", "roberta": "RobertaForMaskedLM", "xlm-roberta": "XLMRobertaForMaskedLM",
               "camembert": "CamembertForMaskedLM", "distilbert": "DistilBertForMaskedLM",
               "modernbert": "ModernBertForMaskedLM"}
# Weights HF itself drops when it loads a masked LM: buffers, the pooler and NSP head of BertForPreTraining
# checkpoints, and the decoder tied to the embeddings.
IGNORED = re.compile(r".*position_ids$|^(bert|roberta)\.pooler\..*|^cls\.seq_relationship\..*"
                     r"|^cls\.predictions\.decoder\..*|^lm_head\.decoder\..*|^vocab_projector\.weight$"
                     r"|^decoder\.weight$")
DISTIL_LAYER = {"attention.q_lin": "attention.self.query", "attention.k_lin": "attention.self.key",
                "attention.v_lin": "attention.self.value", "attention.out_lin": "attention.output.dense",
                "sa_layer_norm": "attention.output.LayerNorm", "ffn.lin1": "intermediate.dense",
                "ffn.lin2": "output.dense", "output_layer_norm": "output.LayerNorm"}
HEAD_NAMES = {"roberta": {"lm_head.dense": "cls.predictions.transform.dense",
                          "lm_head.layer_norm": "cls.predictions.transform.LayerNorm",
                          "lm_head.bias": "cls.predictions.bias"},
              "distilbert": {"vocab_transform": "cls.predictions.transform.dense",
                             "vocab_layer_norm": "cls.predictions.transform.LayerNorm",
                             "vocab_projector.bias": "cls.predictions.bias"},
              "modernbert": {"head.dense": "cls.predictions.transform.dense",
                             "head.norm": "cls.predictions.transform.LayerNorm", "decoder.bias": "cls.predictions.bias",
                             "model.embeddings.tok_embeddings": "bert.embeddings.word_embeddings",
                             "model.embeddings.norm": "bert.embeddings.LayerNorm",
                             "model.final_norm": "bert.encoder.final_layer_norm"}}
MODERNBERT_LAYER = {"attn_norm": "attention.output.LayerNorm", "attn.Wq": "attention.self.query",
                    "attn.Wk": "attention.self.key", "attn.Wv": "attention.self.value",
                    "attn.Wo": "attention.output.dense", "mlp_norm": "output.LayerNorm", "mlp.Wi": "intermediate.dense",
                    "mlp.Wo": "output.dense"}
MODERNBERT_GLU = {"gelu": "geglu", "silu": "swiglu"}  # hidden_activation -> our gated feed-forward


class HFImportError(ValueError):
    """A folder that cannot be imported; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class HFModel:
    """An imported model: our encoder with the folder's weights, its architecture and where the weights came from."""

    model: BertForMaskedLM
    architecture: str
    family: str  # bert | roberta | distilbert | modernbert
    hf_config: dict[str, Any]
    weight_files: tuple[Path, ...]
    sha256: str  # of the weight files, in order


def read_hf_config(folder: Path) -> tuple[str, dict[str, Any]]:
    """The folder's architecture name and its config.json; an unsupported architecture is refused."""
    path = Path(folder) / CONFIG_FILE
    if not Path(folder).is_dir():
        raise HFImportError(f"{folder} is not a folder")
    if not path.is_file():
        raise HFImportError(f"{folder} has no {CONFIG_FILE}; a Hugging Face model folder holds one")
    try:
        hf_config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HFImportError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(hf_config, dict):
        raise HFImportError(f"{path} does not hold a JSON object")
    architecture = architecture_of(hf_config)
    if architecture not in FAMILIES:
        raise HFImportError(f"{path}: architecture {architecture} is not supported; the supported ones are "
                            f"{', '.join(FAMILIES)}")
    return architecture, hf_config


def architecture_of(hf_config: dict[str, Any]) -> str:
    """The architecture a config names: its first `architectures` entry, else the one its `model_type` implies."""
    architectures = hf_config.get("architectures") or [MODEL_TYPES.get(hf_config.get("model_type", ""), "")]
    return architectures[0] or f"model_type {hf_config.get('model_type')!r}"


def bert_config(family: str, hf: dict[str, Any]) -> BertConfig:
    """Our config for an HF config of `family`; what our encoder cannot express is refused."""
    if not hf.get("tie_word_embeddings", True):
        raise HFImportError("config.json: tie_word_embeddings is false; only tied decoders are supported")
    try:
        if family == "distilbert":
            if hf.get("sinusoidal_pos_embds"):
                raise HFImportError("config.json: sinusoidal_pos_embds is not supported")
            return BertConfig(vocab_size=hf["vocab_size"], hidden_size=hf["dim"], num_hidden_layers=hf["n_layers"],
                              num_attention_heads=hf["n_heads"], intermediate_size=hf["hidden_dim"],
                              max_position_embeddings=hf["max_position_embeddings"], type_vocab_size=0,
                              hidden_dropout_prob=hf.get("dropout", 0.1),
                              attention_probs_dropout_prob=hf.get("attention_dropout", 0.1), layer_norm_eps=1e-12,
                              initializer_range=hf.get("initializer_range", 0.02),
                              pad_token_id=hf.get("pad_token_id") or 0, hidden_act=hf.get("activation", "gelu"))
        if family == "modernbert":
            return modernbert_config(hf)
        position_type = hf.get("position_embedding_type", "absolute")
        if position_type != "absolute":
            raise HFImportError(f"config.json: position_embedding_type {position_type!r} is not supported "
                                f"(only 'absolute')")
        return BertConfig(vocab_size=hf["vocab_size"], hidden_size=hf["hidden_size"],
                          num_hidden_layers=hf["num_hidden_layers"], num_attention_heads=hf["num_attention_heads"],
                          intermediate_size=hf["intermediate_size"],
                          max_position_embeddings=hf["max_position_embeddings"],
                          type_vocab_size=hf.get("type_vocab_size", 2),
                          hidden_dropout_prob=hf.get("hidden_dropout_prob", 0.1),
                          attention_probs_dropout_prob=hf.get("attention_probs_dropout_prob", 0.1),
                          layer_norm_eps=hf.get("layer_norm_eps", 1e-12),
                          initializer_range=hf.get("initializer_range", 0.02),
                          pad_token_id=hf.get("pad_token_id") or 0, hidden_act=hf.get("hidden_act", "gelu"),
                          roberta_positions=family == "roberta")
    except KeyError as error:
        raise HFImportError(f"config.json lacks {error.args[0]!r}") from None
    except SettingError as error:
        raise HFImportError(f"config.json: {error}") from None


def modernbert_config(hf: dict[str, Any]) -> BertConfig:
    """Our config for a ModernBERT config.json (old and new spellings of its attention pattern and RoPE bases)."""
    layers = hf["num_hidden_layers"]
    every = _global_every(hf, layers)
    thetas = {"full_attention": hf.get("global_rope_theta", 160_000.0),
              "sliding_attention": hf.get("local_rope_theta", 10_000.0)}
    for kind, parameters in (hf.get("rope_parameters") or {}).items():
        if parameters.get("rope_type", "default") != "default":
            raise HFImportError(f"config.json: rope_type {parameters['rope_type']!r} is not supported (only default)")
        thetas[kind] = parameters.get("rope_theta", thetas.get(kind))
    linear_biases = {hf.get(key, False) for key in ("attention_bias", "mlp_bias", "classifier_bias")}
    if len(linear_biases) > 1:
        raise HFImportError("config.json: attention_bias, mlp_bias and classifier_bias differ; only all or none "
                            "are supported")
    if not hf.get("decoder_bias", True):
        raise HFImportError("config.json: decoder_bias false is not supported (the decoder keeps its bias)")
    activation = hf.get("hidden_activation", "gelu")
    if activation not in MODERNBERT_GLU:
        raise HFImportError(f"config.json: hidden_activation {activation!r} is not supported (gelu or silu)")
    return BertConfig(vocab_size=hf["vocab_size"], hidden_size=hf["hidden_size"], num_hidden_layers=layers,
                      num_attention_heads=hf["num_attention_heads"], intermediate_size=hf["intermediate_size"],
                      max_position_embeddings=hf["max_position_embeddings"], type_vocab_size=0,
                      hidden_dropout_prob=hf.get("mlp_dropout", 0.0),
                      attention_probs_dropout_prob=hf.get("attention_dropout", 0.0),
                      layer_norm_eps=hf.get("norm_eps", 1e-5), initializer_range=hf.get("initializer_range", 0.02),
                      pad_token_id=hf.get("pad_token_id") or 0, pre_layer_norm=True, first_attention_norm=False,
                      hidden_act=hf.get("classifier_activation", "gelu"), position_embedding_type="rope",
                      rope_theta=float(thetas["full_attention"]), local_rope_theta=float(thetas["sliding_attention"]),
                      feed_forward=MODERNBERT_GLU[activation], linear_bias=linear_biases.pop(),
                      norm_bias=hf.get("norm_bias", False), local_attention=hf.get("local_attention", 128),
                      global_attn_every_n_layers=every)


def _global_every(hf: dict[str, Any], layers: int) -> int:
    """global_attn_every_n_layers for a ModernBERT config: given, or read from `layer_types` (newer configs),
    which must follow the rule "global where index % k == 0" for some k (0: none global)."""
    types = hf.get("layer_types")
    if types is None:
        return hf.get("global_attn_every_n_layers", 3)
    global_layers = [i for i, kind in enumerate(types) if kind == "full_attention"]
    every = 0 if not global_layers else (global_layers[1] if len(global_layers) > 1 else layers)
    expected = ["full_attention" if every and i % every == 0 else "sliding_attention" for i in range(layers)]
    if list(types) != expected:
        raise HFImportError("config.json: layer_types is not global every k-th layer from the first; not supported")
    return every


def split_fused_qkv(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """ModernBERT's `attn.Wqkv` ((3H, H): query rows, then key, then value) as `attn.Wq`, `attn.Wk`, `attn.Wv`."""
    out = {}
    for name, tensor in state.items():
        if ".attn.Wqkv." in name:
            for part, chunk in zip("qkv", tensor.chunk(3, dim=0)):
                out[name.replace(".attn.Wqkv.", f".attn.W{part}.")] = chunk
        else:
            out[name] = tensor
    return out


def our_name(family: str, name: str) -> str:
    """Our parameter name for an HF one of `family` (old `gamma`/`beta` LayerNorm names included)."""
    name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name))
    if family == "bert":
        return name
    for hf_prefix, ours in HEAD_NAMES[family].items():
        if name == hf_prefix or name.startswith(hf_prefix + "."):
            return ours + name[len(hf_prefix):]
    if family == "roberta":
        return "bert." + name[len("roberta."):] if name.startswith("roberta.") else name
    if family == "modernbert":
        for hf_part, ours in MODERNBERT_LAYER.items():
            name = re.sub(rf"^model\.layers\.(\d+)\.{re.escape(hf_part)}\.", rf"bert.encoder.layer.\1.{ours}.", name)
        return name
    name = name.replace("distilbert.transformer.layer.", "bert.encoder.layer.").replace("distilbert.", "bert.")
    for hf_part, ours in DISTIL_LAYER.items():
        name = re.sub(rf"^(bert\.encoder\.layer\.\d+)\.{re.escape(hf_part)}\.", rf"\1.{ours}.", name)
    return name


def weight_files(folder: Path) -> list[Path]:
    """The folder's weight files: model.safetensors, else the shards its index names, else pytorch_model.bin."""
    folder = Path(folder)
    if (folder / SAFETENSORS_FILE).is_file():
        return [folder / SAFETENSORS_FILE]
    if (folder / SAFETENSORS_INDEX).is_file():
        try:
            weight_map = json.loads((folder / SAFETENSORS_INDEX).read_text(encoding="utf-8"))["weight_map"]
        except (OSError, ValueError, KeyError, TypeError):
            raise HFImportError(f"{folder / SAFETENSORS_INDEX} is not a valid index (no weight_map)") from None
        shards = [folder / name for name in dict.fromkeys(weight_map.values())]
        missing = [p.name for p in shards if not p.is_file()]
        if missing:
            raise HFImportError(f"{folder / SAFETENSORS_INDEX} names missing shards: {', '.join(missing[:3])}")
        return shards
    if (folder / PICKLE_FILE).is_file():
        return [folder / PICKLE_FILE]
    raise HFImportError(f"{folder} has no weights: expected {SAFETENSORS_FILE}, {SAFETENSORS_INDEX} or {PICKLE_FILE}")


def _check_safetensors(path: Path) -> None:
    """A clear line for a truncated file or an oversized header, before safetensors reads it."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) < 8:
        raise HFImportError(f"{path} is truncated: {size} bytes, not even a header length")
    header_len = struct.unpack("<Q", head)[0]
    if header_len > MAX_HEADER_BYTES:
        raise HFImportError(f"{path}: header of {header_len:,} bytes is over the {MAX_HEADER_BYTES:,}-byte cap")
    if 8 + header_len > size:
        raise HFImportError(f"{path} is truncated: its header needs {8 + header_len:,} bytes, the file has {size:,}")
    with open(path, "rb") as f:
        f.seek(8)
        try:
            header = json.loads(f.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise HFImportError(f"{path}: its header is not valid JSON") from None
    ends = [entry["data_offsets"][1] for name, entry in header.items()
            if name != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry]
    needed = 8 + header_len + max(ends, default=0)
    if needed > size:
        raise HFImportError(f"{path} is truncated: its tensors need {needed:,} bytes, the file has {size:,}")


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """One weight file's tensors on the CPU."""
    if path.suffix == ".bin":
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - any refusal becomes the one line below, never a full unpickle
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise HFImportError(f"{path} cannot be loaded safely (torch.load weights_only=True refused it: "
                                f"{first}); convert it to safetensors") from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise HFImportError(f"{path} does not hold a state dict of tensors")
        return state
    _check_safetensors(path)
    try:
        return safetensors.torch.load_file(str(path), device="cpu")
    except (safetensors.SafetensorError, OSError, ValueError) as error:
        raise HFImportError(f"{path} is not a readable safetensors file: {error}") from None


def files_sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _listed(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def convert_state_dict(family: str, state: dict[str, torch.Tensor], model: BertForMaskedLM) -> dict[str, torch.Tensor]:
    """HF's tensors under our names, checked against `model`: missing or extra keys and wrong shapes refused."""
    if family == "modernbert":
        state = split_fused_qkv(state)
    ours = {our_name(family, k): v for k, v in state.items() if not IGNORED.match(k)}
    expected = {k: v for k, v in model.state_dict().items() if not k.startswith("cls.predictions.decoder.")}
    missing = sorted(set(expected) - set(ours))
    extra = sorted(set(ours) - set(expected))
    if missing:
        raise HFImportError(f"the weights lack {len(missing)} keys the config needs: {_listed(missing)}")
    if extra:
        raise HFImportError(f"the weights hold {len(extra)} keys the config does not: {_listed(extra)}")
    embeddings = ours["bert.embeddings.word_embeddings.weight"]
    if embeddings.shape[0] != model.config.vocab_size:
        raise HFImportError(f"config.json says vocab_size {model.config.vocab_size} but the word embeddings have "
                            f"{embeddings.shape[0]} rows")
    wrong = [f"{k} {tuple(v.shape)} (expected {tuple(expected[k].shape)})" for k, v in ours.items()
             if v.shape != expected[k].shape]
    if wrong:
        raise HFImportError(f"weights of the wrong shape for config.json: {_listed(wrong)}")
    return ours


def load_hf_model(folder: Path) -> HFModel:
    """The folder's masked LM as our encoder, in eval mode, on the CPU, in float32."""
    architecture, hf_config = read_hf_config(folder)
    family = FAMILIES[architecture]
    config = bert_config(family, hf_config)
    files = weight_files(Path(folder))
    state: dict[str, torch.Tensor] = {}
    for path in files:
        state.update(read_weights(path))
    model = BertForMaskedLM(config)
    ours = convert_state_dict(family, state, model)
    model.load_state_dict({k: v.float() for k, v in ours.items()}, strict=False)  # the decoder is tied, not stored
    return HFModel(model.eval(), architecture, family, hf_config, tuple(files), files_sha256(files))
