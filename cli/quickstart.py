"""``simcse-st quickstart``: a thin layer over :func:`simcse_st.quickstart.run_quickstart`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simcse_st.cli.common import DataDir, Quiet, cli_errors, setup_logging


def quickstart(
    data: DataDir = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where the trained model and results.json go (overwritten).")
    ] = Path("runs/quickstart"),
    steps: Annotated[int, typer.Option(help="Training steps.")] = 150,
    eval_steps: Annotated[int, typer.Option(help="Evaluate STS-B dev every N steps.")] = 50,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", help="Sentences per batch.")] = 64,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    bf16: Annotated[
        bool | None,
        typer.Option("--bf16/--no-bf16", help="bf16 autocast (default: on where the hardware runs it natively)."),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Offline demo: a short unsupervised SimCSE run of all-MiniLM-L6-v2 on the Wikipedia sentences of --data,
    printing STS-B dev Spearman before and after (a few minutes on a CPU).

    \b
    Example:
      simcse-st quickstart --data ../shared/data --steps 150
    """
    setup_logging(quiet)
    with cli_errors():
        from simcse_st.quickstart import run_quickstart

        run_quickstart(
            data_dir=data,
            output_dir=output,
            steps=steps,
            batch_size=batch_size,
            eval_steps=eval_steps,
            seed=seed,
            bf16=bf16,
            show_progress_bar=not quiet,
        )
