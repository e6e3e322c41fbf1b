"""The one exception a front end shows as a single line: a problem the user can fix."""

from __future__ import annotations

# Above a traceback under "Show Details": what it is for. A problem the user can fix has no details at all.
BUG_DETAILS = "This looks like a bug in MLM Workbench. To report it, copy the lines below:\n\n"


def one_line(error: BaseException) -> str:
    """An exception as one line of text in the user's words: a file's error names the file and what is wrong with
    it ("[Errno 2] No such file or directory: 'x'" reads "x: no such file or directory"); anything else is its
    message with the whitespace folded, else its type's name."""
    if isinstance(error, OSError) and error.strerror:
        reason = error.strerror[0].lower() + error.strerror[1:]
        return f"{error.filename}: {reason}" if error.filename else reason
    return " ".join(str(error).split()) or type(error).__name__


def expected(error: BaseException) -> bool:
    """Whether `error` is a problem the user can fix (bad input, a missing file), not a bug: its one line is all
    there is to say, with no traceback under it."""
    return isinstance(error, (UserError, OSError, ValueError))


class UserError(Exception):
    """Bad input (a missing corpus, an invalid setting, ...): one line naming what is wrong and what is allowed."""
