"""``simcse-st export``: a thin layer over :func:`simcse_st.backends.export_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from simcse_st.backends.export_config import ExportConfig
from simcse_st.cli.common import Quiet, cli_errors, setup_logging
from simcse_st.cli.config_options import config_from_options, with_config_options


@with_config_options(ExportConfig())
def export(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Argument(metavar="MODEL", help="A model folder (e.g. from simcse-st train) or a hub id.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The folder to write.")],
    calibration: Annotated[
        Path | None,
        typer.Option(help="openvino int8: a file of calibration sentences, one per line (in-domain; .gz ok)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --output if it exists.")] = False,
    quiet: Quiet = False,
    **settings: Any,
) -> None:
    """Export a model to ONNX or OpenVINO (optionally int8) into a folder every simcse-st command and
    SentenceTransformer(DIR, backend=...) load.

    \b
    Example:
      simcse-st export runs/simcse --backend onnx --quantize int8 --output runs/simcse-onnx
      simcse-st encode corpus.txt --model runs/simcse-onnx --backend onnx --precision int8 -o corpus.npy
    """
    setup_logging(quiet)
    with cli_errors(ctx):
        from simcse_st.backends.export_model import export_model

        config = config_from_options(ctx, settings, ExportConfig())
        folder = export_model(model, output, config, calibration=calibration, overwrite=overwrite)
    files = "int8 and fp32" if config.quantize == "int8" else "fp32"
    typer.echo(f"Exported {model} to {folder} ({config.backend}, {files}).")
