"""Importing an optional backend, with an error that says which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from simcse_st.backends.names import EXTRAS


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` (part of the optional extra ``extra``) or raise an ImportError naming the extra.

    Raises:
        ImportError: ``module`` is not installed; the message gives the ``pip install`` line.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        needed = " and ".join(EXTRAS.get(extra, (module,)))
        raise ImportError(
            f"The {extra} backend needs {needed} ({module!r} is not installed): pip install 'simcse-st[{extra}]'."
        ) from error
