"""Training: the config, the run (:func:`train_simcse`), its presets, the Trainer callback, precision detection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simcse_st import _lazy_exports

_EXPORTS: dict[str, str] = {
    "DEFAULT_MODEL": "simcse_st.training.train",
    "INITS": "simcse_st.training.simcse_config",
    "ABLATION_BASELINE": "simcse_st.training.presets",
    "PAPER": "simcse_st.training.presets",
    "PRESETS": "simcse_st.training.presets",
    "QUICKSTART": "simcse_st.training.presets",
    "LossStateCallback": "simcse_st.training.loss_state_callback",
    "SimCSEConfig": "simcse_st.training.simcse_config",
    "FiniteTrainingCallback": "simcse_st.training.finite_training_callback",
    "TrainingDiverged": "simcse_st.training.training_diverged",
    "TrainingInterrupted": "simcse_st.training.training_interrupted",
    "bf16_supported": "simcse_st.training.precision",
    "build_loss": "simcse_st.training.train",
    "build_model": "simcse_st.training.train",
    "config_help": "simcse_st.training.simcse_config",
    "is_main_process": "simcse_st.training.distributed",
    "resolve_bf16": "simcse_st.training.precision",
    "run_quickstart": "simcse_st.training.quickstart",
    "train_simcse": "simcse_st.training.train",
    "training_arguments": "simcse_st.training.train",
    "world_size": "simcse_st.training.distributed",
}

__all__ = [
    "ABLATION_BASELINE",
    "DEFAULT_MODEL",
    "INITS",
    "PAPER",
    "PRESETS",
    "QUICKSTART",
    "FiniteTrainingCallback",
    "LossStateCallback",
    "SimCSEConfig",
    "TrainingDiverged",
    "TrainingInterrupted",
    "bf16_supported",
    "build_loss",
    "build_model",
    "config_help",
    "is_main_process",
    "resolve_bf16",
    "run_quickstart",
    "train_simcse",
    "training_arguments",
    "world_size",
]

if TYPE_CHECKING:
    from simcse_st.training.distributed import is_main_process, world_size
    from simcse_st.training.finite_training_callback import FiniteTrainingCallback
    from simcse_st.training.loss_state_callback import LossStateCallback
    from simcse_st.training.precision import bf16_supported, resolve_bf16
    from simcse_st.training.presets import ABLATION_BASELINE, PAPER, PRESETS, QUICKSTART
    from simcse_st.training.quickstart import run_quickstart
    from simcse_st.training.simcse_config import INITS, SimCSEConfig, config_help
    from simcse_st.training.train import (
        DEFAULT_MODEL,
        build_loss,
        build_model,
        train_simcse,
        training_arguments,
    )
    from simcse_st.training.training_diverged import TrainingDiverged
    from simcse_st.training.training_interrupted import TrainingInterrupted

__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
