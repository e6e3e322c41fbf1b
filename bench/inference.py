"""Inference on CPU: fill-mask of a 128-token input in torch (fp32, and bf16 weights as `probe --precision bf16`
loads them), ONNX fp32 and ONNX int8, for `small` and `base`.

Random weights (latency does not depend on them) at each preset's usual vocabulary and maximum length, with a
WordPiece tokenizer trained on the bundled sample corpus. torch runs `fill_mask` (what the Probe panel calls);
the ONNX files, exported and quantized by workbench.core.onnx_export (as `export --format onnx --quantize int8`
does), run the same steps in onnxruntime: encode, the whole (1, T, V) logits, top 5 at the mask. Calls run in
groups; groups where other processes used the CPU are re-run, and the median and p95 are over the single calls
of the clean groups. Also: each file's size, the export's check against torch, and the top-1 agreement of int8
with ONNX fp32 and of torch bf16 with torch fp32 on the bundled cloze suite (with random weights the margins
between tokens are small, so this is a floor for a trained model's agreement). Target (issue 13): fill-mask on a
128-token input to `base` < 150 ms on CPU.

    python bench/inference.py [--quick] [--threads N] [--presets small,base]
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import bench_args, contamination, percentile, print_table, save_result
from probe_latency import latencies, sample_texts, sentence_of

from workbench.core import onnx_export as ox
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing import fill_mask
from workbench.core.probing.encoding import encode_text
from workbench.core.probing.precision import cast_for_inference
from workbench.core.probing.suites import load_suite
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import ensure_cloze_suite
from workbench.settings.model import PRESET_DEFAULT_SIZES, preset_config
from workbench.settings.tokenizer import TokenizerConfig

N_TOKENS = 128
TARGET_MS = {"base": 150.0}  # issue 13: fill-mask on a 128-token input to base, median


def onnx_fill_mask(onnx_session, model: BertForMaskedLM, tokenizer, text: str, top_k: int = 5) -> list[int]:
    """What `fill_mask` does, through onnxruntime: encode, run, the top k at the mask (special tokens out)."""
    ids = torch.tensor([encode_text(tokenizer, text, model.config.max_length)])
    logits = onnx_session.run(["logits"], ox.model_inputs(model, ids, torch.ones_like(ids)))[0][0]  # (T, V)
    at_mask = logits[ids[0].tolist().index(tokenizer.mask_id)].copy()
    at_mask[tokenizer.special_ids] = -np.inf
    return np.argpartition(-at_mask, top_k)[:top_k].tolist()


def top1_agreement(reference: BertForMaskedLM, candidate: BertForMaskedLM, tokenizer,
                   sentences: list[str]) -> float:
    """Share of the masks where two torch models' fill-mask top-1 is the same token."""
    tops = [[mask.predictions[0].token_id for s in sentences for mask in fill_mask(m, tokenizer, s, top_k=1).masks]
            for m in (reference, candidate)]
    return sum(a == b for a, b in zip(*tops)) / len(tops[0])


def measure_preset(preset: str, tokenizer, masked: str, sentences: list[str], calls: int, threads: int,
                   folder: Path) -> tuple[list[list], dict]:
    vocab, max_len = PRESET_DEFAULT_SIZES[preset]
    torch.manual_seed(0)
    model = BertForMaskedLM(preset_config(preset, max(vocab, tokenizer.vocab_size), max_len)).eval()
    fp32_path, int8_path = folder / f"{preset}.onnx", folder / f"{preset}.int8.onnx"
    t0 = time.perf_counter()
    opset = ox.export_model(model, fp32_path, {"preset": preset})
    export_s = time.perf_counter() - t0
    difference, lengths = ox.verify(model, fp32_path)
    ox.quantize_int8(fp32_path, int8_path)
    fp32, int8 = ox.session(fp32_path, threads), ox.session(int8_path, threads)
    agreement = ox.fill_mask_agreement(model, tokenizer, sentences, fp32, int8, "the bundled cloze suite")
    bf16_model = cast_for_inference(copy.deepcopy(model), "bf16")
    bf16_agreement = top1_agreement(model, bf16_model, tokenizer, sentences)
    candidates = {"torch": (lambda: fill_mask(model, tokenizer, masked, top_k=5), None, None),
                  "torch bf16": (lambda: fill_mask(bf16_model, tokenizer, masked, top_k=5), None, bf16_agreement),
                  "ONNX fp32": (lambda: onnx_fill_mask(fp32, model, tokenizer, masked), fp32_path, None),
                  "ONNX int8": (lambda: onnx_fill_mask(int8, model, tokenizer, masked), int8_path,
                                agreement.fraction)}
    rows, results = [], {"vocab_size": model.config.vocab_size, "max_len": max_len, "opset": opset,
                         "export_s": round(export_s, 1), "verified_max_difference": difference,
                         "verified_lengths": lengths, "int8_top1_agreement": agreement.fraction,
                         "bf16_top1_agreement": bf16_agreement, "agreement_items": agreement.n}
    for name, (call, path, agrees) in candidates.items():
        with torch.inference_mode():
            times, samples = latencies(call, calls, group=5)
        ms = [t * 1e3 for t in times]
        weights = bf16_model if name == "torch bf16" else model
        size_mb = path.stat().st_size / 1e6 if path else sum(p.numel() * p.element_size()
                                                              for p in weights.parameters()) / 1e6
        target = f"< {TARGET_MS[preset]:.0f}" if preset in TARGET_MS else "-"
        dirty = contamination(samples)["contaminated_blocks"]
        rows.append([preset, name, len(ms), percentile(ms, 50), percentile(ms, 95), size_mb,
                     "-" if agrees is None else f"{agrees:.1%}", target, dirty])
        results[name] = {"median_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "calls": len(ms),
                         "size_mb": size_mb, "contamination": contamination(samples)}
    return rows, results


def main() -> None:
    args = bench_args(__doc__.splitlines()[0], lambda p: p.add_argument(
        "--presets", default="small,base", help="comma-separated presets (default: small,base)"))
    threads = torch.get_num_threads()
    calls = 10 if args.quick else 60
    texts = sample_texts(2000)
    tokenizer = train_tokenizer(texts, TokenizerConfig(type="wordpiece", vocab_size=16000))
    sentence = sentence_of(tokenizer, texts, N_TOKENS - 2)  # + [CLS] and [SEP]
    words = sentence.split()
    masked = " ".join(words[: len(words) // 2] + ["[MASK]"] + words[len(words) // 2 + 1:])
    suite = load_suite(ensure_cloze_suite(Path(tempfile.gettempdir()) / "mlm-workbench-bench"))
    sentences = [item.sentence for item in suite.items]
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for preset in args.presets.split(","):
            preset_rows, results[preset] = measure_preset(preset, tokenizer, masked, sentences, calls, threads,
                                                          Path(folder))
            rows += preset_rows
    print_table(["preset", "runtime", "n", "median ms", "p95 ms", "file MB", "top-1 = fp32", "target ms",
                 "contaminated groups"], rows,
                title=f"fill-mask, {N_TOKENS}-token input, {threads} threads (torch and onnxruntime), random weights")
    for preset, result in results.items():
        print(f"{preset}: vocab {result['vocab_size']}, opset {result['opset']}, export {result['export_s']} s, "
              f"verified: max logit difference {result['verified_max_difference']:.1g} at lengths "
              f"{result['verified_lengths'][0]} and {result['verified_lengths'][1]}, int8 and bf16 agreement "
              f"on {result['agreement_items']} cloze items")
    save_result("inference", args, results, n_tokens=N_TOKENS)


if __name__ == "__main__":
    main()
