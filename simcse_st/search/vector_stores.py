"""Where an :class:`~simcse_st.search.EmbeddingIndex` keeps its vectors, one store per kind and precision.

Every store holds L2-normalised embeddings and answers ``search(queries [q, d], k)`` with cosine similarities, best
first, and the rows (positions in the store) they belong to; never more than exist, never padding.

- exact float32: the matrix in memory, scanned with sentence-transformers' ``util.semantic_search``.
- exact int8 / binary: the embeddings quantized with ``util.quantization.quantize_embeddings`` in memory (1/4 and
  1/32 of float32), scanned block by block against the float32 query (asymmetric: the query is not quantized); the
  best ``k × rescore_multiplier`` candidates are then rescored exactly from the float32 rows, which stay on disk
  (a memory map: only the candidates' rows are read).
- hnsw / ivf: faiss ``IndexHNSWFlat`` / ``IndexIVFFlat`` with ``METRIC_INNER_PRODUCT`` (cosine on normalised
  vectors; never L2 distances against a cosine threshold), both holding float32, so their scores are exact cosines.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sentence_transformers import util
from sentence_transformers.util.quantization import quantize_embeddings

from simcse_st.search.growable_rows import GrowableRows

Hits = tuple[np.ndarray, np.ndarray]  # scores [q, <=k] float32 (cosine, best first), rows [q, <=k] int64; -1 = none
BLOCK_ROWS = 32_768  # rows of quantized embeddings dequantized per block of a scan: 48 MB of float32 at d=384
DEFAULT_RESCORE = {"int8": 4, "binary": 10}  # candidates per wanted hit before the exact float32 rescoring
FLOATS, QUANTIZED, RANGES, FAISS_INDEX = "embeddings.npy", "quantized.npy", "ranges.npy", "faiss.index"


def _top(scores: np.ndarray, rows: np.ndarray, k: int) -> Hits:
    """The best ``k`` of each query's (score, row) candidates, sorted best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else np.argsort(-scores, axis=1)
    scores, rows = np.take_along_axis(scores, part, 1), np.take_along_axis(rows, part, 1)
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.take_along_axis(scores, order, 1), np.take_along_axis(rows, order, 1)


class _ExactStore:
    files = (FLOATS,)

    def __init__(self, dim: int, rows: np.ndarray | None = None) -> None:
        self.dim = dim
        self._rows = GrowableRows(dim, np.float32, rows)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def nbytes(self) -> int:
        return self._rows.nbytes

    def reserve(self, total: int) -> None:
        self._rows.reserve(total)

    def add(self, embeddings: np.ndarray) -> None:  # [n, d] normalised float32
        self._rows.append(embeddings)

    def search(self, queries: np.ndarray, k: int) -> Hits:
        results = util.semantic_search(
            torch.from_numpy(queries), torch.from_numpy(self._rows.array), top_k=k, score_function=util.dot_score
        )
        width = max((len(hits) for hits in results), default=0)
        scores = np.full((len(results), width), -np.inf, dtype=np.float32)
        rows = np.full((len(results), width), -1, dtype=np.int64)
        for i, hits in enumerate(results):
            scores[i, : len(hits)] = [hit["score"] for hit in hits]
            rows[i, : len(hits)] = [hit["corpus_id"] for hit in hits]
        return scores, rows

    def save(self, directory: Path) -> None:
        np.save(directory / FLOATS, self._rows.array)

    @classmethod
    def open(cls, directory: Path, settings: dict[str, Any]) -> _ExactStore:
        rows = np.load(directory / FLOATS)
        return cls(rows.shape[1], rows)


