"""``simcse-st train``: a thin layer over :func:`simcse_st.training.train_simcse`.

Every training setting is an option generated from :class:`~simcse_st.training.SimCSEConfig`
(:mod:`simcse_st.cli.config_options`); the options written here are the run's inputs and operational switches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from simcse_st.cli.common import (
    DecodeErrorsOption,
    PairsColumnsOption,
    Quiet,
    SkipBadRows,
    cli_errors,
    pair_columns,
    setup_logging,
)
from simcse_st.cli.config_options import config_from_options, with_config_options
from simcse_st.cli.reports import train_summary
from simcse_st.training.presets import PRESETS
from simcse_st.training.simcse_config import SimCSEConfig

Preset = Literal[tuple(PRESETS)]  # type: ignore[valid-type]  # default, paper, quickstart, ablation


@with_config_options(SimCSEConfig())
def train(
    ctx: typer.Context,
    corpus: Annotated[
        Path,
        typer.Argument(
            metavar="CORPUS",
            help="Training file: one sentence per line (.txt; or .csv/.tsv/.jsonl with a text column; .gz ok); "
            "with --supervised a .csv/.tsv with the header sent0,sent1[,hard_neg].",
            show_default=False,
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Base model: a hub id or a local model folder [default: the --config run's model, "
            "else bert-base-uncased].",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output directory: final model, results.json, checkpoints/.")
    ] = Path("runs/simcse"),
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Settings from a JSON file: SimCSEConfig fields, or the results.json of an earlier run (repeats it "
            "exactly); options given here override the file.",
        ),
    ] = None,
    preset: Annotated[
        Preset | None,
        typer.Option(
            help="Named settings (simcse_st.training.PRESETS): default, paper (the paper's exact setting: random "
            "batches, fp32, native dropout), quickstart, ablation. Options given here override it. [default: default]"
        ),
    ] = None,
    eval_data: Annotated[
        Path | None,
        typer.Option(
            help="SentEval-style data directory: evaluate STS-B dev every --eval-steps and keep the best checkpoint."
        ),
    ] = None,
    eval_pairs: Annotated[
        Path | None,
        typer.Option(
            help="Your own scored dev pairs (.csv/.tsv/.jsonl: sentence1, sentence2, score; any score range): "
            "Spearman every --eval-steps selects the checkpoint, instead of --eval-data."
        ),
    ] = None,
    pairs_columns: PairsColumnsOption = None,
    skip_bad_rows: SkipBadRows = False,
    overwrite: Annotated[bool, typer.Option(help="Train into a non-empty --output directory.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in --output.")] = False,
    decode_errors: DecodeErrorsOption = "strict",
    quiet: Quiet = False,
    **settings: Any,
) -> None:
    """Train a SimCSE model (unsupervised by default, with the paper's settings).

    Writes to --output a model that SentenceTransformer(output) loads, results.json (settings, steps, loss, STS-B
    dev curve) and the model card (README.md). Ctrl-C keeps the last checkpoint; rerun with --resume to continue.
    simcse-st train CORPUS --config OUTPUT/results.json repeats a run.

    Without STS-B (another domain or language), --dev-from-corpus N holds out N corpus sentences and selects
    checkpoints on a label-free score from them; --eval-pairs selects on your own scored pairs.

    \b
    Example:
      simcse-st train wiki1m_for_simcse.txt --model bert-base-uncased --output runs/unsup-bert \\
          --eval-data ../shared/data --eval-steps 125
      simcse-st train my_corpus.txt --model bert-base-multilingual-cased --dev-from-corpus 1000 \\
          --length-unit characters --min-length 5
    """
    setup_logging(quiet)
    with cli_errors(ctx):
        if config_file is not None and preset is not None:
            raise ValueError("Give --config or --preset, not both.")
        base = SimCSEConfig.from_json(config_file) if config_file is not None else PRESETS[preset or "default"]
        config = config_from_options(ctx, settings, base)
        if eval_data is not None and eval_pairs is not None:
            raise ValueError("Give --eval-data or --eval-pairs, not both: one of them selects the checkpoint.")
        from simcse_st.evaluation import scored_pairs_evaluator, sts_dev_evaluator
        from simcse_st.training import is_main_process, train_simcse

        evaluator = None
        if eval_data is not None:
            evaluator = sts_dev_evaluator(eval_data)
        elif eval_pairs is not None:
            evaluator = scored_pairs_evaluator(
                eval_pairs, pair_columns(pairs_columns), skip_bad_rows, name="dev-pairs"
            )
        results = train_simcse(
            corpus,
            output,
            config,
            model=model or _recorded_model(config_file),
            evaluator=evaluator,
            overwrite=overwrite,
            resume=resume,
            decode_errors=decode_errors,
            show_progress_bar=not quiet,
        )
    if is_main_process():  # under torchrun, the main process reports
        typer.echo(train_summary(results, output))


def _recorded_model(config_file: Path | None) -> str | None:
    """The model of the run whose ``results.json`` is ``config_file`` (``None`` for a plain config file)."""
    if config_file is None:
        return None
    recorded = json.loads(config_file.read_text(encoding="utf-8"))
    model = recorded.get("model") if isinstance(recorded.get("config"), dict) else None
    return model if isinstance(model, str) and model != "custom" else None
