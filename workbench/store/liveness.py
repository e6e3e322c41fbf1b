"""Is a run's process still there? What a reader shows for a run that claims a live process (queued, running,
paused), decided from its row alone: the pid and host that hold it and their last heartbeat.

The process that trains a run beats every `BEAT_EVERY_S` seconds (`jobs.run_claim`). A reader on the same host
asks the system whether the pid is there (decisive: `GONE` at once after a kill); a pid that is there but has
not beaten for `STALE_AFTER_MS` is `SILENT`, which covers a reused pid and a process that hangs. A run held on
another host can only be judged by its beat. Both `GONE` and `SILENT` are shown as ended (`interrupted`, or
`failed` for a run that never started), without writing anything; only `GONE` is written back by
`RunStore.mark_interrupted`, because a silent process may still wake and finish (a suspended laptop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

BEAT_EVERY_S = 5.0
STALE_AFTER_MS = 15_000  # three missed beats

ALIVE, GONE, SILENT, ENDED = "alive", "gone", "silent", "ended"
_CLAIMING = ("queued", "running", "paused")  # statuses that claim a live process (schema.LIVE_STATUSES)


@dataclass(frozen=True)
class Holder:
    """What a run's row says about the process that holds it."""

    status: str
    pid: int | None
    hostname: str | None
    heartbeat_at: int | None  # milliseconds since the epoch, None before the first beat


def liveness(holder: Holder, now_ms: int, host: str, alive: Callable[[int], bool]) -> str:
    """ALIVE, GONE (its process is not there), SILENT (there, but no beat for STALE_AFTER_MS), or ENDED (the
    run's status claims no process). `alive(pid)` asks this host about a pid."""
    if holder.status not in _CLAIMING:
        return ENDED
    beat_fresh = holder.heartbeat_at is not None and now_ms - holder.heartbeat_at <= STALE_AFTER_MS
    if holder.hostname == host and holder.pid is not None:
        if not alive(holder.pid):
            return GONE
        return ALIVE if beat_fresh or holder.heartbeat_at is None else SILENT
    # Another machine's process (or a row that names none) can only be judged by its beat.
    return ALIVE if beat_fresh else GONE


def shown_status(holder: Holder, verdict: str, now_ms: int) -> tuple[str, str | None]:
    """The (status, error) a reader shows for `holder` judged `verdict`; an ALIVE or ENDED run shows its own."""
    if verdict in (ALIVE, ENDED):
        raise ValueError(f"a run judged {verdict} shows its recorded status")
    who = ("the process that created it" if holder.pid is None
           else f"its process (pid {holder.pid} on {holder.hostname})")
    if holder.status == "queued":
        return "failed", f"never started: {who} ended before training began"
    if verdict == SILENT:
        quiet_s = (now_ms - holder.heartbeat_at) // 1000 if holder.heartbeat_at is not None else 0
        return "interrupted", f"{who} has not reported for {quiet_s} s while the run was {holder.status}"
    return "interrupted", f"{who} ended while the run was {holder.status}"
