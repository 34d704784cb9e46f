"""``run_ablation``: train every row of the chosen studies for each seed, evaluate on STS-B dev along the way, and
write the markdown tables and plots. Each finished run is saved at once and skipped when the command is run again,
so an interrupted ablation loses at most the run in progress."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer

from simcse_st.ablation.ablation_run import AblationRun
from simcse_st.ablation.report import write_report
from simcse_st.ablation.studies import STUDIES
from simcse_st.augmentation import augment_dataset
from simcse_st.data.reading import load_sentences
from simcse_st.evaluation.sts_evaluator import STSEvaluator
from simcse_st.training import build_model, train_simcse

logger = logging.getLogger(__name__)

DEFAULT_STUDIES: tuple[str, ...] = tuple(STUDIES)
REFERENCE_BATCH = 64  # batch sizes other than 64 train on the same number of sentences: steps × 64 / batch
EVALUATOR_NAME = "stsb-dev"


def _metrics(raw: dict[str, float]) -> dict[str, float]:
    """``{"eval_stsb-dev_stsb_spearman": 0.8, ...}`` → ``{"stsb_spearman": 80.0, "align_loss": ..., ...}``."""
    out = {}
    for key, value in raw.items():
        name = key.removeprefix("eval_").removeprefix(f"{EVALUATOR_NAME}_")
        if name in ("stsb_spearman", "align_loss", "uniform_loss"):
            out[name] = 100 * value if name == "stsb_spearman" else value
    return out


def _randomly_initialised(model: SentenceTransformer, seed: int) -> SentenceTransformer:
    """The same architecture and tokenizer with freshly initialised encoder weights (the model's own init scheme)."""
    encoder = model[0].auto_model
    torch.manual_seed(seed)
    fresh = type(encoder)(encoder.config)
    encoder.load_state_dict(fresh.state_dict())
    return model


def _positives(run: AblationRun, sentences: list[str], seed: int, tokenizer: Any, fill_model: Any) -> Dataset:
    if run.augmentation is None:
        return Dataset.from_dict({"text": sentences})
    method, ratio = run.augmentation
    if method == "mlm" and fill_model is None:
        raise RuntimeError("needs a masked language model for the replacements (fill_model=, CLI --fill-model)")
    return augment_dataset(sentences, method, ratio, seed=seed, tokenizer=tokenizer, fill_model=fill_model)


def _train_one(
    run: AblationRun,
    seed: int,
    model_name: str,
    sentences: list[str],
    evaluator: STSEvaluator,
    directory: Path,
    settings: dict[str, Any],
    initial_cache: dict[tuple, dict[str, float]],
) -> dict[str, Any]:
    steps = max(1, settings["max_steps"] * REFERENCE_BATCH // run.batch_size)
    eval_steps = max(1, settings["eval_steps"] * REFERENCE_BATCH // run.batch_size)
    mlp_in_loss = run.pooling == "cls" and run.mlp_only_train
    torch.manual_seed(seed)
    model = build_model(model_name, run.pooling, settings["max_seq_length"], mlp_only_train=mlp_in_loss)
    if run.init == "random":
        model = _randomly_initialised(model, seed)
    positives = _positives(run, sentences, seed, model.tokenizer, settings["fill_model"])
    cache_key = (run.init, run.pooling, run.mlp_only_train, seed)
    if cache_key not in initial_cache:  # the untrained model, step 0 of the curves
        initial_cache[cache_key] = _metrics(evaluator(model.eval()))
    results = train_simcse(
        positives,
        directory / "model",
        model=model,
        pooling=run.pooling,
        mlp_only_train=run.mlp_only_train,
        max_steps=steps,
        batch_size=run.batch_size,
        learning_rate=run.learning_rate,
        dropout=run.dropout,
        same_dropout_mask=run.same_dropout_mask,
        mlm_weight=run.mlm_weight,
        seed=seed,
        evaluator=evaluator,
        eval_steps=eval_steps,
        save_steps=steps - steps % eval_steps or eval_steps,
        bf16=run.bf16,
        batching=run.batching,
        fast_dropout=run.dropout_kernel == "fast",
        overwrite=True,
        show_progress_bar=settings["show_progress_bar"],
    )
    history = [{"step": 0, **initial_cache[cache_key]}]
    history += [{"step": entry["step"], **_metrics(entry)} for entry in results["eval_history"]]
    for point in history:
        point["sentences"] = point["step"] * run.batch_size
    trained = [point["stsb_spearman"] for point in history[1:]]
    if not settings["keep_models"]:
        shutil.rmtree(directory / "model", ignore_errors=True)
    return {
        "key": run.key,
        "seed": seed,
        "settings": run.settings(),
        "steps": steps,
        "bf16": results["settings"]["bf16"],
        "history": history,
        "best_stsb": max(trained) if trained else None,
        "final_stsb": history[-1]["stsb_spearman"],
        "train_seconds": results["train_seconds"],
        "train_loss": results["train_loss"],
    }


def run_ablation(
    corpus: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    model: str,
    studies: Sequence[str] = DEFAULT_STUDIES,
    seeds: Sequence[int] = (42,),
    max_steps: int = 100,
    eval_steps: int = 20,
    max_seq_length: int = 32,
    data_dir: str | os.PathLike[str] | None = None,
    fill_model: str | None = None,
    keep_models: bool = False,
    show_progress_bar: bool = True,
) -> list[dict[str, Any]]:
    """Run the ablation ``studies`` (names in :data:`simcse_st.ablation.STUDIES`) for every seed and write
    ``output_dir/ablations.md`` (a table per study, ours next to the paper's) and PNG plots (STS-B dev curves, the
    paper's Figure 2 alignment/uniformity trajectories) when matplotlib is installed.

    Every run starts from ``model`` (pretrained or, for the ``init`` study, re-initialised), trains ``max_steps`` steps
    of batch 64 (other batch sizes: the same number of sentences) on ``corpus`` and evaluates STS-B dev Spearman,
    ℓ_align and ℓ_uniform before training and every ``eval_steps``. A run shared by several studies (the baseline) runs
    once. Finished runs are kept in ``output_dir/runs/<key>-s<seed>/record.json`` and not run again; the tables show
    every finished run of the studies in ``output_dir`` (so seeds added by a later call are averaged in).

    Returns:
        One record per (run, seed) of the selected studies: settings, STS-B dev history, best and final score, time;
        runs that cannot be done here (e.g. synonym replacement without WordNet) have a ``skipped`` reason instead.

    Raises:
        ValueError: Unknown study, no seed, or ``max_steps``/``eval_steps`` < 1.
    """
    unknown = [name for name in studies if name not in STUDIES]
    if unknown or not studies:
        raise ValueError(f"unknown studies {unknown}; choose from {list(STUDIES)}.")
    if not seeds:
        raise ValueError("give at least one seed.")
    if max_steps < 1 or eval_steps < 1:
        raise ValueError(f"max_steps and eval_steps must be >= 1, got {max_steps} and {eval_steps}.")
    if not Path(corpus).is_file():
        raise FileNotFoundError(f"Training file not found: {str(corpus)!r}")
    output_dir = Path(output_dir)
    (output_dir / "runs").mkdir(parents=True, exist_ok=True)
    evaluator = STSEvaluator(data_dir, mode="dev", tasks=["stsb"], name=EVALUATOR_NAME, write_csv=False)
    sentences = load_sentences(corpus)["text"]
    fill = None
    if fill_model is not None:
        from transformers import AutoModelForMaskedLM

        fill = AutoModelForMaskedLM.from_pretrained(fill_model).eval()
    settings = {
        "max_steps": max_steps,
        "eval_steps": eval_steps,
        "max_seq_length": max_seq_length,
        "fill_model": fill,
        "keep_models": keep_models,
        "show_progress_bar": show_progress_bar,
    }
    unique = list({run.key: run for name in studies for run in STUDIES[name].runs}.values())
    records: list[dict[str, Any]] = []
    initial_cache: dict[tuple, dict[str, float]] = {}
    for index, run in enumerate(unique):
        for seed in seeds:
            directory = output_dir / "runs" / f"{run.key}-s{seed}"
            path = directory / "record.json"
            if path.is_file():
                records.append(json.loads(path.read_text()))
                continue
            logger.info(f"ablation run {index + 1}/{len(unique)} {run.label!r} seed {seed}: {run.settings()}")
            try:
                record = _train_one(run, seed, model, sentences, evaluator, directory, settings, initial_cache)
            except (RuntimeError, FileNotFoundError, ImportError) as error:  # e.g. no WordNet / masked LM here
                if run.augmentation is None:
                    raise
                logger.warning(f"ablation: skipping {run.label!r}: {error}")
                record = {"key": run.key, "seed": seed, "settings": run.settings(), "skipped": str(error)}
            directory.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_text(json.dumps(record, indent=2) + "\n")
            partial.replace(path)
            records.append(record)
            write_report(_finished_records(output_dir, studies), studies, output_dir)
    write_report(_finished_records(output_dir, studies), studies, output_dir)
    return records


def _finished_records(output_dir: Path, studies: Sequence[str]) -> list[dict[str, Any]]:
    """Every record in ``output_dir/runs`` of the studies' rows, whatever command wrote it (e.g. seeds added later)."""
    keys = {run.key for name in studies for run in STUDIES[name].runs}
    records = [json.loads(path.read_text()) for path in sorted((output_dir / "runs").glob("*/record.json"))]
    return [record for record in records if record["key"] in keys]
