"""``AblationRun``: one training configuration of the ablation runner (a row of one of the paper's tables)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Init = Literal["pretrained", "random"]
Batching = Literal["random", "length"]
DropoutKernel = Literal["native", "fast"]


@dataclass(frozen=True)
class AblationRun:
    """The settings that differ from the unsupervised SimCSE baseline: [CLS] + train-only MLP, dropout 0.1, batch 64,
    lr 3e-5, positives = the sentence itself, pretrained encoder, bf16 where supported, random batches, PyTorch's
    native dropout.

    Two studies that share a configuration (e.g. Table 1's "None" and Table 3's "p = 0.1") share one run: :attr:`key`
    depends on the settings only, not on ``label``.

    Args:
        label: The row label in its table, e.g. ``"Crop 10%"``.
        pooling: A SimCSE pooler (:data:`simcse_st.training.POOLINGS`).
        mlp_only_train: With ``pooling="cls"``: the MLP is used in training only (the paper's unsupervised default).
        dropout: Encoder dropout rate for training.
        same_dropout_mask: Both views get the same dropout mask (Table 3's "fixed 0.1").
        augmentation: ``(method, ratio)`` for :func:`simcse_st.augment_dataset` (the second view is the augmented
            sentence, Table 1); ``None``: the sentence itself.
        batch_size: Sentences per batch.
        learning_rate: AdamW learning rate.
        mlm_weight: Weight of the auxiliary MLM loss (0 = off).
        init: ``"pretrained"`` weights or the same architecture randomly initialised.
        bf16: bf16 autocast; ``None`` = on where supported.
        batching: ``"random"`` or ``"length"`` (length-grouped) batches.
        dropout_kernel: ``"native"`` (``nn.Dropout``) or ``"fast"`` (16-bit masks,
            :func:`simcse_st.enable_fast_dropout`).
    """

    label: str = field(compare=False)
    pooling: str = "cls"
    mlp_only_train: bool = True
    dropout: float = 0.1
    same_dropout_mask: bool = False
    augmentation: tuple[str, float | None] | None = None
    batch_size: int = 64
    learning_rate: float = 3e-5
    mlm_weight: float = 0.0
    init: Init = "pretrained"
    bf16: bool | None = None
    batching: Batching = "random"
    dropout_kernel: DropoutKernel = "native"

    def settings(self) -> dict[str, Any]:
        """The settings without the label (what makes two runs the same run)."""
        settings = asdict(self)
        del settings["label"]
        if self.dropout_kernel == "native":  # a field added later: runs recorded before it keep their key
            del settings["dropout_kernel"]
        return settings

    @property
    def key(self) -> str:
        """A short stable id of the settings, used as the run's directory name."""
        digest = hashlib.sha1(json.dumps(self.settings(), sort_keys=True).encode()).hexdigest()[:10]
        return f"{self.init}-{self.pooling}-b{self.batch_size}-{digest}"
