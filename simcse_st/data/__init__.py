"""Data: reading and cleaning corpora, loaders, batch samplers, the positive augmentations, the data directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simcse_st import _lazy_exports

_EXPORTS: dict[str, str] = {
    "AUGMENTATION_METHODS": "simcse_st.data.names",
    "BATCHINGS": "simcse_st.data.names",
    "DATA_ENV_VAR": "simcse_st.data.data_dir",
    "DECODE_ERRORS": "simcse_st.data.names",
    "AugmentationMethod": "simcse_st.data.names",
    "Batching": "simcse_st.data.names",
    "DecodeErrors": "simcse_st.data.names",
    "LengthGroupedBatchSampler": "simcse_st.data.length_grouped_batch_sampler",
    "UnlabeledSentenceLoader": "simcse_st.data.unlabeled_sentence_loader",
    "augment_dataset": "simcse_st.data.augmentation",
    "corpus_format": "simcse_st.data.reading",
    "iter_lines": "simcse_st.data.reading",
    "iter_sentences": "simcse_st.data.reading",
    "load_pairs": "simcse_st.data.reading",
    "load_sentences": "simcse_st.data.reading",
    "read_sentences": "simcse_st.data.reading",
    "require_file": "simcse_st.data.data_dir",
    "resolve_data_dir": "simcse_st.data.data_dir",
    "token_length_fn": "simcse_st.data.length_grouped_batch_sampler",
}

__all__ = [
    "AUGMENTATION_METHODS",
    "BATCHINGS",
    "DATA_ENV_VAR",
    "DECODE_ERRORS",
    "AugmentationMethod",
    "Batching",
    "DecodeErrors",
    "LengthGroupedBatchSampler",
    "UnlabeledSentenceLoader",
    "augment_dataset",
    "corpus_format",
    "iter_lines",
    "iter_sentences",
    "load_pairs",
    "load_sentences",
    "read_sentences",
    "require_file",
    "resolve_data_dir",
    "token_length_fn",
]

if TYPE_CHECKING:
    from simcse_st.data.augmentation import augment_dataset
    from simcse_st.data.data_dir import DATA_ENV_VAR, require_file, resolve_data_dir
    from simcse_st.data.length_grouped_batch_sampler import LengthGroupedBatchSampler, token_length_fn
    from simcse_st.data.names import (
        AUGMENTATION_METHODS,
        BATCHINGS,
        DECODE_ERRORS,
        AugmentationMethod,
        Batching,
        DecodeErrors,
    )
    from simcse_st.data.reading import (
        corpus_format,
        iter_lines,
        iter_sentences,
        load_pairs,
        load_sentences,
        read_sentences,
    )
    from simcse_st.data.unlabeled_sentence_loader import UnlabeledSentenceLoader

__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
