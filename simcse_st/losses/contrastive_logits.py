"""The InfoNCE logits of unsupervised SimCSE and of the follow-up methods that change its negatives.

Row ``i`` of the logits belongs to anchor ``i``; its target is column ``offset + i`` (the anchor's positive in the
gathered batch). The methods change the other columns only:

- SimCSE: ``s(z1_i, z2_j)`` for every ``j`` of the (gathered) batch, ``j = i`` being the positive.
- SimCSE++ off-dropout negatives: ``s(z0_i, z0_j)`` for ``j ≠ i`` (``z0``: the sentences encoded with dropout off),
  and ``s(z1_i, z2_i)`` in the target column.
- Extra negatives (ESimCSE's queue, SSCL's intermediate layers): ``s(a_i, x_k)`` appended as columns, ``a = z0`` with
  off-dropout negatives, else ``z1``.

``s`` is the cosine similarity divided by the temperature.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from sentence_transformers.util import cos_sim
from torch import Tensor


def contrastive_logits(
    anchors: Tensor,
    positives: Tensor,
    offset: int,
    temperature: float,
    off_dropout: tuple[Tensor, Tensor] | None = None,
    extra_negatives: Sequence[Tensor] = (),
) -> Tensor:
    """The logits ``(N, M)`` for ``N`` anchors; ``F.cross_entropy(logits, offset + arange(N))`` is the loss.

    Args:
        anchors: ``z1``, (N, D).
        positives: ``z2`` of the whole (gathered) batch, (W·N, D); row ``offset + i`` is anchor ``i``'s positive.
        offset: Where this process's rows start in ``positives`` (``rank · N``; 0 without gathering).
        temperature: τ.
        off_dropout: ``(z0 of this process (N, D), z0 of the gathered batch (W·N, D))``: SimCSE++'s negatives.
        extra_negatives: Further negatives, each (K, D), scored against every anchor.
    """
    batch = anchors.size(0)
    rows = torch.arange(batch, device=anchors.device)
    targets = rows + offset
    if off_dropout is None:
        logits = cos_sim(anchors, positives) / temperature  # (N, W·N)
        negative_anchors = anchors
    else:
        negative_anchors, gathered = off_dropout
        logits = cos_sim(negative_anchors, gathered) / temperature  # (N, W·N): s(z0_i, z0_j)
        positive = F.cosine_similarity(anchors, positives[targets], dim=-1) / temperature  # (N,): s(z1_i, z2_i)
        logits = logits.index_put((rows, targets), positive)  # the own off-dropout column becomes the positive
    columns = [logits] + [cos_sim(negative_anchors, extra) / temperature for extra in extra_negatives if len(extra)]
    return torch.cat(columns, dim=1)  # (N, W·N + ΣK)
