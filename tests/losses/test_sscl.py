"""SSCL: intermediate-layer negatives from the same forward pass, against the official code (1a7e75f)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss
from simcse_st.losses.contrastive_logits import contrastive_logits
from simcse_st.losses.view_encoding import encode_views, intermediate_embeddings
from simcse_st.modules import build_simcse_model


def reference_sscl_negative_loss(z1, z2, layers: list[tuple[torch.Tensor, torch.Tensor]], temp: float):
    """sscl/models.py L132-155 at 1a7e75f: [cos(z1, z2) | cos(z1, n1) | cos(z1, n2) per layer] / temp, one CE
    (the code then averages it with the plain SimCSE loss, L364; the paper's equation has the one term)."""
    blocks = [F.cosine_similarity(z1[:, None], z2[None], dim=-1) / temp]
    for n1, n2 in layers:
        blocks += [F.cosine_similarity(z1[:, None], n[None], dim=-1) / temp for n in (n1, n2)]
    return F.cross_entropy(torch.cat(blocks, -1), torch.arange(z1.size(0)))


def test_sscl_logits_match_the_official_negative_loss() -> None:
    torch.manual_seed(0)
    n = 5
    z1, z2 = torch.randn(n, 8), torch.randn(n, 8)
    layers = [(torch.randn(n, 8), torch.randn(n, 8)) for _ in range(2)]
    ours = contrastive_logits(z1, z2, 0, 0.05, extra_negatives=[torch.cat(layer) for layer in layers])
    assert_close(F.cross_entropy(ours, torch.arange(n)), reference_sscl_negative_loss(z1, z2, layers, 0.05))


def test_intermediate_embeddings_pool_the_layers_below_the_last(tiny_model: SentenceTransformer) -> None:
    """hidden[-2] (layer L-1, not counted from the embeddings), mean-pooled like the last layer, both views."""
    tiny_model.eval()
    features = tiny_model.tokenize(["a cat sat.", "the dog ran far away."])
    with torch.no_grad():
        _, _, output = encode_views(tiny_model, features, features, 0, keep_hidden=True)
        (layer,) = intermediate_embeddings(tiny_model, output, 1)
        hidden = tiny_model[0].auto_model(**features, output_hidden_states=True).hidden_states
    mask = features["attention_mask"].unsqueeze(-1).float()
    expected = (hidden[-2] * mask).sum(1) / mask.sum(1)  # (2, D)
    assert_close(layer, torch.cat([expected, expected]))
    assert not tiny_model[0].auto_model.config.output_hidden_states  # switched on for the pass only


def test_sscl_end_to_end_gradients_reach_the_intermediate_layers(tiny_model: SentenceTransformer) -> None:
    tiny_model.train()
    loss = DropoutContrastiveLoss(tiny_model, intermediate_layers=1)
    value = loss([tiny_model.tokenize(["a cat.", "the dog runs.", "birds sing.", "rain again."])], None)
    value.backward()
    assert torch.isfinite(value) and tiny_model[0].auto_model.encoder.layer[0].output.dense.weight.grad is not None


def test_sscl_refuses_too_many_layers(tiny_model: SentenceTransformer) -> None:
    tiny_model.train()
    loss = DropoutContrastiveLoss(tiny_model, intermediate_layers=2)  # the tiny BERT has 2 layers: 1 below the last
    with pytest.raises(ValueError, match="layers below its last"):
        loss([tiny_model.tokenize(["a cat.", "the dog runs."])], None)


def test_sscl_refuses_multi_layer_poolers(tiny_bert_dir) -> None:
    model = build_simcse_model(str(tiny_bert_dir), pooler="avg_first_last")
    with pytest.raises(ValueError, match="intermediate_layers"):
        DropoutContrastiveLoss(model, intermediate_layers=1)
