"""``simcse-st evaluate``: a thin layer over :func:`simcse_st.evaluation.evaluate.evaluate_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from simcse_st.backends.inference_config import InferenceConfig
from simcse_st.cli.common import (
    BatchSize,
    DataDir,
    ModelOption,
    PairsColumnsOption,
    Quiet,
    SkipBadRows,
    cli_errors,
    pair_columns,
    setup_logging,
)
from simcse_st.cli.config_options import config_from_options, with_config_options


@with_config_options(InferenceConfig())
def evaluate(
    ctx: typer.Context,
    model: ModelOption,
    data: DataDir = None,
    tasks: Annotated[
        list[str] | None,
        typer.Option(
            "--tasks",
            "-t",
            help="What to evaluate (repeat or comma-separate): sts, transfer, all, or single tasks sts12..sts16, "
            "stsb, sickr, mr, cr, subj, mpqa, sst2, trec, mrpc. Default: sts.",
        ),
    ] = None,
    mode: Annotated[
        Literal["test", "dev"], typer.Option(help="STS split: test (SimCSE's table) or dev (STS-B dev, SICK-R trial).")
    ] = "test",
    transfer_mode: Annotated[
        Literal["full", "fast"], typer.Option(help="Transfer tasks: full (10-fold, SimCSE's table) or fast (5-fold).")
    ] = "full",
    batch_size: BatchSize = 64,
    max_seq_length: Annotated[
        int | None,
        typer.Option(help="Truncate sentences to N tokens (default: the model's own, 32 after simcse-st train)."),
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            help="Your own scored pairs (.csv/.tsv/.jsonl: sentence1, sentence2, score; any score range): Spearman of "
            "the cosine similarities. Evaluated alone unless --tasks is given too."
        ),
    ] = None,
    pairs_columns: PairsColumnsOption = None,
    skip_bad_rows: SkipBadRows = False,
    json: Annotated[
        Path | None, typer.Option("--json", help="Also write the metrics and the table to this file.")
    ] = None,
    quiet: Quiet = False,
    **settings: Any,
) -> None:
    """Evaluate a model on STS (Spearman ×100, SimCSE's Table 1) and, with --tasks transfer, the SentEval tasks.

    Without --data (or $SIMCSE_ST_DATA) the STS sets are fetched from the Hugging Face hub.

    \b
    Example:
      simcse-st evaluate --model runs/simcse --data ../shared/data --tasks sts --mode test --json results/sts.json
      simcse-st evaluate --model runs/simcse --pairs my_test.tsv --pairs-columns query,answer,rating
    """
    setup_logging(quiet, hide_tables=True)
    with cli_errors(ctx):
        from simcse_st.evaluation.evaluate import evaluate_model

        results = evaluate_model(
            model,
            data_dir=data,
            # not given: evaluate_model's default (sts); with --pairs alone, the pairs only
            **({"tasks": tasks} if tasks else {"tasks": ()} if pairs is not None else {}),
            pairs=pairs,
            pairs_columns=pair_columns(pairs_columns),
            skip_bad_rows=skip_bad_rows,
            mode=mode,
            transfer_mode=transfer_mode,
            batch_size=batch_size,
            max_seq_length=max_seq_length,
            json_path=json,
            show_progress_bar=not quiet,
            inference=config_from_options(ctx, settings, InferenceConfig()),
        )
    typer.echo(results["table"])
