"""Knowledge distillation's two numbers: `DistillConfig` (the `distill` command's temperature and soft-loss weight).

The student learns from the teacher's whole predicted distribution at each masked position, softened by a
temperature, mixed with the ordinary masked-LM loss on the true tokens (Hinton, Vinyals & Dean 2015, "Distilling
the Knowledge in a Neural Network"; DistilBERT, Sanh et al. 2019, trains with T = 2 and equal weights).
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.settings.base import Settings, setting


@dataclass(frozen=True)
class DistillConfig(Settings):
    section = "distillation"

    temperature: float = setting(2.0, "Softens the teacher's and the student's predictions before they are compared: "
                                 "above 1, the teacher's second and third guesses carry more of what it knows "
                                 "(Hinton et al. 2015; DistilBERT uses 2).", "Temperature", low=0.0, low_open=True,
                                 high=100.0, step=0.5, decimals=2)
    alpha: float = setting(0.5, "The weight of learning from the teacher's softened predictions (the soft loss); "
                           "the rest, 1 - alpha, goes to the ordinary masked-LM loss on the true tokens.",
                           "Soft-loss weight (alpha)", low=0.0, high=1.0, step=0.1, decimals=2)
