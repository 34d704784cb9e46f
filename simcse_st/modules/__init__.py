"""SimCSE's poolers, the train-only MLP head, dropout control (incl. fast CPU dropout) and the model builder."""

from __future__ import annotations

from simcse_st.modules.build import build_simcse_model, builtin_pooling_modules
from simcse_st.modules.dropout import TABLE3_DROPOUT_RATES, set_dropout
from simcse_st.modules.fast_dropout import FastDropout, fast_dropout_mask
from simcse_st.modules.fast_dropout_attention import enable_fast_dropout, fast_dropout_attention_forward
from simcse_st.modules.simcse_pooling import POOLERS, PoolerName, SimCSEPooling, make_mlp_head

__all__ = [
    "POOLERS",
    "TABLE3_DROPOUT_RATES",
    "FastDropout",
    "PoolerName",
    "SimCSEPooling",
    "build_simcse_model",
    "builtin_pooling_modules",
    "enable_fast_dropout",
    "fast_dropout_attention_forward",
    "fast_dropout_mask",
    "make_mlp_head",
    "set_dropout",
]
