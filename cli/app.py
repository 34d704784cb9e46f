"""``simcse-st``: a thin typer layer over the library; each command calls one ``simcse_st`` function."""

from __future__ import annotations

import typer

import simcse_st

app = typer.Typer(name="simcse-st", help="SimCSE sentence embeddings for sentence-transformers.", no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"simcse-st {simcse_st.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """SimCSE sentence embeddings for sentence-transformers."""


def main() -> None:
    app()
