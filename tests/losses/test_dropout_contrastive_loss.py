from __future__ import annotations

import logging
import math

import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss


def reference_simcse_loss(
    anchors: torch.Tensor, candidates: list[torch.Tensor], temperature: float, alpha: float = 0.0
) -> torch.Tensor:
    """SimCSE eq. 1 / eq. 5 written out row by row, as in the paper (and the reference repo's weight matrix)."""
    n = anchors.size(0)
    pool = torch.cat(candidates)  # (k·N, D)
    total = torch.zeros((), dtype=torch.float64)
    for i in range(n):
        logits = []
        for j in range(pool.size(0)):
            cos = torch.dot(anchors[i], pool[j]) / (anchors[i].norm() * pool[j].norm())
            logit = cos.double() / temperature
            if j >= n and j % n == i:  # the anchor's own hard negative(s)
                logit = logit + alpha
            logits.append(logit)
        logits = torch.stack(logits)
        total = total - (logits[i] - torch.logsumexp(logits, dim=0))
    return (total / n).float()


def test_unsupervised_loss_matches_reference(tiny_model: SentenceTransformer) -> None:
    torch.manual_seed(1)
    z1, z2 = torch.randn(6, 32), torch.randn(6, 32)
    loss = DropoutContrastiveLoss(tiny_model, temperature=0.05)
    assert_close(loss.compute_loss_from_embeddings([z1, z2]), reference_simcse_loss(z1, [z2], 0.05))


def test_pairs_loss_matches_reference_and_mnrl(tiny_model: SentenceTransformer) -> None:
    torch.manual_seed(2)
    anchors, positives = torch.randn(5, 32), torch.randn(5, 32)
    loss = DropoutContrastiveLoss(tiny_model, temperature=0.1)
    value = loss.compute_loss_from_embeddings([anchors, positives])
    assert_close(value, reference_simcse_loss(anchors, [positives], 0.1))
    mnrl = MultipleNegativesRankingLoss(tiny_model, scale=10.0)
    assert_close(value, mnrl.compute_loss_from_embeddings([anchors, positives], None))


@pytest.mark.parametrize("alpha", [0.0, 1.0, -2.5])
def test_hard_negative_loss_matches_reference(tiny_model: SentenceTransformer, alpha: float) -> None:
    torch.manual_seed(3)
    anchors, positives, negatives = torch.randn(4, 32), torch.randn(4, 32), torch.randn(4, 32)
    loss = DropoutContrastiveLoss(tiny_model, temperature=0.05, hard_negative_weight=alpha)
    value = loss.compute_loss_from_embeddings([anchors, positives, negatives])
    assert_close(value, reference_simcse_loss(anchors, [positives, negatives], 0.05, alpha))


def test_alpha_changes_loss_only_with_hard_negatives(tiny_model: SentenceTransformer) -> None:
    torch.manual_seed(4)
    a, p, n = torch.randn(4, 32), torch.randn(4, 32), torch.randn(4, 32)
    plain = DropoutContrastiveLoss(tiny_model)
    weighted = DropoutContrastiveLoss(tiny_model, hard_negative_weight=1.0)
    assert_close(plain.compute_loss_from_embeddings([a, p]), weighted.compute_loss_from_embeddings([a, p]))
    assert weighted.compute_loss_from_embeddings([a, p, n]) > plain.compute_loss_from_embeddings([a, p, n])


def test_two_hard_negative_columns_match_reference(tiny_model: SentenceTransformer) -> None:
    torch.manual_seed(5)
    columns = [torch.randn(3, 32) for _ in range(4)]
    loss = DropoutContrastiveLoss(tiny_model, hard_negative_weight=0.7)
    expected = reference_simcse_loss(columns[0], columns[1:], 0.05, 0.7)
    assert_close(loss.compute_loss_from_embeddings(columns), expected)


def _features(model: SentenceTransformer, sentences: list[str]) -> dict[str, torch.Tensor]:
    return model.preprocess(sentences)


