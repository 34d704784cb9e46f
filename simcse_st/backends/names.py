"""The names of the inference backends and precisions, and the files an export folder holds (torch-free)."""

from __future__ import annotations

from typing import Literal

Backend = Literal["torch", "onnx", "openvino"]
Precision = Literal["auto", "fp32", "bf16", "int8"]
ExportBackend = Literal["onnx", "openvino"]
ExportQuantization = Literal["none", "int8"]

BACKENDS: tuple[str, ...] = ("torch", "onnx", "openvino")
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "int8")
# What each backend can run: bf16 is torch autocast; int8 is a quantized ONNX / OpenVINO export.
BACKEND_PRECISIONS: dict[str, tuple[str, ...]] = {
    "torch": ("auto", "fp32", "bf16"),
    "onnx": ("auto", "fp32", "int8"),
    "openvino": ("auto", "fp32", "int8"),
}
# The export's manifest, at the top of the folder, next to the sentence-transformers files.
EXPORT_MANIFEST = "export.json"
EXPORT_FORMAT_VERSION = 1
# Where sentence-transformers' own ONNX / OpenVINO backends (through optimum) look for the files, so that
# ``SentenceTransformer(folder, backend=...)`` loads an export wherever optimum is installed.
EXPORT_FILES: dict[str, dict[str, str]] = {
    "onnx": {"fp32": "onnx/model.onnx", "int8": "onnx/model_qint8.onnx"},
    "openvino": {"fp32": "openvino/openvino_model.xml", "int8": "openvino/openvino_model_qint8_quantized.xml"},
}
# The optional extras, and the modules each one provides.
EXTRAS: dict[str, tuple[str, ...]] = {"onnx": ("onnx", "onnxruntime"), "openvino": ("openvino", "nncf", "onnx")}
