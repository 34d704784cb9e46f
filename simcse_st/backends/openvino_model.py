"""``OpenVINOModel``: an exported OpenVINO IR model, compiled for the CPU, in place of the transformers model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from transformers import PretrainedConfig
from transformers.modeling_outputs import BaseModelOutput

from simcse_st.backends.missing_extra import require
from simcse_st.backends.runtime_output import feed, model_output


class OpenVINOModel(torch.nn.Module):
    """Stands where sentence-transformers' ``Transformer`` module keeps its transformers model, like
    :class:`~simcse_st.backends.OnnxRuntimeModel`, running an OpenVINO ``.xml`` / ``.bin`` model on the CPU.

    Args:
        path: The ``.xml`` file (its ``.bin`` next to it).
        config: The transformers config of the exported model.
        threads: OpenVINO's inference threads; default: torch's (``torch.get_num_threads()``).
    """

    def __init__(self, path: str | os.PathLike[str], config: PretrainedConfig, threads: int | None = None) -> None:
        super().__init__()
        openvino = require("openvino", "openvino")
        self.path = Path(path)
        properties = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads or torch.get_num_threads()}
        self.compiled = openvino.Core().compile_model(str(self.path), "CPU", properties)
        self.input_names = [port.get_any_name() for port in self.compiled.inputs]
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
        results = self.compiled(feed(self.input_names, input_ids, attention_mask, token_type_ids))
        return model_output([results[port] for port in self.compiled.outputs])

    def save_pretrained(self, *_: Any, **__: Any) -> None:
        raise NotImplementedError(
            f"This model runs the OpenVINO export {self.path}; save the torch model (backend='torch') instead."
        )
