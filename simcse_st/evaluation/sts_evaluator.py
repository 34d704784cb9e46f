"""STSEvaluator: STS12-16, STS-B and SICK-R as SentEval/SimCSE report them, plus alignment and uniformity."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from scipy.stats import pearsonr, spearmanr
from sentence_transformers.base.evaluation.evaluator import BaseEvaluator
from sentence_transformers.util import pairwise_cos_sim
from torch import Tensor

from simcse_st.data.data_dir import resolve_data_dir
from simcse_st.evaluation.alignment_uniformity import alignment_loss, uniformity_loss
from simcse_st.evaluation.sts_data import (
    STS_YEAR_TASKS,
    STSMode,
    STSTask,
    TaskData,
    load_sts_task_from_hub,
    read_sts_task,
    resolve_tasks,
)
from simcse_st.evaluation.tables import append_csv_row, render_table

if TYPE_CHECKING:
    from sentence_transformers.sentence_transformer.model import SentenceTransformer

logger = logging.getLogger(__name__)

TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sts12", "STS12"),
    ("sts13", "STS13"),
    ("sts14", "STS14"),
    ("sts15", "STS15"),
    ("sts16", "STS16"),
    ("stsb", "STS-B"),
    ("sickr", "SICK-R"),
    ("avg", "Avg."),
)
ALIGNMENT_MIN_GOLD = 4.0


class STSEvaluator(BaseEvaluator):
    """
    Evaluate a model on the seven STS tasks of SimCSE's Table 1 exactly as SentEval/SimCSE aggregate them: cosine
    similarity of the embeddings, Spearman (and Pearson) correlation with the gold scores.

    - STS12-16: ``stsXX_spearman`` is SimCSE's headline "all" number, ONE Spearman over all subsets concatenated;
      ``stsXX_spearman_mean`` is the plain mean and ``stsXX_spearman_wmean`` the pair-count-weighted mean of the
      per-subset Spearmans (``stsXX_<subset>_spearman``). Pairs whose gold line is empty are skipped.
    - STS-B and SICK-R: the Spearman on the split of the mode (``stsb_spearman``, ``sickr_spearman``).
    - ``avg_spearman``: the mean of the headline numbers of the selected tasks (the "Avg." column).
    - ``align_loss`` / ``uniform_loss`` (Wang & Isola; SimCSE §5) on normalised embeddings: alignment over the STS-B
      pairs with gold > 4, uniformity over all unique STS-B sentences of the split (only when ``stsb`` is selected).

    Values are in [0, 1] like the library's evaluators; the logged table and the JSON file show them ×100. Every
    unique sentence is encoded once, across all tasks. In ``test`` mode (the full table) the primary metric is
    ``avg_spearman``; in ``dev`` mode (STS-B dev and SICK-R trial, for checkpoint selection during training as in the
    paper) it is ``stsb_spearman``.

    Data comes from a SentEval-style directory (``data_dir``, else ``$SIMCSE_ST_DATA``; layout in
    :mod:`simcse_st.evaluation.sts_data` and ``docs/evaluation-sts.md``). When neither is set the sets are loaded
    from the Hugging Face hub (``mteb/sts12-sts`` .. ``mteb/sts16-sts``, ``sentence-transformers/stsb``,
    ``mteb/sickr-sts``). The hub sets carry no per-subset split, so from the hub STS12-16 give only the "all" number
    (no per-subset, mean or wmean keys); ``mteb/sickr-sts`` is all 9,927 SICK pairs rather than SentEval's 4,927 test
    pairs, and SICK-R dev is not on the hub (dev mode from the hub defaults to STS-B only).

    Args:
        data_dir: A SentEval-style directory. ``None``: ``$SIMCSE_ST_DATA``, else the hub.
        mode: ``"test"`` (STS12-16, STS-B test, SICK-R test) or ``"dev"`` (STS-B dev, SICK-R trial).
        tasks: A subset of ``("sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr")``. ``None``: all the
            tasks of the mode.
        batch_size: Batch size for encoding.
        show_progress_bar: Show a progress bar while encoding.
        name: Prefix of the metric keys (``f"{name}_sts12_spearman"``) and part of the output file names.
        write_csv: Append a row of all metrics to ``sts_evaluation[_<name>]_<mode>_results.csv`` in ``output_path``.
        write_json: Write the ×100 table and metrics to ``sts_evaluation[_<name>]_<mode>_results.json`` in
            ``output_path``.
        alignment_uniformity: Compute ``align_loss`` and ``uniform_loss`` on STS-B.

    Example:
        ::

            from sentence_transformers import SentenceTransformer
            from simcse_st.evaluation import STSEvaluator, format_sts_table

            model = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
            evaluator = STSEvaluator(data_dir="../shared/data", mode="test")
            results = evaluator(model)
            print(format_sts_table(results))
            '''
            +-------+-------+-------+-------+-------+-------+--------+-------+
            | STS12 | STS13 | STS14 | STS15 | STS16 | STS-B | SICK-R |  Avg. |
            +-------+-------+-------+-------+-------+-------+--------+-------+
            | 72.37 | 80.60 | 75.59 | 85.39 | 78.99 | 82.03 |  77.15 | 78.87 |
            +-------+-------+-------+-------+-------+-------+--------+-------+
            '''
            print(evaluator.primary_metric)
            # => "avg_spearman"

            # During training, select checkpoints on STS-B dev:
            dev_evaluator = STSEvaluator(data_dir="../shared/data", mode="dev", name="sts-dev")
            # dev_evaluator.primary_metric == "sts-dev_stsb_spearman"
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        mode: STSMode = "test",
        tasks: Sequence[STSTask] | None = None,
        batch_size: int = 64,
        show_progress_bar: bool = False,
        name: str = "",
        write_csv: bool = True,
        write_json: bool = True,
        alignment_uniformity: bool = True,
    ) -> None:
        super().__init__()
        directory = resolve_data_dir(data_dir)
        self.data_dir = directory
        self.from_hub = directory is None
        self.mode = mode
        self.tasks = resolve_tasks(tasks, mode, from_hub=self.from_hub)
        self.data: dict[STSTask, TaskData] = {
            task: load_sts_task_from_hub(task, mode) if directory is None else read_sts_task(directory, task, mode)
            for task in self.tasks
        }
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.name = name
        self.write_csv = write_csv
        self.write_json = write_json

        self.sentences = list(
            dict.fromkeys(
                s for task in self.data.values() for pairs in task.values() for pair in pairs for s in pair[:2]
            )
        )
        position = {sentence: i for i, sentence in enumerate(self.sentences)}
        self._pairs: dict[STSTask, dict[str, tuple[Tensor, Tensor, list[float]]]] = {
            task: {
                subset: (
                    torch.tensor([position[s1] for s1, _, _ in pairs], dtype=torch.long),
                    torch.tensor([position[s2] for _, s2, _ in pairs], dtype=torch.long),
                    [score for _, _, score in pairs],
                )
                for subset, pairs in subsets.items()
            }
            for task, subsets in self.data.items()
        }
        self.alignment_uniformity = alignment_uniformity and "stsb" in self.tasks
        if self.alignment_uniformity:
            idx1, idx2, gold = self._pairs["stsb"][mode]
            positive = torch.tensor([score > ALIGNMENT_MIN_GOLD for score in gold], dtype=torch.bool)
            self._align_pairs = (idx1[positive], idx2[positive])
            self._uniform_indices = torch.unique(torch.cat([idx1, idx2]))
            if not positive.any() or len(self._uniform_indices) < 2:
                logger.warning("STS-B %s has no pair with gold > 4 (or < 2 sentences): no align/uniform loss.", mode)
                self.alignment_uniformity = False

        primary = "stsb_spearman" if mode == "dev" and "stsb" in self.tasks else "avg_spearman"
        self.primary_metric = f"{name}_{primary}" if name else primary
        file_stem = "sts_evaluation" + (f"_{name}" if name else "") + f"_{mode}_results"
        self.csv_file = f"{file_stem}.csv"
        self.json_file = f"{file_stem}.json"
        self.csv_headers = ["epoch", "steps", *self.metric_keys()]

    def metric_keys(self) -> list[str]:
        """The keys :meth:`__call__` returns (before the ``name`` prefix), in the order of the CSV columns."""
        keys: list[str] = []
        for task in self.tasks:
            if task in STS_YEAR_TASKS and not self.from_hub:
                for subset in self._pairs[task]:
                    keys += [f"{task}_{subset}_spearman", f"{task}_{subset}_pearson"]
                keys += [f"{task}_spearman", f"{task}_pearson"]
                keys += [f"{task}_spearman_{agg}" for agg in ("wmean", "mean")]
                keys += [f"{task}_pearson_{agg}" for agg in ("wmean", "mean")]
            else:
                keys += [f"{task}_spearman", f"{task}_pearson"]
        keys.append("avg_spearman")
        if self.alignment_uniformity:
            keys += ["align_loss", "uniform_loss"]
        return keys

    def __call__(
        self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        if epoch != -1:
            out_txt = f" after epoch {epoch}" if steps == -1 else f" in epoch {epoch} after {steps} steps"
        else:
            out_txt = ""
        logger.info(f"STSEvaluator: Evaluating the model on the STS {self.mode} sets{out_txt}:")

        embeddings = self.embed_inputs(model, self.sentences)
        metrics = self.compute_metrics(embeddings)
        logger.info("\n" + format_sts_table(metrics))

        if output_path is not None and (self.write_csv or self.write_json):
            os.makedirs(output_path, exist_ok=True)
            if self.write_csv:
                append_csv_row(self.csv_headers, Path(output_path) / self.csv_file, metrics, epoch, steps)
            if self.write_json:
                self._write_json(Path(output_path) / self.json_file, metrics, epoch, steps)

        # The model card gets the headline numbers only, not the ~60 per-subset and mean/wmean keys.
        headline_keys = [f"{task}_spearman" for task in self.tasks] + ["avg_spearman"]
        headline_keys += ["align_loss", "uniform_loss"] if self.alignment_uniformity else []
        headline = self.prefix_name_to_metrics({key: metrics[key] for key in headline_keys}, self.name)
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, headline, epoch, steps)
        return metrics

    def embed_inputs(self, model: SentenceTransformer, sentences: list[str]) -> Tensor:
        """Encode ``sentences`` and return a float64 CPU tensor (float64 so that no spurious ties enter Spearman)."""
        embeddings = model.encode(
            sentences, batch_size=self.batch_size, show_progress_bar=self.show_progress_bar, convert_to_tensor=True
        )
        return torch.as_tensor(embeddings).detach().to("cpu", torch.float64)

    def compute_metrics(self, embeddings: Tensor) -> dict[str, float]:
        """All metrics (unprefixed) from the embeddings of :attr:`sentences`, row ``i`` = ``sentences[i]``."""
        metrics: dict[str, float] = {}
        headline: list[float] = []
        for task in self.tasks:
            gold_all: list[float] = []
            pred_all: list[float] = []
            per_subset: list[tuple[int, float, float]] = []
            for subset, (idx1, idx2, gold) in self._pairs[task].items():
                pred = pairwise_cos_sim(embeddings[idx1], embeddings[idx2]).tolist()
                gold_all += gold
                pred_all += pred
                if task in STS_YEAR_TASKS and not self.from_hub:
                    spearman, pearson = _correlations(gold, pred)
                    metrics[f"{task}_{subset}_spearman"] = spearman
                    metrics[f"{task}_{subset}_pearson"] = pearson
                    per_subset.append((len(gold), spearman, pearson))
            metrics[f"{task}_spearman"], metrics[f"{task}_pearson"] = _correlations(gold_all, pred_all)
            headline.append(metrics[f"{task}_spearman"])
            if per_subset:
                total = sum(n for n, _, _ in per_subset)
                for column, metric in ((1, "spearman"), (2, "pearson")):
                    values = [row[column] for row in per_subset]
                    metrics[f"{task}_{metric}_wmean"] = (
                        sum(n * v for (n, _, _), v in zip(per_subset, values, strict=True)) / total
                    )
                    metrics[f"{task}_{metric}_mean"] = sum(values) / len(values)
        metrics["avg_spearman"] = sum(headline) / len(headline)
        if self.alignment_uniformity:
            idx1, idx2 = self._align_pairs
            metrics["align_loss"] = alignment_loss(embeddings[idx1], embeddings[idx2]).item()
            metrics["uniform_loss"] = uniformity_loss(embeddings[self._uniform_indices]).item()
        return {key: metrics[key] for key in self.metric_keys()}

    def _write_json(self, path: Path, metrics: dict[str, float], epoch: int, steps: int) -> None:
        table = {
            header: round(100 * metrics[f"{key}_spearman"], 2)
            for key, header in TABLE_COLUMNS
            if f"{key}_spearman" in metrics
        }
        results: dict[str, Any] = {
            "mode": self.mode,
            "source": "hub" if self.data_dir is None else str(self.data_dir),
            "epoch": epoch,
            "steps": steps,
            "table": table,
            "scores_x100": {key: 100 * value for key, value in metrics.items() if not key.endswith("_loss")},
            "align_loss": metrics.get("align_loss"),
            "uniform_loss": metrics.get("uniform_loss"),
            "num_pairs": {task: {s: len(p) for s, p in subsets.items()} for task, subsets in self.data.items()},
        }
        path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    @property
    def description(self) -> str:
        return "STS (SentEval)"

    def get_config_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "tasks": list(self.tasks)}


