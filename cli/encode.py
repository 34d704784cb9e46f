"""``simcse-st encode``: a thin layer over :func:`simcse_st.inference.encoding.encode_file`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from simcse_st.backends.inference_config import InferenceConfig
from simcse_st.cli.common import (
    BatchSize,
    ColumnOption,
    DecodeErrorsOption,
    ModelOption,
    Quiet,
    cli_errors,
    setup_logging,
)
from simcse_st.cli.config_options import config_from_options, with_config_options


@with_config_options(InferenceConfig())
def encode(
    ctx: typer.Context,
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="Sentences: .txt (one per line), .csv/.tsv (header row) or .jsonl; .gz ok.",
            show_default=False,
        ),
    ],
    model: ModelOption,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Embeddings file; the format follows the suffix: .npy, .jsonl or .csv."),
    ],
    column: ColumnOption = None,
    batch_size: BatchSize = 64,
    normalize: Annotated[bool, typer.Option(help="L2-normalise the embeddings (dot product = cosine).")] = False,
    chunk_size: Annotated[
        int, typer.Option(help="Rows encoded and written at a time; bounds the memory use.")
    ] = 10_000,
    blank_lines: Annotated[
        Literal["error", "keep"],
        typer.Option(help="Blank rows: error = stop before encoding anything; keep = encode them as they are."),
    ] = "error",
    decode_errors: DecodeErrorsOption = "strict",
    overwrite: Annotated[bool, typer.Option(help="Replace --output if it exists.")] = False,
    quiet: Quiet = False,
    **settings: Any,
) -> None:
    """Encode every row of a file into one embedding per row, in input order (no dedup, nothing dropped).

    Streams: memory stays bounded by --chunk-size however large the input is.

    \b
    Example:
      simcse-st encode sentences.txt --model runs/simcse --output embeddings.npy --normalize
      simcse-st encode sentences.txt --model runs/simcse-onnx --backend onnx --precision int8 -o embeddings.npy
    """
    setup_logging(quiet)
    with cli_errors(ctx):
        from simcse_st.inference.encoding import encode_file

        rows = encode_file(
            input_path,
            output,
            model,
            column=column,
            batch_size=batch_size,
            normalize=normalize,
            chunk_size=chunk_size,
            show_progress_bar=not quiet,
            decode_errors=decode_errors,
            blank_lines=blank_lines,
            overwrite=overwrite,
            inference=config_from_options(ctx, settings, InferenceConfig()),
        )
    typer.echo(f"Wrote {rows} embeddings to {output}.")
