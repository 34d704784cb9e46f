"""SentEval transfer tasks as SimCSE reports them: frozen embeddings, a logistic regression, test accuracy ×100."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from sentence_transformers.base.evaluation.evaluator import BaseEvaluator

from simcse_st.evaluation.tables import append_csv_row, render_table
from simcse_st.evaluation.transfer_data import (
    TRANSFER_TASKS,
    TransferSplit,
    TransferTask,
    read_transfer_task,
    resolve_transfer_tasks,
    transfer_data_dir,
)
from simcse_st.evaluation.transfer_validation import (
    ClassifierConfig,
    TransferMode,
    inner_kfold_accuracy,
    kfold_accuracy,
    split_accuracy,
)

if TYPE_CHECKING:
    from sentence_transformers.sentence_transformer.model import SentenceTransformer

logger = logging.getLogger(__name__)

PairFeatures = Literal["senteval", "concat"]
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    *((task if task != "SST2" else "SST", f"{task.lower()}_accuracy") for task in TRANSFER_TASKS),
    ("Avg.", "avg_accuracy"),
)


def pair_features(u: torch.Tensor, v: torch.Tensor, kind: PairFeatures = "senteval") -> torch.Tensor:
    """Features of sentence pairs from u, v [N, D]: ``"senteval"`` = [|u−v|, u·v] [N, 2D], what SentEval's MRPC
    (and so SimCSE's table) uses; ``"concat"`` = [u, v, |u−v|, u·v] [N, 4D], InferSent's NLI features."""
    if kind == "senteval":
        return torch.cat([(u - v).abs(), u * v], dim=1)
    if kind == "concat":
        return torch.cat([u, v, (u - v).abs(), u * v], dim=1)
    raise ValueError(f"pair features must be 'senteval' or 'concat', got {kind!r}.")


def binary_f1(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """F1 of the positive class (label 1), as ``sklearn.metrics.f1_score(labels, predictions)``."""
    true_positives = int(((predictions == 1) & (labels == 1)).sum())
    errors = int((predictions != labels).sum())
    return 2 * true_positives / (2 * true_positives + errors) if true_positives else 0.0


def format_transfer_table(metrics: Mapping[str, float], name: str | None = None) -> str:
    """SimCSE's transfer table: accuracy ×100 with two decimals, columns MR CR SUBJ MPQA SST TREC MRPC Avg.

    Only the columns present in ``metrics`` are shown. Keys are found as ``<task>_accuracy`` (and ``avg_accuracy``)
    with any prefix; pass ``name`` when ``metrics`` holds the keys of several evaluators.

    Example:
        ::

            print(format_transfer_table({"mr_accuracy": 0.8118, "cr_accuracy": 0.8646, "avg_accuracy": 0.8382}))
            '''
            +-------+-------+-------+
            |   MR  |   CR  |  Avg. |
            +-------+-------+-------+
            | 81.18 | 86.46 | 83.82 |
            +-------+-------+-------+
            '''
    """
    table = render_table(metrics, list(TABLE_COLUMNS), name)
    if table is None:
        raise ValueError("No transfer metrics found: expected keys ending in 'mr_accuracy', ..., 'avg_accuracy'.")
    return table


class TransferEvaluator(BaseEvaluator):
    """Accuracy on the SentEval transfer tasks with SentEval's protocol and SimCSE's settings.

    Each task's sentences are encoded once (unique sentences only); a logistic regression on the frozen embeddings
    is trained as SentEval does with ``usepytorch=True``: MR, CR, SUBJ and MPQA by k-fold cross-validation with an
    inner k-fold choosing the L2 penalty; SST2 on train with the penalty and early stopping on dev; TREC and MRPC
    choosing the penalty by k-fold on train, then scored on test. MRPC's features are [|u−v|, u·v] (SentEval's).

    ``mode="full"`` is SimCSE's "test" mode (10 folds, Adam, batch 64, tenacity 5, epoch size 4); ``"fast"`` its
    "fasttest" mode (5 folds, RMSprop, batch 128, tenacity 3, epoch size 2).

    Metrics, in [0, 1]: ``<task>_accuracy`` for mr, cr, subj, mpqa, sst2, trec, mrpc; ``mrpc_f1``; and
    ``avg_accuracy`` (primary), the mean accuracy over the tasks evaluated. With ``output_path`` the metrics are
    appended to ``transfer_evaluation[_<name>]_<mode>_results.csv`` and written ×100 to the ``.json`` of that name.

    Args:
        data_dir: Directory with MR/, CR/, SUBJ/, MPQA/, SST2/, TREC/, MRPC/ (default: ``$SIMCSE_ST_DATA``).
        tasks: Tasks to run (default: all seven, in SimCSE's order).
        mode: ``"full"`` or ``"fast"``.
        seed: Seed of the folds, the initial weights and the batch order.
        batch_size: Encoding batch size.
        name: Prefix of the metric names and part of the output file names.
        show_progress_bar: Show encoding progress (default: when this module logs at INFO or DEBUG).
        write_csv: Append the metrics to the CSV under ``output_path``.
        write_json: Write the ×100 table and metrics to the JSON under ``output_path``.
        mrpc_features: ``"senteval"`` ([|u−v|, u·v]) or ``"concat"`` ([u, v, |u−v|, u·v]).

    Example:
        ::

            from simcse_st.evaluation.transfer_evaluator import TransferEvaluator, format_transfer_table

            evaluator = TransferEvaluator(data_dir="../shared/data", mode="fast")
            metrics = evaluator(model)
            print(format_transfer_table(metrics))
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        tasks: Sequence[TransferTask] | None = None,
        mode: TransferMode = "full",
        seed: int = 1111,
        batch_size: int = 128,
        name: str = "",
        show_progress_bar: bool | None = None,
        write_csv: bool = True,
        write_json: bool = True,
        mrpc_features: PairFeatures = "senteval",
    ) -> None:
        super().__init__()
        if mrpc_features not in ("senteval", "concat"):
            raise ValueError(f"mrpc_features must be 'senteval' or 'concat', got {mrpc_features!r}.")
        self.data_dir = transfer_data_dir(data_dir)
        self.tasks: list[TransferTask] = resolve_transfer_tasks(tasks)
        self.mode = mode
        self.seed = seed
        self.config = ClassifierConfig.for_mode(mode, seed)
        self.batch_size = batch_size
        self.name = name
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() in (logging.INFO, logging.DEBUG)
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.write_json = write_json
        self.mrpc_features: PairFeatures = mrpc_features
        self.data: dict[TransferTask, dict[str, TransferSplit]] = {
            task: {
                split: rows.sorted_like_senteval() for split, rows in read_transfer_task(task, self.data_dir).items()
            }
            for task in self.tasks
        }
        self.primary_metric = f"{name}_avg_accuracy" if name else "avg_accuracy"
        file_stem = "transfer_evaluation" + (f"_{name}" if name else "") + f"_{mode}_results"
        self.csv_file = f"{file_stem}.csv"
        self.json_file = f"{file_stem}.json"
        self.csv_headers = ["epoch", "steps", *self.metric_keys()]
        self.timings: dict[str, tuple[float, float]] = {}  # task -> (encoding s, classifier s) of the last call

    def metric_keys(self) -> list[str]:
        """The keys :meth:`__call__` returns (before the ``name`` prefix), in the order of the CSV columns."""
        keys = [f"{task.lower()}_accuracy" for task in self.tasks]
        return [*keys, *(["mrpc_f1"] if "MRPC" in self.tasks else []), "avg_accuracy"]

    def __call__(
        self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        if epoch != -1:
            out_txt = f" after epoch {epoch}" if steps == -1 else f" in epoch {epoch} after {steps} steps"
        else:
            out_txt = ""
        logger.info(f"TransferEvaluator: Evaluating the model on {', '.join(self.tasks)} ({self.mode} mode){out_txt}:")
        metrics: dict[str, float] = {}
        self.timings = {}
        for task in self.tasks:
            start = time.perf_counter()
            embeddings = self._encode_task(model, task)
            encoded = time.perf_counter()
            metrics.update(self._classify(task, embeddings))
            self.timings[task] = (encoded - start, time.perf_counter() - encoded)
            logger.info(
                f"{task}: accuracy {100 * metrics[f'{task.lower()}_accuracy']:.2f} "
                f"(encoding {self.timings[task][0]:.1f} s, classifier {self.timings[task][1]:.1f} s)"
            )
        metrics["avg_accuracy"] = float(np.mean([metrics[f"{task.lower()}_accuracy"] for task in self.tasks]))
        metrics = {key: metrics[key] for key in self.metric_keys()}
        logger.info("\n" + format_transfer_table(metrics))

        if output_path is not None and (self.write_csv or self.write_json):
            os.makedirs(output_path, exist_ok=True)
            if self.write_csv:
                append_csv_row(self.csv_headers, Path(output_path) / self.csv_file, metrics, epoch, steps)
            if self.write_json:
                self._write_json(Path(output_path) / self.json_file, metrics, epoch, steps)

        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    def _encode_task(self, model: SentenceTransformer, task: TransferTask) -> dict[str, tuple[torch.Tensor, ...]]:
        """Embeddings of every column of every split, each unique sentence encoded once: {split: ([N, D], ...)}."""
        splits = self.data[task]
        unique = list(dict.fromkeys(text for split in splits.values() for column in split.texts for text in column))
        table = model.encode(
            unique, batch_size=self.batch_size, show_progress_bar=self.show_progress_bar, convert_to_numpy=True
        )
        table = torch.from_numpy(np.asarray(table, dtype=np.float32))  # [U, D]
        row = {text: i for i, text in enumerate(unique)}
        return {
            split: tuple(table[torch.tensor([row[text] for text in column])] for column in data.texts)
            for split, data in splits.items()
        }

    def _classify(self, task: TransferTask, embeddings: dict[str, tuple[torch.Tensor, ...]]) -> dict[str, float]:
        labels = {split: torch.tensor(data.labels) for split, data in self.data[task].items()}
        key = f"{task.lower()}_accuracy"
        if task in ("MR", "CR", "SUBJ", "MPQA"):
            _, accuracy = inner_kfold_accuracy(embeddings["all"][0], labels["all"], 2, self.config)
            return {key: accuracy}
        if task == "SST2":
            train, dev, test = ((embeddings[s][0], labels[s]) for s in ("train", "dev", "test"))
            return {key: split_accuracy(train, dev, test, 2, self.config)[1]}
        if task == "TREC":
            train, test = ((embeddings[s][0], labels[s]) for s in ("train", "test"))
            return {key: kfold_accuracy(train, test, 6, self.config)[1]}
        features = {s: pair_features(*embeddings[s], kind=self.mrpc_features) for s in ("train", "test")}
        _, accuracy, predictions = kfold_accuracy(
            (features["train"], labels["train"]), (features["test"], labels["test"]), 2, self.config
        )
        f1_percent = round(100 * binary_f1(predictions, labels["test"]), 2)  # rounded as SentEval prints it
        return {key: accuracy, "mrpc_f1": round(f1_percent / 100, 4)}

    def _write_json(self, path: Path, metrics: dict[str, float], epoch: int, steps: int) -> None:
        table = {header: round(100 * metrics[key], 2) for header, key in TABLE_COLUMNS if key in metrics}
        results: dict[str, Any] = {
            "mode": self.mode,
            "seed": self.seed,
            "source": str(self.data_dir),
            "epoch": epoch,
            "steps": steps,
            "table": table,
            "scores_x100": {key: round(100 * value, 2) for key, value in metrics.items()},
            "num_examples": {task: {s: len(rows) for s, rows in splits.items()} for task, splits in self.data.items()},
        }
        path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    @property
    def description(self) -> str:
        return "Transfer tasks (SentEval)"

    def get_config_dict(self) -> dict[str, Any]:
        config: dict[str, Any] = {"mode": self.mode, "seed": self.seed, "tasks": list(self.tasks)}
        if self.mrpc_features != "senteval":
            config["mrpc_features"] = self.mrpc_features
        return config
