"""FastDropout and the fast-dropout attention: same Bernoulli noise as nn.Dropout, from 16-bit draws."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from torch import nn
from torch.nn import functional as F
from torch.testing import assert_close
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from simcse_st.modules import (
    FastDropout,
    enable_fast_dropout,
    fast_dropout_attention_forward,
    fast_dropout_mask,
    set_dropout,
)
from simcse_st.modules.fast_dropout import keep_threshold, masked_scale
from simcse_st.modules.fast_dropout_attention import ATTENTION_IMPLEMENTATION, attention_softmax

TEXTS = ["a man is playing a guitar.", "the cat sits on the mat.", "a dog runs in the park.", "rain is expected."]


def reference_mask(seed: int, shape: tuple[int, ...], p: float) -> tuple[torch.Tensor, float]:
    """The keep-mask and scale written out by hand: the same 64-bit words, each read as four unsigned 16-bit values."""
    torch.manual_seed(seed)
    numel = int(torch.tensor(shape).prod())
    words = torch.empty((numel + 3) // 4, dtype=torch.int64).random_(-(2**63), None)
    unsigned = words.view(torch.int16)[:numel].to(torch.int32) + 2**15  # uniform in [0, 65536)
    kept = round((1 - p) * 65536)
    return (unsigned < kept).reshape(shape), 65536 / kept


def test_keep_threshold_is_the_16_bit_keep_probability() -> None:
    assert keep_threshold(0.1) == 58982  # q = 0.899994
    assert keep_threshold(0.5) == 32768
    assert keep_threshold(1e-6) is None and keep_threshold(1 - 1e-6) is None  # would round to 65536 / 0
    with pytest.raises(ValueError, match="16-bit"):
        fast_dropout_mask((4,), 1e-6)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_mask_has_the_bernoulli_rate_in_every_16_bit_lane(p: float) -> None:
    torch.manual_seed(0)
    n = 1 << 20
    mask = fast_dropout_mask((n,), p)
    assert mask.dtype == torch.bool and mask.shape == (n,)
    keep = keep_threshold(p) / 65536
    sigma = (keep * (1 - keep) / (n / 4)) ** 0.5
    for lane in range(4):  # each 64-bit word feeds 4 elements: every lane must be uniform, not just the average
        rate = mask[lane::4].float().mean().item()
        assert abs(rate - keep) < 5 * sigma, (lane, rate, keep)
    assert not torch.equal(mask[: n // 2], mask[n // 2 :])


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_16_bit_mask_is_the_bool_mask_in_that_dtype(dtype: torch.dtype) -> None:
    torch.manual_seed(5)
    expected = fast_dropout_mask((3, 41), 0.25)  # 123 elements: not a multiple of 4
    torch.manual_seed(5)
    mask = fast_dropout_mask((3, 41), 0.25, dtype=dtype)
    assert mask.dtype == dtype and mask.shape == (3, 41)
    assert torch.equal(mask, expected.to(dtype))  # exactly 0.0 / 1.0, from the same draws
    with pytest.raises(ValueError, match="dtype"):
        fast_dropout_mask((4,), 0.1, dtype=torch.float32)


@pytest.mark.parametrize("shape", [(5, 7, 3), (2, 8)])  # 105 elements: not a multiple of 4
def test_forward_and_backward_equal_the_hand_written_dropout(shape: tuple[int, ...]) -> None:
    p = 0.3
    x = torch.randn(shape, requires_grad=True)
    torch.manual_seed(7)
    y = FastDropout(p).train()(x)
    mask, scale = reference_mask(7, shape, p)
    assert_close(y, torch.where(mask, x * scale, 0.0), rtol=0, atol=1e-6)
    upstream = torch.randn(shape)
    y.backward(upstream)
    assert_close(x.grad, torch.where(mask, upstream * scale, 0.0), rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_masked_scale_is_bit_identical_to_aten_dropout_backward(dtype: torch.dtype) -> None:
    # the one-pass addcmul must round exactly as aten's two-pass x × mask × scale, forward and backward
    torch.manual_seed(0)
    x = (torch.randn(37, 129) * 50).to(dtype).requires_grad_()
    mask, scale = torch.rand(37, 129) < 0.9, 65536 / 58982
    upstream = torch.randn(37, 129).to(dtype)
    masks = [mask] + ([mask.to(dtype)] if dtype != torch.float32 else [])  # bool, and 0/1 in the 16-bit dtype
    for saved in masks:
        y = masked_scale(x, saved, scale)
        assert y.dtype == dtype
        assert torch.equal(y, torch.ops.aten.native_dropout_backward(x.detach(), mask, scale))
        y.backward(upstream)
        assert torch.equal(x.grad, torch.ops.aten.native_dropout_backward(upstream, mask, scale))
        x.grad = None


def test_identity_in_eval_and_at_zero_native_for_out_of_range_p() -> None:
    x = torch.randn(64, 16)
    assert FastDropout(0.1).eval()(x) is x
    assert FastDropout(0.0).train()(x) is x
    torch.manual_seed(3)
    fast = FastDropout(1e-6).train()(x)  # below 16-bit resolution: falls back to F.dropout, same RNG use
    torch.manual_seed(3)
    assert torch.equal(fast, F.dropout(x, 1e-6, training=True))


def test_bf16_input_stays_bf16_matches_aten_and_is_replayable() -> None:
    x = torch.randn(32, 48).bfloat16().requires_grad_()
    dropout = FastDropout(0.1).train()
    torch.manual_seed(9)
    first = dropout(x)
    torch.manual_seed(9)
    second = dropout(x)
    assert first.dtype == torch.bfloat16
    assert torch.equal(first, second)  # RandContext / GradCache rely on this
    mask, scale = reference_mask(9, (32, 48), 0.1)
    assert torch.equal(first, torch.ops.aten.native_dropout_backward(x.detach(), mask, scale))
    upstream = torch.randn(32, 48).bfloat16()
    first.backward(upstream)
    assert x.grad.dtype == torch.bfloat16
    assert torch.equal(x.grad, torch.ops.aten.native_dropout_backward(upstream, mask, scale))
    assert 0.0 < (first == 0).float().mean().item() < 0.3


def test_attention_forward_matches_a_hand_written_reference() -> None:
    batch, heads, length, dim, p = 3, 2, 5, 4, 0.2
    query, key, value = (torch.randn(batch, heads, length, dim, requires_grad=True) for _ in range(3))
    attend = torch.ones(batch, 1, length, length, dtype=torch.bool)
    attend[0, :, :, 3:] = False  # padding of the first sentence
    module = nn.Module().train()
    torch.manual_seed(11)
    output, weights = fast_dropout_attention_forward(module, query, key, value, attend, dropout=p, scaling=0.5)
    mask, scale = reference_mask(11, (batch, heads, length, length), p)
    scores = (query @ key.transpose(2, 3) * 0.5).masked_fill(~attend, float("-inf"))
    expected = (torch.where(mask, scores.softmax(-1) * scale, 0.0) @ value).transpose(1, 2)
    assert weights is None and output.shape == (batch, length, heads, dim)
    assert_close(output, expected, rtol=1e-5, atol=1e-6)
    upstream = torch.randn_like(output)
    grads = torch.autograd.grad(output, (query, key, value), upstream)
    for grad, reference in zip(grads, torch.autograd.grad(expected, (query, key, value), upstream), strict=True):
        assert_close(grad, reference, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        without, _ = fast_dropout_attention_forward(module, query, key, value, attend, dropout=0.0, scaling=0.5)
        sdpa, _ = sdpa_attention_forward(module, query, key, value, attend, dropout=0.0, scaling=0.5)
    assert_close(without, sdpa)  # no dropout: exactly SDPA


@pytest.mark.parametrize("length", [7, 31, 32, 45])
def test_attention_softmax_is_bf16_softmax_computed_in_float32_below_32(length: int) -> None:
    torch.manual_seed(0)
    scores = (torch.randn(6, 4, 5, length) * 4).bfloat16().requires_grad_()
    probs = attention_softmax(scores)
    assert probs.dtype == torch.bfloat16
    reference = scores.detach().float().requires_grad_()
    expected = F.softmax(reference, dim=-1)
    assert_close(probs.float(), expected, rtol=0, atol=2**-8)  # one bf16 rounding of a value in [0, 1]
    if length >= 32:  # aten's own bf16 softmax, untouched
        assert torch.equal(probs, F.softmax(scores, dim=-1))
    upstream = torch.randn(6, 4, 5, length).bfloat16()
    (grad,) = torch.autograd.grad(probs, scores, upstream)
    (expected_grad,) = torch.autograd.grad(expected, reference, upstream.float())
    assert grad.dtype == torch.bfloat16
    assert_close(grad.float(), expected_grad, rtol=2**-7, atol=2**-7 * expected_grad.abs().max().item())


def test_enable_fast_dropout_keeps_eval_outputs_and_the_saved_model_plain(
    tiny_model: SentenceTransformer, tmp_path: Path
) -> None:
    tiny_model.eval()
    before = tiny_model.encode(TEXTS, convert_to_tensor=True)
    changed = enable_fast_dropout(tiny_model)
    dropouts = [m for m in tiny_model.modules() if isinstance(m, nn.Dropout)]
    assert changed == 7 + 1  # 7 dropout modules + the attention implementation
    assert len(dropouts) == 7 and all(type(m) is FastDropout for m in dropouts)
    assert tiny_model[0].model.config._attn_implementation == ATTENTION_IMPLEMENTATION
    assert enable_fast_dropout(tiny_model) == 0  # idempotent
    assert torch.equal(tiny_model.encode(TEXTS, convert_to_tensor=True), before)
    assert set_dropout(tiny_model, 0.2) >= 7 and {m.p for m in dropouts} == {0.2}

    tiny_model.save(str(tmp_path))
    assert ATTENTION_IMPLEMENTATION not in (tmp_path / "config.json").read_text()
    assert json.loads((tmp_path / "config.json").read_text())["hidden_dropout_prob"] == 0.2
    reloaded = SentenceTransformer(str(tmp_path), device="cpu")
    assert reloaded[0].model.config._attn_implementation == "sdpa"
    assert not any(isinstance(m, FastDropout) for m in reloaded.modules())
