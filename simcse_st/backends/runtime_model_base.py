"""What :class:`~simcse_st.backends.OnnxRuntimeModel` and :class:`~simcse_st.backends.OpenVINOModel` share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PretrainedConfig
from transformers.modeling_outputs import BaseModelOutput

from simcse_st.backends.runtime_output import feed, model_output


class RuntimeModelBase(torch.nn.Module):
    """A compiled graph standing where ``Transformer.model`` is: on the CPU, no parameters, not trainable or saved.
    Subclasses set ``path``, ``input_names`` and ``config`` and implement :meth:`run`."""

    path: Path
    input_names: list[str]
    config: PretrainedConfig
    runtime_name = "runtime"

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The graph's outputs, in ``graph_output_names`` order, for int64 ``inputs``."""
        raise NotImplementedError

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        **_: Any,
    ) -> BaseModelOutput:
        # input_ids, attention_mask, token_type_ids: (batch, seq) -> last_hidden_state (batch, seq, hidden)
        return model_output(self.run(feed(self.input_names, input_ids, attention_mask, token_type_ids)))

    def save_pretrained(self, *_: Any, **__: Any) -> None:
        raise NotImplementedError(
            f"This model runs the {self.runtime_name} export {self.path}; "
            "save the torch model (backend='torch') instead."
        )
