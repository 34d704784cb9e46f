"""Dropout-rate control for SimCSE's Table 3 (p = 0, 0.01, 0.05, 0.1, 0.15, 0.2, 0.5)."""

from __future__ import annotations

from torch import nn
from transformers import PreTrainedModel

# Table 3 of the paper: the dropout rates compared on STS-B dev (plus "fixed 0.1": p = 0.1 with the same mask for
# both views, DropoutContrastiveLoss(same_dropout_mask=True)).
TABLE3_DROPOUT_RATES: tuple[float, ...] = (0.0, 0.01, 0.05, 0.1, 0.15, 0.2, 0.5)

# Config fields that set the encoder's hidden / attention dropout, across common architectures. Classifier and
# activation dropouts are left alone: SimCSE varies the encoder's dropout only.
DROPOUT_CONFIG_KEYS: tuple[str, ...] = (
    "hidden_dropout_prob",  # BERT, RoBERTa, ELECTRA, DeBERTa, MPNet
    "attention_probs_dropout_prob",
    "hidden_dropout",
    "attention_dropout",  # DistilBERT, BART, Llama-style
    "dropout",  # DistilBERT, BART
    "embd_pdrop",  # GPT-2
    "resid_pdrop",
    "attn_pdrop",
)
# Float attributes that some attention implementations read instead of an nn.Dropout module.
_DROPOUT_ATTRIBUTES: tuple[str, ...] = ("attention_dropout", "dropout_prob", "dropout_p")


def set_dropout(model: nn.Module, p: float) -> int:
    """Set every dropout rate of ``model``'s encoder to ``p``, in the modules and in the saved config.

    Changes every ``nn.Dropout`` module (hidden and attention dropout; BERT's attention passes ``self.dropout.p`` to
    its attention kernel at each call, so this covers SDPA too), float dropout attributes that some attention
    implementations keep instead (``attention_dropout``, ``dropout_prob``, ``dropout_p``), and the dropout fields of
    each Hugging Face model's config (``hidden_dropout_prob``, ``attention_probs_dropout_prob``, ... where present), so
    that ``model.save()`` keeps the rate and a reload trains with it.

    Args:
        model: A ``SentenceTransformer`` or any ``nn.Module`` holding the encoder.
        p: The dropout probability, ``0 <= p < 1``. ``p = 0`` turns dropout off: unsupervised SimCSE then sees two
            identical views (the paper's row "p = 0", 71.1 on STS-B dev).

    Returns:
        The number of dropout modules and attributes changed.

    Example:
        ::

            from simcse_st.modules import set_dropout

            set_dropout(model, 0.05)  # Table 3, p = 0.05
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"dropout p must be a number in [0, 1), got {p!r}.")
    p = float(p)
    changed = 0
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = p
            changed += 1
        for name in _DROPOUT_ATTRIBUTES:
            value = module.__dict__.get(name)
            if isinstance(value, float):
                setattr(module, name, p)
                changed += 1
        if isinstance(module, PreTrainedModel):
            for key in DROPOUT_CONFIG_KEYS:
                if isinstance(getattr(module.config, key, None), float):
                    setattr(module.config, key, p)
    return changed
