"""Finding the sentence-transformers ``Transformer`` module whose transformers model a backend replaces."""

from __future__ import annotations

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Transformer


def transformer_module(model: SentenceTransformer, action: str) -> Transformer:
    """The model's first module, checked: a ``Transformer`` (PromptBERT's ``PromptTransformer`` is one) holding a
    torch transformers model, not one that already runs on another backend.

    Raises:
        ValueError: The first module is not a ``Transformer``, or its model is not a torch module of transformers.
    """
    first = model[0] if len(model) else None
    if not isinstance(first, Transformer):
        raise ValueError(
            f"Cannot {action} this model: its first module is {type(first).__name__}, not a sentence-transformers "
            "Transformer (only the transformer is exported; the modules after it run as saved)."
        )
    inner = first.model
    wrapped = type(inner).__module__.startswith("simcse_st.")  # AutocastModel, OnnxRuntimeModel, OpenVINOModel
    if wrapped or not isinstance(inner, torch.nn.Module) or not hasattr(inner, "config"):
        raise ValueError(f"Cannot {action} this model: it already runs as {type(inner).__name__}; load it with torch.")
    return first
