"""What a pretraining run is made of: `PretrainSpec`, the data choices with the model, masking and training
settings it nests.

The masks follow the run's seed: one seed covers the weights, the data order, dropout and the masks, in every
front end (`__post_init__` sets `masking.seed` to `train.seed`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from workbench.settings.base import SettingError, Settings, setting
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import ModelSpec
from workbench.settings.recipes import RECIPES
from workbench.settings.train import TrainConfig


@dataclass(frozen=True)
class PretrainSpec(Settings):
    section = "data"

    corpus: str | None = setting(None, "The corpus to train on, by name.", "Corpus",
                                 none="the bundled sample corpus", metavar="NAME")
    tokenizer_id: int | None = setting(None, "The tokenizer, by id.", "Tokenizer", flag="--tokenizer", low=1,
                                       none="the corpus' latest, else a new WordPiece", metavar="ID")
    val_fraction: float = setting(0.02, "Share of the documents held out for validation.", "Validation share",
                                  low=0.0, low_open=True, high=0.5, high_open=True)
    name: str | None = setting(None, "A name to find the run again later.", "Name", none="run-N", metavar="NAME")
    recipe: str | None = setting(None, "A paper's training recipe, which sets the model's architecture options, "
                                 "the masking and the optimiser together (flags given as well override it; the "
                                 "model's size, steps and batch stay yours): " + "; ".join(
                                     f"{r.name} ({r.citation})" for r in RECIPES.values())
                                 + ".", "Recipe", choices=tuple(RECIPES), none="custom: the settings as given",
                                 metavar="NAME", advanced=True)
    model: ModelSpec = setting(ModelSpec(), "The model's size and shape.", "Model", on_cli=False)
    masking: MaskingConfig = setting(MaskingConfig(), "How tokens are masked.", "Masking", on_cli=False)
    train: TrainConfig = setting(TrainConfig(), "The optimiser, schedule and hardware.", "Training", on_cli=False)

    def __post_init__(self) -> None:
        if self.masking.seed != self.train.seed:
            object.__setattr__(self, "masking", replace(self.masking, seed=self.train.seed))
        super().__post_init__()

    def check(self) -> None:
        if self.name is not None and not self.name.strip():  # `--name ''` was silently replaced by run-N
            raise SettingError("name", "must not be empty (leave it out for run-N)")
