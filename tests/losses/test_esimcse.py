"""ESimCSE: word repetition and the momentum queue, against the paper's rule and the official code's loss."""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss
from simcse_st.losses.contrastive_logits import contrastive_logits
from simcse_st.losses.momentum_queue import MomentumQueue
from simcse_st.losses.token_repetition import repeat_token_list, repeat_tokens

SENTENCES = [f"sentence number {i} is here." for i in range(12)]


def reference_repetition(ids: list[int], rate: float, rng: random.Random) -> list[int]:
    """ESimCSE §3.2 written out: N = subword tokens without [CLS]/[SEP]; dup_len ~ U{0, ..., max(2, int(rate·N))};
    dup_len distinct positions among them, uniformly; each is doubled in place."""
    n = len(ids) - 2
    dup_len = min(rng.randint(0, max(2, int(rate * n))), n)
    positions = set(rng.sample(range(1, len(ids) - 1), dup_len))
    out = []
    for index, token in enumerate(ids):
        out.append(token)
        if index in positions:
            out.append(token)
    return out


def test_repetition_follows_the_papers_sampling_rule_on_a_fixed_seed() -> None:
    ours, theirs = random.Random(7), random.Random(7)
    for length in (1, 2, 3, 5, 10, 30):
        ids = [101, *range(1000, 1000 + length), 102]
        for _ in range(20):
            assert repeat_token_list(ids, 0.32, ours, frozenset({101, 102})) == reference_repetition(ids, 0.32, theirs)


def test_repetition_never_repeats_special_tokens_and_respects_max_length() -> None:
    rng = random.Random(0)
    ids = [101, 5, 6, 7, 8, 9, 10, 11, 102]
    for _ in range(50):
        out = repeat_token_list(ids, 1.0, rng, frozenset({101, 102}), max_length=11)
        assert out.count(101) == 1 and out.count(102) == 1 and len(out) <= 11
        assert [t for i, t in enumerate(out) if i == 0 or t != out[i - 1]] == ids  # only in-place doubles


def test_repeat_tokens_pads_the_batch_again(tiny_model: SentenceTransformer) -> None:
    features = tiny_model.tokenize(["ab", "a much longer sentence here"])
    out = repeat_tokens(features, 0.5, random.Random(1), frozenset(tiny_model.tokenizer.all_special_ids), 0)
    lengths = out["attention_mask"].sum(1)
    assert (lengths >= features["attention_mask"].sum(1)).all()
    for row, length in zip(out["input_ids"], lengths, strict=False):
        assert (row[length:] == 0).all() and row[length - 1] == tiny_model.tokenizer.sep_token_id


def test_momentum_update_is_the_ema_formula(tiny_model: SentenceTransformer) -> None:
    queue = MomentumQueue(tiny_model, size=4, momentum=0.9)
    before = {name: p.clone() for name, p in queue.encoder.named_parameters()}
    with torch.no_grad():
        for p in tiny_model.parameters():
            p.add_(torch.randn_like(p))
    queue.update(tiny_model)
    online = dict(tiny_model.named_parameters())
    for name, p in queue.encoder.named_parameters():
        assert_close(p, 0.9 * before[name] + 0.1 * online[name])
        assert not p.requires_grad


def test_queue_holds_exactly_the_last_k_embeddings_oldest_first(tiny_model: SentenceTransformer) -> None:
    queue = MomentumQueue(tiny_model, size=5)
    batches = [torch.randn(3, 32, requires_grad=True) for _ in range(3)]
    queue.enqueue(batches[0])
    assert_close(queue.negatives, batches[0].detach())
    queue.enqueue(batches[1])
    queue.enqueue(batches[2])
    assert_close(queue.negatives, torch.cat(batches).detach()[-5:])
    assert not queue.negatives.requires_grad and int(queue.filled) == 5


def reference_esimcse_loss(z1: torch.Tensor, z2: torch.Tensor, queue: torch.Tensor, temp: float) -> torch.Tensor:
    """The official loss (esimcse/models.py): CE(cat([cos(z1, z2ᵀ), cos(z1, Qᵀ)], 1) / temp, arange(B))."""
    sim = F.cosine_similarity(z1[:, None], z2[None], dim=-1) / temp
    sim_queue = F.cosine_similarity(z1[:, None], queue[None], dim=-1) / temp
    return F.cross_entropy(torch.cat([sim, sim_queue], 1), torch.arange(z1.size(0)))


