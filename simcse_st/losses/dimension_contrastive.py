"""SimCSE++'s dimension-wise contrastive regulariser (DCL; Xu et al., 2023, §4): InfoNCE over embedding dimensions.

Each view is batch-normalised on its own (batch mean and biased variance per dimension, no affine part), the
``d × d`` cross-correlation of the two views is divided by a temperature, and every dimension ``k`` of view 1 must
pick dimension ``k`` of view 2 among all ``d``: ``CE(C, arange(d))`` with ``C = bn(z1)ᵀ bn(z2) / N / τ_d``. Unlike
Barlow Twins' target ``C = I``, which a batch of ``N < d`` rows cannot reach (rank ≤ N), the contrastive form only
ranks each dimension's own correlation first. As in the official code (commit 899e49b, ``models_re_vicreg.py``), it
is one-directional and applied to the two dropout views after the training head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def dimension_contrastive_loss(z1: Tensor, z2: Tensor, temperature: float = 5.0, eps: float = 1e-5) -> Tensor:
    """DCL of two views ``z1, z2`` of shape (N, d); computed in float32. ``N`` must be >= 2.

    Example:
        ::

            loss = dimension_contrastive_loss(torch.randn(64, 768), torch.randn(64, 768))  # about log(768)
    """
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(f"z1 and z2 must both be (N, d), got {tuple(z1.shape)} and {tuple(z2.shape)}.")
    if z1.size(0) < 2:
        raise ValueError(f"the dimension-wise loss needs a batch of at least 2 rows, got {z1.size(0)}.")
    a = F.batch_norm(z1.float(), None, None, training=True, eps=eps)  # (N, d), each dimension ~ zero mean, unit var
    b = F.batch_norm(z2.float(), None, None, training=True, eps=eps)  # (N, d)
    correlation = a.T @ b / z1.size(0) / temperature  # (d, d)
    return F.cross_entropy(correlation, torch.arange(correlation.size(0), device=correlation.device))
