"""simcse-st: SimCSE (Gao, Yao & Chen, EMNLP 2021) for sentence-transformers.

The public names are imported lazily (PEP 562), so ``import simcse_st`` and ``simcse-st --help`` do not pay for
importing torch and transformers until a name is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"


def _lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """PEP 562 ``__getattr__`` and ``__dir__`` for ``package``: each exported name is imported from its module on
    first use, so importing a package costs nothing until a name is used (``simcse-st --help`` stays fast, and
    :class:`~simcse_st.training.SimCSEConfig` imports no torch)."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace["__all__"]))

    return __getattr__, __dir__


# name -> the capability package that exports it (each package's own __init__ says which module defines it)
_EXPORTS: dict[str, str] = {
    "SimCSEConfig": "simcse_st.training",
    "train_simcse": "simcse_st.training",
    "run_quickstart": "simcse_st.training",
    "DropoutContrastiveLoss": "simcse_st.losses",
    "DATA_ENV_VAR": "simcse_st.data",
    "LengthGroupedBatchSampler": "simcse_st.data",
    "UnlabeledSentenceLoader": "simcse_st.data",
    "augment_dataset": "simcse_st.data",
    "load_pairs": "simcse_st.data",
    "load_sentences": "simcse_st.data",
    "read_sentences": "simcse_st.data",
    "resolve_data_dir": "simcse_st.data",
    "STSEvaluator": "simcse_st.evaluation",
    "TransferEvaluator": "simcse_st.evaluation",
    "alignment_loss": "simcse_st.evaluation",
    "evaluate_model": "simcse_st.evaluation",
    "format_sts_table": "simcse_st.evaluation",
    "format_transfer_table": "simcse_st.evaluation",
    "sts_dev_evaluator": "simcse_st.evaluation",
    "uniformity_loss": "simcse_st.evaluation",
    "build_simcse_model": "simcse_st.modules",
    "enable_fast_dropout": "simcse_st.modules",
    "set_dropout": "simcse_st.modules",
    "encode_file": "simcse_st.inference",
    "load_model": "simcse_st.inference",
    "pairwise_similarity": "simcse_st.inference",
    "EmbeddingIndex": "simcse_st.search",
    "IndexConfig": "simcse_st.search",
    "SearchHit": "simcse_st.search",
    "ExportConfig": "simcse_st.backends",
    "InferenceConfig": "simcse_st.backends",
    "export_model": "simcse_st.backends",
}

__all__ = [
    "DATA_ENV_VAR",
    "DropoutContrastiveLoss",
    "EmbeddingIndex",
    "ExportConfig",
    "IndexConfig",
    "InferenceConfig",
    "LengthGroupedBatchSampler",
    "STSEvaluator",
    "SearchHit",
    "SimCSEConfig",
    "TransferEvaluator",
    "UnlabeledSentenceLoader",
    "__version__",
    "alignment_loss",
    "augment_dataset",
    "build_simcse_model",
    "enable_fast_dropout",
    "encode_file",
    "evaluate_model",
    "export_model",
    "format_sts_table",
    "format_transfer_table",
    "load_model",
    "load_pairs",
    "load_sentences",
    "pairwise_similarity",
    "read_sentences",
    "resolve_data_dir",
    "run_quickstart",
    "set_dropout",
    "sts_dev_evaluator",
    "train_simcse",
    "uniformity_loss",
]

if TYPE_CHECKING:
    from simcse_st.backends import ExportConfig, InferenceConfig, export_model
    from simcse_st.data import (
        DATA_ENV_VAR,
        LengthGroupedBatchSampler,
        UnlabeledSentenceLoader,
        augment_dataset,
        load_pairs,
        load_sentences,
        read_sentences,
        resolve_data_dir,
    )
    from simcse_st.evaluation import (
        STSEvaluator,
        TransferEvaluator,
        alignment_loss,
        evaluate_model,
        format_sts_table,
        format_transfer_table,
        sts_dev_evaluator,
        uniformity_loss,
    )
    from simcse_st.inference import encode_file, load_model, pairwise_similarity
    from simcse_st.losses import DropoutContrastiveLoss
    from simcse_st.modules import build_simcse_model, enable_fast_dropout, set_dropout
    from simcse_st.search import EmbeddingIndex, IndexConfig, SearchHit
    from simcse_st.training import SimCSEConfig, run_quickstart, train_simcse

__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
