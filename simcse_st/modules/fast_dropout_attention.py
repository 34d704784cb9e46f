"""Attention-probability dropout with :class:`FastDropout`'s masks, and ``enable_fast_dropout`` for a whole model.

Hugging Face attention modules do not call their ``nn.Dropout``: they pass its ``p`` to the attention function
(SDPA, which on CPU then runs its math path with native dropout). ``enable_fast_dropout`` registers the attention
implementation ``"simcse_fast_dropout"``: SDPA whenever there is no dropout to apply (evaluation, inference, p = 0,
not on CPU: identical outputs), else softmax(QKᵀ·scale + mask) with a 16-bit mask, then × V. The implementation name
is not saved in ``config.json`` (transformers keeps it out), so a saved model reloads with plain SDPA anywhere.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from transformers import AttentionInterface, PreTrainedModel
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from simcse_st.modules.fast_dropout import FastDropout, fast_dropout_mask, keep_threshold, mask_dtype, masked_scale

ATTENTION_IMPLEMENTATION = "simcse_fast_dropout"
_REPLACEABLE = ("sdpa", "eager")


def attention_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last dimension, in float32 for bf16 rows shorter than 32 on CPU: aten's bf16 CPU softmax has
    no vectorized path for rows shorter than its 32-lane vector (SimCSE's ≤ 32-token batches), and converting to
    float32 and back is 1.5–2.6× faster forward + backward there (0.2–0.8× from 32 up; docs/performance.md)."""
    if scores.dtype == torch.bfloat16 and scores.size(-1) < 32 and scores.device.type == "cpu":
        return F.softmax(scores, dim=-1, dtype=torch.float32).to(torch.bfloat16)
    return F.softmax(scores, dim=-1)


def fast_dropout_attention_forward(
    module: nn.Module,
    query: Tensor,  # (B, H, Lq, d)
    key: Tensor,  # (B, Hkv, Lk, d)
    value: Tensor,  # (B, Hkv, Lk, d)
    attention_mask: Tensor | None,  # (B, 1, Lq, Lk) bool (True = attend) or additive float, or None
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs,
) -> tuple[Tensor, None]:
    """An ``AttentionInterface`` function: SDPA, except that attention dropout on CPU uses a 16-bit mask."""
    threshold = keep_threshold(dropout) if dropout > 0.0 else None
    causal_without_mask = attention_mask is None and getattr(module, "is_causal", False)
    if threshold is None or query.device.type != "cpu" or causal_without_mask:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    if key.size(1) != query.size(1):  # grouped-query attention: share each key/value head
        key = key.repeat_interleave(query.size(1) // key.size(1), dim=1)
        value = value.repeat_interleave(query.size(1) // value.size(1), dim=1)
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling  # (B, H, Lq, Lk)
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:  # in place: the product's backward does not read its output
            scores.masked_fill_(~attention_mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + attention_mask
    probs = attention_softmax(scores)
    mask = fast_dropout_mask(probs.shape, dropout, probs.device, mask_dtype(probs.dtype))
    probs = masked_scale(probs, mask, (1 << 16) / threshold)  # probs × mask / q
    output = torch.matmul(probs.to(value.dtype), value)  # (B, H, Lq, d)
    return output.transpose(1, 2).contiguous(), None  # (B, Lq, H, d), as SDPA returns


AttentionInterface.register(ATTENTION_IMPLEMENTATION, fast_dropout_attention_forward)
AttentionMaskInterface.register(ATTENTION_IMPLEMENTATION, sdpa_mask)


def enable_fast_dropout(model: nn.Module) -> int:
    """Give ``model`` 16-bit-mask dropout on CPU: every ``nn.Dropout`` becomes a :class:`FastDropout` with the same
    ``p``, and every Hugging Face model with SDPA or eager attention switches to ``"simcse_fast_dropout"`` attention.

    Outputs in eval mode are unchanged; in training the noise has the same distribution (16-bit resolution of ``p``)
    at ~1/3 of native dropout's cost (a bf16 all-MiniLM-L6-v2 step: docs/performance.md). On CUDA both fall back to
    the native kernels. Calling it twice is harmless.

    Args:
        model: A ``SentenceTransformer`` or any ``nn.Module``.

    Returns:
        The number of dropout modules and attention implementations changed.
    """
    changed = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:  # exactly nn.Dropout: subclasses may do more than drop
                setattr(parent, name, FastDropout(child.p, child.inplace).train(child.training))
                changed += 1
    for module in model.modules():
        if not isinstance(module, PreTrainedModel) or not module._can_set_attn_implementation():
            continue
        if module.config._attn_implementation in _REPLACEABLE:  # not yet switched
            module.set_attn_implementation(ATTENTION_IMPLEMENTATION)
            changed += 1
    return changed
