"""The embedded default job: a short unsupervised SimCSE run, offline, reporting STS-B dev before and after."""

from __future__ import annotations

import logging
import os
from typing import Any

from simcse_st.data.data_dir import WIKI_CORPUS, require_data_dir, require_file
from simcse_st.evaluation.sts_evaluator import sts_dev_evaluator
from simcse_st.inference.model_loading import offline_minilm_path
from simcse_st.training.presets import QUICKSTART
from simcse_st.training.simcse_config import SimCSEConfig
from simcse_st.training.train import build_model, train_simcse, with_deprecated_settings

logger = logging.getLogger(__name__)


def run_quickstart(
    data_dir: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] = "runs/quickstart",
    config: SimCSEConfig = QUICKSTART,
    show_progress_bar: bool = True,
    **settings: Any,
) -> dict[str, Any]:
    """Train all-MiniLM-L6-v2 with unsupervised SimCSE on the Wikipedia sentences of ``data_dir`` (the preset
    :data:`~simcse_st.training.presets.QUICKSTART`: 150 steps, [CLS] pooling with the MLP in training only,
    max_seq_length 32), keeping the best checkpoint on STS-B dev, and report STS-B dev Spearman before and after.

    Args:
        data_dir: The data directory (``WIKI/`` and ``STSB/`` are used); ``None`` reads ``$SIMCSE_ST_DATA``.
        output_dir: Where the trained model and ``results.json`` go (overwritten).
        config: The settings (default: the quickstart preset).
        settings: Deprecated: the old keywords (``steps=`` is ``max_steps``, ``batch_size=``, ``eval_steps=``,
            ``seed=``, ``bf16=``), applied over ``config`` with a ``FutureWarning``.

    Returns:
        ``train_simcse``'s results plus ``stsb_dev_before`` and ``stsb_dev_after`` (×100, 2 decimals) and
        ``stsb_dev_before_raw`` / ``stsb_dev_after_raw`` (the Spearman as measured, in [-1, 1]).
    """
    if "steps" in settings:
        settings["max_steps"] = settings.pop("steps")
    config = with_deprecated_settings(config, settings, "run_quickstart")
    data = require_data_dir(data_dir)
    corpus = require_file(data / WIKI_CORPUS, "the Wikipedia sentences")
    evaluator = sts_dev_evaluator(data)
    model = build_model(offline_minilm_path(), config)

    before = evaluator(model)[evaluator.primary_metric]
    logger.info(f"STS-B dev Spearman before training: {100 * before:.2f}")
    results = train_simcse(
        corpus,
        output_dir,
        config,
        model=model,
        evaluator=evaluator,
        overwrite=True,
        show_progress_bar=show_progress_bar,
    )
    # The model now holds the best checkpoint, whose STS-B dev score the Trainer has already measured.
    best = results["best_metric"]
    after = best if best is not None else evaluator(model)[evaluator.primary_metric]
    results.update(
        stsb_dev_before=round(100 * before, 2),
        stsb_dev_after=round(100 * after, 2),
        stsb_dev_before_raw=before,
        stsb_dev_after_raw=after,
        output_dir=os.fspath(output_dir),
    )
    return results
