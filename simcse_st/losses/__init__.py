"""SimCSE losses for sentence-transformers."""

from __future__ import annotations

from simcse_st.losses.dropout_contrastive_loss import DropoutContrastiveLoss
from simcse_st.losses.mlm_auxiliary import MLMAuxiliary
from simcse_st.losses.momentum_queue import MomentumQueue

__all__ = ["DropoutContrastiveLoss", "MLMAuxiliary", "MomentumQueue"]