def _correlations(gold: list[float], pred: list[float]) -> tuple[float, float]:
    return float(spearmanr(gold, pred).statistic), float(pearsonr(gold, pred).statistic)


def format_sts_table(metrics: Mapping[str, float], name: str | None = None) -> str:
    """SimCSE's results table: Spearman ×100 with two decimals, columns STS12 .. STS16, STS-B, SICK-R, Avg.

    Only the columns present in ``metrics`` are shown. Keys are found as ``<task>_spearman`` (and ``avg_spearman``),
    with any prefix (an evaluator ``name``, the Trainer's ``eval_``); pass ``name`` when ``metrics`` holds the keys of
    several evaluators.

    Example:
        ::

            print(format_sts_table({"stsb_spearman": 0.8672, "sickr_spearman": 0.7980, "avg_spearman": 0.8326}))
            '''
            +-------+--------+-------+
            | STS-B | SICK-R |  Avg. |
            +-------+--------+-------+
            | 86.72 |  79.80 | 83.26 |
            +-------+--------+-------+
            '''
    """
    table = render_table(metrics, [(header, f"{key}_spearman") for key, header in TABLE_COLUMNS], name)
    if table is None:
        raise ValueError("No STS metrics found: expected keys ending in 'sts12_spearman', ..., 'avg_spearman'.")
    return table


DEV_EVALUATOR_NAME = "sts-dev"


def sts_dev_evaluator(
    data_dir: str | os.PathLike[str] | None = None, batch_size: int = 128, **kwargs: Any
) -> STSEvaluator:
    """The paper's checkpoint selection: STS-B dev Spearman (SICK-R trial left out: the paper does not select on it),
    with ℓ_align and ℓ_uniform, named ``sts-dev`` (the Trainer logs ``eval_sts-dev_stsb_spearman``). The one
    factory that ``train_simcse``'s callers (the CLI, the quickstart, the ablation runner) use.

    Args:
        data_dir: The data directory (``STSB/sts-dev.csv``); ``None``: ``$SIMCSE_ST_DATA``, else the hub.
        batch_size: Encoding batch size.
        kwargs: Further :class:`STSEvaluator` arguments (e.g. ``write_csv=False``).
    """
    return STSEvaluator(
        data_dir=data_dir, mode="dev", tasks=["stsb"], batch_size=batch_size, name=DEV_EVALUATOR_NAME, **kwargs
    )
