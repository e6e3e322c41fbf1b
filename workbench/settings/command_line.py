"""The command line that trains what a `PretrainSpec` describes: the Train panel's "Copy command", and how the
window starts a run on several processes (through the CLI's own `--nproc`).

Each flag is made from the setting's metadata, as the CLI's flags are (`workbench.cli.settings_args`), and only
for settings that differ from their defaults, so the line stays as short as what a person would type. Parsing it
with the CLI gives back the same spec (tests/settings/test_command_line.py); the one approximation is `--split`,
written in percent to six significant digits.
"""

from __future__ import annotations

import shlex
from typing import Any

from workbench.paths import HOME_ENV
from workbench.settings.base import Settings, Spec
from workbench.settings.launch import LaunchConfig
from workbench.settings.masking import MaskingConfig
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.recipes import recipe_defaults

PROGRAM = "mlm-workbench"


def _value_words(spec: Spec, value: Any) -> list[str]:
    if spec.kind is bool:  # --x switches the setting on, --no-x off; a negated flag the other way round
        on = value != spec.meta.negated_flag
        return [spec.flag] if on else [f"--no-{spec.flag.removeprefix('--')}"]
    if spec.kind is tuple:
        return [spec.flag, *(repr(float(number)) for number in value)]
    return [spec.flag, repr(value) if isinstance(value, float) else str(value)]


def setting_flags(config: Settings, base: dict[str, Any] | None = None) -> list[str]:
    """The flags that give `config`'s settings that differ from their defaults (those the command line takes),
    `base`'s values (a recipe's) standing in for the defaults where it has one."""
    words: list[str] = []
    for spec in type(config).specs():
        value = getattr(config, spec.name)
        default = (base or {}).get(spec.name, spec.default)
        if spec.meta.on_cli and value != default:
            if value is None:  # no setting has a default that None would replace; a new one must say how
                raise ValueError(f"{spec.flag} cannot be set back to None on the command line")
            words += _value_words(spec, value)
    return words


def masking_flags(masking: MaskingConfig, base: dict[str, Any] | None = None) -> list[str]:
    """The masking flags (against `base`, a recipe's values), with the [MASK] / random / kept shares as
    `--split M,R,K` in percent."""
    words = setting_flags(masking, base)
    default = MaskingConfig(**(base or {}))
    if (masking.mask_replace_prob, masking.random_replace_prob) != (default.mask_replace_prob,
                                                                      default.random_replace_prob):
        shares = (masking.mask_replace_prob, masking.random_replace_prob, masking.keep_prob)
        words += ["--split", ",".join(f"{share * 100:.6g}" for share in shares)]
    return words


def train_arguments(spec: PretrainSpec) -> list[str]:
    """`train` and its flags: the arguments after the program's name; with a recipe, `--recipe NAME` and the
    flags of what differs from the recipe's values."""
    base = recipe_defaults(spec.recipe)
    return ["train", *setting_flags(spec), *setting_flags(spec.model, base["model"]),
            *masking_flags(spec.masking, base["masking"]), *setting_flags(spec.train, base["train"])]


def launch_flags(launch: LaunchConfig) -> list[str]:
    """The flags of `launch` that each process reads (--shard, --dist-timeout): all but the number of processes,
    which the launcher takes."""
    return setting_flags(launch.replace(nproc=1))


def train_command(spec: PretrainSpec, home: str | None = None, launch: LaunchConfig = LaunchConfig()) -> str:
    """The shell line that trains `spec` in the home `home`: `mlm-workbench train …` on one process, PyTorch's
    own `torchrun --standalone --nproc-per-node N -m workbench train …` on several (its home in the
    environment: torchrun reads every option-like word after the module)."""
    arguments = train_arguments(spec) + launch_flags(launch)
    if launch.nproc > 1:
        words = ["torchrun", "--standalone", f"--nproc-per-node={launch.nproc}", "-m", "workbench", *arguments]
        prefix = f"{HOME_ENV}={shlex.quote(home)} " if home else ""
        return prefix + shlex.join(words)
    return shlex.join([PROGRAM, *(["--home", home] if home else []), *arguments])
