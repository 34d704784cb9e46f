"""``IndexConfig``: how an :class:`~simcse_st.search.EmbeddingIndex` stores and searches, declared once.

The Python API and ``simcse-st index`` (one option per field: type, default and help read from here) take these
settings; the saved index records them. Importing this module imports no torch and no faiss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from simcse_st.search.names import FAISS_KINDS, INDEX_KINDS, INDEX_PRECISIONS, IndexKind, IndexPrecision


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class IndexConfig:
    """The kind and precision of an index, and the knobs of its approximate kinds.

    - ``kind="exact", precision="float32"`` (the default): every query scans every embedding; the reference.
    - ``kind="exact", precision="int8"`` or ``"binary"``: the scan runs over quantized embeddings in memory (1/4 or
      1/32 of float32) and its best ``top_k × rescore_multiplier`` candidates are rescored with the float32
      embeddings, read from disk; the scores returned are exact cosines.
    - ``kind="hnsw"`` or ``"ivf"``: faiss graph / inverted-file indexes over float32 (``pip install
      'simcse-st[search]'``); fast, approximate recall, exact cosine scores.

    Example:
        ::

            IndexConfig(kind="hnsw", ef_search=128)
            IndexConfig(precision="int8", rescore_multiplier=8)
    """

    kind: IndexKind = field(
        default="exact",
        metadata=_help("exact = scan every row; hnsw / ivf = approximate faiss indexes (extra: search)."),
    )
    precision: IndexPrecision = field(
        default="float32",
        metadata=_help("Embeddings held in memory (exact kind): float32, or int8 / binary rescored in float32."),
    )
    rescore_multiplier: int | None = field(
        default=None,
        metadata=_help("int8/binary: candidates rescored per wanted hit (default: int8 4, binary 10)."),
    )
    hnsw_m: int = field(default=32, metadata=_help("hnsw: neighbours per node of the graph (faiss M)."))
    ef_construction: int = field(default=80, metadata=_help("hnsw: candidate list size while building."))
    ef_search: int = field(default=64, metadata=_help("hnsw: candidate list size per query (at least top_k)."))
    nlist: int | None = field(
        default=None, metadata=_help("ivf: number of clusters (default: √rows, at most rows / 39).")
    )
    nprobe: int = field(default=16, metadata=_help("ivf: clusters searched per query."))
    train_size: int | None = field(
        default=None,
        metadata=_help("ivf: sentences encoded to train the clusters, drawn at random (default: 39 × nlist)."),
    )
    seed: int = field(default=42, metadata=_help("ivf: seed of the training sample."))

    def __post_init__(self) -> None:
        if self.kind not in INDEX_KINDS:
            raise ValueError(f"kind={self.kind!r} is invalid: choose one of {', '.join(INDEX_KINDS)}.")
        if self.precision not in INDEX_PRECISIONS:
            raise ValueError(f"precision={self.precision!r} is invalid: choose one of {', '.join(INDEX_PRECISIONS)}.")
        if self.kind in FAISS_KINDS and self.precision != "float32":
            raise ValueError(
                f"precision={self.precision!r} is invalid with kind={self.kind!r}: the faiss kinds hold float32; "
                "int8 and binary are for kind='exact'."
            )
        for name in ("rescore_multiplier", "hnsw_m", "ef_construction", "ef_search", "nlist", "nprobe", "train_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name}={value!r} is invalid: give a whole number >= 1.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> IndexConfig:
        known = {item.name for item in fields(cls)}
        return cls(**{name: value for name, value in values.items() if name in known})
