"""SimCSE's poolers, the train-only MLP head, dropout control and the model builder (sentence-transformers modules)."""

from __future__ import annotations

from simcse_st.modules.build import build_simcse_model, builtin_pooling_modules
from simcse_st.modules.dropout import TABLE3_DROPOUT_RATES, set_dropout
from simcse_st.modules.simcse_pooling import POOLERS, PoolerName, SimCSEPooling, make_mlp_head

__all__ = [
    "POOLERS",
    "TABLE3_DROPOUT_RATES",
    "PoolerName",
    "SimCSEPooling",
    "build_simcse_model",
    "builtin_pooling_modules",
    "make_mlp_head",
    "set_dropout",
]
