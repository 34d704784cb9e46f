"""The output directory of a run: checking it before any work, one run at a time, and its checkpoints."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, no protection against a second run
    fcntl = None  # type: ignore[assignment]

CHECKPOINTS = "checkpoints"
LOCK_FILE = ".simcse-st.lock"


def prepare_output_dir(output_dir: Path, overwrite: bool, resume: bool) -> None:
    """Create ``output_dir``; refuse a non-empty one unless ``overwrite`` or ``resume``. ``overwrite`` (without
    ``resume``) removes the ``checkpoint-<step>`` folders of ``output_dir/checkpoints`` (stale checkpoints would be
    rotated into or resumed from) and nothing else: files simcse-st did not write stay."""
    if output_dir.exists() and not output_dir.is_dir():
        raise NotADirectoryError(f"Output path {str(output_dir)!r} exists and is not a directory.")
    if _has_content(output_dir) and not (overwrite or resume):
        raise FileExistsError(
            f"Output directory {str(output_dir)!r} is not empty; pass overwrite=True to train into it anyway, or "
            "resume=True to continue from its last checkpoint."
        )
    if overwrite or resume:  # folders of a final save that was killed half-way (simcse_st.training.final_save)
        for staging in output_dir.glob(".final-*") if output_dir.is_dir() else ():
            shutil.rmtree(staging, ignore_errors=True)
    folder = output_dir / CHECKPOINTS
    if overwrite and not resume and folder.is_dir():
        for checkpoint in folder.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
            if checkpoint.is_dir() and checkpoint.name.removeprefix(f"{PREFIX_CHECKPOINT_DIR}-").isdigit():
                shutil.rmtree(checkpoint)
    output_dir.mkdir(parents=True, exist_ok=True)


def _has_content(output_dir: Path) -> bool:
    return output_dir.is_dir() and any(path.name != LOCK_FILE for path in output_dir.iterdir())


def last_checkpoint(output_dir: Path) -> str | None:
    """The newest ``checkpoint-<step>`` folder in ``output_dir/checkpoints``, or ``None``."""
    folder = output_dir / CHECKPOINTS
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


class OutputDirLock:
    """An exclusive advisory lock on ``output_dir`` (``fcntl.flock`` on ``output_dir/.simcse-st.lock``) for the
    length of a run, so that a second run into the same directory is refused instead of both writing there. The
    operating system releases it when the process ends, also on a kill."""

    def __init__(self, output_dir: Path) -> None:
        self.path = output_dir / LOCK_FILE
        self._handle: int | None = None

    def __enter__(self) -> OutputDirLock:
        if fcntl is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(handle, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(handle)
            raise FileExistsError(
                f"Output directory {str(self.path.parent)!r} is in use by another run (process {owner}); wait for "
                "it to finish or choose another output directory."
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode(), 0)
        self._handle = handle
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self.path.unlink(missing_ok=True)
            os.close(self._handle)  # releases the lock
            self._handle = None
