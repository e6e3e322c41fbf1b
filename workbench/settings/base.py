"""The shared base of every settings group: fields that carry their own help, default, range and allowed values.

A settings group is a frozen dataclass deriving from `Settings` whose fields are made by `setting(...)`. The
metadata of each field (`Meta`) is the one place a setting is described: the CLI's flags and `choices`
(`workbench.cli.settings_args`), the GUI's widgets with their ranges, defaults and tooltips
(`workbench.gui.settings_form`) and the README's settings table (`workbench.settings.table`) are all made from
it. Validation happens once, when a group is built (`__post_init__`): a value that is not allowed raises
`SettingError`, which names the field; each front end spells it the way its user typed it (the CLI flag, the
GUI label).

Nothing here imports torch: the window builds and checks settings before torch loads.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, TypeVar

T = TypeVar("T", bound="Settings")


class SettingError(ValueError):
    """A setting whose value is not allowed: `field` names it, `message` says what is allowed ("must be ...")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message

    def spelled(self, spelling: str) -> str:
        """The error with the setting named as the user knows it: `--mask-rate must be ...`."""
        return f"{spelling} {self.message}"


@dataclass(frozen=True)
class Meta:
    """What a setting is, for people: its words, its limits, and how each front end shows it."""

    help: str  # one plain sentence: the tooltip, the CLI's help and the README's description
    label: str  # the GUI's field label
    flag: str = ""  # the CLI spelling; empty: "--" and the field name with dashes
    low: float | None = None  # the smallest allowed value (numbers; both numbers of a pair)
    high: float | None = None
    low_open: bool = False  # `low` itself is not allowed (a learning rate > 0)
    high_open: bool = False
    choices: tuple[str, ...] | None = None  # the allowed strings
    pattern: str | None = None  # a regular expression an allowed string matches fully
    allowed: str = ""  # the allowed values in words, where a pattern or a rule says more than a range
    none: str = ""  # what None stands for, in words ("the preset's", "same as the learning rate")
    suggested: float | None = None  # where a None default's editor starts when the user turns it on (else `low`)
    special: str = ""  # the word for the lowest value where it means something else ("off" for 0)
    widget_high: float | None = None  # the GUI's upper end where the setting itself has none (learning rates)
    log_scale: bool = False  # numbers spanning decades (learning rates): typed as 5e-4
    step: float | None = None  # the GUI's arrow step
    decimals: int = 4
    negated_flag: bool = False  # the CLI flag switches the setting off (--static-masking sets dynamic to False)
    cli_help: str = ""  # the CLI's help where the flag reads differently from the setting (negated flags)
    on_cli: bool = True  # False: the command line adds it itself (a composite such as --split) or not at all
    window_only: bool = False  # a choice of the desktop window's (with on_cli False): the command line has none
    metavar: str | None = None
    advanced: bool = False  # an expert's detail (AdamW's epsilon): hidden in the window's classroom mode


def setting(default: Any, help: str, label: str, **meta: Any) -> Any:
    """A dataclass field with its metadata (see `Meta`); `flag` defaults to the field name with dashes."""
    return field(default=default, metadata={"setting": Meta(help=help, label=label, **meta)})


@dataclass(frozen=True)
class Spec:
    """One setting of a group, resolved: name, metadata, default, and its value type."""

    name: str
    meta: Meta
    default: Any
    kind: type  # int, float, bool, str, tuple (a pair of numbers) or a Settings subclass
    optional: bool  # None is allowed

    @property
    def flag(self) -> str:
        return self.meta.flag or "--" + self.name.replace("_", "-")


class Settings:
    """Base of the frozen settings dataclasses: validation on construction, `to_dict` / `from_dict`, and the
    list of its settings for the front ends."""

    section: ClassVar[str] = ""  # the group's name in the README table and the CLI's help

    def __post_init__(self) -> None:
        for spec in self.specs():
            _check_value(spec, getattr(self, spec.name))
        self.check()

    def check(self) -> None:
        """Rules between fields (subclasses); raise SettingError naming the field to fix."""

    @classmethod
    def specs(cls) -> tuple[Spec, ...]:
        return _specs(cls)

    @classmethod
    def spec(cls, name: str) -> Spec:
        for spec in cls.specs():
            if spec.name == name:
                return spec
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        values = {}
        for spec in self.specs():
            value = getattr(self, spec.name)
            if isinstance(value, Settings):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            values[spec.name] = value
        return values

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """Build (and so validate) a group from plain data; an unknown key is refused, not dropped."""
        known = {spec.name: spec for spec in cls.specs()}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SettingError(unknown[0], f"is not a {cls.section or cls.__name__} setting; known: "
                                           f"{', '.join(known)}")
        missing = [name for name, spec in known.items() if spec.default is dataclasses.MISSING and name not in data]
        if missing:
            raise SettingError(missing[0], "is missing; it is required")
        values = {}
        for name, value in data.items():
            kind = known[name].kind
            if isinstance(kind, type) and issubclass(kind, Settings) and isinstance(value, dict):
                value = kind.from_dict(value)
            elif kind is tuple and isinstance(value, list):
                value = tuple(value)
            values[name] = value
        return cls(**values)

    def replace(self: T, **changes: Any) -> T:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@cache
