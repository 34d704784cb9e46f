"""``OnnxRuntimeModel``: an exported ONNX graph run by ONNX Runtime, in place of the transformers model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from transformers import PretrainedConfig
from transformers.modeling_outputs import BaseModelOutput

from simcse_st.backends.missing_extra import require
from simcse_st.backends.runtime_output import feed, model_output


class OnnxRuntimeModel(torch.nn.Module):
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
        ort = require("onnxruntime", "onnx")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.path = Path(path)
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.input_names = [item.name for item in self.session.get_inputs()]
        self.config = config

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        **_: Any,
    ) -> BaseModelOutput:
        # input_ids, attention_mask, token_type_ids: (batch, seq) -> last_hidden_state (batch, seq, hidden)
        return model_output(self.session.run(None, feed(self.input_names, input_ids, attention_mask, token_type_ids)))

    def save_pretrained(self, *_: Any, **__: Any) -> None:
        raise NotImplementedError(
            f"This model runs the ONNX export {self.path}; save the torch model (backend='torch') instead."
        )
