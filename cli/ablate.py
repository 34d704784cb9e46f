"""``simcse-st ablate``: a thin layer over :func:`simcse_st.ablation.run_ablation`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simcse_st.cli.common import DataDir, ModelOption, Quiet, cli_errors, setup_logging


def _split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def ablate(
    corpus: Annotated[Path, typer.Argument(help="Unlabeled training sentences, one per line (.txt, .txt.gz, ...).")],
    model: ModelOption,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for runs/, ablations.md and the PNG plots.")
    ] = Path("ablations"),
    data: DataDir = None,
    studies: Annotated[
        list[str] | None,
        typer.Option(
            "--studies",
            "-s",
            help="Repeat or comma-separate: table1, table3, table6, batch, mlm, init, precision, batching, "
            "dropout_kernel. Default: all.",
        ),
    ] = None,
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds; every row runs once per seed.")] = "42",
    max_steps: Annotated[
        int, typer.Option(help="Training steps per run at batch 64 (same sentences at others).")
    ] = 100,
    eval_steps: Annotated[int, typer.Option(help="Evaluate STS-B dev, ℓ_align, ℓ_uniform every N steps.")] = 20,
    max_seq_length: Annotated[int, typer.Option(help="Truncate training sentences to N tokens.")] = 32,
    fill_model: Annotated[
        str | None, typer.Option(help="Masked LM for Table 1's 'MLM 15%' row (e.g. bert-base-uncased); else skipped.")
    ] = None,
    keep_models: Annotated[bool, typer.Option(help="Keep each run's trained model (default: records only).")] = False,
    quiet: Quiet = False,
) -> None:
    """Run the paper's ablations on STS-B dev and write markdown tables and plots (Tables 1, 3, 6, Figure 2).

    Finished runs are saved as they end; running the same command again skips them.

    \b
    Example:
      simcse-st ablate wiki.txt --model bert-base-uncased --data ../shared/data --studies table1,table3 --seeds 42,43
    """
    setup_logging(quiet)
    with cli_errors():
        from simcse_st.ablation import run_ablation

        try:
            seed_list = [int(seed) for seed in seeds.split(",") if seed.strip()]
        except ValueError:
            raise ValueError(f"--seeds must be comma-separated integers, got {seeds!r}.") from None
        records = run_ablation(
            corpus,
            output,
            model,
            studies=_split(studies) or _all_studies(),
            seeds=seed_list,
            max_steps=max_steps,
            eval_steps=eval_steps,
            max_seq_length=max_seq_length,
            data_dir=data,
            fill_model=fill_model,
            keep_models=keep_models,
            show_progress_bar=not quiet,
        )
    done = sum("skipped" not in record for record in records)
    typer.echo(f"{done} runs done, {len(records) - done} skipped; tables in {output / 'ablations.md'}")


def _all_studies() -> list[str]:
    from simcse_st.ablation import DEFAULT_STUDIES

    return list(DEFAULT_STUDIES)