def _specs(cls: type) -> tuple[Spec, ...]:
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        if "setting" not in f.metadata:
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with setting(...)")
        kind, optional = _kind(hints[f.name])
        specs.append(Spec(f.name, f.metadata["setting"], f.default, kind, optional))
    return tuple(specs)


def _kind(hint: Any) -> tuple[type, bool]:
    """(value type, None allowed) from an annotation such as `int`, `float | None` or `tuple[float, float]`."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        return _kind(kinds[0])[0], type(None) in args
    if typing.get_origin(hint) is tuple:
        return tuple, False
    return hint, False


def is_integer(value: Any) -> bool:
    """An int (numpy's too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite int or float (numpy's too), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def describe_allowed(spec: Spec) -> str:
    """The allowed values in words: "an integer from 1 to 64", "a number > 0", "one of linear, cosine"."""
    meta = spec.meta
    if meta.allowed:
        text = meta.allowed
    elif meta.choices is not None:
        text = f"one of {', '.join(meta.choices)}"
    elif spec.kind is bool:
        text = "true or false"
    elif spec.kind in (int, float, tuple):
        noun = "an integer" if spec.kind is int else "a number"
        if spec.kind is tuple:
            noun = "two numbers"
        text = f"{noun} {_range_words(meta)}".rstrip()
    else:
        text = "text"
    return text


def format_number(value: float) -> str:
    """5e-4, 0.15, 64, 10,000,000: short for fractions, grouped for big whole numbers."""
    if float(value).is_integer() and abs(value) >= 10_000:
        return f"{int(value):,}"
    return f"{value:g}"


def _range_words(meta: Meta) -> str:
    low = None if meta.low is None else format_number(meta.low)
    high = None if meta.high is None else format_number(meta.high)
    if low is not None and high is not None:
        if not meta.low_open and not meta.high_open:
            return f"from {low} to {high}"
        return f"in {'(' if meta.low_open else '['}{low}, {high}{')' if meta.high_open else ']'}"
    if low is not None:
        return f"{'>' if meta.low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if meta.high_open else '<='} {high}"
    return ""


def _in_range(meta: Meta, value: float) -> bool:
    if meta.low is not None and (value < meta.low or (meta.low_open and value == meta.low)):
        return False
    return not (meta.high is not None and (value > meta.high or (meta.high_open and value == meta.high)))


def _check_value(spec: Spec, value: Any) -> None:
    if value is None and spec.optional:
        return
    meta, kind = spec.meta, spec.kind
    if kind is int:
        ok = is_integer(value) and _in_range(meta, value)
    elif kind is float:
        ok = is_number(value) and _in_range(meta, value)
    elif kind is bool:
        ok = isinstance(value, bool)
    elif kind is tuple:
        ok = isinstance(value, tuple) and len(value) == 2 and all(is_number(v) and _in_range(meta, v)
                                                                    for v in value)
    elif kind is str:
        ok = isinstance(value, str) and (meta.choices is None or value in meta.choices) \
            and (meta.pattern is None or re.fullmatch(meta.pattern, value) is not None)
    elif isinstance(kind, type) and issubclass(kind, Settings):
        ok = isinstance(value, kind)
    else:
        raise TypeError(f"setting {spec.name} has a type the settings base does not know: {kind!r}")
    if not ok:
        raise SettingError(spec.name, f"must be {describe_allowed(spec)}; got {value!r}")


def format_default(spec: Spec) -> str:
    """The default as a person reads it: 5e-4, 0.15, on, the word for None or for the special lowest value."""
    value = spec.default
    if value is dataclasses.MISSING:
        return "required"
    if value is None:
        return spec.meta.none or "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if spec.meta.special and value == spec.meta.low:
        return f"{format_number(value)} ({spec.meta.special})"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, tuple):
        return ", ".join(format_number(v) for v in value)
    return str(value)
