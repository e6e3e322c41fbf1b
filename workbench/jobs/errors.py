"""The one exception a front end shows as a single line: a problem the user can fix."""

from __future__ import annotations


class UserError(Exception):
    """Bad input (a missing corpus, an invalid setting, ...): one line naming what is wrong and what is allowed."""
