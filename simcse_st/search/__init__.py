"""Search: an index over a corpus's embeddings (exact, int8/binary with rescoring, faiss HNSW/IVF), saved and
loaded whole, and a small local HTTP server with a search page.

Names are imported lazily (PEP 562): the CLI reads :class:`IndexConfig` without importing torch or faiss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simcse_st import _lazy_exports

_EXPORTS: dict[str, str] = {
    "INDEX_KINDS": "simcse_st.search.names",
    "INDEX_PRECISIONS": "simcse_st.search.names",
    "IndexKind": "simcse_st.search.names",
    "IndexPrecision": "simcse_st.search.names",
    "EmbeddingIndex": "simcse_st.search.embedding_index",
    "IndexConfig": "simcse_st.search.index_config",
    "IndexFormatError": "simcse_st.search.index_format_error",
    "SearchHit": "simcse_st.search.search_hit",
    "build_index": "simcse_st.search.build_index",
    "format_hits": "simcse_st.search.search_hit",
    "make_server": "simcse_st.search.index_server",
    "serve_index": "simcse_st.search.index_server",
}

__all__ = [
    "INDEX_KINDS",
    "INDEX_PRECISIONS",
    "EmbeddingIndex",
    "IndexConfig",
    "IndexFormatError",
    "IndexKind",
    "IndexPrecision",
    "SearchHit",
    "build_index",
    "format_hits",
    "make_server",
    "serve_index",
]

if TYPE_CHECKING:
    from simcse_st.search.build_index import build_index
    from simcse_st.search.embedding_index import EmbeddingIndex
    from simcse_st.search.index_config import IndexConfig
    from simcse_st.search.index_format_error import IndexFormatError
    from simcse_st.search.index_server import make_server, serve_index
    from simcse_st.search.names import INDEX_KINDS, INDEX_PRECISIONS, IndexKind, IndexPrecision
    from simcse_st.search.search_hit import SearchHit, format_hits

__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
