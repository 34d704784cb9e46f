"""``simcse-st``: a thin typer layer over the library; each command calls one ``simcse_st`` function."""

from __future__ import annotations

import typer

import simcse_st
from simcse_st.cli.ablate import ablate
from simcse_st.cli.encode import encode
from simcse_st.cli.evaluate import evaluate
from simcse_st.cli.export import export
from simcse_st.cli.quickstart import quickstart
from simcse_st.cli.search import index, search, serve
from simcse_st.cli.similarity import similarity
from simcse_st.cli.train import train

app = typer.Typer(
    name="simcse-st",
    help="SimCSE sentence embeddings for sentence-transformers.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("train", no_args_is_help=True)(train)
app.command("encode", no_args_is_help=True)(encode)
app.command("evaluate", no_args_is_help=True)(evaluate)
app.command("similarity", no_args_is_help=True)(similarity)
app.command("quickstart")(quickstart)
app.command("ablate", no_args_is_help=True)(ablate)
app.command("index", no_args_is_help=True)(index)
app.command("search", no_args_is_help=True)(search)
app.command("serve", no_args_is_help=True)(serve)
app.command("export", no_args_is_help=True)(export)


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
    """SimCSE sentence embeddings for sentence-transformers.

    \b
    Example:
      simcse-st train corpus.txt --model bert-base-uncased --output runs/simcse
      simcse-st evaluate --model runs/simcse --data ../shared/data
    """


def main() -> None:
    app()
