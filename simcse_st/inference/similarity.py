"""``pairwise_similarity``: cosine similarities between sentences, and a plain-text rendering of them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import cos_sim

from simcse_st.inference.model_loading import model_for_encoding

if TYPE_CHECKING:
    from simcse_st.backends.inference_config import InferenceConfig


def pairwise_similarity(
    model: str | os.PathLike[str] | SentenceTransformer,
    sentences: Sequence[str],
    batch_size: int = 64,
    inference: InferenceConfig | None = None,
) -> torch.Tensor:
    """Cosine similarity of every pair of ``sentences``: a float32 CPU tensor of shape ``(n, n)``.

    Args:
        model: A model folder or hub id (loaded with :func:`simcse_st.inference.model_loading.load_model`) or a
            ``SentenceTransformer``.
        sentences: At least one sentence.
        batch_size: Encoding batch size.
        inference: Backend and precision of a model loaded by name (default ``InferenceConfig()``: torch, bf16
            where the hardware runs it natively); see :class:`simcse_st.backends.InferenceConfig`.

    Raises:
        ValueError: No sentence given.
        OSError: The model could not be loaded.

    Example:
        ::

            from simcse_st.inference.similarity import pairwise_similarity

            scores = pairwise_similarity("runs/simcse", ["A man plays a guitar.", "Someone plays music."])
            scores[0, 1]  # e.g. tensor(0.7321)
    """
    if isinstance(sentences, str) or not sentences:
        raise ValueError("Give a list of at least one sentence.")
    st_model = model_for_encoding(model, inference)
    embeddings = st_model.encode(list(sentences), batch_size=batch_size, convert_to_tensor=True)
    return cos_sim(embeddings, embeddings).float().cpu()


def format_similarity(sentences: Sequence[str], scores: torch.Tensor, decimals: int = 4) -> str:
    """Render :func:`pairwise_similarity` for a terminal: the single score for two sentences, else a numbered legend
    and the matrix.

    Example:
        ::

            print(format_similarity(["a", "b", "c"], scores))
            '''
            [0] a
            [1] b
            [2] c

                    [0]     [1]     [2]
            [0]  1.0000  0.8123  0.1002
            [1]  0.8123  1.0000  0.2311
            [2]  0.1002  0.2311  1.0000
            '''
    """
    n = len(sentences)
    if tuple(scores.shape) != (n, n):
        raise ValueError(f"scores must have shape ({n}, {n}), got {tuple(scores.shape)}.")
    if n == 2:
        return f"{scores[0, 1].item():.{decimals}f}"
    labels = [f"[{i}]" for i in range(n)]
    width = max(decimals + 3, *(len(label) for label in labels))
    legend = [f"{label} {sentence}" for label, sentence in zip(labels, sentences, strict=True)]
    head = " " * len(labels[-1]) + "".join(f"  {label:>{width}}" for label in labels)
    rows = [
        f"{label:<{len(labels[-1])}}" + "".join(f"  {value:>{width}.{decimals}f}" for value in row)
        for label, row in zip(labels, scores.tolist(), strict=True)
    ]
    return "\n".join([*legend, "", head, *rows])
