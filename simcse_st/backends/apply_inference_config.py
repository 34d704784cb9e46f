"""``apply_inference_config``: a loaded SentenceTransformer made to encode with the chosen backend and precision."""

from __future__ import annotations

import gc
import logging
import shutil
import tempfile
import weakref
from pathlib import Path

from sentence_transformers import SentenceTransformer

from simcse_st.backends.autocast_model import AutocastModel
from simcse_st.backends.export_config import ExportConfig
from simcse_st.backends.export_manifest import export_file
from simcse_st.backends.inference_config import InferenceConfig
from simcse_st.backends.transformer_module import transformer_module

logger = logging.getLogger(__name__)


def resolve_precision(config: InferenceConfig, device: str) -> str:
    """``auto`` -> what runs: torch: bf16 where ``device`` runs bf16 natively, else fp32; onnx / openvino: fp32."""
    if config.precision != "auto":
        return config.precision
    if config.backend != "torch":
        return "fp32"
    from simcse_st.training.precision import bf16_supported

    return "bf16" if bf16_supported(device) else "fp32"


def apply_inference_config(
    model: SentenceTransformer, config: InferenceConfig, folder: str | Path | None = None
) -> SentenceTransformer:
    """Make ``model`` (loaded with torch, float32) encode as ``config`` says, in place; return it.

    - torch fp32: unchanged. torch bf16: the transformer runs under bf16 autocast (:class:`AutocastModel`).
    - onnx / openvino: the transformer is replaced by the export's runtime (:class:`OnnxRuntimeModel`,
      :class:`OpenVINOModel`), on the CPU; its torch weights are freed. The export is the one in ``folder`` (the
      folder ``model`` was loaded from); a folder without one (or a hub model) is exported on the fly into a
      temporary folder, removed when the model is, with a log line (export it once to skip this).

    ``model.backend_description`` says what runs, e.g. ``"onnx int8 (onnx/model_qint8.onnx)"``.

    Raises:
        ValueError: ``folder`` is an export of another backend or lacks the precision; the first module is not a
            transformer; onnx / openvino with a model on a GPU.
        ImportError: The backend's extra is not installed.
    """
    device = str(model.device)
    precision = resolve_precision(config, device)
    if config.backend == "torch" and precision == "fp32":
        model.backend_description = "torch fp32"
        return model
    transformer = transformer_module(model, f"run {config.backend} {precision} with")
    if config.backend == "torch":
        if precision == "bf16":
            transformer.model = AutocastModel(transformer.model)
        model.backend_description = f"torch {precision}"
        return model
    if not device.startswith("cpu"):
        raise ValueError(f"backend={config.backend!r} runs on the CPU here; load the model with device='cpu'.")
    source = Path(folder).expanduser() if folder is not None else None
    path = export_file(source, config.backend, precision) if source is not None and source.is_dir() else None
    if path is None:
        path = _export_on_the_fly(model, config, precision)
    hf_config = transformer.model.config
    if config.backend == "onnx":
        from simcse_st.backends.onnx_runtime_model import OnnxRuntimeModel

        transformer.model = OnnxRuntimeModel(path, hf_config)
    else:
        from simcse_st.backends.openvino_model import OpenVINOModel

        transformer.model = OpenVINOModel(path, hf_config)
    gc.collect()  # the torch weights of the transformer
    root = source if source is not None and path.is_relative_to(source) else path.parent.parent
    model.backend_description = f"{config.backend} {precision} ({path.relative_to(root)})"
    return model


def _export_on_the_fly(model: SentenceTransformer, config: InferenceConfig, precision: str) -> Path:
    from simcse_st.backends.export_model import export_model
    from simcse_st.backends.names import EXPORT_FILES

    if config.backend == "openvino" and precision == "int8":
        raise ValueError(
            "An OpenVINO int8 model needs calibration sentences: export it first with "
            "export_model(..., ExportConfig(backend='openvino', quantize='int8'), calibration=[...])."
        )
    logger.warning(
        "The model folder has no %s export: exporting it now into a temporary folder (export it once with "
        "export_model to skip this).",
        config.backend,
    )
    scratch = Path(tempfile.mkdtemp(prefix="simcse-st-export-"))
    weakref.finalize(model, shutil.rmtree, scratch, True)
    quantize = "int8" if precision == "int8" else "none"
    export_model(model, scratch / "model", ExportConfig(backend=config.backend, quantize=quantize))
    return scratch / "model" / EXPORT_FILES[config.backend][precision]
