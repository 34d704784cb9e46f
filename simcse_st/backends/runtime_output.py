"""What the runtime models return: a transformers ``BaseModelOutput`` built from the exported graph's outputs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from transformers.modeling_outputs import BaseModelOutput

# The graph outputs, in order: last_hidden_state, then (output_hidden_states) hidden_states_0 .. hidden_states_L.
LAST_HIDDEN_STATE = "last_hidden_state"


def graph_output_names(num_hidden_states: int) -> list[str]:
    """``last_hidden_state`` and, for a model that emits them, ``hidden_states_0`` .. ``hidden_states_{L}``."""
    return [LAST_HIDDEN_STATE, *(f"hidden_states_{i}" for i in range(num_hidden_states))]


def model_output(arrays: Sequence[np.ndarray]) -> BaseModelOutput:
    """``arrays`` in :func:`graph_output_names` order -> the output ``Transformer.forward`` reads (float32 tensors)."""
    tensors = [torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)) for array in arrays]
    # tensors[0]: (batch, seq, hidden); tensors[1:]: the L + 1 hidden states, each (batch, seq, hidden)
    return BaseModelOutput(last_hidden_state=tensors[0], hidden_states=tuple(tensors[1:]) or None)


def feed(
    input_names: Sequence[str],
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    token_type_ids: torch.Tensor | None,
) -> dict[str, np.ndarray]:
    """The graph inputs as int64 arrays, (batch, seq) each; a missing mask or segment ids as the model defaults."""
    values = {
        "input_ids": input_ids,
        "attention_mask": attention_mask if attention_mask is not None else torch.ones_like(input_ids),
        "token_type_ids": token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids),
    }
    return {name: values[name].detach().cpu().numpy().astype(np.int64, copy=False) for name in input_names}
