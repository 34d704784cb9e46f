"""The names of SimCSE's poolers: the one list the config, the model builders, the CLI and the docs read.

Torch-free, so that :class:`simcse_st.training.SimCSEConfig` (and ``simcse-st --help``) can use them cheaply.
"""

from __future__ import annotations

from typing import Literal, get_args

# SimCSE's five poolers (``simcse/models.py``'s ``Pooler``): [CLS] + MLP, raw [CLS], and three token averages.
PoolerName = Literal["cls", "cls_before_pooler", "avg", "avg_top2", "avg_first_last"]
POOLERS: tuple[str, ...] = get_args(PoolerName)
# The poolers that read intermediate layers (the encoder must return its hidden states).
HIDDEN_STATE_POOLERS: tuple[str, ...] = ("avg_top2", "avg_first_last")
# What a training run accepts: the poolers plus ``mean``, sentence-transformers' name for ``avg``.
PoolingName = Literal["cls", "cls_before_pooler", "avg", "avg_top2", "avg_first_last", "mean"]
POOLINGS: tuple[str, ...] = get_args(PoolingName)

# PromptBERT's unsupervised BERT templates (its run.sh, "unsup-bert"): the anchor's (also the inference one) and the
# positive's. [X] is the sentence, [MASK] the position whose state is the embedding.
PROMPTBERT_TEMPLATE = 'This sentence of "[X]" means [MASK] .'
PROMPTBERT_POSITIVE_TEMPLATE = 'This sentence : "[X]" means [MASK] .'
