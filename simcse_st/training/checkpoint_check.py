"""Which checkpoint a resume can trust: the newest one whose files are all there and whole."""

from __future__ import annotations

import json
import logging
import struct
import zipfile
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

logger = logging.getLogger(__name__)

# What the Trainer writes into every checkpoint (torch.save files are zip archives), and the model weights.
TORCH_FILES = ("optimizer.pt", "scheduler.pt")
STATE_FILE = "trainer_state.json"
WEIGHTS_FILE = "model.safetensors"


def checkpoint_problem(checkpoint: Path, extra_torch_files: tuple[str, ...] = ()) -> str | None:
    """Why ``checkpoint`` cannot be resumed from (a missing, truncated or corrupt file, named), or ``None``."""
    state = checkpoint / STATE_FILE
    if not state.is_file():
        return f"{STATE_FILE} is missing (the save did not finish)"
    try:
        json.loads(state.read_text(encoding="utf-8"))["global_step"]
    except (ValueError, KeyError, UnicodeDecodeError):
        return f"{state} is not a complete trainer state"
    weights = checkpoint / WEIGHTS_FILE
    problem = _safetensors_problem(weights)
    if problem:
        return problem
    for name in (*TORCH_FILES, *extra_torch_files):
        path = checkpoint / name
        if not path.is_file():
            return f"{path} is missing"
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError) as error:
            return f"{path} is truncated or corrupt ({error})"
        if bad is not None:
            return f"{path} is corrupt (member {bad} fails its checksum)"
    return None


def _safetensors_problem(path: Path) -> str | None:
    """A safetensors file is an 8-byte header length, a JSON header and the tensors' bytes; check all three."""
    if not path.is_file():
        return f"{path} is missing"
    size = path.stat().st_size
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length)) if 8 + length <= size else None
    except (struct.error, ValueError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict):
        return f"{path} is truncated or corrupt (unreadable header)"
    end = max((entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"), default=0)
    if 8 + length + end != size:
        return f"{path} is truncated or corrupt ({size} bytes, its header describes {8 + length + end})"
    return None


def newest_complete_checkpoint(folder: Path, extra_torch_files: tuple[str, ...] = ()) -> str | None:
    """The newest ``checkpoint-<step>`` in ``folder`` that :func:`checkpoint_problem` finds nothing wrong with; each
    newer one skipped is logged with its reason. ``None`` when there is none: no checkpoint, or none complete (e.g. a
    kill during the first save); each incomplete one is then named in a warning and the run starts from scratch.
    """
    if not folder.is_dir():
        return None
    steps = sorted(
        (int(path.name.rsplit("-", 1)[1]), path)
        for path in folder.glob(f"{PREFIX_CHECKPOINT_DIR}-*")
        if path.is_dir() and path.name.rsplit("-", 1)[1].isdigit()
    )
    problems = []
    for _, checkpoint in reversed(steps):
        problem = checkpoint_problem(checkpoint, extra_torch_files)
        if problem is None:
            for skipped in problems:
                logger.warning(f"resume: skipping {skipped}")
            logger.info(f"resume: continuing from {checkpoint}")
            return str(checkpoint)
        problems.append(f"{checkpoint.name}: {problem}")
    if problems:
        logger.warning(f"resume: no complete checkpoint in {folder} ({'; '.join(problems)}); starting from scratch.")
    return None
