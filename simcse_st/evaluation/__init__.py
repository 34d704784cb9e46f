"""Evaluation: STS as SentEval/SimCSE report it, SentEval transfer, alignment and uniformity, a label-free dev signal
from the corpus, your own scored pairs, ``evaluate_model``."""

from __future__ import annotations

from simcse_st.evaluation.alignment_uniformity import alignment_loss, uniformity_loss
from simcse_st.evaluation.corpus_dev_evaluator import CORPUS_DEV_SCORES, CorpusDevEvaluator, CorpusDevScore
from simcse_st.evaluation.evaluate import evaluate_model, resolve_evaluation_tasks
from simcse_st.evaluation.scored_pairs import parse_pair_columns, read_scored_pairs, scored_pairs_evaluator
from simcse_st.evaluation.sts_data import (
    SENTEVAL_SUBSETS,
    STS_TASKS,
    STSMode,
    STSTask,
    load_sts_task_from_hub,
    load_sts_tasks,
    read_sts_task,
)
from simcse_st.evaluation.sts_evaluator import DEV_EVALUATOR_NAME, STSEvaluator, format_sts_table, sts_dev_evaluator
from simcse_st.evaluation.transfer_evaluator import TransferEvaluator, format_transfer_table

__all__ = [
    "CORPUS_DEV_SCORES",
    "DEV_EVALUATOR_NAME",
    "SENTEVAL_SUBSETS",
    "STS_TASKS",
    "CorpusDevEvaluator",
    "CorpusDevScore",
    "STSEvaluator",
    "STSMode",
    "STSTask",
    "TransferEvaluator",
    "alignment_loss",
    "evaluate_model",
    "format_sts_table",
    "format_transfer_table",
    "load_sts_task_from_hub",
    "load_sts_tasks",
    "parse_pair_columns",
    "read_scored_pairs",
    "read_sts_task",
    "resolve_evaluation_tasks",
    "scored_pairs_evaluator",
    "sts_dev_evaluator",
    "uniformity_loss",
]
