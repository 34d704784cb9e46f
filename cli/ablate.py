"""``simcse-st ablate``: a thin layer over :func:`simcse_st.ablation.run_ablation`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from simcse_st.ablation.studies import STUDIES
from simcse_st.cli.common import DataDir, ModelOption, Quiet, cli_errors, setup_logging
from simcse_st.cli.config_options import config_from_options, with_config_options
from simcse_st.cli.reports import ablation_summary
from simcse_st.training.presets import ABLATION_BASELINE


def _split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


@with_config_options(ABLATION_BASELINE, include=("max_steps", "eval_steps", "max_seq_length"))
def ablate(
    ctx: typer.Context,
    corpus: Annotated[Path, typer.Argument(help="Unlabeled training sentences, one per line (.txt, .txt.gz, ...).")],
    model: ModelOption,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for runs/, ablations.md and the PNG plots.")
    ] = Path("ablations"),
    data: DataDir = None,
    studies: Annotated[
        list[str] | None,
        typer.Option("--studies", "-s", help=f"Repeat or comma-separate: {', '.join(STUDIES)}. Default: all."),
    ] = None,
    seeds: Annotated[
        str | None, typer.Option(help="Comma-separated seeds; every row runs once per seed. Default: 42.")
    ] = None,
    fill_model: Annotated[
        str | None, typer.Option(help="Masked LM for Table 1's 'MLM 15%' row (e.g. bert-base-uncased); else skipped.")
    ] = None,
    keep_models: Annotated[bool, typer.Option(help="Keep each run's trained model (default: records only).")] = False,
    row: Annotated[
        list[str] | None,
        typer.Option(help="Train only the row with this exact label (repeat for several). Default: every row."),
    ] = None,
    quiet: Quiet = False,
    **settings: Any,
) -> None:
    """Run the paper's ablations on STS-B dev and write markdown tables and plots (Tables 1, 3, 6, Figure 2).

    Each row changes the ablation baseline (the paper's setting; --max-steps steps of batch 64 per run). Finished
    runs are saved as they end; running the same command again skips them.

    \b
    Example:
      simcse-st ablate wiki.txt --model bert-base-uncased --data ../shared/data --studies table1,table3 --seeds 42,43
      simcse-st ablate wiki.txt --model bert-base-uncased --studies methods --row 'SimCSE++ part: DCL 0.1' --seeds 43
    """
    setup_logging(quiet)
    with cli_errors(ctx):
        try:
            seed_list = [int(seed) for seed in seeds.split(",") if seed.strip()] if seeds is not None else None
        except ValueError:
            raise ValueError(f"seeds={seeds!r} is invalid: give comma-separated integers.") from None
        from simcse_st.ablation import run_ablation

        records = run_ablation(
            corpus,
            output,
            model,
            studies=_split(studies) or list(STUDIES),
            **({"seeds": seed_list} if seed_list is not None else {}),  # not given: run_ablation's (42,)
            baseline=config_from_options(ctx, settings, ABLATION_BASELINE),
            data_dir=data,
            fill_model=fill_model,
            keep_models=keep_models,
            rows=row or None,
            show_progress_bar=not quiet,
        )
    typer.echo(ablation_summary(records, output))
