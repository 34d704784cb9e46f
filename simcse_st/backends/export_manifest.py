"""The manifest of an export folder (``export.json``): which backend, which files, made from what. Torch-free."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simcse_st.backends.names import EXPORT_FILES, EXPORT_FORMAT_VERSION, EXPORT_MANIFEST


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or ``None`` when it has none (a plain model folder).

    Raises:
        ValueError: The manifest is not valid JSON, is from a newer simcse-st, or names files that are missing.
    """
    path = folder / EXPORT_MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        version, backend, files = manifest["format_version"], manifest["backend"], manifest["files"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a simcse-st export manifest ({error}).") from error
    if not isinstance(version, int) or version > EXPORT_FORMAT_VERSION:
        raise ValueError(f"{path} has format_version {version!r}; this simcse-st reads up to {EXPORT_FORMAT_VERSION}.")
    if backend not in EXPORT_FILES or not isinstance(files, dict):
        raise ValueError(f"{path} names an unknown backend {backend!r}.")
    for precision, name in files.items():
        if not (folder / name).is_file():
            raise ValueError(f"The {backend} export in {folder} is incomplete: {name} ({precision}) is missing.")
    return manifest


def export_file(folder: Path, backend: str, precision: str) -> Path | None:
    """The file of ``folder``'s export that runs ``backend`` at ``precision`` (``auto`` = fp32), or ``None`` when
    the folder has no export at all (it can then be exported on the fly). A folder without a manifest whose
    ``onnx/model.onnx`` (or ``openvino/openvino_model.xml``, or their int8 names) exists, as sentence-transformers'
    own export helpers write them, is used as it is.

    Raises:
        ValueError: The folder is an export of another backend, or of this backend without that precision.
    """
    manifest = read_manifest(folder)
    wanted = "fp32" if precision == "auto" else precision
    if manifest is None:  # a folder sentence-transformers exported (optimum) has the same layout, without a manifest
        existing = folder / EXPORT_FILES[backend][wanted]
        return existing if existing.is_file() else None
    if manifest["backend"] != backend:
        raise ValueError(
            f"{folder} is an {manifest['backend']} export, not an {backend} one: load it with "
            f"backend={manifest['backend']!r}, or export it again with backend={backend!r}."
        )
    if wanted not in manifest["files"]:
        have = ", ".join(sorted(manifest["files"]))
        raise ValueError(
            f"The {backend} export in {folder} has no {wanted} model (it has: {have}); export it with quantize='int8'."
        )
    return folder / manifest["files"][wanted]


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / EXPORT_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
