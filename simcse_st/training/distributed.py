"""Where this process stands in a distributed run (``torchrun`` / ``accelerate launch`` set the variables)."""

from __future__ import annotations

import os


def world_size() -> int:
    """The number of training processes (``$WORLD_SIZE``; 1 when not distributed)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Whether this is the process that prepares the output directory, writes the model and reports
    (``$RANK`` 0, or not distributed). Known before the Trainer starts, so it can guard work done before it."""
    return int(os.environ.get("RANK", "0")) == 0
