"""The search options' names (index kinds, precisions) and the saved index's format: torch-free, for the CLI."""

from __future__ import annotations

from typing import Literal, get_args

# How the index finds candidates: "exact" scans every row; "hnsw" and "ivf" are approximate faiss indexes.
IndexKind = Literal["exact", "hnsw", "ivf"]
INDEX_KINDS: tuple[str, ...] = get_args(IndexKind)
# What the index holds in memory: float32 embeddings, or int8 / binary ones rescored in float32 from disk.
IndexPrecision = Literal["float32", "int8", "binary"]
INDEX_PRECISIONS: tuple[str, ...] = get_args(IndexPrecision)
# The kinds that need the optional extra `simcse-st[search]` (faiss-cpu).
FAISS_KINDS: tuple[str, ...] = ("hnsw", "ivf")
MANIFEST = "index.json"
FORMAT = "simcse-st-index"
FORMAT_VERSION = 1
