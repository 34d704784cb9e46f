"""Fast inference: the backend and precision a model encodes with (torch fp32 / bf16 autocast, ONNX Runtime and
OpenVINO in float32 or int8), and exports that sentence-transformers and every simcse-st command load.

Names are imported lazily (PEP 562): the CLI reads :class:`InferenceConfig` and :class:`ExportConfig` without
importing torch, ONNX Runtime or OpenVINO.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simcse_st import _lazy_exports

_EXPORTS: dict[str, str] = {
    "BACKENDS": "simcse_st.backends.names",
    "PRECISIONS": "simcse_st.backends.names",
    "AutocastModel": "simcse_st.backends.autocast_model",
    "ExportConfig": "simcse_st.backends.export_config",
    "InferenceConfig": "simcse_st.backends.inference_config",
    "OnnxRuntimeModel": "simcse_st.backends.onnx_runtime_model",
    "OpenVINOModel": "simcse_st.backends.openvino_model",
    "apply_inference_config": "simcse_st.backends.apply_inference_config",
    "export_model": "simcse_st.backends.export_model",
    "read_manifest": "simcse_st.backends.export_manifest",
    "resolve_precision": "simcse_st.backends.apply_inference_config",
}

__all__ = [
    "BACKENDS",
    "PRECISIONS",
    "AutocastModel",
    "ExportConfig",
    "InferenceConfig",
    "OnnxRuntimeModel",
    "OpenVINOModel",
    "apply_inference_config",
    "export_model",
    "read_manifest",
    "resolve_precision",
]

if TYPE_CHECKING:
    from simcse_st.backends.apply_inference_config import apply_inference_config, resolve_precision
    from simcse_st.backends.autocast_model import AutocastModel
    from simcse_st.backends.export_config import ExportConfig
    from simcse_st.backends.export_manifest import read_manifest
    from simcse_st.backends.export_model import export_model
    from simcse_st.backends.inference_config import InferenceConfig
    from simcse_st.backends.names import BACKENDS, PRECISIONS
    from simcse_st.backends.onnx_runtime_model import OnnxRuntimeModel
    from simcse_st.backends.openvino_model import OpenVINOModel

__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
