"""``ExportConfig``: what :func:`~simcse_st.backends.export_model` writes, declared once (torch-free)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from simcse_st.backends.names import ExportBackend, ExportQuantization


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class ExportConfig:
    """The backend of an export, whether it also holds an int8 model, and how that one is made.

    - ONNX: ``onnx/model.onnx`` (float32; with ``optimize``, ONNX Runtime's transformer graph fusions, as in
      sentence-transformers' ``export_optimized_onnx_model``); ``quantize="int8"`` adds ``onnx/model_qint8.onnx``,
      dynamic quantization (int8 weights, activations quantized per batch at run time, per output channel), as in
      ``export_dynamic_quantized_onnx_model``. No calibration data.
    - OpenVINO: ``openvino/openvino_model.xml``; ``quantize="int8"`` adds
      ``openvino/openvino_model_qint8_quantized.xml``, static quantization with NNCF over ``calibration_size``
      calibration sentences, as in ``export_static_quantized_openvino_model``.

    Example:
        ::

            ExportConfig(backend="onnx", quantize="int8")
    """

    backend: ExportBackend = field(default="onnx", metadata=_help("The export: onnx (ONNX Runtime) or openvino."))
    quantize: ExportQuantization = field(
        default="none", metadata=_help("int8 = also write a quantized model (onnx: dynamic; openvino: static).")
    )
    optimize: bool = field(
        default=True, metadata=_help("onnx: apply ONNX Runtime's transformer graph fusions to the float model.")
    )
    calibration_size: int = field(
        default=300, metadata=_help("openvino int8: calibration sentences used (static quantization).")
    )
    opset: int = field(default=17, metadata=_help("The ONNX opset of the export."))

    def __post_init__(self) -> None:
        if self.backend not in ("onnx", "openvino"):
            raise ValueError(f"backend={self.backend!r} cannot be exported: onnx or openvino.")
        if self.quantize not in ("none", "int8"):
            raise ValueError(f"quantize={self.quantize!r} is not one of none, int8.")
        if isinstance(self.calibration_size, bool) or not isinstance(self.calibration_size, int):
            raise ValueError(f"calibration_size={self.calibration_size!r} must be an integer.")
        if self.calibration_size < 1:
            raise ValueError(f"calibration_size={self.calibration_size} must be at least 1.")
        if not 13 <= self.opset <= 20:
            raise ValueError(f"opset={self.opset} must be between 13 and 20.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
