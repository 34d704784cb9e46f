"""``evaluate_model``: the STS table (and the SentEval transfer table) of a model in one call."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentence_transformers import SentenceTransformer

from simcse_st.data.data_dir import resolve_data_dir
from simcse_st.evaluation.scored_pairs import PAIRS_EVALUATOR_NAME, PairColumns, scored_pairs_evaluator
from simcse_st.evaluation.sts_data import STS_TASKS, STSMode, STSTask
from simcse_st.evaluation.sts_evaluator import STSEvaluator, format_sts_table
from simcse_st.evaluation.transfer_data import TRANSFER_TASKS
from simcse_st.evaluation.transfer_evaluator import TransferEvaluator, format_transfer_table
from simcse_st.evaluation.transfer_validation import TransferMode
from simcse_st.inference.model_loading import model_for_encoding

if TYPE_CHECKING:
    from simcse_st.backends.inference_config import InferenceConfig

logger = logging.getLogger(__name__)

TASK_GROUPS = ("sts", "transfer", "all")
TRANSFER_TASK_NAMES = tuple(task.lower() for task in TRANSFER_TASKS)


def resolve_evaluation_tasks(tasks: Sequence[str]) -> tuple[list[STSTask] | None, list[str] | None]:
    """Split task names into the STS tasks and the transfer tasks to run.

    Names are case-insensitive and may be comma-separated: ``sts`` (every STS task of the mode), ``transfer`` (all
    seven transfer tasks), ``all`` (both), or single tasks: ``sts12``..``sts16``, ``stsb``, ``sickr``, ``mr``, ``cr``,
    ``subj``, ``mpqa``, ``sst2``, ``trec``, ``mrpc``.

    Returns:
        ``(sts, transfer)``: each ``None`` when not selected, else the list of names (an empty list = the whole group).

    Raises:
        ValueError: An unknown name, or no name at all.
    """
    names = [name.strip().lower() for entry in tasks for name in entry.split(",") if name.strip()]
    if not names:
        raise ValueError("Name at least one task (e.g. sts, transfer, stsb, mr).")
    unknown = [n for n in names if n not in (*TASK_GROUPS, *STS_TASKS, *TRANSFER_TASK_NAMES)]
    if unknown:
        raise ValueError(
            f"Unknown task(s) {unknown}; choose from {', '.join(TASK_GROUPS)}, "
            f"{', '.join(STS_TASKS)}, {', '.join(TRANSFER_TASK_NAMES)}."
        )
    sts: list[STSTask] | None = None
    transfer: list[str] | None = None
    if "sts" in names or "all" in names:
        sts = []
    elif picked := [n for n in names if n in STS_TASKS]:
        sts = picked  # type: ignore[assignment]
    if "transfer" in names or "all" in names:
        transfer = []
    elif picked := [n for n in names if n in TRANSFER_TASK_NAMES]:
        transfer = [n.upper() for n in picked]
    return sts, transfer


def evaluate_model(
    model: str | os.PathLike[str] | SentenceTransformer,
    data_dir: str | os.PathLike[str] | None = None,
    tasks: Sequence[str] = ("sts",),
    mode: STSMode = "test",
    transfer_mode: TransferMode = "full",
    batch_size: int = 64,
    max_seq_length: int | None = None,
    json_path: str | os.PathLike[str] | None = None,
    seed: int = 1111,
    show_progress_bar: bool = True,
    inference: InferenceConfig | None = None,
    pairs: str | os.PathLike[str] | None = None,
    pairs_columns: PairColumns | None = None,
    skip_bad_rows: bool = False,
) -> dict[str, Any]:
    """Evaluate ``model`` as SimCSE's tables do: STS Spearman ×100 and, with ``"transfer"``, SentEval accuracies.

    The STS tasks run through :class:`~simcse_st.evaluation.STSEvaluator` (``mode="test"``: STS12-16, STS-B and
    SICK-R test, SimCSE's Table 1; ``mode="dev"``: STS-B dev and SICK-R trial); the transfer tasks through
    :class:`~simcse_st.evaluation.transfer_evaluator.TransferEvaluator` (``transfer_mode="full"``: SentEval's 10-fold
    protocol as in SimCSE's Table 2; ``"fast"``: 5 folds).

    Args:
        model: A model folder or hub id (loaded with :func:`simcse_st.inference.model_loading.load_model`) or a
            ``SentenceTransformer``.
        data_dir: A SentEval-style directory (``STS12/``..``STS16/``, ``STSB/``, ``SICK/``, and ``MR/``..``MRPC/`` for
            the transfer tasks). ``None``: ``$SIMCSE_ST_DATA``, else the STS sets come from the Hugging Face hub
            (transfer tasks need the directory).
        tasks: Task names, see :func:`resolve_evaluation_tasks` (``"sts"``, ``"transfer"``, ``"all"``, ``"stsb"``,
            ``"mr"``, ...).
        mode: STS split: ``"test"`` or ``"dev"``.
        transfer_mode: ``"full"`` or ``"fast"``.
        batch_size: Encoding batch size.
        max_seq_length: Encode with this many tokens at most (restored afterwards). ``None``: the model's own, e.g. the
            32 a SimCSE model is trained and saved with; SimCSE evaluates without truncation (128 covers every STS
            test sentence of ``../shared/data`` with BERT's tokenizer).
        json_path: Also write the returned dict to this JSON file.
        seed: Seed of the transfer tasks' folds and classifiers.
        show_progress_bar: Show encoding progress bars.
        inference: Backend and precision of a model loaded by name (default ``InferenceConfig()``: torch, bf16
            where the hardware runs it natively); see :class:`simcse_st.backends.InferenceConfig`.
        pairs: Also evaluate on your own scored pairs (:func:`~simcse_st.evaluation.read_scored_pairs`: a
            csv/tsv/jsonl of sentence1, sentence2, score); ``tasks=()`` evaluates them alone.
        pairs_columns: The pairs file's three columns (names, or 0-based positions without a header).
        skip_bad_rows: Drop the pairs file's bad rows (listed in a warning) instead of raising.

    Returns:
        ``{"model", "data_dir", "mode", "max_seq_length", "tasks", "metrics", "table", "seconds"}``: ``metrics``
        merges the evaluators' metrics (values in [0, 1], e.g. ``stsb_spearman``, ``avg_spearman``, ``mr_accuracy``,
        ``avg_accuracy``); ``table`` is the printable SimCSE-style table(s), ×100.

    Raises:
        ValueError: Unknown tasks or mode, or transfer tasks without a data directory.
        FileNotFoundError: The data directory or one of its files is missing.
        OSError: The model could not be loaded, or the hub could not be reached for STS data.

    Example:
        ::

            from simcse_st.evaluation.evaluate import evaluate_model

            results = evaluate_model("runs/simcse", data_dir="../shared/data", tasks=["sts"], mode="test")
            print(results["table"])
            results["metrics"]["avg_spearman"]  # e.g. 0.7625
    """
    if not tasks and pairs is None:
        raise ValueError("Name at least one task (e.g. sts, transfer, stsb, mr), or give scored pairs.")
    sts_tasks, transfer_tasks = resolve_evaluation_tasks(tasks) if tasks else (None, None)
    pairs_evaluator = None
    if pairs is not None:
        pairs_evaluator = scored_pairs_evaluator(
            pairs, pairs_columns, skip_bad_rows, batch_size, show_progress_bar=show_progress_bar
        )
    if max_seq_length is not None and max_seq_length < 2:
        raise ValueError(f"max_seq_length must be >= 2, got {max_seq_length}.")
    if transfer_tasks is not None and transfer_mode not in ("full", "fast"):
        raise ValueError(f"transfer_mode must be 'full' or 'fast', got {transfer_mode!r}.")
    directory = resolve_data_dir(data_dir)
    sts_evaluator = None
    if sts_tasks is not None:
        sts_evaluator = STSEvaluator(
            data_dir=directory,
            mode=mode,
            tasks=sts_tasks or None,
            batch_size=batch_size,
            show_progress_bar=show_progress_bar,
        )
    transfer_evaluator = None
    if transfer_tasks is not None:
        transfer_evaluator = TransferEvaluator(
            data_dir=directory,
            tasks=transfer_tasks or None,  # type: ignore[arg-type]
            mode=transfer_mode,
            seed=seed,
            batch_size=batch_size,
            show_progress_bar=show_progress_bar,
        )
    st_model = model_for_encoding(model, inference)

    start = time.perf_counter()
    metrics: dict[str, float] = {}
    tables: list[str] = []
    saved_max_seq_length = st_model.max_seq_length
    if max_seq_length is not None:
        st_model.max_seq_length = max_seq_length
    try:
        if sts_evaluator is not None:
            metrics.update(sts_evaluator(st_model))
            tables.append(format_sts_table(metrics))
        if pairs_evaluator is not None:
            pair_metrics = pairs_evaluator(st_model)
            metrics.update(pair_metrics)
            tables.append(format_pairs_line(pair_metrics, len(pairs_evaluator.scores), pairs))  # type: ignore[arg-type]
        if transfer_evaluator is not None:
            transfer_metrics = transfer_evaluator(st_model)
            metrics.update(transfer_metrics)
            tables.append(format_transfer_table(transfer_metrics))
        used_max_seq_length = st_model.max_seq_length
    finally:
        st_model.max_seq_length = saved_max_seq_length
    results: dict[str, Any] = {
        "model": os.fspath(model) if not isinstance(model, SentenceTransformer) else _model_name(model),
        "data_dir": str(directory) if directory is not None else None,
        "mode": mode,
        "max_seq_length": used_max_seq_length,
        # what ran: "torch fp32", "torch bf16", "onnx int8 (onnx/model_qint8.onnx)", ... (a given model: as it is)
        "inference": getattr(st_model, "backend_description", "as given"),
        "tasks": {
            **({"sts": list(sts_evaluator.tasks)} if sts_evaluator is not None else {}),
            **(
                {"transfer": list(transfer_evaluator.tasks), "transfer_mode": transfer_mode}
                if transfer_evaluator is not None
                else {}
            ),
            **({"pairs": os.fspath(pairs)} if pairs is not None else {}),
        },
        "metrics": metrics,
        "table": "\n\n".join(tables),
        "seconds": round(time.perf_counter() - start, 1),
    }
    if json_path is not None:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        logger.info(f"Wrote {path}")
    return results


def format_pairs_line(metrics: dict[str, float], count: int, path: str | os.PathLike[str]) -> str:
    """``pairs.tsv (1,379 pairs): Spearman ×100 81.23, Pearson ×100 80.50`` (cosine similarity)."""
    spearman = metrics[f"{PAIRS_EVALUATOR_NAME}_spearman_cosine"]
    pearson = metrics[f"{PAIRS_EVALUATOR_NAME}_pearson_cosine"]
    return f"{Path(path).name} ({count:,} pairs): Spearman ×100 {100 * spearman:.2f}, Pearson ×100 {100 * pearson:.2f}"


def _model_name(model: SentenceTransformer) -> str:
    return getattr(model.model_card_data, "base_model", None) or type(model).__name__
