"""alignment_loss and uniformity_loss against hand-written references."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor
from torch.testing import assert_close

from simcse_st.evaluation import alignment_loss, uniformity_loss


def _unit(rows: Tensor) -> Tensor:
    return torch.stack([row / math.sqrt(sum(v * v for v in row.tolist())) for row in rows])


def reference_alignment(x: Tensor, y: Tensor, alpha: float) -> Tensor:
    x, y = _unit(x), _unit(y)
    terms = [
        sum((a - b) ** 2 for a, b in zip(xi.tolist(), yi.tolist(), strict=True)) ** (alpha / 2)
        for xi, yi in zip(x, y, strict=True)
    ]
    return torch.tensor(sum(terms) / len(terms), dtype=torch.float64)


def reference_uniformity(x: Tensor, t: float) -> Tensor:
    x = _unit(x)
    values = []
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            squared = sum((a - b) ** 2 for a, b in zip(x[i].tolist(), x[j].tolist(), strict=True))
            values.append(math.exp(-t * squared))
    return torch.tensor(math.log(sum(values) / len(values)), dtype=torch.float64)


@pytest.mark.parametrize("alpha", [2.0, 1.0])
def test_alignment_matches_reference(alpha: float) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(7, 5, generator=generator, dtype=torch.float64)
    y = torch.randn(7, 5, generator=generator, dtype=torch.float64)
    assert_close(alignment_loss(x, y, alpha=alpha), reference_alignment(x, y, alpha))


@pytest.mark.parametrize("t", [2.0, 0.5])
def test_uniformity_matches_reference(t: float) -> None:
    x = torch.randn(9, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert_close(uniformity_loss(x, t=t), reference_uniformity(x, t))


def test_known_values() -> None:
    x = torch.tensor([[3.0, 0.0], [0.0, -2.0]])
    assert_close(alignment_loss(x, 5 * x), torch.tensor(0.0))  # scale-invariant: same directions
    assert_close(alignment_loss(x, -x), torch.tensor(4.0))  # antipodal: ||u - (-u)||^2 = 4
    assert_close(uniformity_loss(torch.tensor([[1.0, 0.0], [-1.0, 0.0]])), torch.tensor(-8.0))  # log exp(-2 * 4)
    orthogonal = torch.eye(3)
    assert_close(uniformity_loss(orthogonal), torch.tensor(-4.0))  # all distances^2 = 2


def test_normalize_false_uses_raw_vectors() -> None:
    x, y = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    assert_close(alignment_loss(x, y, normalize=False), torch.tensor(4.0))
    assert_close(uniformity_loss(torch.tensor([[0.0], [3.0]]), normalize=False), torch.tensor(-18.0))


def test_stable_for_far_apart_points_and_differentiable() -> None:
    x = torch.tensor([[0.0], [100.0]], requires_grad=True)
    loss = uniformity_loss(x, normalize=False)  # exp(-20000) underflows; logsumexp does not
    assert_close(loss.detach(), torch.tensor(-20000.0))
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="same shape"):
        alignment_loss(torch.zeros(2, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="N >= 2"):
        uniformity_loss(torch.zeros(1, 3))
