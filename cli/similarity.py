"""``simcse-st similarity``: a thin layer over :func:`simcse_st.inference.similarity.pairwise_similarity`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from simcse_st.backends.inference_config import InferenceConfig
from simcse_st.cli.common import BatchSize, ModelOption, Quiet, cli_errors, setup_logging
from simcse_st.cli.config_options import config_from_options, with_config_options


@with_config_options(InferenceConfig())
def similarity(
    ctx: typer.Context,
    sentences: Annotated[
        list[str], typer.Argument(help="Two or more sentences (quote each one).", show_default=False)
    ],
    model: ModelOption,
    batch_size: BatchSize = 64,
    quiet: Quiet = False,
    **settings: Any,
) -> None:
    """Print the cosine similarity of two sentences, or the matrix of all pairs for three or more.

    \b
    Example:
      simcse-st similarity --model runs/simcse "A man plays the guitar." "Someone is making music."
    """
    if len(sentences) < 2:
        raise typer.BadParameter("give at least two sentences.", param_hint="SENTENCES")
    setup_logging(quiet)
    with cli_errors(ctx):
        from simcse_st.inference.similarity import format_similarity, pairwise_similarity

        scores = pairwise_similarity(
            model, sentences, batch_size=batch_size, inference=config_from_options(ctx, settings, InferenceConfig())
        )
    typer.echo(format_similarity(sentences, scores))
