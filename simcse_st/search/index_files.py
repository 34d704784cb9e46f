"""Saving an index directory atomically and checking one before loading it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simcse_st.search.index_format_error import IndexFormatError
from simcse_st.search.names import FORMAT, FORMAT_VERSION, MANIFEST


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(16 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_directory(
    directory: Path, manifest: dict[str, Any], write_files: Callable[[Path], None], overwrite: bool
) -> None:
    """Write the index into a hidden sibling of ``directory``, add ``index.json`` (the file list with sizes and
    checksums) last, then rename it into place: an interrupted save leaves ``directory`` as it was (absent, or the
    previous index), never a mix. An existing ``directory`` is replaced only with ``overwrite``."""
    if directory.exists() and not overwrite:
        raise FileExistsError(f"Index directory {str(directory)!r} exists; pass overwrite=True to replace it.")
    if directory.exists() and not (directory / MANIFEST).is_file() and any(directory.iterdir()):
        raise FileExistsError(f"{str(directory)!r} is a non-empty folder that holds no index; refusing to replace it.")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.", suffix=".partial"))
    try:
        write_files(staging)
        paths = sorted(staging.iterdir())
        files = {path.name: {"bytes": path.stat().st_size, "sha256": sha256(path)} for path in paths}
        manifest = {"format": FORMAT, "version": FORMAT_VERSION, **manifest, "files": files}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o777 & ~_umask())
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            os.replace(directory, old)
            os.replace(staging, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_manifest(directory: Path, verify: bool) -> dict[str, Any]:
    """``index.json`` of ``directory`` after checking that every file it lists is there, with its size (and, with
    ``verify``, its SHA-256): a partial copy or a damaged file is an :class:`IndexFormatError`, not a half-load."""
    if not directory.exists():
        raise FileNotFoundError(f"Index directory not found: {str(directory)!r}")
    if not directory.is_dir():
        raise NotADirectoryError(f"{str(directory)!r} is a file, not an index directory.")
    path = directory / MANIFEST
    if not path.is_file():
        raise IndexFormatError(
            f"{str(directory)!r} is not an index: it has no {MANIFEST} (not written by EmbeddingIndex.save, or a "
            "save that did not finish)."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise IndexFormatError(f"{path}: not valid JSON ({error}); the index is damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexFormatError(f"{path}: not a simcse-st index manifest.")
    if manifest.get("version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"{path}: index format version {manifest.get('version')!r}; this simcse-st reads version {FORMAT_VERSION}."
        )
    for name, expected in manifest.get("files", {}).items():
        file = directory / name
        if not file.is_file():
            raise IndexFormatError(f"{str(directory)!r}: {name} is missing; the index is incomplete.")
        if file.stat().st_size != expected["bytes"]:
            raise IndexFormatError(
                f"{str(directory)!r}: {name} has {file.stat().st_size} bytes, {expected['bytes']} expected; the index "
                "is truncated or damaged."
            )
        if verify and sha256(file) != expected["sha256"]:
            raise IndexFormatError(f"{str(directory)!r}: {name} does not match its checksum; the index is damaged.")
    return manifest


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
