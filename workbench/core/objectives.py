"""Pretraining objectives beyond masked LM: causal LM (CLM) and ELECTRA's replaced-token detection.

The trainer asks an `Objective` for what differs: the model it trains (`build_model`), the batch for a
block (`batch`: masked tokens for MLM and ELECTRA, the next tokens for CLM), what a checkpoint saves as the
run's model and beside it (`saved_parts`), and the loss that guessing costs (`chance_loss`, for the
blown-up check). Everything else (the loop, accumulation, checkpoints, resume) is shared.

CLM runs the same encoder with a causal mask (`BertConfig.is_decoder`): position t reads tokens 0..t and
its label is token t+1, so the loss is per predicted next token and accuracy is next-token accuracy.

ELECTRA (Clark et al., 2020): a generator, a small masked LM (`generator_hidden_size` of the discriminator's
hidden size, heads and feed-forward sized as the paper's code does), fills the masked positions by sampling
from its softmax; the discriminator reads the result and predicts, at every real token, whether it was
replaced. Loss = generator MLM loss + `disc_weight` x discriminator loss. The two share the embeddings (word,
position and segment, as the paper's code does); the generator reads them through a projection to its width
and its output layer is the tied word embedding matrix. The discriminator is a `BertForMaskedLM` whose MLM
head is not trained, so its checkpoint loads wherever a pretraining run's does (fine-tuning, probing, export);
the generator and the replaced-token head are saved beside it in `electra.safetensors`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from workbench.core.checkpoints import load_companion
from workbench.core.masking import GENERATOR_SAMPLE, MaskedBatch, counter_uniform, row_keys
from workbench.core.modeling_bert import (
    ACT2FN,
    BaseModelOutput,
    BertEmbeddings,
    BertEncoder,
    BertForMaskedLM,
    HeadMask,
    attention_key_mask,
)
from workbench.settings.model import BertConfig
from workbench.settings.train import TrainConfig

ELECTRA_FILE = "electra.safetensors"
EVAL_SAMPLING_SEED = 0  # validation samples the generator from a fixed stream: numbers compare across steps


def next_token_batch(input_ids: torch.Tensor, attention_mask: torch.Tensor, special_ids: Sequence[int]) -> MaskedBatch:
    """A CLM batch: inputs unchanged, labels[:, t] = input_ids[:, t + 1] where that is a word piece, -100 at the
    last position and before padding or a special token ([SEP]): the tokens predicted are those MLM masks, so
    the two losses (and the unigram baseline) count the same kind of token. input_ids, attention_mask: (B, T)."""
    following = input_ids[:, 1:]
    skip = (attention_mask[:, 1:] == 0) | torch.isin(following, torch.as_tensor(list(special_ids)))
    labels = torch.full_like(input_ids, -100)
    labels[:, :-1] = following.masked_fill(skip, -100)
    return MaskedBatch(input_ids, labels, attention_mask, torch.zeros_like(input_ids, dtype=torch.int8))


def replaced_token_batch(input_ids: torch.Tensor, labels: torch.Tensor,
                         sampled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The discriminator's input and labels: the original tokens with the masked positions (labels != -100) set to
    the generator's `sampled` tokens (N,), row-major; a position is labelled replaced (1) only where the sample
    differs from the original (a sample equal to it counts as original, as in the paper). (B, T) each."""
    masked = labels != -100
    original = torch.where(masked, labels, input_ids)
    corrupted = original.clone()
    corrupted[masked] = sampled
    return corrupted, (corrupted != original).long()


def sampling_draws(seed: int, seq_ids: torch.Tensor, epoch: int, length: int) -> torch.Tensor:
    """One uniform number per (block, position), from which the generator's sample there is drawn: a pure function
    of (seed, block, epoch, position), as the masks are. So the samples do not depend on how blocks are batched or
    on which rank reads them (2 ranks draw exactly what one process draws), nor on the dropout that shares
    torch's stream, and a resumed run draws the same. seq_ids: (B,); float64 (B, T)."""
    return counter_uniform(row_keys(seed, seq_ids, epoch), GENERATOR_SAMPLE, torch.arange(length))


