"""What every command shares: turning library errors into one ``Error:`` line, logging setup, common options."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from simcse_st.data.data_dir import DATA_ENV_VAR
from simcse_st.data.names import DecodeErrors
from simcse_st.training.training_interrupted import TrainingInterrupted

USER_ERRORS: tuple[type[BaseException], ...] = (
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    ValueError,
    OSError,
    ImportError,
)
_CLI_HANDLER = "_simcse_st_cli_handler"
_bars_hidden = False

# Library parameter names whose command-line option has another name.
PARAMETER_ALIASES = {
    "errors": "decode_errors",
    "data_dir": "data",
    "model_name_or_path": "model",
    "steps": "max_steps",
    "columns": "pairs_columns",
}
# `name=value` in a library message: a parameter and the value to pass.
_ASSIGNMENT = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)=('[^']*'|\"[^\"]*\"|[^\s,;:)]+)")
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only warnings and errors: no info lines, no progress bars.")
]
ModelOption = Annotated[
    str, typer.Option("--model", "-m", help="A model folder (sentence-transformers or Hugging Face) or a hub id.")
]
BatchSize = Annotated[int, typer.Option("--batch-size", "-b", help="Encoding batch size.")]
ColumnOption = Annotated[
    str | None,
    typer.Option(help="Text column of a .csv/.tsv or key of a .jsonl (default: the only one, else 'text')."),
]
DataDir = Annotated[
    str | None,
    typer.Option(
        "--data",
        "-d",
        envvar=DATA_ENV_VAR,
        help=f"SentEval-style data directory (STS12..STS16, STSB, SICK, MR..MRPC) [env var: {DATA_ENV_VAR}].",
        show_envvar=False,
    ),
]
DecodeErrorsOption = Annotated[
    DecodeErrors,
    typer.Option(
        help="Lines that are not valid UTF-8: strict = stop with an error, skip = drop them, replace = U+FFFD."
    ),
]


PairsColumnsOption = Annotated[
    str | None,
    typer.Option(
        help="The scored-pairs file's sentence 1, sentence 2 and score columns: three header names, or three 0-based "
        "positions for a file without a header (e.g. 5,6,4: STS-B's layout). Default: sentence1,sentence2,score."
    ),
]
SkipBadRows = Annotated[
    bool, typer.Option(help="Drop the scored-pairs file's bad rows (listed in a warning) instead of stopping.")
]


def pair_columns(text: str | None) -> tuple[str | int, ...] | None:
    """``--pairs-columns`` as :func:`simcse_st.evaluation.read_scored_pairs` takes it (``None``: its default)."""
    from simcse_st.evaluation.scored_pairs import parse_pair_columns

    return None if text is None else parse_pair_columns(text)


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (its type name when it has no message)."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text or type(error).__name__


def with_flags(message: str, ctx: typer.Context | None) -> str:
    """``message`` with each ``parameter=value`` that the current command has an option for written as that option:
    ``overwrite=True`` → ``--overwrite``, ``learning_rate=-1.0`` → ``--lr -1.0``, ``errors='skip'`` →
    ``--decode-errors skip``. The library names its parameters; the CLI names its flags."""
    if ctx is None:
        return message
    options = {param.name: param for param in ctx.command.params if param.param_type_name == "option"}

    def flag(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        end = "." if value.endswith(".") and not value.startswith(("'", '"')) else ""  # the sentence's full stop
        value = value.removesuffix(end).strip("'\"")
        option = options.get(PARAMETER_ALIASES.get(name, name)) or options.get(name)
        if option is None:
            return match.group(0)
        if option.is_flag and value in ("True", "False"):
            negative = option.secondary_opts[0] if option.secondary_opts else f"no {option.opts[0]}"
            return (option.opts[0] if value == "True" else negative) + end
        return f"{option.opts[0]} {value}{end}"

    return _ASSIGNMENT.sub(flag, message)


@contextmanager
def cli_errors(ctx: typer.Context | None = None) -> Iterator[None]:
    """Turn the errors a user can cause into ``Error: <message>`` on stderr and exit code 1, without a traceback;
    an interrupted training run into its one-line report and exit code 130. The one place both are reported; with
    the command's ``ctx``, the parameters the library names are written as the command's flags (:func:`with_flags`)."""
    try:
        yield
    except TrainingInterrupted as interrupted:
        typer.echo(with_flags(one_line(interrupted), ctx), err=True)
        raise typer.Exit(130) from None
    except USER_ERRORS as error:
        typer.echo(f"Error: {with_flags(one_line(error), ctx)}", err=True)
        raise typer.Exit(1) from None


class _DropTables(logging.Filter):
    """Drops the result tables the evaluators log, for commands that print the table on stdout themselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().lstrip("\n").startswith("+-")


def setup_logging(quiet: bool = False, hide_tables: bool = False) -> None:
    """Show the ``simcse_st`` loggers' messages (read statistics, evaluation tables) as plain lines on stderr.

    ``hide_tables``: leave out the tables the evaluators log (the command prints them on stdout).
    """
    logger = logging.getLogger("simcse_st")
    for handler in list(logger.handlers):
        if getattr(handler, _CLI_HANDLER, False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler()  # the current sys.stderr
    handler.setFormatter(logging.Formatter("%(message)s"))
    setattr(handler, _CLI_HANDLER, True)
    if hide_tables:
        handler.addFilter(_DropTables())
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    _quiet_library_progress_bars(quiet)


def _quiet_library_progress_bars(quiet: bool) -> None:
    """Hide (or show again, if this module hid them) the hub's and transformers' progress bars ("Loading weights")."""
    global _bars_hidden
    if quiet == _bars_hidden:
        return
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as transformers_logging

    if quiet:
        hub_utils.disable_progress_bars()
        transformers_logging.disable_progress_bar()
    else:
        hub_utils.enable_progress_bars()
        transformers_logging.enable_progress_bar()
    _bars_hidden = quiet
