"""The data options' names (batching, positive constructions, decoding): torch-free, for the config and the CLI."""

from __future__ import annotations

from typing import Literal, get_args

# How training batches are drawn: "random" (the paper) or "length" (random within token-length strata).
Batching = Literal["random", "length"]
BATCHINGS: tuple[str, ...] = get_args(Batching)
# The discrete positive constructions of the paper's Table 1 (simcse_st.data.augment_dataset).
AugmentationMethod = Literal["crop", "word_deletion", "delete_one_word", "synonym_replacement", "mlm"]
AUGMENTATION_METHODS: tuple[str, ...] = get_args(AugmentationMethod)
# The methods that take a ratio (the share of words or tokens changed); the others take none.
RATIO_METHODS: tuple[str, ...] = ("crop", "word_deletion", "mlm")
# What to do with bytes that are not valid UTF-8.
DecodeErrors = Literal["strict", "skip", "replace"]
DECODE_ERRORS: tuple[str, ...] = get_args(DecodeErrors)
# What a corpus length filter counts: whitespace-separated words (a Chinese, Japanese or Thai sentence is one), Unicode
# code points, or the model's tokens (special tokens excluded).
LengthUnit = Literal["words", "characters", "tokens"]
LENGTH_UNITS: tuple[str, ...] = get_args(LengthUnit)
# Unicode normalisation of the corpus text (unicodedata.normalize): canonical composition, or also the compatibility
# forms (full-width letters and digits, ligatures, circled numbers) folded.
UnicodeNormalization = Literal["NFC", "NFKC"]
UNICODE_NORMALIZATIONS: tuple[str, ...] = get_args(UnicodeNormalization)
