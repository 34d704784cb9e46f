"""mlp_only_train: the MLP head is trained by the loss and never part of the saved model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss, UnlabeledSentenceLoader
from simcse_st.modules import build_simcse_model, set_dropout

TEXTS = ["a man is playing a guitar.", "the cat sits on the mat.", "a dog runs in the park.", "rain is expected."]


@pytest.fixture
def cls_model(tiny_bert_dir: Path) -> SentenceTransformer:
    torch.manual_seed(0)
    return build_simcse_model(str(tiny_bert_dir), "cls_before_pooler", device="cpu")


def test_mlp_is_applied_to_every_column_before_the_similarity(cls_model: SentenceTransformer) -> None:
    loss = DropoutContrastiveLoss(cls_model, temperature=0.05, mlp_only_train=True)
    torch.manual_seed(1)
    z1, z2 = torch.randn(5, 32), torch.randn(5, 32)
    h1, h2 = (
        torch.tanh(z1 @ loss.mlp[0].weight.T + loss.mlp[0].bias),
        torch.tanh(z2 @ loss.mlp[0].weight.T + loss.mlp[0].bias),
    )
    expected = F.cross_entropy(F.normalize(h1) @ F.normalize(h2).T / 0.05, torch.arange(5))
    assert_close(loss.compute_loss_from_embeddings([z1, z2]), expected)
    assert_close(torch.count_nonzero(loss.mlp[0].bias), torch.tensor(0))  # SimCSE's init: bias 0, weights N(0, 0.02)
    assert not any(p is loss.mlp[0].weight for p in cls_model.parameters())
    assert loss.get_config_dict()["mlp_only_train"] is True


def test_fit_trains_the_mlp_and_the_saved_model_has_none(
    cls_model: SentenceTransformer, corpus_file: Path, tmp_path: Path
) -> None:
    loss = DropoutContrastiveLoss(cls_model, mlp_only_train=True)
    before = [p.detach().clone() for p in loss.mlp.parameters()]
    loader = UnlabeledSentenceLoader(corpus_file, batch_size=8)  # 16 sentences: 2 steps
    cls_model.fit(train_objectives=[(loader, loss)], epochs=1, warmup_steps=0, show_progress_bar=False)
    assert all(not torch.equal(a, b) for a, b in zip(before, loss.mlp.parameters(), strict=True))

    cls_model.save(str(tmp_path))
    reloaded = SentenceTransformer(str(tmp_path), device="cpu").eval()
    assert [type(m).__name__ for m in reloaded] == ["Transformer", "Pooling"]
    encoder_linears = {id(m) for m in reloaded[0].modules() if isinstance(m, torch.nn.Linear)}
    assert all(id(m) in encoder_linears for m in reloaded.modules() if isinstance(m, torch.nn.Linear))
    features = reloaded.preprocess(TEXTS)
    with torch.no_grad():
        cls_vectors = reloaded[0](dict(features))["token_embeddings"][:, 0]  # hidden[-1][:, 0]
    assert_close(reloaded.encode(TEXTS, convert_to_tensor=True), cls_vectors, rtol=1e-5, atol=1e-6)
    assert_close(reloaded.encode(TEXTS, convert_to_tensor=True), cls_model.encode(TEXTS, convert_to_tensor=True))


def test_cached_path_applies_the_mlp_and_gives_its_gradients(cls_model: SentenceTransformer) -> None:
    set_dropout(cls_model.train(), 0.0)
    grads = []
    for mini_batch_size in (None, 2):
        torch.manual_seed(0)
        loss = DropoutContrastiveLoss(cls_model, mlp_only_train=True, mini_batch_size=mini_batch_size)
        cls_model.zero_grad(set_to_none=True)
        value = loss([cls_model.preprocess(TEXTS)])
        value.backward()
        grads.append((value.detach(), loss.mlp[0].weight.grad.clone()))
    assert_close(grads[1][0], grads[0][0], rtol=1e-5, atol=1e-6)
    assert_close(grads[1][1], grads[0][1], rtol=1e-4, atol=1e-6)


def test_mlp_only_train_refuses_a_model_that_already_has_the_mlp(tiny_bert_dir: Path) -> None:
    model = build_simcse_model(str(tiny_bert_dir), "cls", device="cpu", portable=False)
    with pytest.raises(ValueError, match="cls_before_pooler"):
        DropoutContrastiveLoss(model, mlp_only_train=True)
