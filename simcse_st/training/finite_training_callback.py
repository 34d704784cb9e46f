"""``FiniteTrainingCallback``: stop a run whose loss, gradients or weights are no longer finite, before it is saved."""

from __future__ import annotations

import torch
from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from simcse_st.training.training_diverged import TrainingDiverged


def _all_finite(tensors: list[torch.Tensor]) -> bool:
    if not tensors:
        return True
    norms = torch._foreach_norm([t.detach().float() for t in tensors])  # one norm per tensor: NaN/inf propagate
    return bool(torch.isfinite(torch.stack(norms)).all())


class FiniteTrainingCallback(TrainerCallback):
    """Checks the gradients of every trained parameter (the model's and the loss's own heads) before each optimizer
    step, and the parameters after each step that will be saved (a checkpoint or the end); the first non-finite value
    raises :class:`TrainingDiverged` naming the step. The checks run before the step's checkpoint is written, so the
    checkpoints on disk stay finite and :func:`~simcse_st.training.train_simcse` never writes the final model. A NaN
    loss shows up as NaN gradients; weights made non-finite by a finite but huge update are caught before they are
    saved, and make the next step's gradients non-finite anyway.

    Args:
        loss: The loss module; its parameters include the model's.
    """

    def __init__(self, loss: nn.Module) -> None:
        self.parameters = [parameter for parameter in loss.parameters() if parameter.requires_grad]

    def on_pre_optimizer_step(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: object
    ) -> TrainerControl:
        if not _all_finite([p.grad for p in self.parameters if p.grad is not None]):
            raise TrainingDiverged(state.global_step + 1, "the loss or its gradients")
        return control

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: object
    ) -> TrainerControl:
        saving = control.should_save or state.global_step >= state.max_steps  # set by the Trainer's flow callback
        if saving and not _all_finite(self.parameters):
            raise TrainingDiverged(state.global_step, "the weights after the optimizer step")
        return control
