"""Command-line flags made from the settings' metadata (`workbench.settings.base.Meta`), and settings built
from the parsed flags.

argparse holds no defaults: a flag left out stays None and the settings class supplies its own default, so a
default is written once, in `workbench.settings`. A value the settings refuse comes back as a `UserError`
naming the flag the user typed (`--mask-rate must be a number from 0.01 to 0.8; got 2`).
"""

from __future__ import annotations

import argparse
from typing import Any, TypeVar

from workbench.jobs.errors import UserError
from workbench.settings.base import SettingError, Settings, Spec, describe_allowed, format_default

S = TypeVar("S", bound=Settings)
_TYPES = {int: int, float: float, str: str, tuple: float}


def add_settings(parser: argparse.ArgumentParser, cls: type[Settings]) -> argparse._ArgumentGroup:
    """One flag per setting of `cls` that the command line shows, in a group named after the settings."""
    group = parser.add_argument_group(cls.section)
    for spec in cls.specs():
        if spec.meta.on_cli:
            group.add_argument(spec.flag, dest=_dest(cls, spec), **_options(spec))
    return group


def settings_from_args(cls: type[S], args: argparse.Namespace, base: dict[str, Any] | None = None,
                       **values: Any) -> S:
    """`cls` from the flags given, `base` where none is (a recipe's values), the others at their defaults, and
    `values` over all; a refused value names its flag."""
    given = dict(base or {})
    for spec in cls.specs():
        value = getattr(args, _dest(cls, spec), None)
        if value is not None:
            given[spec.name] = tuple(value) if spec.kind is tuple else value
    try:
        return cls(**{**given, **values})
    except SettingError as error:
        raise UserError(error.spelled(cls.spec(error.field).flag)) from error


def given(args: argparse.Namespace, cls: type[Settings], name: str) -> Any:
    """The value the user typed for setting `name` of `cls` (None: left out)."""
    return getattr(args, _dest(cls, cls.spec(name)), None)


def _dest(cls: type[Settings], spec: Spec) -> str:
    return f"{cls.__name__}.{spec.name}"  # two groups may share a field name (seed, batch_size)


def _options(spec: Spec) -> dict[str, Any]:
    meta = spec.meta
    if spec.kind is bool:  # --x / --no-x both ways (a recipe may have switched it), negated ones the other way round
        text = _escape(meta.cli_help or f"{meta.help} (default: {format_default(spec)})")
        action = _NegatedBooleanAction if meta.negated_flag else argparse.BooleanOptionalAction
        return {"action": action, "default": None, "help": text}
    allowed = "" if meta.choices or spec.kind is str else f"{describe_allowed(spec)}; "
    metavar = meta.metavar or (None if meta.choices else spec.flag.lstrip("-").upper().replace("-", "_"))
    options: dict[str, Any] = {"type": _TYPES[spec.kind], "default": None, "metavar": metavar,
                               "help": _escape(f"{meta.help} ({allowed}default: {format_default(spec)})")}
    if meta.choices is not None:
        options["choices"] = meta.choices
    if spec.kind is tuple:
        options["nargs"] = 2
    return options


class _NegatedBooleanAction(argparse.BooleanOptionalAction):
    """--static-masking sets the setting (dynamic) to False, --no-static-masking back to True."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        super().__call__(parser, namespace, values, option_string)
        setattr(namespace, self.dest, not getattr(namespace, self.dest))


def _escape(text: str) -> str:
    return text.replace("%", "%%")  # argparse formats help with %
