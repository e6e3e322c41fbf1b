"""Messages in the user's words (issue 15 item 8): a file's error names the file without "[Errno 2]", and a
problem the user can fix comes with no Python traceback under Show Details; a bug's traceback says what it is."""

from __future__ import annotations

import signal
from pathlib import Path

from workbench.core.training_types import TrainControl
from workbench.jobs.background import child_main
from workbench.jobs.errors import BUG_DETAILS, UserError, one_line


def failing(error: Exception):
    def fn(task) -> None:
        raise error
    return fn


class Messages(list):
    """What the child puts on its queue, kept in this process (the queue's put / close / join_thread)."""

    put = list.append

    def close(self) -> None:
        pass

    def join_thread(self) -> None:
        pass


def child_failure(error: Exception) -> tuple:
    messages, handler = Messages(), signal.getsignal(signal.SIGINT)
    try:
        child_main(failing(error), messages, TrainControl())
    finally:
        signal.signal(signal.SIGINT, handler)  # the child ignores Ctrl-C; this test process should not
    (message,) = messages
    return message


def test_a_missing_file_reads_as_words(tmp_path: Path) -> None:
    try:
        open(tmp_path / "data.tsv")
    except OSError as error:
        line = one_line(error)
    assert line == f"{tmp_path / 'data.tsv'}: no such file or directory" and "Errno" not in line


def test_a_fixable_problem_has_no_traceback_and_a_bug_says_it_is_one(tmp_path: Path) -> None:
    assert child_failure(UserError("no corpus named 'x'")) == ("failed", "no corpus named 'x'", "")
    assert child_failure(FileNotFoundError(2, "No such file or directory", "a.tsv"))[2] == ""
    kind, message, details = child_failure(RuntimeError("shapes do not match"))
    assert message == "shapes do not match" and details.startswith(BUG_DETAILS) and "Traceback" in details
