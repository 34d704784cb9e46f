"""The conversions behind :func:`~simcse_st.backends.export_model`, each a call into torch, ONNX Runtime, OpenVINO or
NNCF (no exporter of our own): the transformers model -> ONNX graph -> fused / int8 ONNX, or -> OpenVINO IR -> int8 IR.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from simcse_st.backends.missing_extra import require
from simcse_st.backends.runtime_output import graph_output_names

logger = logging.getLogger(__name__)
_SAMPLE = ["A short sentence.", "A somewhat longer second sentence, so that the batch needs padding."]


class _GraphWrapper(torch.nn.Module):
    """Positional inputs (the traced graph's inputs) -> the hidden states as a tuple of tensors."""

    def __init__(self, model: torch.nn.Module, input_names: Sequence[str], hidden_states: bool) -> None:
        super().__init__()
        self.model, self.input_names, self.hidden_states = model, list(input_names), hidden_states

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        output = self.model(**dict(zip(self.input_names, inputs, strict=True)), return_dict=True)
        # (batch, seq, hidden) each: last_hidden_state, then the L + 1 hidden states when the pooler reads them
        return (output.last_hidden_state, *(output.hidden_states if self.hidden_states else ()))


def export_onnx(model: torch.nn.Module, tokenizer: object, path: Path, opset: int) -> list[str]:
    """Trace the transformers ``model`` into ``path`` (ONNX, dynamic batch and sequence axes); return its inputs."""
    require("onnx", "onnx")
    sample = tokenizer(_SAMPLE, padding=True, return_tensors="pt")  # type: ignore[operator]
    input_names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]
    hidden_states = bool(getattr(model.config, "output_hidden_states", False))
    num_hidden = model.config.num_hidden_layers + 1 if hidden_states else 0
    output_names = graph_output_names(num_hidden)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*input_names, *output_names)}
    wrapper = _GraphWrapper(model, input_names, hidden_states).eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's warnings about Python control flow on shapes
        torch.onnx.export(
            wrapper,
            tuple(sample[name] for name in input_names),
            str(path),
            dynamo=False,  # TorchScript tracing: one self-contained file, the graph optimum exports too
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
        )
    return input_names


def optimize_onnx(path: Path, config: object) -> None:
    """ONNX Runtime's transformer fusions (attention, layer norm, GELU) applied to ``path`` in place, for
    BERT-like encoders; any other architecture is left as traced (ONNX Runtime still applies its generic passes)."""
    model_type = getattr(config, "model_type", "")
    if model_type not in ("bert", "roberta", "distilbert", "xlm-roberta", "mpnet", "electra", "albert"):
        logger.info("No transformer fusions for model_type %r: the ONNX graph is kept as traced.", model_type)
        return
    from onnxruntime.transformers.optimizer import optimize_model

    fusion_type = {"xlm-roberta": "bert", "roberta": "bert", "mpnet": "bert", "electra": "bert"}.get(model_type)
    optimized = optimize_model(
        str(path),
        model_type=fusion_type or model_type,
        num_heads=getattr(config, "num_attention_heads", 0),
        hidden_size=getattr(config, "hidden_size", 0),
        opt_level=1,  # fusions only: opt_level 2+ bakes hardware-specific kernels into the file
    )
    optimized.save_model_to_file(str(path))


def quantize_onnx_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantization (weights per output channel, activations per batch at run time)."""
    require("onnxruntime", "onnx")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    onnx = require("onnx", "onnx")
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,  # per-tensor: mean cosine to fp32 0.961 instead of 0.992 on all-MiniLM-L6-v2
        reduce_range=False,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # fused ops lack shape-inferred types
    )


def convert_openvino(onnx_path: Path, target: Path) -> None:
    """The ONNX graph -> OpenVINO IR (``target`` .xml + .bin), through OpenVINO's ONNX front end."""
    openvino = require("openvino", "openvino")
    target.parent.mkdir(parents=True, exist_ok=True)
    openvino.save_model(openvino.convert_model(str(onnx_path)), str(target))


def quantize_openvino_int8(
    source: Path, target: Path, tokenize: Callable[[list[str]], dict[str, torch.Tensor]], sentences: Sequence[str]
) -> None:
    """Static int8 quantization of the IR with NNCF, its activation ranges calibrated on ``sentences``."""
    openvino = require("openvino", "openvino")
    nncf = require("nncf", "openvino")
    model = openvino.Core().read_model(str(source))
    input_names = {port.get_any_name() for port in model.inputs}
    batches = [list(sentences[start : start + 16]) for start in range(0, len(sentences), 16)]

    def transform(batch: list[str]) -> dict[str, object]:
        features = tokenize(batch)  # the model's own tokenization: its max_seq_length, padding to the longest
        return {name: value.numpy() for name, value in features.items() if name in input_names}

    quantized = nncf.quantize(
        model,
        nncf.Dataset(batches, transform),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(batches),
    )
    openvino.save_model(quantized, str(target))
