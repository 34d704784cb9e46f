"""simcse-st: SimCSE (Gao, Yao & Chen, EMNLP 2021) for sentence-transformers."""

from __future__ import annotations

from simcse_st.data import UnlabeledSentenceLoader, load_sentences, read_sentences
from simcse_st.data_dir import DATA_ENV_VAR, resolve_data_dir
from simcse_st.evaluation import STSEvaluator, alignment_loss, format_sts_table, uniformity_loss
from simcse_st.losses import DropoutContrastiveLoss

__version__ = "0.1.0"

__all__ = [
    "DATA_ENV_VAR",
    "DropoutContrastiveLoss",
    "STSEvaluator",
    "UnlabeledSentenceLoader",
    "__version__",
    "alignment_loss",
    "format_sts_table",
    "load_sentences",
    "read_sentences",
    "resolve_data_dir",
    "uniformity_loss",
]
