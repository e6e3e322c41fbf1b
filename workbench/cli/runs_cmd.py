"""`runs list|show|delete|export`: the run store from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.output import fmt, print_json, print_table, stderr, stdout
from workbench.jobs.distill_scores import DistillScores, distill_scores, measure_cloze, score_lines
from workbench.jobs.errors import UserError
from workbench.jobs.metrics_csv import metrics_csv_rows, write_metrics_csv
from workbench.jobs.pretrain import delete_run, get_run
from workbench.jobs.workspace import Workspace
from workbench.store.records import RUN_KINDS, RunRecord


def register(commands: argparse._SubParsersAction) -> None:
    runs = commands.add_parser("runs", help="list, show, delete and export recorded runs")
    sub = runs.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="every run, newest first")
    listing.add_argument("--kind", choices=RUN_KINDS)
    listing.add_argument("--status")
    add_json_flag(listing)
    listing.set_defaults(handler=cmd_list)
    show = sub.add_parser("show", help="one run: config, latest metrics, checkpoints")
    show.add_argument("run", metavar="RUN", help="run id or name")
    show.add_argument("--no-measure", action="store_true",
                      help="a distill run: show only the cloze scores already recorded (by default the missing ones "
                           "are measured with the bundled cloze suite and recorded)")
    add_json_flag(show)
    show.set_defaults(handler=cmd_show)
    delete = sub.add_parser("delete", help="delete a run, its metrics and its checkpoint files")
    delete.add_argument("run", metavar="RUN")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(handler=cmd_delete)
    export = sub.add_parser("export", help="write a run's metrics as CSV (run_id,key,step,value,wall_time)")
    export.add_argument("run", metavar="RUN")
    export.add_argument("--csv", required=True, metavar="FILE", help="output file, or - for stdout")
    export.set_defaults(handler=cmd_export)


def cmd_list(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        runs = ws.store.list_runs(kind=args.kind, status=args.status)
    if args.json:
        print_json([r.to_dict() for r in runs])
        return 0
    rows = [(r.id, r.name, r.kind, r.status, r.preset, r.last_step, fmt(r.best_val_loss), r.device,
             r.to_dict()["created_at"]) for r in runs]
    print_table("Runs", ("id", "name", "kind", "status", "preset", "step", "best val loss", "device", "created"), rows)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        run = get_run(ws, args.run)
        latest = ws.store.latest_metrics(run.id)
        checkpoints = ws.store.checkpoints(run.id)
        scores = _distill_scores(ws, run, measure=not args.no_measure) if run.kind == "distill" else None
    extra = {} if scores is None else {"distill_scores": scores.to_dict()}
    if args.json:
        print_json({**run.to_dict(), "latest_metrics": latest, "checkpoints": [c.to_dict() for c in checkpoints],
                    **extra})
        return 0
    fields = run.to_dict()
    config = fields.pop("config")
    print_table(f"Run {run.name}", ("field", "value"), [(k, v) for k, v in fields.items()])
    for section, values in config.items():
        print_table(section, ("setting", "value"), sorted(values.items()) if isinstance(values, dict) else [])
    print_table("Latest metrics", ("metric", "value"), [(k, fmt(v)) for k, v in sorted(latest.items())])
    print_table("Checkpoints", ("step", "size", "sha256", "path"),
                [(c.step, f"{c.size:,}", c.sha256[:12], c.path) for c in checkpoints])
    if scores is not None:
        print_table("The student beside its teacher", ("scores",), [(line,) for line in score_lines(scores)])
    return 0


def _distill_scores(ws: Workspace, run: RunRecord, measure: bool) -> DistillScores:
    """A distill run's scores beside its teacher's; the missing cloze scores measured first unless not `measure`
    (progress on stderr)."""
    scores = distill_scores(ws, run)
    if not measure or not scores.unmeasured():
        return scores
    names = " and ".join(repr(model.name) for model in scores.unmeasured())
    stderr.print(f"measuring the cloze suite on {names} ...")
    return measure_cloze(ws, run.id, progress=lambda done, total: stderr.print(f"  {done} of {total} done"))


def cmd_delete(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        run = get_run(ws, args.run)
        if not args.yes:
            if not sys.stdin.isatty():
                raise UserError("runs delete asks for confirmation; pass --yes when not at a terminal")
            answer = input(f"Delete run {run.name!r} and its checkpoints? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                stdout.print("nothing deleted")
                return 0
        delete_run(ws, run.id)
    stdout.print(f"deleted run {run.name!r}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        run = get_run(ws, args.run)
        points = ws.store.metrics(run.id)
    out = sys.stdout if args.csv == "-" else open(Path(args.csv), "w", newline="", encoding="utf-8")
    try:
        write_metrics_csv(out, metrics_csv_rows(run.id, points))
    finally:
        if out is not sys.stdout:
            out.close()
    return 0
