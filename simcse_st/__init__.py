"""simcse-st: SimCSE (Gao, Yao & Chen, EMNLP 2021) for sentence-transformers.

The public names are imported lazily (PEP 562), so ``import simcse_st`` and ``simcse-st --help`` do not pay for
importing torch and transformers until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "DATA_ENV_VAR": "simcse_st.data_dir",
    "resolve_data_dir": "simcse_st.data_dir",
    "DropoutContrastiveLoss": "simcse_st.losses",
    "UnlabeledSentenceLoader": "simcse_st.data",
    "LengthGroupedBatchSampler": "simcse_st.data",
    "load_sentences": "simcse_st.data",
    "read_sentences": "simcse_st.data",
    "STSEvaluator": "simcse_st.evaluation",
    "TransferEvaluator": "simcse_st.evaluation",
    "format_sts_table": "simcse_st.evaluation",
    "alignment_loss": "simcse_st.evaluation",
    "uniformity_loss": "simcse_st.evaluation",
    "build_simcse_model": "simcse_st.modules",
    "set_dropout": "simcse_st.modules",
    "enable_fast_dropout": "simcse_st.modules",
    "train_simcse": "simcse_st.training",
    "encode_file": "simcse_st.encoding",
    "evaluate_model": "simcse_st.evaluate",
    "pairwise_similarity": "simcse_st.similarity",
    "load_model": "simcse_st.model_loading",
}

__all__ = [
    "DATA_ENV_VAR",
    "DropoutContrastiveLoss",
    "LengthGroupedBatchSampler",
    "STSEvaluator",
    "TransferEvaluator",
    "UnlabeledSentenceLoader",
    "__version__",
    "alignment_loss",
    "build_simcse_model",
    "enable_fast_dropout",
    "encode_file",
    "evaluate_model",
    "format_sts_table",
    "load_model",
    "load_sentences",
    "pairwise_similarity",
    "read_sentences",
    "resolve_data_dir",
    "set_dropout",
    "train_simcse",
    "uniformity_loss",
]

if TYPE_CHECKING:
    from simcse_st.data import LengthGroupedBatchSampler, UnlabeledSentenceLoader, load_sentences, read_sentences
    from simcse_st.data_dir import DATA_ENV_VAR, resolve_data_dir
    from simcse_st.encoding import encode_file
    from simcse_st.evaluate import evaluate_model
    from simcse_st.evaluation import (
        STSEvaluator,
        TransferEvaluator,
        alignment_loss,
        format_sts_table,
        uniformity_loss,
    )
    from simcse_st.losses import DropoutContrastiveLoss
    from simcse_st.model_loading import load_model
    from simcse_st.modules import build_simcse_model, enable_fast_dropout, set_dropout
    from simcse_st.similarity import pairwise_similarity
    from simcse_st.training import train_simcse


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simcse_st' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
