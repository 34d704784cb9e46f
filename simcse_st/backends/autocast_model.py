"""``AutocastModel``: the transformers model run under torch bf16 autocast, its outputs returned in float32."""

from __future__ import annotations

from typing import Any

import torch


class AutocastModel(torch.nn.Module):
    """Wraps the transformers model of a sentence-transformers ``Transformer`` module: every forward runs under
    ``torch.autocast(device_type, dtype=torch.bfloat16)`` (matmuls in bf16, softmax / layer norm in float32, by
    autocast's own rules), and the hidden states come back as float32, so that pooling and the similarity are
    computed in float32 as in training (``bf16=True``). The weights stay float32; nothing else changes.

    Args:
        model: The transformers model (``Transformer.model``).
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.inner = model

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["inner"], name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        device_type = next(self.inner.parameters()).device.type
        with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
            output = self.inner(*args, **kwargs)
        # last_hidden_state: (batch, seq, hidden) bf16 -> float32; hidden_states likewise, when present
        output["last_hidden_state"] = output["last_hidden_state"].float()
        if output.get("hidden_states") is not None:
            output["hidden_states"] = tuple(state.float() for state in output["hidden_states"])
        return output
