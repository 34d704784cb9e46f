"""Alignment and uniformity of sentence embeddings (Wang & Isola, ICML 2020; SimCSE §5).

Both are losses (lower is better) computed on L2-normalised embeddings:

- ``alignment_loss(x, y) = E ||f(x) - f(y)||^alpha`` over positive pairs (SimCSE: STS-B pairs with gold > 4);
- ``uniformity_loss(x) = log E exp(-t ||f(x_i) - f(x_j)||^2)`` over distinct pairs of all sentences.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def alignment_loss(x: Tensor, y: Tensor, alpha: float = 2.0, normalize: bool = True) -> Tensor:
    """Mean ``||x_i - y_i||^alpha`` over the rows of two ``(N, dim)`` tensors of positive pairs.

    Args:
        x: Embeddings of the first sentence of each positive pair.
        y: Embeddings of the second sentence, row-aligned with ``x``.
        alpha: The exponent; Wang & Isola and SimCSE use 2.
        normalize: L2-normalise the rows first (the definition assumes embeddings on the unit sphere).

    Returns:
        A scalar tensor in ``[0, 2**alpha]`` for normalised inputs.

    Example:
        ::

            emb = model.encode(sentences1 + sentences2, convert_to_tensor=True)
            alignment_loss(emb[: len(sentences1)], emb[len(sentences1) :])
    """
    if x.shape != y.shape or x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(
            f"x and y must be non-empty (N, dim) tensors of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}."
        )
    if normalize:
        x, y = F.normalize(x, dim=-1), F.normalize(y, dim=-1)
    return (x - y).norm(p=2, dim=1).pow(alpha).mean()


def uniformity_loss(x: Tensor, t: float = 2.0, normalize: bool = True) -> Tensor:
    """``log`` of the mean of ``exp(-t ||x_i - x_j||^2)`` over all ``i < j`` (via ``torch.pdist``).

    Computed as ``logsumexp - log(#pairs)`` for numerical stability. Memory grows with ``N**2 / 2``.

    Args:
        x: ``(N, dim)`` embeddings, ``N >= 2``.
        t: The temperature; Wang & Isola and SimCSE use 2.
        normalize: L2-normalise the rows first.

    Returns:
        A scalar tensor in ``[-4t, 0]`` for normalised inputs.

    Example:
        ::

            uniformity_loss(model.encode(sentences, convert_to_tensor=True))
    """
    if x.dim() != 2 or x.shape[0] < 2:
        raise ValueError(f"x must be an (N, dim) tensor with N >= 2, got shape {tuple(x.shape)}.")
    if normalize:
        x = F.normalize(x, dim=-1)
    exponents = torch.pdist(x, p=2).pow(2).mul(-t)
    return torch.logsumexp(exponents, dim=0) - math.log(exponents.numel())
