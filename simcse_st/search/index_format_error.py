"""``IndexFormatError``: a saved index directory that is missing, partial, corrupted or of another format."""

from __future__ import annotations


class IndexFormatError(ValueError):
    """A directory that :meth:`simcse_st.search.EmbeddingIndex.load` refuses: no ``index.json``, a file missing or of
    the wrong size or checksum, or a format version this release cannot read. Nothing is half-loaded."""
