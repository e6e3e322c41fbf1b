"""The Train panel: training settings, Start / Pause / Resume / Stop, progress with ETA, and live curves.

Corpus, tokenizer, masking and model come from the shared `AppState` (the panels before this one); this panel
adds the optimiser, schedule, batch, intervals and hardware, builds a `PretrainSpec` and runs
`workbench.jobs.pretrain.start_pretraining` (or `resume_pretraining`) in a child process (a `ProcessTask`: see
`workbench.jobs.background` for why). With several processes, that child runs the command line under torchrun
and relays rank 0's events and the buttons' requests (`workbench.jobs.supervised`); "Copy command" gives the
same command line for a terminal. Training events arrive on the GUI thread and only fill buffers; timers
redraw the curves (10 Hz) and the progress line (4 Hz).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from workbench.core.training_types import EvalEvent, StatusEvent, StepEvent, TrainResult
from workbench.gui.job_controls import JobControls
from workbench.gui.live_plots import LiveCurves
from workbench.gui.panels.train_settings import TrainSettings
from workbench.gui.state import AppState
from workbench.gui.workers import ProcessTask, Task, TaskRunner
from workbench.jobs.background import ChildTask, train_new, train_on_processes, train_resume
from workbench.settings.base import SettingError
from workbench.settings.command_line import launch_flags, train_arguments, train_command
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.recipes import apply_recipe, recipe_changes
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig
from workbench.store.records import RunRecord
from workbench.views.choices import current_tokenizer
from workbench.views.curves import load_curves, plural, progress_text
from workbench.views.glossary import explain, words
from workbench.views.run_compare import can_resume

# Demo settings for the toolbar's Quick start: the loss visibly falls within seconds on the sample corpus.
QUICK_START = TrainConfig(steps=3000, batch_size=32, lr=1e-3, warmup_steps=50, eval_every=100,
                          checkpoint_every=500, log_every=5)


def _shape(model: ModelSpec) -> dict:
    """The fields of a model the header names, as a recorded run's model config has them."""
    return {**model.architecture(), "max_position_embeddings": model.max_position_embeddings,
            "pre_layer_norm": model.pre_layer_norm}


