"""``simcse-st quickstart``: a thin layer over :func:`simcse_st.training.run_quickstart`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from simcse_st.cli.common import DataDir, Quiet, cli_errors, setup_logging
from simcse_st.cli.config_options import config_from_options, with_config_options
from simcse_st.cli.reports import quickstart_summary
from simcse_st.training.presets import QUICKSTART

OPTIONS = ("max_steps", "eval_steps", "batch_size", "seed", "bf16")


@with_config_options(QUICKSTART, include=OPTIONS)
def quickstart(
    ctx: typer.Context,
    data: DataDir = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where the trained model and results.json go (overwritten).")
    ] = Path("runs/quickstart"),
    steps: Annotated[int | None, typer.Option(hidden=True, help="Deprecated spelling of --max-steps.")] = None,
    quiet: Quiet = False,
    **settings: Any,
) -> None:
    """Offline demo: a short unsupervised SimCSE run of all-MiniLM-L6-v2 on the Wikipedia sentences of --data,
    printing STS-B dev Spearman before and after (a few minutes on a CPU).

    \b
    Example:
      simcse-st quickstart --data ../shared/data --max-steps 150
    """
    setup_logging(quiet)
    if steps is not None:
        typer.echo("--steps is deprecated and will be removed; use --max-steps.", err=True)
        settings["max_steps"] = steps
        ctx.set_parameter_source("max_steps", ctx.get_parameter_source("steps"))  # type: ignore[arg-type]
    with cli_errors(ctx):
        config = config_from_options(ctx, settings, QUICKSTART)
        from simcse_st.training import run_quickstart

        results = run_quickstart(data_dir=data, output_dir=output, config=config, show_progress_bar=not quiet)
    typer.echo(quickstart_summary(results))