def sample_by_draws(logits: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
    """One token per row of the softmax of `logits` (N, V), by inverting its cumulative distribution at `draws`
    (N,), uniform in [0, 1). (N,) long."""
    cumulative = logits.float().softmax(-1).cumsum(-1)  # (N, V)
    targets = draws.to(cumulative) * cumulative[:, -1]  # the last sum is 1 up to rounding
    chosen = torch.searchsorted(cumulative, targets[:, None], right=True).squeeze(-1)
    return chosen.clamp(max=logits.shape[-1] - 1)


def generator_config(config: BertConfig, fraction: float) -> BertConfig:
    """The generator's shape, as the ELECTRA code sizes it: hidden = fraction x the discriminator's, a head per 64
    of it (at least one, and one that divides it), feed-forward 4 x hidden, the same depth; never causal."""
    hidden = max(1, round(config.hidden_size * fraction))
    heads = max(1, hidden // 64)
    while hidden % heads:
        heads -= 1
    return replace(config, hidden_size=hidden, num_attention_heads=heads, intermediate_size=4 * hidden,
                   is_decoder=False)


class GeneratorEncoder(nn.Module):
    """The generator's encoder: the shared embeddings (not registered here: the discriminator owns them), projected
    to the generator's width (HF's `embeddings_project`), then its own layers. Called as `BertModel` is."""

    def __init__(self, config: BertConfig, embeddings: BertEmbeddings, embedding_size: int) -> None:
        super().__init__()
        self._shared = [embeddings]  # a list keeps it out of this module's parameters and state dict
        self.embeddings_project = nn.Linear(embedding_size, config.hidden_size)
        self.encoder = BertEncoder(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                rows: torch.Tensor | None = None, head_mask: HeadMask | None = None) -> BaseModelOutput:
        """input_ids: (B, T). last_hidden_state (B, T, Hg), or (N, Hg) where `rows` ((B, T) bool) is True."""
        x = self.embeddings_project(self._shared[0](input_ids))  # (B, T, Hg)
        key_mask = attention_key_mask(attention_mask, input_ids.shape[1], False, input_ids.device)
        return self.encoder(x, key_mask, False, False, rows, head_mask)


class GeneratorHead(nn.Module):
    """HF's ElectraGeneratorPredictions plus the output layer: dense to the embedding width, activation,
    LayerNorm, then the tied word embedding matrix and a bias. (..., Hg) -> (..., V)."""

    def __init__(self, config: BertConfig, embeddings: BertEmbeddings, embedding_size: int) -> None:
        super().__init__()
        self._shared = [embeddings]
        self.dense = nn.Linear(config.hidden_size, embedding_size)
        self.activation = ACT2FN[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(embedding_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.LayerNorm(self.activation(self.dense(x)))
        return F.linear(h, self._shared[0].word_embeddings.weight, self.bias)


class ElectraGenerator(nn.Module):
    """The generator as fill-mask reads a masked LM: `bert`, `cls` and `config`."""

    def __init__(self, config: BertConfig, embeddings: BertEmbeddings, embedding_size: int) -> None:
        super().__init__()
        self.config = config
        self.bert = GeneratorEncoder(config, embeddings, embedding_size)
        self.cls = GeneratorHead(config, embeddings, embedding_size)


class DiscriminatorHead(nn.Module):
    """HF's ElectraDiscriminatorPredictions: one logit per token, > 0 for "replaced". (B, T, H) -> (B, T)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = ACT2FN[config.hidden_act]
        self.dense_prediction = nn.Linear(config.hidden_size, 1)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.dense_prediction(self.activation(self.dense(hidden))).squeeze(-1)


@dataclass
class ElectraOutput:
    loss: torch.Tensor  # generator loss + disc_weight x discriminator loss
    logits: torch.Tensor  # the generator's (N, V) at the masked positions, row-major, as MaskedLMOutput's
    generator_loss: torch.Tensor  # mean cross-entropy per masked token
    discriminator_loss: torch.Tensor  # mean binary cross-entropy per real token
    discriminator_logits: torch.Tensor  # (B, T)
    replaced: torch.Tensor  # (B, T) the discriminator's labels, 1 where the generator changed the token
    real: torch.Tensor  # (B, T) bool, the positions the discriminator is scored on


class ElectraCompanions(nn.Module):
    """What an ELECTRA checkpoint saves beside the discriminator: the generator and the replaced-token head."""

    def __init__(self, config: BertConfig, embeddings: BertEmbeddings, generator_hidden_size: float) -> None:
        super().__init__()
        self.generator = ElectraGenerator(generator_config(config, generator_hidden_size), embeddings,
                                          config.hidden_size)
        self.discriminator_predictions = DiscriminatorHead(config)


class ElectraPretraining(nn.Module):
    """Generator and discriminator trained jointly; called like `BertForMaskedLM` with labels from a `Masker`."""

    def __init__(self, config: BertConfig, generator_hidden_size: float, disc_weight: float) -> None:
        super().__init__()
        self.config, self.disc_weight = config, disc_weight
        self.discriminator = BertForMaskedLM(config)
        self.electra = ElectraCompanions(config, self.discriminator.bert.embeddings, generator_hidden_size)
        self.electra.apply(self.discriminator._init_weights)

    def never_trained(self) -> list[str]:
        """The names of the weights no loss reaches: the discriminator's masked-LM head but its decoder (the tied
        word embeddings, which both networks train). Data-parallel training leaves them out of its gradient
        reduction, which would otherwise wait for their gradients forever."""
        shared = {id(p) for p in self.discriminator.bert.parameters()}
        head = self.discriminator.cls.named_parameters(remove_duplicate=False)  # every name: the bias has two
        return [f"discriminator.cls.{name}" for name, p in head if id(p) not in shared]

    def for_training(self, device: torch.device) -> ElectraPretraining:
        self.discriminator.for_training(device)
        return self.to(device)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor, attention_mask: torch.Tensor | None = None,
                draws: torch.Tensor | None = None) -> ElectraOutput:
        """input_ids: (B, T) masked by a `Masker`; labels: (B, T), the original token where masked, else -100;
        draws: (B, T) the uniforms the generator's samples are drawn from (`sampling_draws`; None: torch's
        stream)."""
        masked = labels != -100  # (B, T)
        generator = self.electra.generator
        hidden = generator.bert(input_ids, attention_mask, rows=masked).last_hidden_state  # (N, Hg)
        logits = generator.cls(hidden)  # (N, V)
        generator_loss = F.cross_entropy(logits, labels[masked], reduction="sum") / masked.sum().clamp(min=1)
        with torch.no_grad():
            sampled = self._sample(logits.detach().float()) if draws is None else \
                sample_by_draws(logits.detach(), draws[masked])  # (N,)
        corrupted, replaced = replaced_token_batch(input_ids, labels, sampled)
        disc_hidden = self.discriminator.bert(corrupted, attention_mask).last_hidden_state  # (B, T, H)
        disc_logits = self.electra.discriminator_predictions(disc_hidden)  # (B, T)
        real = torch.ones_like(masked) if attention_mask is None else attention_mask.bool()
        disc_loss = F.binary_cross_entropy_with_logits(disc_logits[real].float(), replaced[real].float())
        return ElectraOutput(generator_loss + self.disc_weight * disc_loss, logits, generator_loss, disc_loss,
                             disc_logits, replaced, real)

    def _sample(self, logits: torch.Tensor) -> torch.Tensor:
        """One token per row from the generator's softmax, for a caller that gives no draws (the trainer does):
        (N, V) -> (N,). In training from torch's seeded stream; in evaluation from a fixed one."""
        if logits.shape[0] == 0:
            return torch.zeros(0, dtype=torch.long, device=logits.device)
        stream = None
        if not self.training:
            stream = torch.Generator(device=logits.device).manual_seed(EVAL_SAMPLING_SEED)
        return torch.multinomial(logits.softmax(-1), 1, generator=stream).squeeze(-1)


class Objective:
    """Masked LM (BERT's); the base the others change."""

    name = "mlm"

    def __init__(self, config: TrainConfig) -> None:
        self.config = config

    def model_config(self, config: BertConfig) -> BertConfig:
        """The trained model's config for this objective (CLM's is causal)."""
        return config

    def build_model(self, config: BertConfig) -> nn.Module:
        return BertForMaskedLM(config)

    def saved_parts(self, model: nn.Module) -> tuple[nn.Module, dict[str, nn.Module]]:
        """What a checkpoint saves as the run's model, and the companion weights files beside it."""
        return model, {}

    def chance_loss(self, token_loss: float) -> float:
        """The training loss of a model that guesses, given what guessing a token costs."""
        return token_loss

    def share_of_step(self, out: object, loss: torch.Tensor, masked_share: float, real_share: float) -> torch.Tensor:
        """A micro-batch's part of the step's loss: its mean over masked (or predicted) tokens `loss` weighted by
        its share of the step's masked tokens over all ranks and micro-batches, so the parts add up to the mean
        over the whole global batch."""
        return loss * masked_share


class CausalLM(Objective):
    name = "clm"

    def model_config(self, config: BertConfig) -> BertConfig:
        return replace(config, is_decoder=True)


class Electra(Objective):
    name = "electra"

    def build_model(self, config: BertConfig) -> nn.Module:
        return ElectraPretraining(config, self.config.generator_hidden_size, self.config.disc_weight)

    def saved_parts(self, model: nn.Module) -> tuple[nn.Module, dict[str, nn.Module]]:
        return model.discriminator, {ELECTRA_FILE: model.electra}

    def chance_loss(self, token_loss: float) -> float:
        return token_loss + self.config.disc_weight * math.log(2.0)  # a coin flip per token

    def share_of_step(self, out: object, loss: torch.Tensor, masked_share: float, real_share: float) -> torch.Tensor:
        """The generator's loss (a mean over masked tokens) by the masked-token share, the discriminator's (a mean
        over real tokens) by the real-token share: the global batch's loss, however it is split over ranks and
        micro-batches."""
        return out.generator_loss * masked_share + self.config.disc_weight * out.discriminator_loss * real_share


OBJECTIVE_CLASSES = {cls.name: cls for cls in (Objective, CausalLM, Electra)}


def objective_for(config: TrainConfig) -> Objective:
    return OBJECTIVE_CLASSES[config.objective](config)


def load_generator(checkpoint: Path, discriminator: BertForMaskedLM, generator_hidden_size: float,
                   device: torch.device) -> ElectraGenerator:
    """An ELECTRA checkpoint's generator, reading the embeddings of its loaded `discriminator`, in eval mode."""
    config = discriminator.config
    companions = ElectraCompanions(config, discriminator.bert.embeddings, generator_hidden_size).to(device)
    load_companion(checkpoint, ELECTRA_FILE, companions, device)
    return companions.generator.eval()


class EvalTally:
    """The discriminator's validation numbers summed over batches (nothing for the other objectives): its loss and
    accuracy per real token, and the accuracy of always answering "original"."""

    def __init__(self) -> None:
        self.loss_sum, self.correct, self.count, self.replaced = 0.0, 0, 0, 0

    def add(self, out: object) -> None:
        if not isinstance(out, ElectraOutput):
            return
        logits, labels = out.discriminator_logits[out.real].float(), out.replaced[out.real]
        self.loss_sum += float(F.binary_cross_entropy_with_logits(logits, labels.float(), reduction="sum"))
        self.correct += int(((logits > 0).long() == labels).sum())
        self.count += labels.numel()
        self.replaced += int(labels.sum())

    def metrics(self) -> dict[str, float]:
        if not self.count:
            return {}
        # the accuracy of answering "original" everywhere, which a discriminator must beat to have learned anything
        majority = 1.0 - self.replaced / self.count
        return {"disc_loss": self.loss_sum / self.count, "disc_accuracy": self.correct / self.count,
                "disc_majority_accuracy": majority}
