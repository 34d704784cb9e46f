"""SimCSE++: off-dropout negatives and the dimension-wise contrastive loss, against the official code (899e49b)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch import nn
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss
from simcse_st.losses.contrastive_logits import contrastive_logits
from simcse_st.losses.dimension_contrastive import dimension_contrastive_loss


def reference_off_dropout_loss(z1, z2, z0, temp: float, pos_ratio: float = 1.0) -> torch.Tensor:
    """models_re_vicreg.py L224-255 at 899e49b, written out: the diagonal of s(z0, z0) masked by log(1e-45), the
    positive s(z1_i, z2_i) appended as a column."""
    n = z1.size(0)
    pos = pos_ratio * F.cosine_similarity(z1, z2, dim=-1) / temp
    s0 = F.cosine_similarity(z0[None], z0[:, None], dim=-1) / temp + torch.eye(n) * math.log(1e-45)
    logits = torch.cat([s0, pos[:, None]], dim=1)
    return (-pos + torch.logsumexp(logits, dim=1)).mean()


def reference_dcl(z1, z2, temp: float) -> torch.Tensor:
    """models_re_vicreg.py L257-263 at 899e49b: BatchNorm1d(affine=False) per view, C = aᵀb / N / τ, CE over rows."""
    bn = nn.BatchNorm1d(z1.size(1), affine=False).train()
    a, b = bn(z1), bn(z2)
    c = a.T @ b / z1.size(0) / temp
    return (-c.diagonal() + torch.logsumexp(c, dim=1)).mean()


def test_off_dropout_logits_match_the_official_loss() -> None:
    torch.manual_seed(0)
    z1, z2, z0 = torch.randn(7, 16), torch.randn(7, 16), torch.randn(7, 16)
    logits = contrastive_logits(z1, z2, 0, 0.05, off_dropout=(z0, z0))
    assert_close(F.cross_entropy(logits, torch.arange(7)), reference_off_dropout_loss(z1, z2, z0, 0.05))


def test_off_dropout_with_gathered_negatives_targets_the_own_rows() -> None:
    """Process 1 of 2: its rows are 3..5 of the gathered batch; only its own column is replaced by the positive."""
    torch.manual_seed(1)
    z1, z0_all, z2_all = torch.randn(3, 8), torch.randn(6, 8), torch.randn(6, 8)
    logits = contrastive_logits(z1, z2_all, 3, 0.1, off_dropout=(z0_all[3:], z0_all))
    expected = F.cosine_similarity(z0_all[3:, None], z0_all[None], dim=-1) / 0.1
    for i in range(3):
        expected[i, 3 + i] = F.cosine_similarity(z1[i], z2_all[3 + i], dim=0) / 0.1
    assert_close(logits, expected)


def test_dcl_matches_the_official_code() -> None:
    torch.manual_seed(2)
    z1, z2 = torch.randn(64, 48), torch.randn(64, 48)
    assert_close(dimension_contrastive_loss(z1, z2, 5.0), reference_dcl(z1, z2, 5.0))
    assert_close(dimension_contrastive_loss(z1, z2, 10.0), reference_dcl(z1, z2, 10.0))


def test_dcl_rewards_correlated_views() -> None:
    torch.manual_seed(3)
    z = torch.randn(64, 16)
    assert dimension_contrastive_loss(z, z + 0.01 * torch.randn_like(z), 0.1) < dimension_contrastive_loss(
        z, torch.randn_like(z), 0.1
    )


def test_dcl_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        dimension_contrastive_loss(torch.randn(1, 4), torch.randn(1, 4))
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        dimension_contrastive_loss(torch.randn(3, 4), torch.randn(3, 5))


def test_off_dropout_pass_has_dropout_off_and_gradients(tiny_model: SentenceTransformer, monkeypatch) -> None:
    """The third pass: the model's embeddings in eval mode (deterministic), with gradients; train mode restored."""
    import simcse_st.losses.dropout_contrastive_loss as module

    tiny_model.train()
    loss = DropoutContrastiveLoss(tiny_model, off_dropout_negatives=True, dcl_weight=0.1)
    features = tiny_model.tokenize(["a cat.", "the dog runs.", "birds sing.", "rain again."])
    captured = {}

    def spy(anchors, positives, offset, temperature, off_dropout=None, extra_negatives=()):
        captured["z0"] = off_dropout[0]
        return contrastive_logits(anchors, positives, offset, temperature, off_dropout, extra_negatives)

    monkeypatch.setattr(module, "contrastive_logits", spy)
    out = loss([features], None)
    assert set(out) == {"contrastive", "dcl"}
    assert tiny_model.training and all(m.training for m in tiny_model.modules())
    assert captured["z0"].requires_grad
    tiny_model.eval()
    with torch.no_grad():
        expected = tiny_model(dict(features))["sentence_embedding"]
    assert_close(captured["z0"].detach(), expected)


def test_off_dropout_pass_runs_under_the_callers_autocast(tiny_model: SentenceTransformer) -> None:
    """The third pass computes in bf16 when the two views do (the Trainer's bf16 autocast), not in float32: the loss
    itself is float32 (its float32 block starts after the encoder passes)."""
    tiny_model.train()
    loss = DropoutContrastiveLoss(tiny_model, off_dropout_negatives=True)
    dtypes: list[tuple[bool, torch.dtype]] = []
    linear = next(m for m in tiny_model.modules() if isinstance(m, nn.Linear))
    linear.register_forward_hook(lambda module, inputs, output: dtypes.append((module.training, output.dtype)))
    features = tiny_model.tokenize(["a cat.", "the dog runs.", "birds sing.", "rain again."])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss([features], None)
    assert value.dtype == torch.float32
    assert (False, torch.bfloat16) in dtypes, "the off-dropout (eval-mode) pass must run in bf16"
    assert {dtype for _, dtype in dtypes} == {torch.bfloat16}
