"""The output directory of a run: checking it before any work, and finding its last checkpoint."""

from __future__ import annotations

import shutil
from pathlib import Path

from transformers.trainer_utils import get_last_checkpoint

CHECKPOINTS = "checkpoints"


def prepare_output_dir(output_dir: Path, overwrite: bool, resume: bool) -> None:
    """Create ``output_dir``; refuse a non-empty one unless ``overwrite`` or ``resume``. ``overwrite`` (without
    ``resume``) removes ``output_dir/checkpoints``: stale checkpoints would be rotated into or resumed from."""
    if output_dir.exists() and not output_dir.is_dir():
        raise NotADirectoryError(f"Output path {str(output_dir)!r} exists and is not a directory.")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not (overwrite or resume):
        raise FileExistsError(
            f"Output directory {str(output_dir)!r} is not empty; pass overwrite=True to train into it anyway, or "
            "resume=True to continue from its last checkpoint."
        )
    if overwrite and not resume and (output_dir / CHECKPOINTS).is_dir():
        shutil.rmtree(output_dir / CHECKPOINTS)
    output_dir.mkdir(parents=True, exist_ok=True)


def last_checkpoint(output_dir: Path) -> str | None:
    """The newest ``checkpoint-<step>`` folder in ``output_dir/checkpoints``, or ``None``."""
    folder = output_dir / CHECKPOINTS
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None
