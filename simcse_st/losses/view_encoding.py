"""Encoding the views of an unsupervised batch for the follow-up methods: two views of different token lengths in one
forward pass, SSCL's intermediate-layer embeddings from that same pass, and SimCSE++'s dropout-off pass."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from sentence_transformers.base.losses.merged_forward import merge_feature_batches
from sentence_transformers.base.modules.transformer import Transformer
from torch import Tensor, nn

from simcse_st.losses.momentum_queue import unwrap

_TOKEN_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def pad_to(features: dict[str, Tensor], width: int, pad_token_id: int) -> dict[str, Tensor]:
    """A right-padded batch widened to ``width`` tokens (more padding: the same embeddings)."""
    missing = width - features["input_ids"].size(1)
    if missing <= 0:
        return features
    padded = dict(features)
    for key in _TOKEN_KEYS:
        if key in features:
            value = pad_token_id if key == "input_ids" else 0
            padded[key] = torch.nn.functional.pad(features[key], (0, missing), value=value)
    return padded


@contextmanager
def hidden_states(model: nn.Module, enabled: bool = True) -> Iterator[None]:
    """Make the encoder return all its hidden states (``all_layer_embeddings``) for the duration of the block."""
    config = getattr(getattr(unwrap(model)[0], "auto_model", None), "config", None)
    if not enabled or config is None:
        yield
        return
    before = config.output_hidden_states
    config.output_hidden_states = True
    try:
        yield
    finally:
        config.output_hidden_states = before


def encode_views(
    model: nn.Module, first: dict[str, Tensor], second: dict[str, Tensor], pad_token_id: int, keep_hidden: bool
) -> tuple[Tensor, Tensor, dict[str, Any]]:
    """Both views in ONE forward pass of 2N rows (padded to a common length when they differ): ``z1, z2`` (N, D)
    and the pass's output (with ``all_layer_embeddings`` when ``keep_hidden``)."""
    width = max(first["input_ids"].size(1), second["input_ids"].size(1))
    batch = first["input_ids"].size(0)
    views = [{key: value for key, value in view.items() if key in _TOKEN_KEYS} for view in (first, second)]
    merged = merge_feature_batches([pad_to(view, width, pad_token_id) for view in views])
    if merged is None:
        raise ValueError("the two views could not be merged into one batch (unexpected feature keys).")
    with hidden_states(model, keep_hidden):
        output = model(merged)
    embeddings = output["sentence_embedding"]  # (2N, D)
    return embeddings[:batch], embeddings[batch:], output


def check_intermediate_pooling(model: nn.Module) -> None:
    """SSCL pools an intermediate layer like the last one; that needs poolers that read ``token_embeddings``."""
    modules = list(unwrap(model))
    if not isinstance(modules[0], Transformer):
        raise ValueError("intermediate_layers needs a model whose first module is a Transformer encoder.")
    for module in modules[1:]:
        if type(module).__name__ == "WeightedLayerPooling" or getattr(module, "needs_hidden_states", False):
            raise ValueError(
                "intermediate_layers (SSCL) pools an intermediate layer with the model's own pooler, which must read "
                "the last layer's token embeddings: use pooling cls, cls_before_pooler or avg/mean, not "
                f"{type(module).__name__} over several layers."
            )


def intermediate_embeddings(model: nn.Module, output: dict[str, Any], layers: int) -> list[Tensor]:
    """SSCL's negatives: for the ``layers`` layers just below the last (``hidden[-2]``, ``hidden[-3]``, ...), the
    output of every pooling module of the model applied to that layer instead of the last: each (2N, D), with
    gradients."""
    hidden = output.get("all_layer_embeddings")
    if hidden is None or len(hidden) < layers + 2:
        available = 0 if hidden is None else len(hidden) - 2
        raise ValueError(f"intermediate_layers={layers}, but the encoder has {available} layers below its last.")
    pooling = list(unwrap(model))[1:]
    embeddings = []
    for depth in range(2, layers + 2):
        features: dict[str, Any] = {
            key: output[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in output
        }
        features["token_embeddings"] = hidden[-depth]  # (2N, T, D)
        for module in pooling:
            features = module(features)
        embeddings.append(features["sentence_embedding"])  # (2N, D)
    return embeddings


@contextmanager
def dropout_off(model: nn.Module) -> Iterator[None]:
    """Dropout off (eval mode) for the block, with gradients; the previous train/eval modes are restored."""
    modes = [(module, module.training) for module in unwrap(model).modules()]
    model.eval()
    try:
        yield
    finally:
        for module, mode in modes:
            module.training = mode