def test_queue_logits_match_the_official_loss() -> None:
    torch.manual_seed(0)
    z1, z2, queue = torch.randn(6, 16), torch.randn(6, 16), torch.randn(10, 16)
    logits = contrastive_logits(z1, z2, 0, 0.05, extra_negatives=[queue])
    assert_close(F.cross_entropy(logits, torch.arange(6)), reference_esimcse_loss(z1, z2, queue, 0.05))


def test_loss_uses_the_queue_from_before_the_batch_and_then_adds_the_batch(
    tiny_model: SentenceTransformer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The logits of batch 2 use the momentum embeddings of batch 1 only; the queue then holds both batches'
    momentum embeddings (a batch is never a negative of itself)."""
    import simcse_st.losses.dropout_contrastive_loss as module

    torch.manual_seed(0)
    tiny_model.train()
    loss = DropoutContrastiveLoss(tiny_model, queue_size=16)
    first, second = tiny_model.tokenize(SENTENCES[:4]), tiny_model.tokenize(SENTENCES[4:8])
    loss([first], None)
    after_first = loss.momentum_queue.negatives.clone()
    assert after_first.shape == (4, 32)
    captured: dict[str, list[torch.Tensor]] = {}

    def spy(*args, **kwargs):
        captured["extra"] = [extra.clone() for extra in args[5]]
        return contrastive_logits(*args, **kwargs)

    monkeypatch.setattr(module, "contrastive_logits", spy)
    loss([second], None)
    assert_close(captured["extra"][0], after_first)  # only earlier batches
    assert loss.momentum_queue.negatives.shape == (8, 32)
    assert_close(loss.momentum_queue.negatives[:4], after_first)
    # the enqueued rows: the batch's anchors by the EMA copy after this step's update, dropout off
    assert_close(loss.momentum_queue.negatives[4:], loss.momentum_queue.encode(second))


def test_matryoshka_wrapping_enqueues_once_per_batch(tiny_model: SentenceTransformer) -> None:
    tiny_model.train()
    inner = DropoutContrastiveLoss(tiny_model, queue_size=32, repetition_rate=0.32)
    loss = MatryoshkaLoss(tiny_model, inner, matryoshka_dims=[32, 16, 8])
    for start in (0, 4):
        value = loss([tiny_model.tokenize(SENTENCES[start : start + 4])], None)
        value.backward()
    assert int(inner.momentum_queue.filled) == 8
    assert torch.isfinite(value)


def test_no_ema_step_or_enqueue_outside_training(tiny_model: SentenceTransformer) -> None:
    loss = DropoutContrastiveLoss(tiny_model, queue_size=8)
    tiny_model.eval()
    loss([tiny_model.tokenize(SENTENCES[:4])], None)
    assert int(loss.momentum_queue.filled) == 0


@pytest.mark.parametrize(
    "settings",
    [{"mini_batch_size": 2}, {"same_dropout_mask": True}],
)
def test_methods_refuse_gradcache_and_same_mask(tiny_model: SentenceTransformer, settings: dict) -> None:
    with pytest.raises(ValueError, match="cannot be combined"):
        DropoutContrastiveLoss(tiny_model, queue_size=8, **settings)


def test_methods_refuse_pairs(tiny_model: SentenceTransformer) -> None:
    loss = DropoutContrastiveLoss(tiny_model, repetition_rate=0.3)
    features = tiny_model.tokenize(SENTENCES[:4])
    with pytest.raises(ValueError, match="one-column"):
        loss([features, features], None)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"repetition_rate": 1.5}, "repetition_rate"),
        ({"queue_size": -1}, "queue_size"),
        ({"queue_size": 4, "momentum": 1.0}, "momentum"),
        ({"dcl_weight": -0.1}, "dcl_weight"),
        ({"dcl_temperature": 0}, "dcl_temperature"),
        ({"intermediate_layers": 1.5}, "intermediate_layers"),
    ],
)
def test_bad_method_settings_are_named(tiny_model: SentenceTransformer, settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DropoutContrastiveLoss(tiny_model, **settings)
