"""Modules: SimCSE's poolers, PromptBERT's prompt encoder, the train-only MLP head, dropout control (incl. fast CPU
dropout), the model builders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simcse_st import _lazy_exports

_EXPORTS: dict[str, str] = {
    "HIDDEN_STATE_POOLERS": "simcse_st.modules.names",
    "POOLERS": "simcse_st.modules.names",
    "POOLINGS": "simcse_st.modules.names",
    "TABLE3_DROPOUT_RATES": "simcse_st.modules.dropout",
    "FastDropout": "simcse_st.modules.fast_dropout",
    "PROMPTBERT_POSITIVE_TEMPLATE": "simcse_st.modules.names",
    "PROMPTBERT_TEMPLATE": "simcse_st.modules.names",
    "PoolerName": "simcse_st.modules.names",
    "PoolingName": "simcse_st.modules.names",
    "PromptTransformer": "simcse_st.modules.prompt_transformer",
    "SimCSEPooling": "simcse_st.modules.simcse_pooling",
    "build_prompt_model": "simcse_st.modules.build",
    "build_simcse_model": "simcse_st.modules.build",
    "builtin_pooling_modules": "simcse_st.modules.build",
    "enable_fast_dropout": "simcse_st.modules.fast_dropout_attention",
    "fast_dropout_attention_forward": "simcse_st.modules.fast_dropout_attention",
    "fast_dropout_mask": "simcse_st.modules.fast_dropout",
    "make_mlp_head": "simcse_st.modules.simcse_pooling",
    "set_dropout": "simcse_st.modules.dropout",
}

__all__ = [
    "HIDDEN_STATE_POOLERS",
    "POOLERS",
    "POOLINGS",
    "PROMPTBERT_POSITIVE_TEMPLATE",
    "PROMPTBERT_TEMPLATE",
    "TABLE3_DROPOUT_RATES",
    "FastDropout",
    "PoolerName",
    "PoolingName",
    "PromptTransformer",
    "SimCSEPooling",
    "build_prompt_model",
    "build_simcse_model",
    "builtin_pooling_modules",
    "enable_fast_dropout",
    "fast_dropout_attention_forward",
    "fast_dropout_mask",
    "make_mlp_head",
    "set_dropout",
]

if TYPE_CHECKING:
    from simcse_st.modules.build import build_prompt_model, build_simcse_model, builtin_pooling_modules
    from simcse_st.modules.dropout import TABLE3_DROPOUT_RATES, set_dropout
    from simcse_st.modules.fast_dropout import FastDropout, fast_dropout_mask
    from simcse_st.modules.fast_dropout_attention import enable_fast_dropout, fast_dropout_attention_forward
    from simcse_st.modules.names import HIDDEN_STATE_POOLERS, POOLERS, POOLINGS, PoolerName, PoolingName
    from simcse_st.modules.prompt_transformer import (
        PROMPTBERT_POSITIVE_TEMPLATE,
        PROMPTBERT_TEMPLATE,
        PromptTransformer,
    )
    from simcse_st.modules.simcse_pooling import SimCSEPooling, make_mlp_head

__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