class _FloatFile:
    """float32 rows appended to a ``.npy`` file on disk and read back by row through a memory map."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path, self.dim = path, dim
        self._rows = 0
        self._map: np.ndarray | None = None
        self._lock = threading.Lock()
        if path.exists():
            self._map = np.load(path, mmap_mode="r")
            self._rows = len(self._map)

    def writable_in(self, workdir: Path) -> None:
        """Continue in a copy in ``workdir`` (a saved index is never written in place); raw rows, no header."""
        target = workdir / "floats.raw"
        if self.path == target:
            return
        with open(target, "wb") as handle:
            if self._rows:
                for start in range(0, self._rows, BLOCK_ROWS):
                    handle.write(np.ascontiguousarray(self._map[start : start + BLOCK_ROWS]).tobytes())
        self.path, self._map = target, None

    def add(self, embeddings: np.ndarray) -> None:
        with self._lock, open(self.path, "ab") as handle:
            handle.write(np.ascontiguousarray(embeddings, dtype="<f4").tobytes())
            self._rows += len(embeddings)
            self._map = None

    def take(self, rows: np.ndarray) -> np.ndarray:  # [..] int64 -> [.., d] float32
        with self._lock:
            if self._map is None:
                self._map = np.memmap(self.path, dtype="<f4", mode="r", shape=(self._rows, self.dim))
            data = self._map
        flat = rows.reshape(-1)
        order = np.argsort(flat)  # read the memory map in file order
        taken = np.empty((len(flat), self.dim), dtype=np.float32)
        taken[order] = data[flat[order]]
        return taken.reshape(*rows.shape, self.dim)

    def save(self, path: Path) -> None:
        if self.path.suffix == ".npy":
            shutil.copyfile(self.path, path)
            return
        with open(path, "wb") as handle, open(self.path, "rb") as source:
            header = {"descr": "<f4", "fortran_order": False, "shape": (self._rows, self.dim)}
            np.lib.format.write_array_header_1_0(handle, header)
            shutil.copyfileobj(source, handle, 16 << 20)


class _QuantizedStore:
    files = (QUANTIZED, FLOATS)

    def __init__(
        self,
        dim: int,
        precision: str,
        workdir: Path,
        quantized: np.ndarray | None = None,
        floats: _FloatFile | None = None,
        ranges: np.ndarray | None = None,
    ) -> None:
        self.dim, self.precision = dim, precision
        width = dim if precision == "int8" else (dim + 7) // 8
        self._codes = GrowableRows(width, np.int8 if precision == "int8" else np.uint8, quantized)
        self._floats = floats if floats is not None else _FloatFile(workdir / "floats.raw", dim)
        self._ranges = ranges  # int8: [2, d] min and max per dimension, fixed by the first rows added
        self._workdir = workdir
        if precision == "int8":
            self.files = (QUANTIZED, FLOATS, RANGES)

    def __len__(self) -> int:
        return len(self._codes)

    @property
    def nbytes(self) -> int:
        return self._codes.nbytes

    def reserve(self, total: int) -> None:
        self._codes.reserve(total)

    def add(self, embeddings: np.ndarray) -> None:
        self._floats.writable_in(self._workdir)
        if self.precision == "int8":
            if self._ranges is None:  # calibrated on the first rows (a build's first chunk), 5% margin each side
                low, high = embeddings.min(0), embeddings.max(0)
                margin = 0.05 * np.maximum(high - low, 1e-6)
                self._ranges = np.stack([low - margin, high + margin]).astype(np.float32)
            codes = quantize_embeddings(embeddings, precision="int8", ranges=self._ranges)
        else:
            codes = quantize_embeddings(embeddings, precision="ubinary")
        self._codes.append(codes)
        self._floats.add(embeddings)

    def search(self, queries: np.ndarray, k: int, rescore_multiplier: int | None = None) -> Hits:
        codes = self._codes.array
        m = min(len(codes), k * (rescore_multiplier or DEFAULT_RESCORE[self.precision]))
        weights = queries  # binary: score ∝ q · bits
        if self.precision == "int8":  # q · dequantized = (q ⊙ step) · (code + 128) + const: rank by (q ⊙ step) · code
            weights = queries * ((self._ranges[1] - self._ranges[0]) / 255)
        best_scores = np.empty((len(queries), 0), dtype=np.float32)
        best_rows = np.empty((len(queries), 0), dtype=np.int64)
        for start in range(0, len(codes), BLOCK_ROWS):
            block = codes[start : start + BLOCK_ROWS]
            if self.precision == "binary":
                block = np.unpackbits(block, axis=1)[:, : self.dim]
            scores = weights @ block.astype(np.float32).T  # [q, block]
            rows = np.broadcast_to(np.arange(start, start + len(block)), scores.shape)
            best_scores, best_rows = _top(np.hstack([best_scores, scores]), np.hstack([best_rows, rows]), m)
        exact = np.einsum("qd,qkd->qk", queries, self._floats.take(best_rows))  # rescoring in float32
        return _top(exact.astype(np.float32), best_rows, k)

    def save(self, directory: Path) -> None:
        np.save(directory / QUANTIZED, self._codes.array)
        self._floats.save(directory / FLOATS)
        if self._ranges is not None:
            np.save(directory / RANGES, self._ranges)

    @classmethod
    def open(cls, directory: Path, settings: dict[str, Any], precision: str, workdir: Path) -> _QuantizedStore:
        codes = np.load(directory / QUANTIZED)
        floats = _FloatFile(directory / FLOATS, settings["dimension"])
        ranges = np.load(directory / RANGES) if precision == "int8" else None
        return cls(settings["dimension"], precision, workdir, codes, floats, ranges)


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as error:
        raise ImportError(
            "The approximate kinds (kind='hnsw' or 'ivf') need faiss: pip install 'simcse-st[search]' "
            "(or pip install faiss-cpu)."
        ) from error
    return faiss


class _FaissStore:
    files = (FAISS_INDEX,)

    def __init__(self, dim: int, kind: str, settings: dict[str, Any], index: Any = None) -> None:
        faiss = _faiss()
        self.dim, self.kind, self.settings = dim, kind, settings
        if index is None:
            if kind == "hnsw":
                index = faiss.IndexHNSWFlat(dim, settings["hnsw_m"], faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = settings["ef_construction"]
            else:
                index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, settings["nlist"], faiss.METRIC_INNER_PRODUCT)
        self.index = index

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def nbytes(self) -> int:
        return len(self) * self.dim * 4  # the vectors; HNSW's graph adds ~ 2 × hnsw_m × 4 bytes a row

    @property
    def needs_training(self) -> bool:
        return not self.index.is_trained

    def train(self, sample: np.ndarray) -> None:
        self.index.train(np.ascontiguousarray(sample, dtype=np.float32))

    def reserve(self, total: int) -> None:
        pass

    def add(self, embeddings: np.ndarray) -> None:
        self.index.add(np.ascontiguousarray(embeddings, dtype=np.float32))

    def search(self, queries: np.ndarray, k: int) -> Hits:
        faiss = _faiss()
        k = min(k, len(self))
        if k == 0:
            return np.empty((len(queries), 0), np.float32), np.empty((len(queries), 0), np.int64)
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.settings["ef_search"], k))
        else:
            params = faiss.SearchParametersIVF(nprobe=self.settings["nprobe"])
        scores, rows = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        scores[rows < 0] = -np.inf  # faiss pads short lists with id -1: never a hit (it would read as the last row)
        return scores, rows

    def save(self, directory: Path) -> None:
        _faiss().write_index(self.index, str(directory / FAISS_INDEX))

    @classmethod
    def open(cls, directory: Path, settings: dict[str, Any], kind: str) -> _FaissStore:
        return cls(settings["dimension"], kind, settings, _faiss().read_index(str(directory / FAISS_INDEX)))


Store = _ExactStore | _QuantizedStore | _FaissStore


def new_store(kind: str, precision: str, settings: dict[str, Any], workdir: Path) -> Store:
    """An empty store of ``kind`` and ``precision`` for ``settings["dimension"]``-dimensional embeddings."""
    if kind != "exact":
        return _FaissStore(settings["dimension"], kind, settings)
    if precision == "float32":
        return _ExactStore(settings["dimension"])
    return _QuantizedStore(settings["dimension"], precision, workdir)


def open_store(directory: Path, kind: str, precision: str, settings: dict[str, Any], workdir: Path) -> Store:
    """The store saved in ``directory``; large arrays are read in place (the float32 rescoring rows memory-mapped)."""
    if kind != "exact":
        return _FaissStore.open(directory, settings, kind)
    if precision == "float32":
        return _ExactStore.open(directory, settings)
    return _QuantizedStore.open(directory, settings, precision, workdir)
