"""The loss's own parameters (the train-only MLP, the MLM head) in Trainer checkpoints, so ``resume`` restores them.

The Trainer optimizes them (they belong to the loss module) and saves their optimizer state, but its checkpoints hold
the model only; without this a resumed run would pair freshly initialised heads with the saved optimizer moments.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from simcse_st.training.distributed import is_main_process

logger = logging.getLogger(__name__)

LOSS_STATE_FILE = "simcse_loss_state.pt"


def loss_only_state(loss: nn.Module) -> dict[str, torch.Tensor]:
    """The loss's parameters and buffers that are not the model's (``model.*`` is saved by the Trainer)."""
    return {key: value for key, value in loss.state_dict().items() if not key.startswith("model.")}


class LossStateCallback(TrainerCallback):
    """Write :func:`loss_only_state` into every checkpoint folder the Trainer saves (nothing when it is empty)."""

    def __init__(self, loss: nn.Module) -> None:
        self.loss = loss

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: object
    ) -> TrainerControl:
        tensors = loss_only_state(self.loss)
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if tensors and is_main_process() and checkpoint.is_dir():
            torch.save(tensors, checkpoint / LOSS_STATE_FILE)
        return control

    @staticmethod
    def restore(loss: nn.Module, checkpoint: str | Path) -> bool:
        """Load the loss's own state saved in ``checkpoint``; returns whether there was one."""
        path = Path(checkpoint) / LOSS_STATE_FILE
        if not path.is_file():
            if loss_only_state(loss):
                logger.warning(
                    f"{checkpoint} has no {LOSS_STATE_FILE}: the loss's own heads start freshly initialised."
                )
            return False
        missing, unexpected = loss.load_state_dict(
            torch.load(path, map_location="cpu", weights_only=True), strict=False
        )
        if unexpected or any(not key.startswith("model.") for key in missing):
            raise ValueError(f"{path} does not match the loss: missing {missing}, unexpected {unexpected}.")
        return True
