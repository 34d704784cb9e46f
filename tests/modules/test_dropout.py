"""set_dropout (Table 3's rates) and the "fixed 0.1" setting (same dropout mask for both views)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from torch import nn
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss
from simcse_st.modules import set_dropout

TEXTS = ["a man is playing a guitar.", "the cat sits on the mat.", "a dog runs in the park.", "rain is expected."]


def test_set_dropout_changes_modules_config_and_survives_save(tiny_model: SentenceTransformer, tmp_path: Path) -> None:
    changed = set_dropout(tiny_model, 0.05)
    dropouts = [m for m in tiny_model.modules() if isinstance(m, nn.Dropout)]
    assert changed == len(dropouts) == 7  # embeddings + 2 layers × (attention probs, attention output, output)
    assert all(m.p == 0.05 for m in dropouts)
    config = tiny_model[0].model.config
    assert config.hidden_dropout_prob == config.attention_probs_dropout_prob == 0.05

    tiny_model.save(str(tmp_path))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["hidden_dropout_prob"] == saved["attention_probs_dropout_prob"] == 0.05
    reloaded = SentenceTransformer(str(tmp_path), device="cpu")
    assert {m.p for m in reloaded.modules() if isinstance(m, nn.Dropout)} == {0.05}


def test_dropout_rate_controls_the_noise_between_views(tiny_model: SentenceTransformer) -> None:
    features = tiny_model.preprocess(TEXTS)
    tiny_model.train()
    distances = {}
    for p in (0.0, 0.1, 0.5):
        set_dropout(tiny_model, p)
        torch.manual_seed(0)
        views = DropoutContrastiveLoss(tiny_model).embed_two_views(features)
        distances[p] = (views[0] - views[1]).norm(dim=-1).mean().item()
    assert distances[0.0] == 0.0
    assert 0.0 < distances[0.1] < distances[0.5]


def test_zero_dropout_gives_identical_views_and_warns(
    tiny_model: SentenceTransformer, caplog: pytest.LogCaptureFixture
) -> None:
    set_dropout(tiny_model.train(), 0.0)
    loss = DropoutContrastiveLoss(tiny_model)
    with caplog.at_level(logging.WARNING):
        first, second = loss.embed_two_views(tiny_model.preprocess(TEXTS))
    assert torch.equal(first, second)
    assert "identical" in caplog.text and "no dropout with p > 0" in caplog.text


def test_same_dropout_mask_gives_equal_views_that_change_across_steps(
    tiny_model: SentenceTransformer, caplog: pytest.LogCaptureFixture
) -> None:
    tiny_model.train()
    loss = DropoutContrastiveLoss(tiny_model, same_dropout_mask=True)
    features = tiny_model.preprocess(TEXTS)
    with caplog.at_level(logging.WARNING):
        step1 = loss.embed_two_views(features)
    step2 = loss.embed_two_views(features)
    assert "fixed 0.1" in caplog.text
    assert_close(step1[0], step1[1], rtol=0, atol=0)
    assert_close(step2[0], step2[1], rtol=0, atol=0)
    assert not torch.allclose(step1[0], step2[0]), "the masks must change from one step to the next"
    with torch.no_grad():
        clean = tiny_model.eval()(tiny_model.preprocess(TEXTS))["sentence_embedding"]
    assert not torch.allclose(step1[0], clean), "dropout must be active (train mode)"
    tiny_model.train()
    value = loss([features])
    value.backward()  # the loss still trains (uniformity term only: the positives are identical)
    assert torch.isfinite(value)


def test_same_dropout_mask_rejects_unsupported_modes(tiny_model: SentenceTransformer) -> None:
    with pytest.raises(ValueError, match="mini_batch_size"):
        DropoutContrastiveLoss(tiny_model, same_dropout_mask=True, mini_batch_size=2)
    loss = DropoutContrastiveLoss(tiny_model, same_dropout_mask=True)
    with pytest.raises(ValueError, match="one-column"):
        loss([tiny_model.preprocess(TEXTS), tiny_model.preprocess(TEXTS[::-1])])


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, True, "0.1"])
def test_set_dropout_rejects_bad_rates(tiny_model: SentenceTransformer, bad: object) -> None:
    with pytest.raises(ValueError, match="dropout"):
        set_dropout(tiny_model, bad)  # type: ignore[arg-type]
