"""DropoutContrastiveLoss(mini_batch_size=...): GradCache gives the loss and gradients of the plain loss."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import SENTENCES as ALL_SENTENCES
from sentence_transformers import SentenceTransformer
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss, UnlabeledSentenceLoader, enable_fast_dropout

SENTENCES = ALL_SENTENCES[:8]


def _without_dropout(model: SentenceTransformer) -> SentenceTransformer:
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model.train()


def _loss_and_grads(model: SentenceTransformer, columns: list[list[str]], **kwargs) -> tuple[torch.Tensor, list]:
    model.zero_grad(set_to_none=True)
    loss = DropoutContrastiveLoss(model, hard_negative_weight=0.5, **kwargs)
    value = loss([model.preprocess(column) for column in columns], None)
    value.backward()
    return value.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("n_columns", [1, 2, 3], ids=["unsupervised", "pairs", "hard-negatives"])
@pytest.mark.parametrize("mini_batch_size", [3, 8])
def test_cached_equals_plain_without_dropout(
    tiny_model: SentenceTransformer, n_columns: int, mini_batch_size: int
) -> None:
    model = _without_dropout(tiny_model)
    columns = [SENTENCES, SENTENCES[::-1], SENTENCES[3:] + SENTENCES[:3]][:n_columns]
    plain_loss, plain_grads = _loss_and_grads(model, columns)
    cached_loss, cached_grads = _loss_and_grads(model, columns, mini_batch_size=mini_batch_size)
    assert_close(cached_loss, plain_loss, rtol=1e-5, atol=1e-6)
    assert len(cached_grads) == len(plain_grads) > 0
    for cached, plain in zip(cached_grads, plain_grads, strict=True):
        assert_close(cached, plain, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fast_dropout", [False, True], ids=["native-dropout", "fast-dropout"])
def test_replayed_embeddings_equal_the_cached_ones_with_dropout(
    tiny_model: SentenceTransformer, fast_dropout: bool
) -> None:
    if fast_dropout:  # 16-bit masks from the same generator: RandContext must replay them too
        enable_fast_dropout(tiny_model)
    tiny_model.train()
    loss = DropoutContrastiveLoss(tiny_model, mini_batch_size=3)
    recorded: dict[bool, list[torch.Tensor]] = {False: [], True: []}
    embed = loss.embed_minibatch

    def recording(*args, **kwargs):
        reps, state = embed(*args, **kwargs)
        recorded[kwargs["with_grad"]].append(reps.detach().clone())
        return reps, state

    loss.embed_minibatch = recording  # type: ignore[method-assign]
    loss([tiny_model.preprocess(SENTENCES)], None).backward()
    assert len(recorded[False]) == len(recorded[True]) == 6  # 2 views × ceil(8 / 3) mini-batches
    for cached, replayed in zip(recorded[False], recorded[True], strict=True):
        assert_close(replayed, cached)
    view1, view2 = torch.cat(recorded[False][:3]), torch.cat(recorded[False][3:])
    assert not torch.allclose(view1, view2), "the two views must get different dropout masks"


def test_the_gradient_pass_replays_under_the_forward_passs_autocast(tiny_model: SentenceTransformer) -> None:
    """The replay runs inside ``backward()``, outside the autocast block: it must still compute in bf16, and give the
    embeddings the loss was computed from (cached in bf16)."""
    tiny_model.train()
    loss = DropoutContrastiveLoss(tiny_model, mini_batch_size=3)
    dtypes: list[torch.dtype] = []
    linear = next(m for m in tiny_model.modules() if isinstance(m, torch.nn.Linear))
    linear.register_forward_hook(lambda module, inputs, output: dtypes.append(output.dtype))
    features = [tiny_model.preprocess(SENTENCES)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(features, None)
    forward_calls = len(dtypes)
    value.backward()
    assert forward_calls == 6 and len(dtypes) == 12  # 2 views × 3 mini-batches, then the same again in the replay
    assert set(dtypes) == {torch.bfloat16}
    assert linear.weight.grad is not None and linear.weight.grad.abs().sum() > 0
    dtypes.clear()
    loss(features, None).backward()  # without autocast: float32 in both passes
    assert set(dtypes) == {torch.float32}


def test_cached_loss_trains_through_fit(tiny_model: SentenceTransformer, corpus_file: Path) -> None:
    before = [p.detach().clone() for p in tiny_model.parameters()]
    loader = UnlabeledSentenceLoader(corpus_file, batch_size=8)
    loss = DropoutContrastiveLoss(tiny_model, mini_batch_size=2)
    tiny_model.fit(train_objectives=[(loader, loss)], epochs=1, warmup_steps=0, show_progress_bar=False)
    assert any(not torch.equal(a, b) for a, b in zip(before, tiny_model.parameters(), strict=True))


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_bad_mini_batch_size(tiny_model: SentenceTransformer, bad: object) -> None:
    with pytest.raises(ValueError, match="mini_batch_size"):
        DropoutContrastiveLoss(tiny_model, mini_batch_size=bad)  # type: ignore[arg-type]