def test_one_column_runs_one_forward_of_2n_rows(tiny_model: SentenceTransformer) -> None:
    sentences = ["the cat sits.", "a dog runs in the park.", "rain tomorrow."]
    rows_seen: list[int] = []
    handle = tiny_model[0].register_forward_pre_hook(lambda _, args: rows_seen.append(args[0]["input_ids"].shape[0]))
    tiny_model.train()
    loss = DropoutContrastiveLoss(tiny_model)(iter([_features(tiny_model, sentences)]), None)
    handle.remove()
    assert rows_seen == [6]
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in tiny_model.parameters())


def test_views_differ_in_train_mode_and_match_in_eval_mode(tiny_model: SentenceTransformer) -> None:
    features = _features(tiny_model, ["the cat sits on the mat.", "a dog runs.", "birds sing."])
    loss = DropoutContrastiveLoss(tiny_model)
    tiny_model.train()
    z1, z2 = loss.embed_two_views(features)
    assert z1.shape == z2.shape == (3, 32)
    assert not torch.allclose(z1, z2)
    tiny_model.eval()
    with torch.no_grad():
        z1, z2 = loss.embed_two_views(features)
    assert_close(z1, z2)
    assert_close(z1, tiny_model(dict(features))["sentence_embedding"])


def test_similarity_and_loss_stay_float32_under_autocast(tiny_model: SentenceTransformer) -> None:
    torch.manual_seed(6)
    z1, z2 = torch.randn(8, 32), torch.randn(8, 32)
    loss = DropoutContrastiveLoss(tiny_model)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss.compute_loss_from_embeddings([z1.bfloat16(), z2.bfloat16()])
    assert value.dtype == torch.float32
    assert_close(value, reference_simcse_loss(z1.bfloat16().float(), [z2.bfloat16().float()], 0.05))


def test_gather_without_process_group_equals_local(tiny_model: SentenceTransformer) -> None:
    torch.manual_seed(7)
    z1, z2 = torch.randn(4, 32), torch.randn(4, 32)
    gathered = DropoutContrastiveLoss(tiny_model, gather_across_devices=True)
    assert_close(gathered.compute_loss_from_embeddings([z1, z2]), reference_simcse_loss(z1, [z2], 0.05))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"hard_negative_weight": math.nan}, "hard_negative_weight"),
        ({"hard_negative_weight": "1"}, "hard_negative_weight"),
    ],
)
def test_invalid_settings_raise(tiny_model: SentenceTransformer, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DropoutContrastiveLoss(tiny_model, **kwargs)


def test_batch_of_one_sentence_is_an_error(tiny_model: SentenceTransformer) -> None:
    loss = DropoutContrastiveLoss(tiny_model)
    with pytest.raises(ValueError, match="at least 2 sentences"):
        loss([_features(tiny_model, ["only one sentence"])], None)
    with pytest.raises(ValueError, match="at least 2 sentences"):
        loss.compute_loss_from_embeddings([torch.randn(1, 32), torch.randn(1, 32)])


def test_warns_when_model_has_no_dropout(tiny_model: SentenceTransformer, caplog: pytest.LogCaptureFixture) -> None:
    for module in tiny_model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    loss = DropoutContrastiveLoss(tiny_model)
    with caplog.at_level(logging.WARNING, logger="simcse_st.losses.dropout_contrastive_loss"):
        loss([_features(tiny_model, ["a dog runs.", "the cat sits."])], None)
    assert "no dropout" in caplog.text


def test_warns_when_model_is_in_eval_mode(tiny_model: SentenceTransformer, caplog: pytest.LogCaptureFixture) -> None:
    tiny_model.eval()
    loss = DropoutContrastiveLoss(tiny_model)
    with caplog.at_level(logging.WARNING, logger="simcse_st.losses.dropout_contrastive_loss"):
        loss([_features(tiny_model, ["a dog runs.", "the cat sits."])], None)
    assert "eval mode" in caplog.text


def test_config_and_citation(tiny_model: SentenceTransformer) -> None:
    loss = DropoutContrastiveLoss(tiny_model, temperature=0.1, hard_negative_weight=0.5, gather_across_devices=True)
    assert loss.get_config_dict() == {
        "temperature": 0.1,
        "hard_negative_weight": 0.5,
        "gather_across_devices": True,
        "mini_batch_size": None,
    }
    assert "2104.08821" in loss.citation and "gao2021simcse" in loss.citation
