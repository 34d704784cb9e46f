"""Where the evaluation and training data live: an explicit directory or ``$SIMCSE_ST_DATA``."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "SIMCSE_ST_DATA"
# The Wikipedia sentences of the data directory (the head of SimCSE's wiki1m_for_simcse.txt).
WIKI_CORPUS = Path("WIKI") / "wiki1m_for_simcse.head1280000B.txt"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the data directory to read from, or ``None`` when neither it nor ``$SIMCSE_ST_DATA`` is set.

    An explicit ``data_dir`` wins over the environment variable. A directory that is named but does not
    exist raises ``FileNotFoundError`` naming it, so a typo never silently falls back to the hub.
    """
    raw = data_dir if data_dir is not None else os.environ.get(DATA_ENV_VAR) or None
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if not path.is_dir():
        source = "data_dir" if data_dir is not None else f"${DATA_ENV_VAR}"
        raise FileNotFoundError(
            f"The data directory {str(path)!r} (from {source}) does not exist or is not a directory."
        )
    return path


def require_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """:func:`resolve_data_dir`, but a missing directory (neither ``data_dir`` nor ``$SIMCSE_ST_DATA``) is an error."""
    directory = resolve_data_dir(data_dir)
    if directory is None:
        raise ValueError(f"No data directory: pass data_dir=DIR or set ${DATA_ENV_VAR}.")
    return directory


def require_file(path: Path, what: str) -> Path:
    """Return ``path`` if it is a file, else raise ``FileNotFoundError`` naming the expected path and what it is."""
    if not path.is_file():
        raise FileNotFoundError(f"Expected {what} at {str(path)!r}, but no such file exists.")
    return path