class TrainPanel(QWidget):
    """Settings on the left; Start / Pause / Stop, progress and live curves on the right."""

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.run_id: int | None = None
        self._last_step: StepEvent | None = None
        self._shown: tuple | None = None  # the (step, eval) events on screen
        self._last_eval: EvalEvent | None = None
        self.settings = TrainSettings()
        self.curves = LiveCurves(state.store)
        self._build()
        for signal in (state.corpus_changed, state.tokenizer_changed, state.masking_changed, state.model_changed):
            signal.connect(self._on_choice_changed)
        self.settings.recipe.chosen.connect(self._on_recipe_chosen)
        self.settings.changed.connect(self._show_recipe_changes)
        state.tokenizers_changed.connect(self._refresh_summary)
        state.classroom_changed.connect(self._on_classroom)
        if state.classroom:
            self._on_classroom(True)
        self._refresh_summary()
        self.ui_timer = QTimer(self)
        self.ui_timer.setInterval(250)
        self.ui_timer.timeout.connect(self._refresh_progress)
        self.ui_timer.start()

    def _build(self) -> None:
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.blocked = QLabel()
        self.blocked.setStyleSheet("color: #c0392b;")
        self.blocked.setWordWrap(True)
        self.controls = JobControls(
            self.state, self.runner, "Ready: press Start to train a model.",
            start_tip="Train a new model with these settings and the choices of the earlier panels.",
            stop_tip="Save a checkpoint and end the run; the Runs panel can resume it later.",
            pause_tip="Pause after the current step (Resume continues exactly where it paused).",
            resume_tip="Continue the last run, stopped or interrupted, from its last checkpoint.",
            can_start=lambda: self.state.model_error is None, can_resume=lambda: self.resumable() is not None)
        self.controls.resume_button.setText("Resume run")  # not the Pause button's "Resume" of a paused run
        self.controls.resume_button.clicked.connect(self._resume_clicked)
        self.controls.start_button.clicked.connect(self.start)
        self.copy_button = QPushButton("Copy command")
        self.copy_button.setToolTip("Copy the command line that trains this run from a terminal or a script "
                                    "(with several processes: PyTorch's torchrun command).")
        self.copy_button.clicked.connect(self.copy_command)
        self.controls.add_widget(self.copy_button)
        self.controls.changed.connect(self._enable_settings)
        self.controls.finished.connect(self._refresh_summary)  # the run may have trained the corpus' first tokenizer
        self.state.runs_changed.connect(self.controls.update_buttons)  # a run stopped, resumed or deleted elsewhere
        self.detail_label = QLabel()
        self.eval_label = QLabel()
        for label in (self.detail_label, self.eval_label):  # long in classroom mode's plain words and large type:
            label.setWordWrap(True)  # on one line they widened the panel past a 1280 px screen
        right = QVBoxLayout()
        for widget in (self.controls, self.detail_label, self.eval_label):
            right.addWidget(widget)
        right.addWidget(self.curves, 1)
        self.settings_scroll = QScrollArea()
        self.settings_scroll.setWidget(self.settings)
        self.settings_scroll.setWidgetResizable(True)
        # it scrolls on its own: as tall as the panel, not as its form (which made the whole panel scroll)
        self.settings_scroll.setSizePolicy(self.settings_scroll.sizePolicy().horizontalPolicy(),
                                           QSizePolicy.Policy.Ignored)
        body = QHBoxLayout()
        body.addWidget(self.settings_scroll)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.blocked)
        layout.addLayout(body, 1)
        self._fit_settings()
        self._update_buttons()
        self._mention_stopped_run()

    def _fit_settings(self) -> None:
        """The settings column as wide as its fields; in classroom mode (larger type, fewer fields) only as wide as
        they must be, so that the curves keep the room."""
        hint = self.settings.minimumSizeHint() if self.state.classroom else self.settings.sizeHint()
        self.settings_scroll.setFixedWidth(hint.width() + 24)
        if self.layout() is not None:  # called while the panel is built, before its layout exists
            # the nested row's cached minimum kept the column's first, wider width (1,271 px in classroom mode);
            # only activate() clears the nested layouts' caches, and it works on a hidden panel too
            self.layout().invalidate()
            self.layout().activate()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._fit_settings)  # a hidden form's hints lag behind rows hidden or shown meanwhile

    @Slot(bool)
    def _on_classroom(self, plain: bool) -> None:
        QTimer.singleShot(0, self._fit_settings)  # once the advanced rows are hidden or shown
        self.curves.show_plain_words(plain)
        self.eval_label.setToolTip("\n".join(explain(key) for key in ("val_loss", "baseline", "accuracy"))
                                   if plain else "")
        self._shown = None  # the lines under the progress bar in the new words
        self._refresh_progress()

    def resumable(self) -> RunRecord | None:
        """The newest pretraining run, when it ended early (stopped or interrupted) with a checkpoint to resume."""
        store = self.state.store
        newest = next(iter(store.list_runs(kind="pretrain")), None)
        return newest if newest is not None and can_resume(newest, store.latest_checkpoint(newest.id) is not None) \
            else None

    def _mention_stopped_run(self) -> None:
        """After a relaunch: the run the user stopped last time is one click away."""
        run = self.resumable()
        if run is not None:
            step = self.state.store.latest_checkpoint(run.id).step
            self.controls.say(f"Run {run.name!r} was {run.status} at step {step:,}: press Resume run to continue "
                              "it, or Start to train a new one.")

    @Slot()
    def _resume_clicked(self) -> None:
        run = self.resumable()
        if run is not None:
            self.resume(run.id)

    # ---- what will be trained --------------------------------------------------------------------------

    @Slot(object)
    def _on_choice_changed(self, _choice: object) -> None:
        self._refresh_summary()
        self._show_recipe_changes()

    @Slot(object)
    def _on_recipe_chosen(self, name: str | None) -> None:
        """Fill the Model and Masking panels' forms and this panel's with the recipe's values (Custom keeps them)."""
        if name is not None:
            spec = apply_recipe(self.spec(), name)
            self.state.set_model(spec.model)
            self.state.set_masking(spec.masking)
            self.settings.apply(spec.train)
        self._show_recipe_changes()

    @Slot()
    def _show_recipe_changes(self) -> None:
        try:
            spec = self.spec()
        except SettingError:  # a field being typed: the note waits for a valid value
            return
        self.settings.recipe.show_changes(recipe_changes(spec))

    @Slot()
    def _refresh_summary(self) -> None:
        """The header: while a run trains, that run's choices (set at launch); else what Start would train."""
        state, model = self.state, self.state.model
        if self.task is None:
            self.summary.setText("<b>Next run:</b> " + self._describe(state.corpus_name, state.tokenizer_id,
                                                                      state.masking, model.preset, _shape(model)))
        error = state.model_error
        self.blocked.setText("" if error is None else f"Start is disabled: a model setting on the Model panel is not "
                             f"valid yet ({error}); fix the field marked there.")
        self.blocked.setVisible(error is not None)
        self._update_buttons()

    def _show_training(self, corpus: str | None, tokenizer_id: int | None, masking: MaskingConfig, preset: str,
                       arch: dict, planned: TokenizerConfig | None = None) -> None:
        self.summary.setText("<b>Training now:</b> " + self._describe(corpus, tokenizer_id, masking, preset, arch,
                                                                      planned))

    def _describe(self, corpus_name: str | None, tokenizer_id: int | None, masking: MaskingConfig, preset: str,
                  arch: dict, planned: TokenizerConfig | None = None) -> str:
        """The run's choices in one line; `planned`: the tokenizer its job trains first (else the default)."""
        corpus = corpus_name or "sample (bundled)"
        record = current_tokenizer(self.state.store, corpus_name, tokenizer_id)
        if planned is not None:
            tokenizer = f"a {planned.type} of {planned.vocab_size:,}, trained first"
        elif record is not None:
            tokenizer = f"#{record.id} {record.type} {record.vocab_size:,}"
        elif tokenizer_id is not None:
            tokenizer = f"#{tokenizer_id} (not found)"
        else:
            tokenizer = "none yet: a WordPiece of 8,000 is trained first"
        split = f"{masking.mask_replace_prob:.0%}/{masking.random_replace_prob:.0%}/{masking.keep_prob:.0%}"
        return (f"<b>Corpus</b> {corpus} · <b>Tokenizer</b> {tokenizer} · <b>Masking</b> {masking.strategy}, "
                f"{masking.mlm_probability:.0%} ({split}), {'dynamic' if masking.dynamic else 'static'} · "
                f"<b>Model</b> {preset}: {arch['num_hidden_layers']} layers, hidden {arch['hidden_size']}, "
                f"{arch['num_attention_heads']} heads, FFN {arch['intermediate_size']}, max_len "
                f"{arch['max_position_embeddings']}, {'pre-LN' if arch.get('pre_layer_norm') else 'post-LN'}")

    def spec(self) -> PretrainSpec:
        """The run the Start button would train (its masks take the run's seed: PretrainSpec)."""
        return PretrainSpec(
            corpus=self.state.corpus_name, tokenizer_id=self.state.tokenizer_id, model=self.state.model,
            masking=self.state.masking, train=self.settings.config(), name=self.settings.name.text().strip() or None,
            recipe=self.settings.recipe.name(),
        )

    @Slot()
    def copy_command(self) -> str:
        """Put the command line of the run Start would train on the clipboard, and say so."""
        line = train_command(self.spec(), str(self.state.home), self.settings.launch())
        QGuiApplication.clipboard().setText(line)
        self.controls.say(f"Copied: {line}")
        return line

    # ---- start, pause, stop ----------------------------------------------------------------------------

    @Slot()
    def start(self) -> bool:
        """Train a new run with the current settings (on several processes when asked); False (with a message)
        when that is not possible now."""
        if not self._can_launch():
            return False
        spec, launch = self.spec(), self.settings.launch()
        if launch.nproc > 1:
            job = partial(train_on_processes, self.state.home, train_arguments(spec) + launch_flags(launch),
                          launch.nproc)
        else:
            job = partial(train_new, self.state.home, spec, threads=self.settings.cpu_threads())
        self._train(spec, job)
        return True

    def train_planned(self, spec: PretrainSpec, job: Callable[[ChildTask], object], tokenizer: TokenizerConfig,
                      start_text: str) -> Task | None:
        """Train `spec` (whose tokenizer `tokenizer` the job trains first) with `job` in a child process, shown
        and controlled here as Start's runs are: "Train on your own text" runs its plan so. The task, or None
        (with the reason shown here) when a run is already training."""
        if not self._can_launch(check_model=False):
            return None
        self.settings.apply(spec.train)  # the form shows the run's settings while it trains, as for a resumed run
        return self._train(spec, job, tokenizer, start_text)

    def _train(self, spec: PretrainSpec, job: Callable[[ChildTask], object], tokenizer: TokenizerConfig | None = None,
               start_text: str = "Preparing data…") -> Task:
        self.run_id = None
        self._show_training(spec.corpus, spec.tokenizer_id, spec.masking, spec.model.preset, _shape(spec.model),
                            tokenizer)
        self.curves.reset(name=spec.name or "this run")
        task = ProcessTask("training", job)
        self._launch(task, start_text)
        return task

    def quick_start(self) -> bool:
        """Start at once with demo settings (the window has chosen the sample corpus and a tiny model)."""
        if self.task is not None:
            self.controls.say("A run is already training: stop it before a quick start.")
            return False
        self.settings.apply(replace(QUICK_START, device=self.settings.fields["device"].value()))
        self.settings.name.clear()
        return self.start()

    def resume(self, run_id: int) -> bool:
        """Continue a stopped or interrupted run from its last checkpoint; its earlier curve is drawn first."""
        if not self._can_launch(check_model=False):
            return False
        store = self.state.store
        run = store.get_run(run_id)
        if run is None:
            self.controls.report_error(f"There is no run {run_id} to resume.")
            return False
        checkpoint = store.latest_checkpoint(run_id)
        history = load_curves(store, run_id, until_step=checkpoint.step if checkpoint else None)
        if "train" in run.config:
            self.settings.apply(TrainConfig.from_dict(run.config["train"]))
        self.run_id = run_id
        self.curves.reset(history, name=run.name, run_id=run_id)
        if {"model", "masking", "data"} <= run.config.keys():
            self._show_training(run.config["data"].get("corpus"), run.tokenizer_id,
                                MaskingConfig.from_dict(run.config["masking"]), run.preset or "custom",
                                run.config["model"])
        launch = self.settings.launch()
        if launch.nproc > 1:
            job = partial(train_on_processes, self.state.home, ["resume", str(run_id), *launch_flags(launch)],
                          launch.nproc)
        else:
            job = partial(train_resume, self.state.home, run_id, threads=self.settings.cpu_threads())
        self._launch(ProcessTask("training", job))
        return True

    def _can_launch(self, check_model: bool = True) -> bool:
        if self.task is not None:
            self.controls.say("A run is already training: stop it first.")
            return False
        if check_model and self.state.model_error is not None:
            self.controls.set_phase("idle", self.blocked.text())
            return False
        return True

    def _launch(self, task: Task, start_text: str = "Preparing data…") -> None:
        self._last_step = self._last_eval = self._shown = None
        self.detail_label.clear()
        self.eval_label.clear()
        task.event.connect(self._on_event)
        task.progress.connect(self._on_progress)
        task.succeeded.connect(self._on_succeeded)
        self.controls.launch(task, "preparing", start_text)

    @Slot()
    def stop(self) -> None:
        """Stop the run with a checkpoint (as the Stop button does)."""
        self.controls.stop()

    @property
    def task(self) -> Task | None:
        """The training task running, else None."""
        return self.controls.task

    @property
    def phase(self) -> str:
        """preparing, running, pausing, paused, stopping, or how the last run ended ("idle" before any)."""
        return self.controls.phase

    # ---- what the worker reports -----------------------------------------------------------------------

    @Slot(object)
    def _on_event(self, event: object) -> None:
        self.curves.add_event(event)
        if isinstance(event, StepEvent):
            self._last_step = event
        elif isinstance(event, EvalEvent):
            self._last_eval = event
        elif isinstance(event, StatusEvent):
            self._on_status(event)

    def _on_status(self, event: StatusEvent) -> None:
        if event.status == "running" and self.run_id is None:
            running = self.state.store.list_runs(kind="pretrain", status="running")
            if running:
                self.run_id = running[0].id
                self.curves.live_run_id = self.run_id
                self.curves.set_live_name(running[0].name)
                self.settings.name.clear()  # Start again should not collide with this run's name
                self.state.tokenizers_changed.emit()  # preparing the run may have trained the corpus' first tokenizer
        if event.status in ("running", "paused") and self.phase != "stopping":
            self.controls.set_phase(event.status, self._phase_text(event.status, event.message))
            self.state.runs_changed.emit()  # the run's row changed status

    @Slot(str, int, object)
    def _on_progress(self, stage: str, done: int, total: object) -> None:
        if self.phase == "preparing":
            amount = f"{done:,} of {plural(total, 'document')}" if total else plural(done, "document")
            self.controls.set_phase("preparing", f"Preparing data: {stage}" + (f" ({amount})…" if done or total
                                                                                 else "…"))

    @Slot(object)
    def _on_succeeded(self, value: object) -> None:
        run_id, result = value
        self.run_id = run_id
        self._refresh_progress()
        self.controls.set_phase(result.status, self._phase_text(result.status, result.message, result))
        if result.status in ("failed", "diverged"):
            self.controls.report_error(f"Training {result.status}: {result.message}")

    # ---- showing it ------------------------------------------------------------------------------------

    def _phase_text(self, status: str, message: str, result: TrainResult | None = None) -> str:
        if status == "running":
            return f"Training: {message}"
        if status == "paused":
            return f"{message[:1].upper()}{message[1:] or 'Paused'}. Press Resume to continue."
        if status == "stopped" and result is not None and result.last_checkpoint is not None:
            return f"Stopped at step {result.steps:,}. A checkpoint is saved: press Resume run to continue."
        if status == "completed" and result is not None:
            done = f"Completed {plural(result.steps, 'step')}."
            if result.val_loss is None:
                return done
            scores = self._scores(result.val_loss, result.unigram_baseline_loss, result.val_accuracy)
            return f"{done} {scores[:1].upper()}{scores[1:]}."
        return status.capitalize() + (f": {message}" if message else ".")

    def _update_buttons(self) -> None:
        self.controls.update_buttons()

    @Slot()
    def _enable_settings(self) -> None:
        self.settings.setEnabled(not self.controls.busy)

    @Slot()
    def _refresh_progress(self) -> None:
        """At most 4 times a second: the progress bar and the lines under it from the latest events."""
        event, ev = self._last_step, self._last_eval
        if event is None or (event, ev) == self._shown:
            return
        self._shown = (event, ev)
        self.controls.show_step(event.step, event.total_steps)
        self.detail_label.setText(progress_text(event))
        if ev is not None:
            self.eval_label.setText(f"At step {ev.step:,}: "
                                    f"{self._scores(ev.val_loss, ev.unigram_baseline_loss, ev.val_accuracy)}")

    def _scores(self, loss: float, baseline: float | None, accuracy: float) -> str:
        """A validation's scores, in plain words in classroom mode (the technical terms on hover)."""
        plain = self.state.classroom
        versus = f" ({words('baseline', plain)}{':' * plain} {baseline:.3f})" if baseline else ""
        return (f"{words('val_loss', plain)} {loss:.3f}{versus}, {words('accuracy', plain)} "
                f"{accuracy:.1%}")


if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(TrainPanel)
