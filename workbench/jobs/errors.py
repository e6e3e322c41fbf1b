"""The one exception a front end shows as a single line: a problem the user can fix."""

from __future__ import annotations


def one_line(error: BaseException) -> str:
    """An exception as one line of text (its message with the whitespace folded, else its type's name)."""
    return " ".join(str(error).split()) or type(error).__name__


class UserError(Exception):
    """Bad input (a missing corpus, an invalid setting, ...): one line naming what is wrong and what is allowed."""
