"""``OpenVINOModel``: an exported OpenVINO IR model, compiled for the CPU, in place of the transformers model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from transformers import PretrainedConfig

from simcse_st.backends.missing_extra import require
from simcse_st.backends.runtime_model_base import RuntimeModelBase


class OpenVINOModel(RuntimeModelBase):
    """Stands where sentence-transformers' ``Transformer`` module keeps its transformers model, like
    :class:`~simcse_st.backends.OnnxRuntimeModel`, running an OpenVINO ``.xml`` / ``.bin`` model on the CPU.

    Args:
        path: The ``.xml`` file (its ``.bin`` next to it).
        config: The transformers config of the exported model.
        threads: OpenVINO's inference threads; default: torch's (``torch.get_num_threads()``).
    """

    def __init__(self, path: str | os.PathLike[str], config: PretrainedConfig, threads: int | None = None) -> None:
        super().__init__()
        self.runtime_name = "OpenVINO"
        openvino = require("openvino", "openvino")
        self.path = Path(path)
        properties = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads or torch.get_num_threads()}
        self.compiled = openvino.Core().compile_model(str(self.path), "CPU", properties)
        self.input_names = [port.get_any_name() for port in self.compiled.inputs]
        self.config = config

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        results = self.compiled(inputs)
        return [results[port] for port in self.compiled.outputs]
