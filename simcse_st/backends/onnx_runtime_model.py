"""``OnnxRuntimeModel``: an exported ONNX graph run by ONNX Runtime, in place of the transformers model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from transformers import PretrainedConfig

from simcse_st.backends.missing_extra import require
from simcse_st.backends.runtime_model_base import RuntimeModelBase


class OnnxRuntimeModel(RuntimeModelBase):
    """Stands where sentence-transformers' ``Transformer`` module keeps its transformers model (``module.model``):
    ``forward(input_ids=, attention_mask=, token_type_ids=)`` returns a ``BaseModelOutput`` with
    ``last_hidden_state`` (and ``hidden_states`` when the export has them), so pooling, normalisation and
    ``encode`` run unchanged. Inference only: it has no parameters and cannot be trained or saved.

    Args:
        path: The ``.onnx`` file.
        config: The transformers config of the exported model (``Transformer`` reads it).
        threads: ONNX Runtime's intra-op threads; default: torch's (``torch.get_num_threads()``).
    """

    def __init__(self, path: str | os.PathLike[str], config: PretrainedConfig, threads: int | None = None) -> None:
        super().__init__()
        self.runtime_name = "ONNX"
        ort = require("onnxruntime", "onnx")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.path = Path(path)
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.input_names = [item.name for item in self.session.get_inputs()]
        self.config = config

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(None, inputs)
