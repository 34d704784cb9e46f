"""Evaluators: STS as SentEval/SimCSE report it, alignment and uniformity."""

from __future__ import annotations

from simcse_st.evaluation.alignment_uniformity import alignment_loss, uniformity_loss
from simcse_st.evaluation.sts_data import (
    SENTEVAL_SUBSETS,
    STS_TASKS,
    STSMode,
    STSTask,
    load_sts_task_from_hub,
    load_sts_tasks,
    read_sts_task,
)
from simcse_st.evaluation.sts_evaluator import STSEvaluator, format_sts_table
from simcse_st.evaluation.transfer_evaluator import TransferEvaluator, format_transfer_table

__all__ = [
    "SENTEVAL_SUBSETS",
    "STS_TASKS",
    "STSEvaluator",
    "STSMode",
    "STSTask",
    "TransferEvaluator",
    "alignment_loss",
    "format_sts_table",
    "format_transfer_table",
    "load_sts_task_from_hub",
    "load_sts_tasks",
    "read_sts_task",
    "uniformity_loss",
]
