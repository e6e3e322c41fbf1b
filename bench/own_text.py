""""Your own text in five minutes" (issue 15): from pasting the text of a short book to a fill-mask answer about a
held-out sentence, timed end to end in a fresh home, as the window's "Train on your own text" runs it
(`workbench.jobs.own_text`): record the text, plan, train the tokenizer and the model for the plan's time
budget, ask. The goal: under 5 minutes on a 2-core CPU, with a model that beats the unigram guess (validation
loss below the unigram baseline, and on the question's word).

    python bench/own_text.py [--text FILE] [--minutes 4] [--quick] [--no-save]

Default text: the shared Tiny Shakespeare (skipped with a message when /work/shared is absent).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import bench_args, save_result  # noqa: E402

from workbench.jobs.own_text import add_own_text, held_out_question, plan_own_text, train_own_text  # noqa: E402
from workbench.jobs.workspace import Workspace  # noqa: E402

TEXT = ROOT.parent / "shared" / "corpora" / "tinyshakespeare.txt"
GOAL_S = 300.0


def extra_args(parser) -> None:
    parser.add_argument("--text", type=Path, default=TEXT, help="the text to paste (default: Tiny Shakespeare)")
    parser.add_argument("--minutes", type=float, default=None, help="training budget (default: the plan's)")


def main() -> None:
    args = bench_args(__doc__.splitlines()[0], extra_args)
    if not args.text.is_file():
        raise SystemExit(f"{args.text} is absent")
    text = args.text.read_text(encoding="utf-8")
    cores = args.threads or os.cpu_count() or 1
    minutes = 0.2 if args.quick else args.minutes
    stages: dict[str, float] = {}
    started = time.perf_counter()
    with Workspace(Path(tempfile.mkdtemp(prefix="own-text-"))) as ws:
        corpus = add_own_text(ws, args.text.stem, text=text)
        stages["record the text"] = time.perf_counter() - started
        plan = plan_own_text(corpus, cores, *([minutes] if minutes else []))
        mark = time.perf_counter()
        run, result = train_own_text(ws, corpus, plan)
        stages["tokenizer + data + training"] = time.perf_counter() - mark
        mark = time.perf_counter()
        question = held_out_question(ws, run, corpus)
        stages["the question"] = time.perf_counter() - mark
    total = time.perf_counter() - started
    beats = result.val_loss is not None and result.unigram_baseline_loss is not None and \
        result.val_loss < result.unigram_baseline_loss
    for line in plan.reasons:
        print(f"plan: {line}")
    for stage, seconds in stages.items():
        print(f"{stage:<28} {seconds:7.1f} s")
    print(f"{'total':<28} {total:7.1f} s (goal {GOAL_S:.0f} s: {'met' if total <= GOAL_S else 'missed'})")
    print(f"run: {result.status}, {result.steps:,} steps; validation loss {result.val_loss:.3f} against the "
          f"unigram baseline {result.unigram_baseline_loss:.3f} ({'below' if beats else 'not below'}); "
          f"masked-token accuracy {result.val_accuracy:.1%}")
    print(f"question ({'not in' if question.unseen else 'also in'} the training text): {question.masked}")
    print(f"  answer {question.answer!r}: rank {question.answer_rank}, p = {question.answer_probability:.2g} "
          f"against the unigram guess's p = {question.unigram_probability:.2g} (its top word: "
          f"{question.unigram_guess!r}); the model's top 5: "
          + ", ".join(f"{word} {p:.2f}" for word, p in question.predictions))
    save_result("own_text", args, {
        "text": args.text.name, "characters": len(text), "words": corpus.stats["words"], "cores": cores,
        "plan": {"tokenizer": plan.tokenizer.to_dict(), "model": plan.spec.model.to_dict(),
                 "minutes": plan.spec.train.time_budget},
        "stages_s": {k: round(v, 1) for k, v in stages.items()}, "total_s": round(total, 1),
        "goal_met": total <= GOAL_S, "steps": result.steps, "val_loss": result.val_loss,
        "unigram_baseline_loss": result.unigram_baseline_loss, "val_accuracy": result.val_accuracy,
        "beats_unigram": beats,
        "question": {"masked": question.masked, "answer": question.answer, "rank": question.answer_rank,
                     "p": question.answer_probability, "unigram_p": question.unigram_probability,
                     "unseen": question.unseen, "top5": question.predictions}})


if __name__ == "__main__":
    main()
