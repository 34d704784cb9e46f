"""Writing a run's final model and ``results.json`` so that a failure (a full disk, a kill) never leaves half a model:
everything is written aside first, then renamed into place, ``results.json`` last."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sentence_transformers import SentenceTransformer


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a full disk: torch and safetensors wrap ``ENOSPC`` in their own
    exception types."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def save_final(model: SentenceTransformer, results: dict[str, Any], output_dir: Path) -> None:
    """Save ``model`` and ``results`` into ``output_dir``: written to a hidden folder inside it, then each file renamed
    into place (a rename needs no space and is atomic per file), ``results.json`` last, so ``results.json`` is there
    only when the model next to it is whole. On a failure while writing, the previous model in ``output_dir`` is
    untouched and the hidden folder is removed.

    Raises:
        OSError: The save failed (a full disk included, whatever exception type the writer raised); the message says
            that the previous model is unchanged.
    """
    staging = Path(tempfile.mkdtemp(dir=output_dir, prefix=".final-"))
    try:
        try:
            model.save(str(staging))
            (staging / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        except Exception as error:
            reason = "the disk is full" if is_disk_full(error) else f"{type(error).__name__}: {error}"
            raise OSError(
                f"Could not save the final model into {str(output_dir)!r} ({reason}); the model that was there "
                "before, if any, is unchanged, and so are the checkpoints."
            ) from error
        (output_dir / "results.json").unlink(missing_ok=True)  # from here on a previous run's results would lie
        for path in sorted(staging.iterdir(), key=lambda item: item.name == "results.json"):
            target = output_dir / path.name
            if path.is_dir() and target.is_dir():
                shutil.rmtree(target)  # a module folder (1_Pooling/): replaced whole
            os.replace(path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
