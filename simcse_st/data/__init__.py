"""Reading corpora and batching unlabeled sentences for SimCSE."""

from __future__ import annotations

from simcse_st.data.length_grouped_batch_sampler import LengthGroupedBatchSampler, token_length_fn
from simcse_st.data.reading import (
    corpus_format,
    iter_lines,
    iter_sentences,
    load_pairs,
    load_sentences,
    read_sentences,
)
from simcse_st.data.unlabeled_sentence_loader import UnlabeledSentenceLoader

__all__ = [
    "LengthGroupedBatchSampler",
    "UnlabeledSentenceLoader",
    "corpus_format",
    "iter_lines",
    "iter_sentences",
    "load_pairs",
    "load_sentences",
    "read_sentences",
    "token_length_fn",
]
