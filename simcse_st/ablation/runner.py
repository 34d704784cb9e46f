"""``run_ablation``: train every row of the chosen studies for each seed, evaluate on STS-B dev along the way, and
write the markdown tables and plots. Each finished run is saved at once and skipped when the command is run again,
so an interrupted ablation loses at most the run in progress."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from datasets import Dataset

from simcse_st.ablation.ablation_run import AblationRun
from simcse_st.ablation.report import write_report
from simcse_st.ablation.studies import STUDIES
from simcse_st.data.reading import load_sentences
from simcse_st.evaluation.sts_evaluator import DEV_EVALUATOR_NAME, STSEvaluator, sts_dev_evaluator
from simcse_st.training.presets import ABLATION_BASELINE
from simcse_st.training.simcse_config import SimCSEConfig
from simcse_st.training.train import build_model, train_simcse

logger = logging.getLogger(__name__)

DEFAULT_STUDIES: tuple[str, ...] = tuple(STUDIES)
REFERENCE_BATCH = 64  # batch sizes other than 64 train on the same number of sentences: steps × 64 / batch


def _metrics(raw: dict[str, float]) -> dict[str, float]:
    """``{"eval_sts-dev_stsb_spearman": 0.8, ...}`` → ``{"stsb_spearman": 80.0, "align_loss": ..., ...}``."""
    out = {}
    for key, value in raw.items():
        name = key.removeprefix("eval_").removeprefix(f"{DEV_EVALUATOR_NAME}_")
        if name in ("stsb_spearman", "align_loss", "uniform_loss"):
            out[name] = 100 * value if name == "stsb_spearman" else value
    return out


def run_config(run: AblationRun, baseline: SimCSEConfig, seed: int, fill_model: str | None) -> SimCSEConfig:
    """The configuration one (row, seed) trains with: the row's changes to ``baseline``, the seed, and the schedule
    scaled so that every batch size sees ``baseline.max_steps × 64`` sentences."""
    config = run.config(baseline)
    steps = max(1, baseline.max_steps * REFERENCE_BATCH // config.batch_size)  # type: ignore[operator]
    eval_steps = max(1, baseline.eval_steps * REFERENCE_BATCH // config.batch_size)
    return replace(
        config,
        seed=seed,
        max_steps=steps,
        eval_steps=eval_steps,
        save_steps=steps - steps % eval_steps or eval_steps,
        fill_model=fill_model if config.augmentation == "mlm" else None,
    )


def _train_one(
    config: SimCSEConfig,
    key: str,
    model_name: str,
    sentences: Dataset,
    evaluator: STSEvaluator,
    directory: Path,
    options: dict[str, Any],
    initial_cache: dict[tuple, dict[str, float]],
) -> dict[str, Any]:
    if config.augmentation == "mlm" and config.fill_model is None:
        raise RuntimeError("needs a masked language model for the replacements (fill_model=NAME)")
    model = build_model(model_name, config)
    cache_key = initial_key(config)
    if cache_key not in initial_cache:  # the untrained model, step 0 of the curves
        initial_cache[cache_key] = _metrics(evaluator(model.eval()))
    results = train_simcse(
        sentences,
        directory / "model",
        config,
        model=model,
        evaluator=evaluator,
        overwrite=True,
        show_progress_bar=options["show_progress_bar"],
    )
    history = [{"step": 0, **initial_cache[cache_key]}]
    history += [{"step": entry["step"], **_metrics(entry)} for entry in results["eval_history"]]
    for point in history:
        point["sentences"] = point["step"] * config.batch_size
    trained = [point["stsb_spearman"] for point in history[1:]]
    if not options["keep_models"]:
        shutil.rmtree(directory / "model", ignore_errors=True)
    return {
        "key": key,
        "seed": config.seed,
        "config": config.to_dict(),
        "steps": config.max_steps,
        "bf16": results["resolved"]["bf16"],
        "history": history,
        "best_stsb": max(trained) if trained else None,
        "final_stsb": history[-1]["stsb_spearman"],
        "train_seconds": results["train_seconds"],
        "train_loss": results["train_loss"],
    }


def initial_key(config: SimCSEConfig) -> tuple[Any, ...]:
    """What the untrained model of a run depends on: runs with equal keys share one evaluation before training."""
    prompt = (config.prompt_template, config.prompt_denoising) if config.prompt_template is not None else None
    return (config.init, config.saved_pooler, prompt, config.seed)


def run_ablation(
    corpus: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    model: str,
    studies: Sequence[str] = DEFAULT_STUDIES,
    seeds: Sequence[int] = (42,),
    baseline: SimCSEConfig = ABLATION_BASELINE,
    data_dir: str | os.PathLike[str] | None = None,
    fill_model: str | None = None,
    keep_models: bool = False,
    show_progress_bar: bool = True,
    rows: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Run the ablation ``studies`` (names in :data:`simcse_st.ablation.STUDIES`) for every seed and write
    ``output_dir/ablations.md`` (a table per study, ours next to the paper's) and PNG plots (STS-B dev curves, the
    paper's Figure 2 alignment/uniformity trajectories) when matplotlib is installed.

    Every row is ``baseline`` with the row's changes (:meth:`AblationRun.config`). Each run starts from ``model``
    (pretrained or, for the ``init`` study, re-initialised), trains ``baseline.max_steps`` steps of batch 64 (other
    batch sizes: the same number of sentences) on ``corpus`` and evaluates STS-B dev Spearman, ℓ_align and ℓ_uniform
    before training and every ``baseline.eval_steps``. A run shared by several studies (the baseline) runs once.
    Finished runs are kept in ``output_dir/runs/<key>-s<seed>/record.json`` and not run again; the tables show every
    finished run of the studies in ``output_dir`` (so seeds added by a later call are averaged in).

    Args:
        baseline: The configuration the rows change (default :data:`~simcse_st.ablation.ABLATION_BASELINE`: the
            paper's setting, 100 steps, STS-B dev every 20); ``max_steps`` must be set.
        fill_model: The masked LM of Table 1's "MLM 15%" row (a hub id or folder); without it that row is skipped.
        rows: Train only the rows with these labels (exact, e.g. ``["SimCSE++ part: DCL 0.1"]``), in study order;
            None = every row. The tables still show every finished run of ``studies``, so rows and seeds can be
            added one call at a time.

    Returns:
        One record per (run, seed) of the selected studies: config, STS-B dev history, best and final score, time;
        runs that cannot be done here (e.g. synonym replacement without WordNet) have a ``skipped`` reason instead.

    Raises:
        ValueError: Unknown study, unknown row label, no seed, or ``baseline.max_steps`` not set.
    """
    unknown = [name for name in studies if name not in STUDIES]
    if unknown or not studies:
        raise ValueError(f"unknown studies {unknown}; choose from {list(STUDIES)}.")
    if not seeds:
        raise ValueError("give at least one seed.")
    runs = [run for name in studies for run in STUDIES[name].runs]
    if rows is not None:
        labels = [run.label for run in runs]
        missing = [row for row in rows if row not in labels]
        if missing or not rows:
            raise ValueError(f"unknown rows {missing} in studies {list(studies)}; choose from {labels}.")
        runs = [run for run in runs if run.label in rows]
    if baseline.max_steps is None:
        raise ValueError("baseline.max_steps=None is invalid: an ablation run needs a number of steps.")
    if not Path(corpus).is_file():
        raise FileNotFoundError(f"Training file not found: {str(corpus)!r}")
    output_dir = Path(output_dir)
    (output_dir / "runs").mkdir(parents=True, exist_ok=True)
    evaluator = sts_dev_evaluator(data_dir, write_csv=False)
    sentences = load_sentences(corpus)
    options = {"keep_models": keep_models, "show_progress_bar": show_progress_bar}
    unique = list({run.key(baseline): run for run in runs}.values())
    records: list[dict[str, Any]] = []
    initial_cache: dict[tuple, dict[str, float]] = {}
    for index, run in enumerate(unique):
        key = run.key(baseline)
        for seed in seeds:
            directory = output_dir / "runs" / f"{key}-s{seed}"
            path = directory / "record.json"
            if path.is_file():
                records.append(json.loads(path.read_text()))
                continue
            config = run_config(run, baseline, seed, fill_model)
            logger.info(f"ablation run {index + 1}/{len(unique)} {run.label!r} seed {seed}: {dict(run.changes)}")
            try:
                record = _train_one(config, key, model, sentences, evaluator, directory, options, initial_cache)
            except (RuntimeError, FileNotFoundError, ImportError) as error:  # e.g. no WordNet / masked LM here
                if config.augmentation is None:
                    raise
                logger.warning(f"ablation: skipping {run.label!r}: {error}")
                record = {"key": key, "seed": seed, "config": config.to_dict(), "skipped": str(error)}
            directory.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_text(json.dumps(record, indent=2) + "\n")
            partial.replace(path)
            records.append(record)
            write_report(_finished_records(output_dir, studies, baseline), studies, output_dir, baseline)
    write_report(_finished_records(output_dir, studies, baseline), studies, output_dir, baseline)
    return records


def _finished_records(output_dir: Path, studies: Sequence[str], baseline: SimCSEConfig) -> list[dict[str, Any]]:
    """Every record in ``output_dir/runs`` of the studies' rows, whatever command wrote it (e.g. seeds added later)."""
    keys = {run.key(baseline) for name in studies for run in STUDIES[name].runs}
    records = [json.loads(path.read_text()) for path in sorted((output_dir / "runs").glob("*/record.json"))]
    return [record for record in records if record["key"] in keys]
