"""GPU check: one command that checks and measures the engine's CUDA paths on one NVIDIA GPU in a few minutes.

Sections, each in its own try/except (a failure keeps what it measured so far, records its traceback, shows as
FAILED in the table, and the next section runs), under one deadline (a section that would start after it is
recorded as skipped for time; loops inside a section also stop at its own budget):
  env          torch / CUDA versions, the GPU, TF32 settings
  correctness  ours vs HF BertForMaskedLM with the same weights on the GPU (logits, loss, gradients) and ours on
               the GPU vs the CPU; fp32 with TF32 off
  throughput   ours vs HF training steps, fp32 / bf16 autocast / fp16 with the grad scaler, small and base,
               interleaved round by round, timed to torch.cuda.synchronize
  curves       the real Trainer on the sample corpus in fp32 / bf16 / fp16 from one seed: loss gaps vs noise,
               the Trainer's tokens/s
  memory       estimate_training_memory(device="cuda") vs torch.cuda.max_memory_allocated of a real step
  finetune     FinetuneTrainer on the demo subjects set, from scratch, on the GPU
  probing      fill-mask, attention maps, PLL and a cloze suite on the GPU vs the CPU; fill-mask latency
  pinned       the training step with plain .to(device) vs pin_memory() + non_blocking copies, interleaved
  levers       the engine's CPU-born levers (last layer at masked rows, sparse lookup gradient) on the device
  ddp          torch DDP tokens/s at 1 vs 2 GPUs (only with 2+ GPUs; --dry-run rehearses it on gloo)
  trainer_ddp  the engine's own data-parallel Trainer (what `train --nproc N` runs) under torchrun on NCCL:
               1 process on one GPU, and 2 when there are 2 (bench/ddp_rank.py), then sharded (FSDP2, `--shard`)
               on as many; --dry-run: 2 gloo ranks, CPU
Sizes live in FULL_PLAN (about 3-4 minutes on an H200) and DRY_PLAN (--dry-run: the CPU, tiny shapes, every
section end to end, for CI). Prints a table last and appends one JSON line to bench/results/gpu_check.jsonl.
Imports only workbench.core, torch and its numeric deps, transformers (optional: the HF parts are skipped
without it) and the standard library: the GPU machine has none of the GUI or store dependencies.

    PYTHONPATH=. python3 bench/gpu_check.py [--dry-run] [--sections env,throughput,...] [--results PATH]
                                            [--deadline-min 7.5] [--no-save]
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # the deadline counts from here: imports (torch, ...) take seconds too

import argparse
import copy
import faulthandler
import gc
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import traceback
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))  # common, train_throughput (also under runpy)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import ROOT, interleave, median_seconds, percentile, print_table, ratio, save_result  # noqa: E402
from levers import full_last_layer_forward  # noqa: E402
from train_throughput import MASK, SPECIALS, Shape, hf_tokenizer, model_flops_per_step, token_blocks  # noqa: E402

from workbench.core.checkpoints import load_checkpoint, read_checkpoint_config  # noqa: E402
from workbench.core.corpus import is_validation, iter_documents  # noqa: E402
from workbench.core.devices import DeviceError, Precision, resolve_precision  # noqa: E402
from workbench.core.epochs import seed_everything  # noqa: E402
from workbench.core.finetune.data import label_list, read_classification  # noqa: E402
from workbench.core.finetune.heads import build_task_model, freeze  # noqa: E402
from workbench.core.finetune.tasks import ClassifyTask  # noqa: E402
from workbench.core.finetune.trainer import EpochEvent, FinetuneTrainer  # noqa: E402
from workbench.core.masking import Masker  # noqa: E402
from workbench.core.model_config import estimate_training_memory  # noqa: E402
from workbench.core.modeling_bert import BertForMaskedLM  # noqa: E402
from workbench.core.optim import build_optimizer, build_scheduler  # noqa: E402
from workbench.core.packing import PackedBlocks  # noqa: E402
from workbench.core.probing import (  # noqa: E402
    attention_maps,
    evaluate_suite,
    fill_mask,
    load_suite,
    pseudo_log_likelihood,
)
from workbench.core.probing.fill_mask import mask_probabilities  # noqa: E402
from workbench.core.token_cache import build_or_load_cache  # noqa: E402
from workbench.core.tokenization import WorkbenchTokenizer, train_tokenizer  # noqa: E402
from workbench.core.training import Trainer  # noqa: E402
from workbench.core.training_types import StepEvent  # noqa: E402
from workbench.settings.finetune import FinetuneConfig  # noqa: E402
from workbench.settings.masking import MaskingConfig  # noqa: E402
from workbench.settings.model import PRESETS, BertConfig, preset_config  # noqa: E402
from workbench.settings.tokenizer import TokenizerConfig  # noqa: E402
from workbench.settings.train import TrainConfig  # noqa: E402

RESOURCES = ROOT / "resources"
PRECISIONS = ("fp32", "bf16", "fp16")
VAL_FRACTION = 0.02  # the app's default validation share
# Dense peaks of an H200 as measured for this project (TFLOP/s); MFU is shown on an H200 only.
H200_PEAK_TFLOPS = {"fp32": 60.0, "bf16": 790.0, "fp16": 790.0}
LOGITS_TOL, GRAD_REL_TOL = 1e-4, 1e-3  # fp32 with TF32 off: differences are reduction order only
PROB_TOL, PLL_TOL = 1e-4, 1e-3
MEMORY_TOL = 0.20  # the estimate's target on the CPU (bench/scaling.py), held to the same here


# ---- what to run, how big ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Load:
    """A preset training on random packed blocks (Zipfian ids, as train_throughput): what a timed step runs."""

    preset: str
    vocab: int
    seq_len: int
    batch: int
    steps: int = 1  # training steps per timed block

    @property
    def name(self) -> str:
        return f"{self.preset} {self.batch}x{self.seq_len}"

    def config(self, **overrides: Any) -> BertConfig:
        return preset_config(self.preset, self.vocab, self.seq_len, **overrides)

    def shape(self) -> Shape:
        p = PRESETS[self.preset]
        return Shape(p["num_hidden_layers"], p["hidden_size"], p["num_attention_heads"], self.vocab, self.seq_len,
                     self.batch, self.steps)


@dataclass(frozen=True)
class Plan:
    correctness: tuple[Load, ...]
    throughput: tuple[Load, ...]
    rounds: int
    curve_preset: str  # "tiny" instead when the deadline cuts the section's budget
    curve_len: int
    curve_batch: int
    curve_steps: int
    memory: tuple[tuple[Load, ...], ...]  # one model per group: same preset, vocab and seq_len
    finetune_preset: str
    finetune_epochs: int
    finetune_batch: int
    finetune_len: int
    finetune_examples: int | None  # None: the whole demo set
    probe_texts: int
    probe_calls: int
    pinned: tuple[Load, ...]
    pinned_rounds: int
    levers: tuple[Load, ...]
    ddp: Load
    ddp_steps: int
    budgets: dict[str, float] = field(default_factory=dict)  # seconds per section, capped by the deadline


FULL_PLAN = Plan(
    correctness=(Load("small", 8000, 128, 8), Load("base", 30522, 512, 2)),
    throughput=(Load("small", 8000, 128, 64, steps=10), Load("base", 30522, 512, 32, steps=3)),
    rounds=7,
    curve_preset="small", curve_len=128, curve_batch=64, curve_steps=200,
    memory=((Load("small", 8000, 128, 32), Load("small", 8000, 128, 64)), (Load("small", 8000, 512, 16),),
            (Load("base", 30522, 128, 32),), (Load("base", 30522, 512, 8), Load("base", 30522, 512, 32))),
    finetune_preset="small", finetune_epochs=2, finetune_batch=32, finetune_len=64, finetune_examples=None,
    probe_texts=8, probe_calls=50,
    pinned=(Load("small", 8000, 128, 64, steps=20), Load("base", 30522, 512, 32, steps=4)), pinned_rounds=9,
    levers=(Load("small", 8000, 128, 64, steps=10), Load("base", 30522, 512, 32, steps=3)),
    ddp=Load("base", 30522, 128, 32), ddp_steps=20,
    budgets={"env": 30, "correctness": 60, "throughput": 120, "curves": 100, "memory": 60, "finetune": 45,
             "probing": 45, "pinned": 60, "levers": 90, "ddp": 90, "trainer_ddp": 90},
)
DRY_PLAN = Plan(
    correctness=(Load("seed-demo", 500, 16, 3),),
    throughput=(Load("seed-demo", 500, 16, 4, steps=2),),
    rounds=2,
    curve_preset="seed-demo", curve_len=32, curve_batch=8, curve_steps=12,
    memory=((Load("seed-demo", 500, 16, 4), Load("seed-demo", 500, 16, 2)),),
    finetune_preset="seed-demo", finetune_epochs=1, finetune_batch=16, finetune_len=32, finetune_examples=96,
    probe_texts=2, probe_calls=3,
    pinned=(Load("seed-demo", 500, 16, 4, steps=2),), pinned_rounds=2,
    levers=(Load("seed-demo", 500, 16, 4, steps=2),),
    ddp=Load("seed-demo", 500, 16, 4), ddp_steps=2,
    budgets={name: 60 for name in FULL_PLAN.budgets},
)


# ---- shared state and helpers ------------------------------------------------------------------------------

@dataclass
class Corpus:
    tokenizer: WorkbenchTokenizer
    train: PackedBlocks
    val: PackedBlocks | None
    counts: np.ndarray


@dataclass
class Context:
    """The device, the plan, a temp folder, the clocks, and what one section leaves for another."""

    device: torch.device
    plan: Plan
    dry_run: bool
    tmp: Path
    deadline: float  # time.perf_counter() after which no section starts
    section_end: float = float("inf")  # the running section's own end: its budget, capped by the deadline
    shared: dict[str, Any] = field(default_factory=dict)

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def left(self) -> float:
        return self.section_end - time.perf_counter()

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def precision(self, name: str) -> Precision | None:
        """The engine's autocast settings for `name` here; None where the device lacks it. The dry run still
        rehearses fp16 with a grad scaler on the CPU, which the engine itself refuses (it is a CUDA path)."""
        try:
            return resolve_precision(name, self.device)
        except DeviceError:
            return Precision(torch.float16, True) if self.dry_run and name == "fp16" else None

    def release(self) -> None:
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()

    def broken(self) -> str | None:
        """Why the CUDA context cannot be used any more (after a device-side error), if it cannot."""
        if not self.cuda:
            return None
        try:
            torch.ones(1, device=self.device).add_(1).item()
            return None
        except Exception as exc:  # a sticky CUDA error: every later section would fail the same way
            return f"CUDA unusable: {type(exc).__name__}: {exc}"

    def documents(self) -> list[str]:
        if "documents" not in self.shared:
            self.shared["documents"] = list(iter_documents([RESOURCES / "sample_corpus.txt"]))
        return self.shared["documents"]

    def tokenizer(self) -> WorkbenchTokenizer:
        """The app's default tokenizer (WordPiece, 8000 asked; the sample corpus yields about 1k), trained once."""
        if "tokenizer" not in self.shared:
            self.shared["tokenizer"] = train_tokenizer(self.documents(), TokenizerConfig())
        return self.shared["tokenizer"]

    def corpus(self, max_len: int) -> Corpus:
        """What workbench.jobs.pretrain.prepare_data builds: both splits cached, packed into max_len blocks."""
        key = f"corpus-{max_len}"
        if key not in self.shared:
            tokenizer, docs, packed = self.tokenizer(), self.documents(), {}
            for split in ("train", "validation"):
                texts = [d for d in docs if is_validation(d, VAL_FRACTION) == (split == "validation")]
                cache = build_or_load_cache(lambda t=texts: t, f"sample|{split}|{VAL_FRACTION}", tokenizer,
                                            self.tmp / "token-cache")
                packed[split] = (cache, PackedBlocks(cache, max_len, tokenizer.cls_id, tokenizer.pad_id))
            val = packed["validation"][1]
            self.shared[key] = Corpus(tokenizer, packed["train"][1], val if len(val) else None,
                                      packed["train"][0].token_counts(tokenizer.vocab_size))
        return self.shared[key]


