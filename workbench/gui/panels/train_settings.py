"""The Train panel's settings form: objective, optimiser, schedule, batch, intervals, device and precision, made from
`TrainConfig`'s metadata (`workbench.gui.settings_form`), under the recipe choice (`train_recipe`); plus the run's
name, the number of processes (`LaunchConfig`: one per GPU on a machine with several, else one) and the training
process' CPU threads.

Devices are only those this machine has (`available_devices`), and precisions only those the chosen device
supports (`available_precisions`), so the form cannot ask for a run that fails on start.
"""

from __future__ import annotations

import sys

import torch
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QLineEdit, QWidget

from workbench.core.devices import available_devices, available_precisions
from workbench.gui.panels.train_recipe import RecipeChoice
from workbench.gui.settings_form import SettingField, SettingsForm
from workbench.settings.launch import LaunchConfig
from workbench.settings.train import TrainConfig

GROUPS = (
    ("Run", ("steps", "time_budget", "batch_size", "seed")),
    ("Objective", ("objective", "generator_hidden_size", "disc_weight")),
    ("Optimiser (AdamW)", ("lr", "warmup_steps", "schedule", "decay_fraction", "weight_decay", "grad_clip", "grad_accum")),
    ("Evaluation and saving", ("eval_every", "checkpoint_every", "log_every")),
    ("Hardware", ("device", "precision")),
)


def default_processes() -> int:
    """One process per GPU on a machine with several, else one."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return gpus if gpus > 1 else 1


class TrainSettings(SettingsForm):
    """The form of training settings; `config()` reads a TrainConfig from it, `apply()` writes one into it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(TrainConfig, GROUPS, choices={"device": available_devices(), "precision": ()},
                         parent=parent)
        self.recipe = RecipeChoice()
        self.layout().insertWidget(0, self.recipe)  # first: choosing one fills the fields below (and the panels')
        self.name = QLineEdit()
        self.name.setPlaceholderText("automatic (run-N)")
        self.name.setToolTip("A name to find this run again later; left empty, it is called run-N.")
        self.layouts["Run"].insertRow(0, "Name", self.name)
        self.processes = SettingField(LaunchConfig.spec("nproc"))
        self.processes.set_value(default_processes())
        self.shard = SettingField(LaunchConfig.spec("shard"))
        for field in (self.processes, self.shard):
            self.layouts["Hardware"].addRow(field.spec.meta.label, field)
        if getattr(sys, "frozen", False):  # torchrun cannot start the packaged app's executable as Python
            self.processes.setEnabled(False)
            self.processes.setToolTip("Several processes need the workbench installed with pip (see the README); "
                                      "this packaged app trains in one.")
        self.processes.changed.connect(self._processes_changed)
        self._processes_changed()
        self.threads = SettingField(LaunchConfig.spec("threads"))
        self.layouts["Hardware"].addRow(self.threads.spec.meta.label, self.threads)
        self.fields["device"].changed.connect(self._device_changed)
        self._device_changed()
        self.fields["objective"].changed.connect(self._objective_changed)
        self._objective_changed()

    @Slot()
    def _device_changed(self) -> None:
        device = self.fields["device"].value()
        self.fields["precision"].set_choices(available_precisions(torch.device(device)) if device else ())

    @Slot()
    def _objective_changed(self) -> None:
        electra = self.fields["objective"].value() == "electra"  # the generator's settings are ELECTRA's alone
        for name in ("generator_hidden_size", "disc_weight"):
            self.fields[name].setEnabled(electra)

    @Slot()
    def _processes_changed(self) -> None:
        self.shard.setEnabled(self.processes.value() > 1)  # one process has nothing to share the model with

    def launch(self) -> LaunchConfig:
        """How many processes train the run (1: the window's own training process; more: torchrun's), and
        whether they shard the model."""
        nproc = self.processes.value()
        return LaunchConfig(nproc=nproc, shard=nproc > 1 and self.shard.value())

    def cpu_threads(self) -> int | None:
        """The training process' torch threads as chosen (None: all cores but one, `training_threads`)."""
        return LaunchConfig(threads=self.threads.value()).threads

    def config(self) -> TrainConfig:
        return super().config()  # type: ignore[return-value]

    def apply(self, config: TrainConfig) -> None:
        """Show `config`; a device or precision this machine lacks keeps the current choice."""
        super().apply(config)
        self._device_changed()
        self.fields["precision"].set_value(config.precision)
