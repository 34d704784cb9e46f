"""``FastDropout``: dropout with 16-bit random draws on CPU, the same noise at a third of the cost.

SimCSE's only augmentation is dropout, and on CPU it is expensive: ``torch.nn.functional.dropout`` draws one
Bernoulli sample per element from the single-threaded Mersenne Twister (``bernoulli_``), ~10 ms for a
128 × 32 × 384 activation, and a 6-layer MiniLM step has 19 such dropouts (13 hidden, 6 attention): 22% of the op
time of a bf16 training step (benchmarks/step_profile.py). ``FastDropout`` draws 64-bit random words (``random_``,
one draw per 4 elements), reads each as four 16-bit integers, and keeps an element when its integer falls below
``round((1 - p) · 2^16)``: ~3 ms for the same tensor (benchmarks/dropout_kernels.py). The mask is applied, forward
and backward, as ``addcmul(0, input, mask, value=scale)``: one pass computing input × mask × scale in float32 and
rounding once, bit-identical to ``aten::native_dropout_backward`` (which makes two passes and promotes the bool mask
element by element: 2.6× slower on a bf16 batch-64 activation). For bf16 and float16 inputs the mask is built as 0/1
in the input's dtype (the comparison writes int16 0/1, times the bit pattern of 1.0), so ``addcmul`` reads operands
of one dtype: a bool mask would be converted in an extra pass each way (autocast promotes ``addcmul``'s inputs).
That costs one byte per element more than a bool mask in the saved tensors and makes forward + backward ~1.2× faster
in bf16. float32 inputs keep the bool mask (read as uint8): a float32 mask would be four times its size for ~1.1×.

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
_ONE_BITS = {torch.bfloat16: 0x3F80, torch.float16: 0x3C00}  # the int16 bit pattern of 1.0 in each 16-bit float


def keep_threshold(p: float) -> int | None:
    """The number of the 2^16 values of a 16-bit draw that keep an element: ``round((1 - p) · 2^16)``, or ``None``
    when that rounds to 0 or 2^16 (``p`` too close to 0 or 1 for 16 bits; native dropout is used then)."""
    threshold = round((1.0 - p) * _INT16_STATES)
    return threshold if 0 < threshold < _INT16_STATES else None


def fast_dropout_mask(
    shape: torch.Size | tuple[int, ...], p: float, device: torch.device | str = "cpu", dtype: torch.dtype = torch.bool
) -> Tensor:
    """A keep-mask of ``shape``: each element kept (``True``, or 1 in a bf16/float16 ``dtype``) with probability
    ``keep_threshold(p) / 2^16``. The same draws give the same mask in either dtype."""
    threshold = keep_threshold(p)
    if threshold is None:
        raise ValueError(f"p must be in [2^-16, 1 - 2^-16] for a 16-bit mask, got {p!r}.")
    if dtype != torch.bool and dtype not in _ONE_BITS:
        raise ValueError(f"dtype must be torch.bool, torch.bfloat16 or torch.float16, got {dtype}.")
    numel = math.prod(shape)
    words = torch.empty((numel + 3) // 4, dtype=torch.int64, device=device).random_(-(1 << 63), None)  # full 64 bits
    draws = words.view(torch.int16)[:numel].view(shape)  # 4 uniform int16 per word, in [-2^15, 2^15)
    if dtype == torch.bool:
        return draws < threshold - (1 << 15)
    keep = torch.lt(draws, threshold - (1 << 15), out=torch.empty(shape, dtype=torch.int16, device=device))  # 0/1
    return keep.mul_(_ONE_BITS[dtype]).view(dtype)  # 0/1 as bit patterns of ``dtype``


def mask_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype of the saved mask for an input of ``dtype``: the input's own for bf16/float16, else bool."""
    return dtype if dtype in _ONE_BITS else torch.bool


def _mask_times(input: Tensor, mask: Tensor, scale: float) -> Tensor:
    """``input × mask × scale`` in one pass (float32 math for 16-bit inputs, one rounding); a bool mask is read as
    uint8. The 0-dim zero broadcasts without being materialized."""
    return torch.addcmul(
        input.new_zeros(()), input, mask.view(torch.uint8) if mask.dtype == torch.bool else mask, value=scale
    )


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
    """``input × mask × scale`` (``mask``: the shape of ``input``, bool or 0/1 in its dtype), differentiable in
    ``input``."""
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
        mask = fast_dropout_mask(input.shape, self.p, input.device, mask_dtype(input.dtype))
        return masked_scale(input, mask, _INT16_STATES / threshold)
