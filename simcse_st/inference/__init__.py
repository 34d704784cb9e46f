"""Inference: loading a trained model, encoding files, similarity of sentences."""

from __future__ import annotations

from simcse_st.inference.encoding import encode_file
from simcse_st.inference.model_loading import load_model, offline_minilm_path
from simcse_st.inference.similarity import format_similarity, pairwise_similarity

__all__ = ["encode_file", "format_similarity", "load_model", "offline_minilm_path", "pairwise_similarity"]
