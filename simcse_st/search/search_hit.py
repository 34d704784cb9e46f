"""``SearchHit``: one result of :meth:`simcse_st.search.EmbeddingIndex.search`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SearchHit:
    """A sentence of the index that matched a query.

    Attributes:
        id: The sentence's row in the indexed input (0-based; a ``.txt`` corpus: its line number − 1), so duplicate
            sentences keep their own ids and blank rows, which are not indexed, shift nothing.
        sentence: The indexed text, as read.
        score: Cosine similarity of the query and the sentence (in every kind and precision: one threshold means the
            same everywhere).
    """

    id: int
    sentence: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """``{"id": ..., "sentence": ..., "score": ...}``, for JSON."""
        return asdict(self)


def format_hits(queries: list[str], results: list[list[SearchHit]]) -> str:
    """Each query and its ranked hits (rank, cosine, id, sentence) as plain text, for a terminal."""
    blocks = []
    for query, hits in zip(queries, results, strict=True):
        lines = [f"Query: {query}"]
        lines += [f"  {rank:>3}. {hit.score:.4f}  [{hit.id}]  {hit.sentence}" for rank, hit in enumerate(hits, 1)]
        if not hits:
            lines.append("  (no hit above the threshold)")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