def optional_transformers() -> Any | None:
    """transformers is a benchmark-only dependency: the HF comparisons are skipped (and say so) without it."""
    try:
        import transformers
    except ImportError:
        return None
    transformers.logging.set_verbosity_error()
    return transformers


def hf_copy(config: BertConfig, state: dict[str, torch.Tensor], transformers: Any) -> torch.nn.Module:
    """HF's BertForMaskedLM with our weights (the names are equal; HF adds only a position_ids buffer)."""
    model = transformers.BertForMaskedLM(transformers.BertConfig(**config.to_dict()))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any("position_ids" not in k for k in missing):
        raise RuntimeError(f"weights do not map onto HF: missing {missing}, unexpected {unexpected}")
    return model


def max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0


def tf32_state() -> dict[str, Any]:
    return {"matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision()}


class _Blocks:
    """A cursor over random packed blocks; subclasses turn the next `batch` of them into model inputs."""

    def __init__(self, load: Load, seed: int = 0) -> None:
        self.load, self.cursor = load, 0
        self.blocks = token_blocks(load.shape(), max(4 * load.batch, 64), seed)  # (N, T)

    def next_indices(self) -> torch.Tensor:
        start = self.cursor % (len(self.blocks) - self.load.batch + 1)
        self.cursor += self.load.batch
        return torch.arange(start, start + self.load.batch)


class MaskedBlocks(_Blocks):
    """Masked on the CPU by the engine's Masker, as Trainer does before copying to the device."""

    def __init__(self, load: Load, seed: int = 0) -> None:
        super().__init__(load, seed)
        self.masker = Masker(MaskingConfig(mlm_probability=0.15), load.vocab, MASK, SPECIALS)

    def __call__(self) -> dict[str, torch.Tensor]:
        indices = self.next_indices()
        ids = self.blocks[indices]
        masked = self.masker(ids, torch.ones_like(ids), None, indices, self.cursor // len(self.blocks))
        return {"input_ids": masked.input_ids, "labels": masked.labels}  # no padding: no mask (Trainer._on_device)


class CollatedBlocks(_Blocks):
    """Masked by HF's DataCollatorForLanguageModeling from one dict per example, as a `datasets` set feeds it."""

    def __init__(self, load: Load, collator: Any) -> None:
        super().__init__(load)
        self.collator = collator

    def __call__(self) -> dict[str, torch.Tensor]:
        return self.collator([{"input_ids": self.blocks[i]} for i in self.next_indices().tolist()])


class Side:
    """One timed candidate: Trainer._train_step's work on the device (CPU batch -> copy -> autocast forward ->
    scaled backward -> unscale, clip, fused AdamW, scheduler), losses kept on the device (no per-step sync)."""

    def __init__(self, model: torch.nn.Module, batches: Callable[[], dict[str, torch.Tensor]], precision: Precision,
                 device: torch.device, pinned: bool = False) -> None:
        self.model, self.batches, self.precision, self.device = model.to(device).train(), batches, precision, device
        self.pinned = pinned  # pin_memory() + non_blocking copies instead of plain .to(device)
        self.optimizer = build_optimizer(self.model, 1e-4, 0.01)
        self.scheduler = build_scheduler(self.optimizer, 0, 1, "constant")
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision.use_grad_scaler)
        self.losses: list[torch.Tensor] = []

    def step(self) -> None:
        batch = self.batches()  # CPU tensors, as the data pipeline hands them over
        if self.pinned and self.device.type == "cuda":
            batch = {k: v.pin_memory() for k, v in batch.items()}
        batch = {k: v.to(self.device, non_blocking=self.pinned) for k, v in batch.items()}
        dtype = self.precision.autocast_dtype
        with torch.autocast(self.device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = self.model(**batch).loss
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.losses.append(loss.detach().float())

    def block(self, steps: int) -> Callable[[], None]:
        """`steps` steps ending in a device sync, so a wall-clock timer around it measures the GPU's work too."""
        def run() -> None:
            for _ in range(steps):
                self.step()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
        return run

    def finite(self) -> bool:
        return bool(torch.isfinite(torch.stack(self.losses)).all()) if self.losses else True


# ---- sections ----------------------------------------------------------------------------------------------

def check_env(ctx: Context, out: dict) -> str:
    import workbench
    transformers = optional_transformers()
    out.update(python=platform.python_version(), torch=torch.__version__, cuda=torch.version.cuda,
               cudnn=torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
               transformers=transformers.__version__ if transformers else None, workbench=workbench.__file__,
               cuda_available=torch.cuda.is_available(), device=str(ctx.device), tf32=tf32_state())
    if not torch.cuda.is_available():
        return f"no CUDA device; torch {torch.__version__} on the CPU"
    out["device_count"] = torch.cuda.device_count()
    out["gpus"] = [{"name": p.name, "memory_gib": round(p.total_memory / 2**30, 1),
                    "capability": f"{p.major}.{p.minor}", "multiprocessors": p.multi_processor_count}
                   for p in map(torch.cuda.get_device_properties, range(torch.cuda.device_count()))]
    out["bf16_supported"] = torch.cuda.is_bf16_supported()
    try:
        out["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                       capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["driver"] = None
    gpu = out["gpus"][ctx.device.index or 0]
    return (f"{gpu['name']} ({gpu['memory_gib']} GiB, sm {gpu['capability']}), torch {torch.__version__}, "
            f"CUDA {torch.version.cuda}, TF32 off")


def padded_batch(load: Load, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random ids with right padding (row 0 full) and 15% labels at real positions; (B, T) each."""
    g = torch.Generator().manual_seed(seed)
    B, T = load.batch, load.seq_len
    ids = torch.randint(len(SPECIALS), load.vocab, (B, T), generator=g)
    lengths = torch.randint(T // 2, T + 1, (B,), generator=g)
    lengths[0] = T
    mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
    ids = ids.masked_fill(mask == 0, 0)
    labels = torch.where((torch.rand(B, T, generator=g) < 0.15) & mask.bool(), ids, -100)
    return ids, mask, labels


def gradient_gap(ours: torch.nn.Module, theirs: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> float:
    """max over shared parameters of max|grad ours - grad theirs| / max|grad theirs|, after one backward each.
    The denominator is floored at 1e-3 of the largest gradient: some are zero but for rounding (the key bias:
    softmax ignores a constant shift), and 1e-11 against 1e-11 says nothing."""
    for model in (ours, theirs):
        model.train()
        model.zero_grad(set_to_none=True)
        model(**inputs).loss.backward()
    their_params = dict(theirs.named_parameters())
    pairs = [(p.grad.to_dense(), their_params[n].grad.to_dense())  # the tied lookup may hold a sparse part
             for n, p in ours.named_parameters() if n in their_params and p.grad is not None]
    floor = 1e-3 * max(float(b.abs().max()) for _, b in pairs)
    return max(max_abs(a, b) / max(float(b.abs().max()), floor) for a, b in pairs)


def check_correctness(ctx: Context, out: dict) -> str:
    # IEEE fp32 (set in main too): with TF32 the GPU-vs-CPU gaps would be ~1e-3 and hide real bugs.
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    out["tf32"] = tf32_state()
    transformers = optional_transformers()
    rows, worst = [], {"ours_gpu_vs_cpu": 0.0, "ours_vs_hf": 0.0, "grad_rel": 0.0}
    for load in ctx.plan.correctness:
        r = out[load.name] = {}
        config = load.config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)  # deterministic gradients
        torch.manual_seed(0)
        cpu_model = BertForMaskedLM(config).eval()
        dev_model = copy.deepcopy(cpu_model).to(ctx.device)
        ids, mask, labels = padded_batch(load)
        on = {"input_ids": ids.to(ctx.device), "labels": labels.to(ctx.device)}
        real = mask.bool()
        with torch.no_grad():
            on_device = dev_model(on["input_ids"], mask.to(ctx.device)).logits.cpu()  # (B, T, V)
            gap = max_abs(on_device[real], cpu_model(ids, mask).logits[real])
        r["ours_gpu_vs_cpu"], worst["ours_gpu_vs_cpu"] = gap, max(worst["ours_gpu_vs_cpu"], gap)
        rows.append([load.name, "ours GPU vs CPU logits", gap, LOGITS_TOL])
        if transformers is None:
            r["hf"] = "skipped: transformers is not installed"
            continue
        hf = hf_copy(config, cpu_model.state_dict(), transformers).to(ctx.device).eval()
        r["hf_attn_implementation"] = getattr(hf.config, "_attn_implementation", None)
        for kind, attention_mask in (("padded", mask), ("packed", torch.ones_like(mask))):
            keep, m = attention_mask.bool().to(ctx.device), attention_mask.to(ctx.device)
            with torch.no_grad():
                logits = max_abs(dev_model(on["input_ids"], m).logits[keep],
                                 hf(input_ids=on["input_ids"], attention_mask=m).logits[keep])
                loss = abs(float(dev_model(attention_mask=m, **on).loss) - float(hf(attention_mask=m, **on).loss))
            r[f"ours_vs_hf_{kind}"], r[f"loss_diff_{kind}"] = logits, loss
            worst["ours_vs_hf"] = max(worst["ours_vs_hf"], logits)
            rows += [[load.name, f"ours vs HF logits, {kind}", logits, LOGITS_TOL],
                     [load.name, f"ours vs HF loss, {kind}", loss, LOGITS_TOL]]
        r["grad_rel_diff"] = gradient_gap(dev_model, hf, {"attention_mask": mask.to(ctx.device), **on})
        worst["grad_rel"] = max(worst["grad_rel"], r["grad_rel_diff"])
        rows.append([load.name, "ours vs HF grads (relative)", r["grad_rel_diff"], GRAD_REL_TOL])
        del hf, dev_model
    print_table(["model", "compared (fp32, TF32 off)", "max |diff|", "tolerance"], rows, title="correctness")
    out["verdict"] = "pass" if all(row[2] <= row[3] for row in rows) else "FAIL"
    if transformers is None:
        return f"GPU-CPU logits {worst['ours_gpu_vs_cpu']:.1e} (fp32, TF32 off); HF skipped: not installed"
    return (f"ours-HF logits {worst['ours_vs_hf']:.1e}, GPU-CPU {worst['ours_gpu_vs_cpu']:.1e}, "
            f"grads {worst['grad_rel']:.1e} rel (fp32, TF32 off)")


def throughput_sides(ctx: Context, load: Load, transformers: Any | None) -> dict[str, Side]:
    """ours and HF at each precision the device has, all from the same initial weights."""
    config = load.config()
    torch.manual_seed(0)
    master = BertForMaskedLM(config)
    collator = transformers and transformers.DataCollatorForLanguageModeling(hf_tokenizer(load.vocab),
                                                                             mlm_probability=0.15)
    sides = {}
    for name in PRECISIONS:
        precision = ctx.precision(name)
        if precision is None:
            continue
        sides[f"wb {name}"] = Side(copy.deepcopy(master).for_training(ctx.device), MaskedBlocks(load), precision,
                                   ctx.device)
        if transformers is not None:
            hf = hf_copy(config, master.state_dict(), transformers)
            sides[f"hf {name}"] = Side(hf, CollatedBlocks(load, collator), precision, ctx.device)
    return sides


def mfu(ctx: Context, flops_per_s: float, precision: str) -> float | None:
    name = torch.cuda.get_device_name(ctx.device) if ctx.cuda else ""
    return flops_per_s / (H200_PEAK_TFLOPS[precision] * 1e12) if "H200" in name else None


def check_throughput(ctx: Context, out: dict) -> str:
    transformers = optional_transformers()
    out["hf"] = "compared" if transformers else "skipped: transformers is not installed"
    rows, headline = [], []
    for load in ctx.plan.throughput:
        if ctx.left() <= 0:
            out[load.name] = "skipped for time"
            continue
        sides = throughput_sides(ctx, load, transformers)
        samples = interleave({k: s.block(load.steps) for k, s in sides.items()}, ctx.plan.rounds, retries=0,
                             deadline=ctx.section_end)
        tokens = load.batch * load.seq_len * load.steps
        flops = model_flops_per_step(load.shape()) * load.steps
        res = out[load.name] = {}
        for key, side in sides.items():
            seconds, precision = median_seconds(samples[key]), key.split()[1]
            same = f"hf {precision}"
            r = res[key] = {"tokens_per_s": tokens / seconds, "rounds": len(samples[key]), "finite": side.finite(),
                            "x_hf_fp32": ratio(samples, "hf fp32", key) if "hf fp32" in samples else None,
                            "x_hf_same": ratio(samples, same, key) if same in samples and key != same else None,
                            "mfu": mfu(ctx, flops / seconds, precision)}
            rows.append([load.name, key, r["tokens_per_s"], r["x_hf_fp32"] or "-", r["x_hf_same"] or "-",
                         "-" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%", r["rounds"], r["finite"]])
        best = max((k for k in res if k.startswith("wb")), key=lambda k: res[k]["tokens_per_s"])
        headline.append(f"{load.preset} {best} {res[best]['tokens_per_s']:,.0f} tok/s"
                        + (f" x{res[best]['x_hf_fp32']:.2f} HF fp32" if res[best]["x_hf_fp32"] else ""))
        del sides, samples
        ctx.release()
    print_table(["load", "side", "tokens/s", "x HF fp32", "x HF same", "MFU", "rounds", "finite"], rows,
                title="training throughput (median of interleaved blocks; fp32 = IEEE, TF32 off)")
    out["verdict"] = "pass" if all(row[-1] for row in rows) else "FAIL"  # every loss finite
    return "; ".join(headline)


def curve_gap(reference: list[float], other: list[float]) -> dict[str, Any]:
    """Tail means against the reference curve's step-to-step noise (train_throughput's bf16_curve_check rule)."""
    tail = max(5, len(reference) // 4)
    noise = statistics.stdev(reference[-tail:])
    diff = statistics.mean(other[-tail:]) - statistics.mean(reference[-tail:])
    return {"tail_mean_diff": diff, "tail_noise_std": noise, "tail": tail,
            "max_abs_diff": max(abs(a - b) for a, b in zip(reference, other)),
            "within_noise": abs(diff) <= 2 * noise / tail**0.5 + 0.02}


def train_curve(ctx: Context, corpus: Corpus, config: BertConfig, precision: str, log_every: int, run_dir: Path,
                extra_steps: int = 0, resume_from: Path | None = None) -> tuple[list[StepEvent], Any]:
    """The real Trainer from seed 0 (same weights, batches and masks at every precision); its step events and
    result. It evaluates and checkpoints once, at the end."""
    events: list = []
    plan = ctx.plan
    train = TrainConfig(steps=plan.curve_steps + extra_steps, batch_size=plan.curve_batch, lr=5e-4,
                        warmup_steps=max(1, plan.curve_steps // 10), eval_every=0, eval_batches=10,
                        checkpoint_every=0, device=str(ctx.device), precision=precision, seed=0, log_every=log_every)
    trainer = Trainer(config, train, MaskingConfig(), corpus.train, corpus.val, corpus.tokenizer, run_dir,
                      listeners=[events.append], unigram_counts=corpus.counts)
    result = trainer.run(resume_from=resume_from)
    if result.status != "completed":
        raise RuntimeError(f"{precision}: {result.status}: {result.message}")
    return [e for e in events if isinstance(e, StepEvent)], result


def resume_check(ctx: Context, corpus: Corpus, config: BertConfig, checkpoint: Path) -> dict[str, Any]:
    """A few more steps resumed from the fp32 run's last checkpoint: Trainer._restore loads it with
    map_location=device, so on CUDA every tensor of the saved state (RNG states too) arrives on the GPU."""
    try:
        events, _ = train_curve(ctx, corpus, config, "fp32", 1, ctx.tmp / "curve-resumed", 5, checkpoint)
        return {"status": "completed", "losses": [e.loss for e in events]}
    except Exception as exc:  # recorded, not raised: the curves themselves are fine
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def check_curves(ctx: Context, out: dict) -> str:
    plan = ctx.plan
    short = ctx.left() < 0.75 * plan.budgets["curves"]  # the deadline cut this section's budget
    preset = "tiny" if short and not ctx.dry_run else plan.curve_preset
    corpus = ctx.corpus(plan.curve_len)
    config = preset_config(preset, corpus.tokenizer.vocab_size, plan.curve_len)
    out.update(preset=preset, vocab=corpus.tokenizer.vocab_size, train_blocks=len(corpus.train),
               steps=plan.curve_steps, batch=plan.curve_batch, seq_len=plan.curve_len)
    runs = [("fp32", "fp32", 1), ("bf16", "bf16", 1), ("fp16", "fp16", 1), ("bf16, log every 10", "bf16", 10)]
    curves, errors, rows = {}, [], []
    for number, (label, precision, log_every) in enumerate(runs):
        r = out.setdefault("runs", {})[label] = {}
        if ctx.left() <= 0:
            r["status"] = "skipped for time"
            continue
        try:
            resolve_precision(precision, ctx.device)
        except DeviceError as exc:  # the engine trains fp16 on CUDA only
            r["status"] = f"skipped: {exc}"
            continue
        try:
            events, result = train_curve(ctx, corpus, config, precision, log_every, ctx.tmp / f"curve-{number}")
        except Exception as exc:  # one precision failing must not cost the others
            r.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            errors.append(f"{label}: {exc}")
            continue
        speeds = [e.tokens_per_second for e in events[len(events) // 10 + 1:]] or [events[-1].tokens_per_second]
        r.update(status="completed", val_loss=result.val_loss, tokens_per_s_session=result.tokens_per_second,
                 tokens_per_s_median_window=statistics.median(speeds))
        if log_every == 1:
            curves[label] = r["losses"] = [e.loss for e in events]
        if label == "fp32":
            ctx.shared["probe_checkpoint"] = result.last_checkpoint  # probing loads this trained model
            out["resume"] = resume_check(ctx, corpus, config, result.last_checkpoint)
        rows.append([label, result.val_loss, r["tokens_per_s_median_window"], result.tokens_per_second])
        ctx.release()
    print_table(["run", "val loss", "tokens/s (median window)", "tokens/s (session)"], rows,
                title=f"the real Trainer, {preset}, {plan.curve_steps} steps x {plan.curve_batch} x {plan.curve_len}")
    headline, gap_rows = [], []
    for label in ("bf16", "fp16"):
        if "fp32" in curves and label in curves:
            g = out[f"{label}_vs_fp32"] = curve_gap(curves["fp32"], curves[label])
            gap_rows.append([label, g["tail_mean_diff"], g["tail_noise_std"], g["max_abs_diff"],
                             "yes" if g["within_noise"] else "NO"])
            headline.append(f"{label}-fp32 {g['tail_mean_diff']:+.3f} (noise {g['tail_noise_std']:.3f}, "
                            f"{'within' if g['within_noise'] else 'OUTSIDE'})")
    if gap_rows:
        print_table(["vs fp32", "tail mean diff", "fp32 noise (std)", "max |diff|", "within noise"], gap_rows,
                    title="masked-token loss, same seed, weights and batches")
    if errors:
        raise RuntimeError("; ".join(errors))  # after the table: what did run stays in the results
    resumed = out.get("resume", {}).get("status")
    out["verdict"] = "pass" if all(row[-1] == "yes" for row in gap_rows) and resumed != "failed" else "FAIL"
    app = out["runs"].get("bf16, log every 10", {}).get("tokens_per_s_median_window")
    return "; ".join(headline + ([f"Trainer bf16 {app:,.0f} tok/s"] if app else [])
                     + ([f"resume {resumed}"] if resumed else []))


def check_memory(ctx: Context, out: dict) -> str:
    rows, errors = [], []
    for group in ctx.plan.memory:
        if ctx.left() <= 0:
            break
        first = group[0]
        config = first.config()
        before = torch.cuda.memory_allocated(ctx.device) if ctx.cuda else 0
        torch.manual_seed(0)
        with ctx.device:  # built in place: base's weights are initialised on the GPU, not copied there
            model = BertForMaskedLM(config).for_training(ctx.device)
        for load in group:
            for name in ("fp32", "bf16"):
                side = Side(model, MaskedBlocks(load), ctx.precision(name), ctx.device)
                side.step()  # optimizer state, cuBLAS workspaces: what a step after the first finds allocated
                ctx.sync()
                if ctx.cuda:
                    torch.cuda.reset_peak_memory_stats(ctx.device)
                side.step()
                ctx.sync()
                measured = torch.cuda.max_memory_allocated(ctx.device) - before if ctx.cuda else None
                estimate = estimate_training_memory(config, load.batch, load.seq_len, name, 0.15, device="cuda").total
                error = None if measured is None else estimate / measured - 1
                out[f"{load.name} {name}"] = {"estimate_bytes": estimate, "measured_bytes": measured,
                                              "error": error}
                rows.append([load.name, name, estimate / 2**20, "-" if measured is None else measured / 2**20,
                             "-" if error is None else f"{100 * error:+.1f}%"])
                if error is not None:
                    errors.append(error)
                del side
        del model
        ctx.release()
    print_table(["load", "precision", "estimate MiB", "max_memory_allocated MiB", "estimate/measured - 1"], rows,
                title="estimate_training_memory(device='cuda') vs the measured peak of a training step")
    if not errors:
        out["verdict"] = "info"
        return f"{len(rows)} steps run; no CUDA allocator to measure (estimates only)"
    worst = max(errors, key=abs)
    out["verdict"] = "pass" if abs(worst) <= MEMORY_TOL else "FAIL"
    return f"estimate/measured error {min(errors) * 100:+.1f}% .. {max(errors) * 100:+.1f}% over {len(errors)} steps"


def check_finetune(ctx: Context, out: dict) -> str:
    """What workbench.jobs.finetune.start_finetuning assembles for `--task classify --scratch PRESET`, minus
    the run store: readers, labels of both parts, ClassifyTask encoding, a fresh task model, FinetuneTrainer."""
    plan, tokenizer = ctx.plan, ctx.tokenizer()
    limit = plan.finetune_examples
    train = read_classification(RESOURCES / "sample_subjects_train.tsv", limit=limit)
    validation = read_classification(RESOURCES / "sample_subjects_validation.tsv", limit=limit and limit // 2)
    labels = label_list([e.label for e in [*train, *validation]])
    config = FinetuneConfig(task="classify", lr=3e-4, epochs=plan.finetune_epochs, batch_size=plan.finetune_batch,
                            max_len=plan.finetune_len, seed=0, device=str(ctx.device))
    task = ClassifyTask(labels, config.max_len)
    seed_everything(config.seed)
    model = build_task_model("classify", preset_config(plan.finetune_preset, tokenizer.vocab_size, config.max_len),
                             len(labels))
    freeze(model, config.freeze_embeddings, config.freeze_layers)
    events: list = []
    trainer = FinetuneTrainer(model, config, task, task.encode(tokenizer, train), validation,
                              task.encode(tokenizer, validation), tokenizer.pad_id, ctx.tmp / "finetune",
                              {"task": "classify", "labels": labels}, listeners=[events.append])
    started = time.perf_counter()
    result = trainer.run()
    seconds = time.perf_counter() - started
    if result.status != "completed":
        raise RuntimeError(f"fine-tuning {result.status}: {result.message}")
    # StepEvent.elapsed restarts every epoch: the last one before each EpochEvent is that epoch's training time
    train_seconds, last = 0.0, 0.0
    for event in events:
        if isinstance(event, StepEvent):
            last = event.elapsed
        elif isinstance(event, EpochEvent):
            train_seconds, last = train_seconds + last, 0.0
    ran_on = next(trainer.model.parameters()).device.type
    accuracy = result.best_metrics.get("accuracy", 0.0)
    out.update(preset=plan.finetune_preset, examples=[len(train), len(validation)], labels=labels,
               epochs=result.epochs, steps=result.steps, ran_on=ran_on, seconds=seconds,
               steps_per_s=result.steps / max(train_seconds, 1e-9), val_accuracy=accuracy,
               chance=1 / len(labels), best_metrics=result.best_metrics)
    learned = accuracy > 1 / len(labels) or ctx.dry_run  # a dry run's few steps learn nothing yet
    out["verdict"] = "pass" if ran_on == ctx.device.type and learned else "FAIL"
    print_table(["preset", "device", "epochs", "steps", "steps/s", "val accuracy", "chance"],
                [[plan.finetune_preset, ran_on, result.epochs, result.steps, out["steps_per_s"], accuracy,
                  1 / len(labels)]], title="fine-tuning the demo subjects set from scratch")
    return f"on {ran_on}: {out['steps_per_s']:.1f} steps/s, val accuracy {accuracy:.3f} (chance {1 / len(labels):.2f})"


def probe_model(ctx: Context, tokenizer: WorkbenchTokenizer) -> tuple[BertForMaskedLM, str]:
    """The curves section's trained fp32 model on the CPU, or a fresh one when that section did not run."""
    checkpoint = ctx.shared.get("probe_checkpoint")
    if checkpoint is not None:
        model = BertForMaskedLM(BertConfig.from_dict(read_checkpoint_config(checkpoint)["model"]))
        load_checkpoint(checkpoint, model)
        return model.eval(), f"trained by the curves section ({Path(checkpoint).name})"
    torch.manual_seed(0)
    return BertForMaskedLM(preset_config("small", tokenizer.vocab_size, 128)).eval(), "random weights"


def topk_agreement(dev: Any, cpu: Any, cpu_probs: torch.Tensor, gap: float) -> tuple[bool, bool]:
    """(top-k tokens identical, identical but for swaps of tokens whose CPU probabilities tie within 2 x gap)."""
    exact, ties = True, True
    for row, (a, b) in enumerate(zip(dev.masks, cpu.masks)):
        for p, q in zip(a.predictions, b.predictions):
            if p.token_id != q.token_id:
                exact = False
                ties &= abs(float(cpu_probs[row, p.token_id] - cpu_probs[row, q.token_id])) <= 2 * gap + 1e-7
    return exact, ties


def latency_ms(call: Callable[[], Any], calls: int) -> list[float]:
    call()  # warm-up: first-call allocations and kernel choice
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()  # ends with .cpu() on the probabilities: the device's work is inside
        times.append(1e3 * (time.perf_counter() - t0))
    return times


def check_probing(ctx: Context, out: dict) -> str:
    tokenizer = ctx.tokenizer()
    cpu_model, source = probe_model(ctx, tokenizer)
    dev_model = copy.deepcopy(cpu_model).to(ctx.device)
    suite = load_suite(RESOURCES / "sample_cloze.tsv")
    texts = [item.sentence for item in suite.items[: ctx.plan.probe_texts]]
    out["model"] = source
    prob_gap, exact, ties = 0.0, True, True
    for text in texts:
        dev, cpu = fill_mask(dev_model, tokenizer, text, top_k=10), fill_mask(cpu_model, tokenizer, text, top_k=10)
        positions = [m.position for m in cpu.masks]
        cpu_probs = mask_probabilities(cpu_model, cpu.input_ids, positions)  # (M, V)
        gap = max_abs(mask_probabilities(dev_model, dev.input_ids, positions), cpu_probs)
        e, t = topk_agreement(dev, cpu, cpu_probs, gap)
        prob_gap, exact, ties = max(prob_gap, gap), exact and e, ties and t
    attention_gap = max(max_abs(attention_maps(dev_model, tokenizer, t).probs,
                                attention_maps(cpu_model, tokenizer, t).probs) for t in texts)
    filled = [item.sentence.replace("[MASK]", item.answers[0]) for item in suite.items[: ctx.plan.probe_texts]]
    pll_gap = max(abs(pseudo_log_likelihood(dev_model, tokenizer, s).pll
                      - pseudo_log_likelihood(cpu_model, tokenizer, s).pll) for s in filled)
    dev_suite, cpu_suite = evaluate_suite(dev_model, tokenizer, suite), evaluate_suite(cpu_model, tokenizer, suite)
    rank_changes = sum(a.rank != b.rank for a, b in zip(dev_suite.items, cpu_suite.items))
    gpu_ms = latency_ms(lambda: fill_mask(dev_model, tokenizer, texts[0], top_k=10), ctx.plan.probe_calls)
    cpu_ms = latency_ms(lambda: fill_mask(cpu_model, tokenizer, texts[0], top_k=10), max(3, ctx.plan.probe_calls // 5))
    out.update(fill_mask_prob_gap=prob_gap, topk_equal=exact, topk_equal_up_to_ties=ties,
               attention_gap=attention_gap, pll_gap=pll_gap, suite_items=len(suite.items),
               suite_rank_changes=rank_changes, suite_p1=[dev_suite.metrics["overall"]["precision_at_1"],
                                                         cpu_suite.metrics["overall"]["precision_at_1"]],
               fill_mask_ms={"device_median": statistics.median(gpu_ms), "device_p95": percentile(gpu_ms, 95),
                             "cpu_median": statistics.median(cpu_ms)})
    checks = [["fill-mask probabilities", prob_gap, PROB_TOL, prob_gap <= PROB_TOL],
              ["fill-mask top-10 tokens", "equal" if exact else ("ties only" if ties else "DIFFER"), "-", ties],
              ["attention maps", attention_gap, PROB_TOL, attention_gap <= PROB_TOL],
              ["pseudo-log-likelihood", pll_gap, PLL_TOL, pll_gap <= PLL_TOL],
              [f"cloze suite ranks ({len(suite.items)} items)", f"{rank_changes} changed", "0", rank_changes == 0]]
    print_table(["compared: device vs CPU", "max |diff|", "tolerance", "ok"], checks,
                title=f"probing on {ctx.device}, model: {source}")
    out["verdict"] = "pass" if all(row[-1] for row in checks) else "FAIL"
    return (f"probs {prob_gap:.1e}, attention {attention_gap:.1e}, PLL {pll_gap:.1e}, {rank_changes} rank changes; "
            f"fill-mask {statistics.median(gpu_ms):.1f} ms on {ctx.device.type} "
            f"({statistics.median(cpu_ms):.1f} on CPU)")


def check_pinned(ctx: Context, out: dict) -> str:
    precision_name = "bf16" if ctx.precision("bf16") else "fp32"
    out.update(precision=precision_name, pinned_memory=ctx.cuda)
    if not ctx.cuda:
        out["note"] = "no CUDA: both candidates copy plainly (the rehearsal only exercises the code)"
    rows, headline = [], []
    for load in ctx.plan.pinned:
        if ctx.left() <= 0:
            out[load.name] = "skipped for time"
            continue
        torch.manual_seed(0)
        side = Side(BertForMaskedLM(load.config()).for_training(ctx.device), MaskedBlocks(load),
                    ctx.precision(precision_name), ctx.device)

        def candidate(pinned: bool, side: Side = side, steps: int = load.steps) -> Callable[[], None]:
            block = side.block(steps)
            def run() -> None:
                side.pinned = pinned  # one model and optimizer for both: only the copy differs
                block()
            return run

        samples = interleave({"plain": candidate(False), "pinned": candidate(True)}, ctx.plan.pinned_rounds,
                             retries=0, deadline=ctx.section_end)
        speedup = ratio(samples, "plain", "pinned")
        steps_per_s = {k: load.steps / median_seconds(v) for k, v in samples.items()}
        out[load.name] = {"steps_per_s": steps_per_s, "x_pinned_vs_plain": speedup, "rounds": len(samples["plain"]),
                          "bytes_per_step": 3 * load.batch * load.seq_len * 8, "finite": side.finite()}
        rows.append([load.name, precision_name, steps_per_s["plain"], steps_per_s["pinned"], speedup,
                     len(samples["plain"])])
        headline.append(f"{load.preset} x{speedup:.3f}")
        del side, samples
        ctx.release()
    print_table(["load", "precision", "steps/s plain", "steps/s pinned", "x pinned vs plain", "rounds"], rows,
                title="batch copy: .to(device) vs pin_memory() + .to(device, non_blocking=True)")
    out["verdict"] = "info"
    return f"pinned+non_blocking vs plain ({precision_name}): " + ", ".join(headline)


def check_levers(ctx: Context, out: dict) -> str:
    """The engine's two CPU-born levers (bench/levers.py) A/B'd on the device: the last layer at the masked
    positions only (boolean row selection: a host sync on a GPU), and the tied matrix's lookup gradient, which
    `for_training` makes sparse (rows + values, then a dense add) on the CPU only. Each variant changes one
    choice of the engine's; > 1 means the engine's own choice is faster."""
    precision_name = "bf16" if ctx.precision("bf16") else "fp32"
    variants = {"engine": (), "full last layer": (with_full_last_layer,), "sparse lookup": (with_sparse_lookup,),
                "dense lookup": (with_dense_lookup,)}
    rows, headline = [], []
    for load in ctx.plan.levers:
        if ctx.left() <= 0:
            out[load.name] = "skipped for time"
            continue
        torch.manual_seed(0)
        master = BertForMaskedLM(load.config())
        sides = {}
        for name, patches in variants.items():
            model = copy.deepcopy(master).for_training(ctx.device)  # the Trainer's choice of lookup for the device
            for patch in patches:
                patch(model)
            sides[name] = Side(model, MaskedBlocks(load), ctx.precision(precision_name), ctx.device)
        samples = interleave({k: s.block(load.steps) for k, s in sides.items()}, ctx.plan.rounds, retries=0,
                             deadline=ctx.section_end)
        res = out[load.name] = {name: {"tokens_per_s": load.batch * load.seq_len * load.steps / median_seconds(v),
                                       "x_engine_vs_this": ratio(samples, name, "engine") if name != "engine" else 1.0}
                                for name, v in samples.items()}
        for name, r in res.items():
            rows.append([load.name, precision_name, name, r["tokens_per_s"], r["x_engine_vs_this"]])
        headline.append(f"{load.preset}: " + ", ".join(f"{n} x{r['x_engine_vs_this']:.2f}" for n, r in res.items()
                                                       if n != "engine"))
        del sides, samples, master
        ctx.release()
    print_table(["load", "precision", "variant", "tokens/s", "engine vs variant"], rows,
                title="engine levers on the device (> 1: the engine's choice is faster)")
    out["verdict"] = "info"
    return "engine vs variant: " + "; ".join(headline)


def with_full_last_layer(model: BertForMaskedLM) -> None:
    model.forward = types.MethodType(full_last_layer_forward, model)


def with_dense_lookup(model: BertForMaskedLM) -> None:
    model.bert.embeddings.word_embeddings.sparse = False


def with_sparse_lookup(model: BertForMaskedLM) -> None:
    model.bert.embeddings.word_embeddings.sparse = True


def _ddp_worker(rank: int, world: int, backend: str, port: int, load: Load, steps: int, result: str) -> None:
    """One rank of a plain DDP run of our model (torch.multiprocessing.spawn calls this in a fresh process)."""
    import datetime as dt

    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group(backend, rank=rank, world_size=world, timeout=dt.timedelta(seconds=120))
    try:
        device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        else:
            torch.set_num_threads(1)  # the gloo rehearsal: ranks share the machine's cores
        torch.manual_seed(0)
        model = BertForMaskedLM(load.config())
        # DDP all-reduces an nn.Embedding(sparse=True) weight's gradient as sparse, but the tied decoder makes it
        # dense here: the engine's sparse lookup has to be switched off under DDP.
        model.bert.embeddings.word_embeddings.sparse = False
        model.to(device)
        ddp = DistributedDataParallel(model, device_ids=[rank] if device.type == "cuda" else None)
        precision = Precision(torch.bfloat16, False) if device.type == "cuda" else Precision(None, False)
        side = Side(ddp, MaskedBlocks(load, seed=rank), precision, device)
        for _ in range(2):
            side.step()  # warm-up
        timed = side.block(steps)
        dist.barrier()
        started = time.perf_counter()
        timed()
        dist.barrier()
        seconds = time.perf_counter() - started
        if rank == 0:
            tokens = world * load.batch * load.seq_len * steps
            Path(result).write_text(json.dumps({"seconds": seconds, "tokens_per_s": tokens / seconds,
                                                "finite": side.finite(), "device": str(device)}))
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ddp_scaling(ctx: Context, backend: str) -> dict[str, Any]:
    """tokens/s of 1 and 2 ranks on the same per-rank batch; scaling efficiency = tps(2) / (2 x tps(1))."""
    import torch.multiprocessing as mp
    # CUDA cannot be forked once initialised, so NCCL ranks are spawned; the gloo rehearsal forks (seconds faster)
    start_method = "spawn" if backend == "nccl" else "fork"
    if start_method == "fork":
        import torch._dynamo  # noqa: F401 (DDP's constructor imports it: once here, not once per forked rank)
    found: dict[str, Any] = {"backend": backend, "load": ctx.plan.ddp.name, "steps": ctx.plan.ddp_steps,
                             "start_method": start_method}
    for world in (1, 2):
        result = ctx.tmp / f"ddp-{world}.json"
        args = (world, backend, free_port(), ctx.plan.ddp, ctx.plan.ddp_steps, str(result))
        run = mp.start_processes(_ddp_worker, args, nprocs=world, join=False, start_method=start_method)
        while not run.join(timeout=5):
            if ctx.left() < 0:  # a hung collective must not eat the other sections' time
                for process in run.processes:
                    process.terminate()
                raise TimeoutError(f"the {world}-rank DDP run passed the section's budget")
        found[f"ranks_{world}"] = json.loads(result.read_text())
    found["scaling_efficiency"] = found["ranks_2"]["tokens_per_s"] / (2 * found["ranks_1"]["tokens_per_s"])
    return found


def trainer_ddp_run(ctx: Context, nproc: int, device: str, size: str, precision: str, steps: int,
                    shard: bool = False) -> dict:
    """bench/ddp_rank.py on `nproc` processes under torchrun (the model sharded with `shard`); its rank 0's
    result.json (raises on a failure)."""
    out_dir = ctx.tmp / f"trainer-{'fsdp2' if shard else 'ddp'}-{nproc}"
    out_dir.mkdir()
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               str(ROOT / "bench" / "ddp_rank.py"), str(out_dir), str(steps), "--device", device, "--size", size,
               "--precision", precision] + (["--shard"] if shard else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=max(ctx.left(), 30))
    if done.returncode != 0:
        raise RuntimeError(f"{nproc}-process Trainer run exited {done.returncode}: {done.stderr[-2000:]}")
    result = json.loads((out_dir / "result.json").read_text())
    losses = list(result.pop("losses").values())
    result.update(first_loss=losses[0], last_loss=losses[-1], finite=all(np.isfinite(losses)))
    return result


def check_trainer_ddp(ctx: Context, out: dict) -> str:
    gpus = torch.cuda.device_count() if ctx.cuda else 0
    if ctx.dry_run:
        runs, device, size, precision, steps = (2,), "cpu", "tiny", "fp32", 4
    else:
        runs, device, size, precision, steps = ((1, 2) if gpus >= 2 else (1,)), "cuda", "small", "bf16", 40
    for key, nproc, shard in [*((f"nproc_{n}", n, False) for n in runs), ("sharded", runs[-1], True)]:
        found = out[key] = trainer_ddp_run(ctx, nproc, device, size, precision, steps, shard)
        if not (found["status"] == "completed" and found["finite"] and found["world_size"] == nproc):
            raise RuntimeError(f"the {nproc}-process {'sharded ' if shard else ''}run did not complete cleanly: "
                               f"{found}")
    first, last, sharded = out[f"nproc_{runs[0]}"], out[f"nproc_{runs[-1]}"], out["sharded"]
    if len(runs) == 2:
        out["scaling_efficiency"] = last["tokens_per_second"] / (2 * first["tokens_per_second"])
    out["verdict"] = "info"
    speeds = " -> ".join(f"{out[f'nproc_{n}']['tokens_per_second']:,.0f}" for n in runs)
    return (f"{last['backend']}, {'/'.join(map(str, runs))} process(es): {speeds} tok/s, loss {first['first_loss']:.2f}"
            f" -> {first['last_loss']:.2f}; sharded (FSDP2) on {runs[-1]}: {sharded['tokens_per_second']:,.0f} tok/s, "
            f"loss -> {sharded['last_loss']:.2f}, rank 0 holds {sharded['held_share']:.0%} of the weights")


def check_ddp(ctx: Context, out: dict) -> str:
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n < 2:
        out["status"] = "skipped"
        if ctx.dry_run:  # exercise spawn + DDP + the result file on gloo so the GPU path is known to start
            out["cpu_rehearsal"] = ddp_scaling(ctx, "gloo")
        return f"skipped: {n} GPU(s)"
    out.update(ddp_scaling(ctx, "nccl"))
    out["verdict"] = "info"
    return (f"{out['ranks_1']['tokens_per_s']:,.0f} -> {out['ranks_2']['tokens_per_s']:,.0f} tok/s, "
            f"efficiency {out['scaling_efficiency']:.2f}")


SECTIONS: dict[str, Callable[[Context, dict], str]] = {
    "env": check_env, "correctness": check_correctness, "throughput": check_throughput, "curves": check_curves,
    "memory": check_memory, "finetune": check_finetune, "probing": check_probing, "pinned": check_pinned,
    "levers": check_levers, "ddp": check_ddp, "trainer_ddp": check_trainer_ddp,
}


# ---- running ------------------------------------------------------------------------------------------------

def run_sections(ctx: Context, names: list[str]) -> dict[str, dict]:
    """Each section in its own try/except; a section that would start after the deadline is skipped for time."""
    results: dict[str, dict] = {}
    stop: str | None = None if ctx.cuda or ctx.dry_run else "no CUDA device"
    for name in names:
        out = results[name] = {}
        if stop and name != "env":
            out.update(status="skipped", headline=f"skipped: {stop}")
            continue
        if time.perf_counter() > ctx.deadline:
            out.update(status="skipped", headline="skipped for time (the deadline had passed)")
            continue
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        ctx.section_end = min(ctx.deadline, started + ctx.plan.budgets[name])
        try:
            out["headline"] = SECTIONS[name](ctx, out)
            out.setdefault("status", "ok")
        except (Exception, KeyboardInterrupt) as exc:
            out.update(status="FAILED", headline=f"{type(exc).__name__}: {exc}"[:300],
                       error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            print(out["traceback"], flush=True)
            stop = "interrupted" if isinstance(exc, KeyboardInterrupt) else ctx.broken()
        finally:
            out["seconds"] = round(time.perf_counter() - started, 2)
            ctx.release()
        print(f"-> {name}: {out['status']} in {out['seconds']:.1f} s: {out['headline']}", flush=True)
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="the CPU, tiny shapes: checks that every section starts")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--results", type=Path, default=None, help="JSONL file to append to "
                        "(default bench/results/gpu_check.jsonl)")
    parser.add_argument("--deadline-min", type=float, default=7.5, help="no section starts after this many minutes")
    parser.add_argument("--no-save", action="store_true", help="print only; append no JSON line")
    args = parser.parse_args(argv)
    args.names = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in args.names if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    started = STARTED
    args = parse_args(argv)
    faulthandler.enable()  # a hard crash (segfault, abort in a kernel) still prints where it happened
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False  # fp32 means IEEE fp32 here
    plan = DRY_PLAN if args.dry_run else FULL_PLAN
    if args.dry_run:  # tiny shapes gain nothing from threads, and on a shared CI box spinning ones cost 10-30x
        torch.set_num_threads(1)
    device = torch.device("cuda", 0) if torch.cuda.is_available() and not args.dry_run else torch.device("cpu")
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        ctx = Context(device, plan, args.dry_run, Path(tmp), started + 60 * args.deadline_min)
        results = run_sections(ctx, args.names)
    total = time.perf_counter() - started
    save_result("gpu_check", argparse.Namespace(quick=args.dry_run, no_save=args.no_save),
                {"total_seconds": total, "sections": results}, path=args.results, argv=sys.argv[1:],
                device=str(device), deadline_min=args.deadline_min, plan=asdict(plan))
    print_table(["section", "status", "verdict", "seconds", "result"],
                [[name, r["status"], r.get("verdict", "-"), r.get("seconds", 0.0), r.get("headline", "")]
                 for name, r in results.items()],
                title=f"GPU check on {device} ({'dry run' if args.dry_run else 'full'}), {total:.0f} s in all")
    return 1 if any(r["status"] == "FAILED" for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
