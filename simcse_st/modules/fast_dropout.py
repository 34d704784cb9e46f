"""``FastDropout``: dropout with 16-bit random draws on CPU, the same noise at a third of the cost.

SimCSE's only augmentation is dropout, and on CPU it is expensive: ``torch.nn.functional.dropout`` draws one
Bernoulli sample per element from the single-threaded Mersenne Twister (``bernoulli_``), ~10 ms for a
128 × 32 × 384 activation, and a 6-layer MiniLM step has 19 such dropouts (13 hidden, 6 attention): 22% of the op
time of a bf16 training step (benchmarks/step_profile.py). ``FastDropout`` draws 64-bit random words (``random_``,
one draw per 4 elements), reads each as four 16-bit integers, and keeps an element when its integer falls below
``round((1 - p) · 2^16)``: ~3 ms for the same tensor (benchmarks/dropout_kernels.py). The mask is applied, forward
and backward, as ``addcmul(0, input, mask, value=scale)`` with the bool mask read as uint8: one pass computing
input × mask × scale in float32 and rounding once, bit-identical to ``aten::native_dropout_backward`` (which makes two
passes and promotes the bool mask element by element: 2.6× slower on a bf16 batch-64 activation). The bool mask is
saved for the backward, as native dropout does.

Same distribution, up to the 16-bit resolution: each element is kept independently with probability
``q = round((1 - p) · 65536) / 65536`` (p = 0.1: q = 0.899994) and scaled by ``1 / q``, so the expectation is exact.
The draws come from torch's default CPU generator, so ``torch.manual_seed``, ``RandContext`` (GradCache's mask
replay) and ``same_dropout_mask`` work as with native dropout. Not on CPU (CUDA's dropout is one fused Philox
kernel already), with ``p`` outside ``[2^-16, 1 - 2^-16]``, or in eval mode, it is ``nn.Dropout``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

_INT16_STATES = 1 << 16


def keep_threshold(p: float) -> int | None:
    """The number of the 2^16 values of a 16-bit draw that keep an element: ``round((1 - p) · 2^16)``, or ``None``
    when that rounds to 0 or 2^16 (``p`` too close to 0 or 1 for 16 bits; native dropout is used then)."""
    threshold = round((1.0 - p) * _INT16_STATES)
    return threshold if 0 < threshold < _INT16_STATES else None


def fast_dropout_mask(shape: torch.Size | tuple[int, ...], p: float, device: torch.device | str = "cpu") -> Tensor:
    """A bool keep-mask of ``shape``: each element ``True`` with probability ``keep_threshold(p) / 2^16``."""
    threshold = keep_threshold(p)
    if threshold is None:
        raise ValueError(f"p must be in [2^-16, 1 - 2^-16] for a 16-bit mask, got {p!r}.")
    numel = math.prod(shape)
    words = torch.empty((numel + 3) // 4, dtype=torch.int64, device=device).random_(-(1 << 63), None)  # full 64 bits
    draws = words.view(torch.int16)[:numel].view(shape)  # 4 uniform int16 per word, in [-2^15, 2^15)
    return draws < threshold - (1 << 15)


def _mask_times(input: Tensor, mask: Tensor, scale: float) -> Tensor:
    """``input × mask × scale`` in one pass (float32 math for 16-bit inputs, one rounding): the bool mask is read as
    uint8, which ``addcmul`` converts in its vectorized loop; the 0-dim zero broadcasts without being materialized."""
    return torch.addcmul(input.new_zeros(()), input, mask.view(torch.uint8), value=scale)


class _MaskedScale(torch.autograd.Function):
    """``input × mask × scale`` and its gradient ``grad × mask × scale``, one pass each."""

    @staticmethod
    def forward(ctx, input: Tensor, mask: Tensor, scale: float) -> Tensor:
        ctx.save_for_backward(mask)
        ctx.scale = scale
        return _mask_times(input, mask, scale)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        (mask,) = ctx.saved_tensors
        return _mask_times(grad, mask, ctx.scale), None, None


def masked_scale(input: Tensor, mask: Tensor, scale: float) -> Tensor:
    """``input × mask × scale`` (``mask``: bool, the shape of ``input``), differentiable in ``input``."""
    return _MaskedScale.apply(input, mask, scale)


class FastDropout(nn.Dropout):
    """Drop-in ``nn.Dropout`` whose CPU training path draws 16-bit masks (see the module docstring for the speed and
    the distribution). ``p`` stays a plain attribute, so :func:`simcse_st.modules.set_dropout` changes it.

    Args:
        p: Probability of an element to be zeroed.
        inplace: Accepted for ``nn.Dropout`` compatibility; the fast path always returns a new tensor.

    Example:
        ::

            from simcse_st.modules import enable_fast_dropout

            enable_fast_dropout(model)  # swaps every nn.Dropout of the encoder for a FastDropout
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__(p, inplace)

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return input
        threshold = keep_threshold(self.p)
        if input.device.type != "cpu" or threshold is None or not input.is_floating_point():
            return F.dropout(input, self.p, self.training, self.inplace)
        mask = fast_dropout_mask(input.shape, self.p, input.device)
        return masked_scale(input, mask, _INT16_STATES / threshold)
