"""``EmbeddingIndex``: the sentences of a corpus, their embeddings, and search over them, saved and loaded whole."""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, overload

import numpy as np
from sentence_transformers import SentenceTransformer
from tqdm.auto import tqdm

import simcse_st
from simcse_st.backends.inference_config import InferenceConfig
from simcse_st.inference.encoding import chunks
from simcse_st.inference.model_loading import model_for_encoding
from simcse_st.search.growable_rows import GrowableRows
from simcse_st.search.index_config import IndexConfig
from simcse_st.search.index_files import read_manifest, write_directory
from simcse_st.search.index_format_error import IndexFormatError
from simcse_st.search.index_input import IndexInput, InputDecodeErrors, Sentences
from simcse_st.search.search_hit import SearchHit
from simcse_st.search.text_store import TextStore
from simcse_st.search.vector_stores import Store, new_store, open_store

logger = logging.getLogger(__name__)

IDS = "ids.npy"
# Encoded at build time and again with the query model: equal embeddings mean the same model, whatever its path.
PROBES = ("A man is playing a guitar.", "The stock market fell sharply today.", "Il pleut depuis trois jours.")
PROBE_MIN_COSINE = 0.99  # the same weights give ~1.0 (batching, threads and bf16 move it by < 0.01)


class EmbeddingIndex:
    """Sentences and their L2-normalised embeddings, searchable by cosine similarity.

    Build it from a list or a corpus file (streamed: memory is one chunk of sentences plus the index itself), add
    to it, search it with sentences or embeddings, save it to a directory and load it back. Every kind returns
    cosine similarities, best first, at most ``top_k`` hits per query and never a padding hit.

    The index records the model it was built with (name, embedding size, normalisation, dtype, and the embeddings
    of three probe sentences). A query model whose embedding size differs, or whose probe embeddings differ, is
    refused with a ``ValueError``, so queries are never compared with embeddings of another model.

    Example:
        ::

            from simcse_st.search import EmbeddingIndex, IndexConfig

            index = EmbeddingIndex.build("runs/simcse", "corpus.txt", IndexConfig(precision="int8"))
            index.save("corpus-index")
            index = EmbeddingIndex.load("corpus-index")  # loads the recorded model on the first text query
            for hit in index.search("A man plays the guitar.", top_k=5, threshold=0.6):
                print(hit.id, f"{hit.score:.3f}", hit.sentence)
    """

    def __init__(
        self,
        config: IndexConfig,
        settings: dict[str, Any],
        model_info: dict[str, Any],
        store: Store,
        texts: TextStore,
        ids: GrowableRows,
        next_id: int,
        workdir: Path,
        model: SentenceTransformer | None = None,
    ) -> None:
        """Use :meth:`build` or :meth:`load`."""
        self.config, self.model_info = config, model_info
        self._settings, self._store, self._texts, self._ids = settings, store, texts, ids
        self._next_id, self._workdir, self._model = next_id, workdir, model
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(workdir), True)
        self.inference: InferenceConfig | None = None  # how a query model loaded by name runs

    # --- building ---------------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        model: str | os.PathLike[str] | SentenceTransformer,
        sentences: Sentences,
        config: IndexConfig | None = None,
        *,
        column: str | None = None,
        batch_size: int = 64,
        chunk_size: int = 10_000,
        show_progress_bar: bool = True,
        decode_errors: InputDecodeErrors = "strict",
        inference: InferenceConfig | None = None,
    ) -> EmbeddingIndex:
        """Encode ``sentences`` with ``model`` and index them.

        Args:
            model: A model folder or hub id (:func:`~simcse_st.inference.load_model`), or a ``SentenceTransformer``.
            sentences: A list of sentences, or a corpus file (``.txt`` one per line, ``.csv``/``.tsv`` with a
                header, ``.jsonl``; ``.gz`` ok), read streaming. Row ``i`` of the input gets id ``i``; blank rows
                are not indexed (their ids are simply absent); duplicates are indexed with their own ids.
            config: Kind, precision and the approximate kinds' settings (:class:`IndexConfig`; default exact float32).
            column: The text column of a ``.csv``/``.tsv`` or key of a ``.jsonl`` corpus.
            batch_size: Encoding batch size.
            chunk_size: Sentences read, encoded and added at a time: with the index itself, what bounds the memory.
            show_progress_bar: A progress bar over the sentences.
            decode_errors: Lines that are not valid UTF-8: ``"strict"`` raises naming the line, ``"replace"`` keeps
                them with U+FFFD.
            inference: Backend and precision of a model given by name (:class:`~simcse_st.backends.InferenceConfig`;
                default torch, bf16 where native); queries run with the same, also after :meth:`load`.

        Raises:
            FileNotFoundError: The corpus file or model folder does not exist.
            ValueError: No sentence to index (empty or only blank rows), bad settings, or a bad row (bad JSON,
                missing column, bad UTF-8), reported before anything is encoded.
            ImportError: ``kind="hnsw"`` or ``"ivf"`` without faiss (``pip install 'simcse-st[search]'``).
        """
        config = config or IndexConfig()
        _check_sizes(batch_size, chunk_size)
        source = IndexInput(sentences, column, decode_errors)
        if source.kept == 0:
            raise ValueError(f"{source.name}: no sentences to index ({source.rows} rows, all blank or none).")
        st_model = model_for_encoding(model, inference)
        name = os.fspath(model) if not isinstance(model, SentenceTransformer) else _model_name(model)
        if not isinstance(model, SentenceTransformer) and Path(name).expanduser().exists():
            name = str(Path(name).expanduser().resolve())
        info = _describe(st_model, name)
        settings = _settings(config, info["dimension"], source.kept)
        workdir = Path(tempfile.mkdtemp(prefix="simcse-st-index-"))
        index = cls(
            config, settings, info, new_store(config.kind, config.precision, settings, workdir),
            TextStore(workdir), GrowableRows(1, np.int64), 0, workdir, st_model,
        )  # fmt: skip
        if config.kind == "ivf":
            index._train(source, batch_size, show_progress_bar)
        index.inference = inference
        index._append(source, batch_size, chunk_size, show_progress_bar)
        return index

    @classmethod
    def from_embeddings(
        cls,
        model: SentenceTransformer,
        sentences: Sequence[str],
        embeddings: np.ndarray,
        config: IndexConfig | None = None,
    ) -> EmbeddingIndex:
        """An index of ``sentences`` (ids 0..n-1) with their precomputed ``embeddings`` ``[n, dim]`` from ``model``
        (e.g. :func:`~simcse_st.inference.encode_file`'s ``.npy``, or one encoding shared by several kinds). They
        are L2-normalised here; ``model`` is recorded and encodes the queries.

        Raises:
            ValueError: ``embeddings`` not ``[len(sentences), model's dimension]``, no sentence, or a blank one.
        """
        config = config or IndexConfig()
        sentences = list(sentences)
        embeddings = np.asarray(embeddings)  # [n, d]; float32 chunks are made as they are added
        info = _describe(model, _model_name(model))
        if embeddings.shape != (len(sentences), info["dimension"]):
            raise ValueError(
                f"embeddings of shape {embeddings.shape}; expected {(len(sentences), info['dimension'])} "
                "(one row per sentence, the model's dimension)."
            )
        if not sentences:
            raise ValueError("no sentences to index.")
        blank = next((row for row, text in enumerate(sentences) if not str(text).strip()), None)
        if blank is not None:
            raise ValueError(f"sentences[{blank}] is blank; an index holds sentences only.")
        settings = _settings(config, info["dimension"], len(sentences))
        workdir = Path(tempfile.mkdtemp(prefix="simcse-st-index-"))
        store = new_store(config.kind, config.precision, settings, workdir)
        if config.kind == "ivf":
            sample = _training_rows(config.seed, len(sentences), settings["train_size"])
            store.train(_unit(embeddings[sample]))  # type: ignore[union-attr]
        index = cls(config, settings, info, store, TextStore(workdir), GrowableRows(1, np.int64), 0, workdir, model)
        store.reserve(len(sentences))
        for start in range(0, len(sentences), 10_000):  # normalised a chunk at a time: no second full copy
            store.add(_unit(embeddings[start : start + 10_000]))
            index._texts.add(sentences[start : start + 10_000])
        index._ids.append(np.arange(len(sentences), dtype=np.int64)[:, None])
        index._next_id = len(sentences)
        return index

    def add(
        self,
        sentences: Sentences,
        *,
        column: str | None = None,
        batch_size: int = 64,
        chunk_size: int = 10_000,
        show_progress_bar: bool = True,
        decode_errors: InputDecodeErrors = "strict",
    ) -> int:
        """Encode and index more sentences (as in :meth:`build`); their ids continue after the last row seen so far
        (the first new row gets ``next_id``). Returns the number of sentences indexed (blank rows are not)."""
        _check_sizes(batch_size, chunk_size)
        source = IndexInput(sentences, column, decode_errors)
        self._texts.writable_in(self._workdir)
        return self._append(source, batch_size, chunk_size, show_progress_bar)

    def _train(self, source: IndexInput, batch_size: int, show_progress_bar: bool) -> None:
        """IVF: encode a random sample of the corpus (not its first rows, which may all be on one topic) and train
        the clusters on it, before any row is added."""
        size = self._settings["train_size"]
        chosen = set(_training_rows(self.config.seed, source.kept, size).tolist())
        sample = [text for position, (_, text) in enumerate(source) if position in chosen]
        logger.info(f"Training {self._settings['nlist']} IVF clusters on {size} sentences drawn at random.")
        embeddings = self._encode(sample, batch_size, show_progress_bar)
        self._store.train(embeddings)

    def _append(self, source: IndexInput, batch_size: int, chunk_size: int, show_progress_bar: bool) -> int:
        start = time.perf_counter()
        first_id = self._next_id
        self._store.reserve(len(self) + source.kept)
        self._ids.reserve(len(self) + source.kept)
        added = 0
        with tqdm(total=source.kept, unit=" sentences", desc="Indexing", disable=not show_progress_bar) as bar:
            for chunk in chunks(source, chunk_size):
                rows, texts = zip(*chunk, strict=True)
                embeddings = self._encode(list(texts), batch_size, False)
                self._store.add(embeddings)
                self._texts.add(texts)
                self._ids.append(np.asarray(rows, dtype=np.int64)[:, None] + first_id)
                added += len(texts)
                bar.update(len(texts))
        self._next_id = first_id + source.rows
        seconds = time.perf_counter() - start
        logger.info(f"Indexed {added} sentences of {source.rows} rows in {seconds:.1f} s ({len(self)} in the index).")
        return added

    def _encode(self, texts: list[str], batch_size: int, show_progress_bar: bool) -> np.ndarray:
        embeddings = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=show_progress_bar,
        )  # fmt: skip
        return np.asarray(embeddings, dtype=np.float32)  # [n, d], unit norm

    # --- searching --------------------------------------------------------------------------------------------

    @overload
    def search(self, queries: str, top_k: int = ..., threshold: float | None = ...) -> list[SearchHit]: ...
    @overload
    def search(
        self, queries: Sequence[str], top_k: int = ..., threshold: float | None = ...
    ) -> list[list[SearchHit]]: ...

    def search(
        self, queries: str | Sequence[str], top_k: int = 5, threshold: float | None = None
    ) -> list[SearchHit] | list[list[SearchHit]]:
        """The ``top_k`` indexed sentences most similar to each query, best first.

        Args:
            queries: One query (returns its hits) or a list (returns a list of hit lists, one per query; the same
                ``top_k`` and ``threshold`` apply to every query).
            top_k: At most this many hits per query (fewer if the index holds fewer, or the threshold cuts).
            threshold: Keep only hits with cosine similarity ``>= threshold`` (between -1 and 1).

        Raises:
            ValueError: An empty or blank query, ``top_k`` not a whole number >= 1, a threshold outside [-1, 1], or
                a query model that does not match the index.
        """
        single = isinstance(queries, str)
        items = [queries] if single else list(queries)
        _check_search(top_k, threshold)
        for position, query in enumerate(items):
            if not isinstance(query, str) or not query.strip():
                where = "the query" if single else f"queries[{position}]"
                what = "empty" if isinstance(query, str) else f"a {type(query).__name__}"
                raise ValueError(f"{where} is {what}: give text.")
        if not items:
            return []
        results = self.search_embeddings(self._encode(items, 64, False), top_k, threshold)
        return results[0] if single else results

    def search_embeddings(
        self, embeddings: np.ndarray | Sequence[Sequence[float]], top_k: int = 5, threshold: float | None = None
    ) -> list[list[SearchHit]]:
        """:meth:`search` with query embeddings ``[q, dim]`` (or one ``[dim]``) from the index's model; they are
        L2-normalised here, so scores are cosines."""
        _check_search(top_k, threshold)
        queries = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        if queries.ndim != 2 or queries.shape[1] != self.dimension:
            raise ValueError(f"query embeddings of shape {queries.shape}; the index holds {self.dimension}-d ones.")
        if len(queries) == 0 or len(self) == 0:
            return [[] for _ in range(len(queries))]
        queries = _unit(queries)
        if self.config.precision == "float32":
            scores, rows = self._store.search(queries, top_k)
        else:
            scores, rows = self._store.search(queries, top_k, self.config.rescore_multiplier)  # type: ignore[call-arg]
        ids = self._ids.array[:, 0]
        results = []
        for query_scores, query_rows in zip(scores, rows, strict=True):
            keep = (query_rows >= 0) & np.isfinite(query_scores)
            if threshold is not None:
                keep &= query_scores >= threshold
            kept_rows = query_rows[keep]
            texts = self._texts.get(kept_rows.tolist())
            results.append(
                [
                    SearchHit(int(ids[row]), text, float(score))
                    for row, text, score in zip(kept_rows, texts, query_scores[keep], strict=True)
                ]
            )
        return results

    # --- the model ----------------------------------------------------------------------------------------------

    @property
    def model(self) -> SentenceTransformer:
        """The query model: the one given, else the recorded one, loaded on first use and checked against the index."""
        if self._model is None:
            name = self.model_info["name"]
            try:
                model = model_for_encoding(name, self.inference)
            except (OSError, ValueError) as error:
                raise OSError(
                    f"This index was built with model {name!r}, which cannot be loaded here ({error}); pass "
                    "model=... to EmbeddingIndex.load (the same model, from where it is now)."
                ) from error
            self.check_model(model)
            self._model = model
        return self._model

    def check_model(self, model: SentenceTransformer) -> None:
        """Raise ``ValueError`` unless ``model`` gives this index's embeddings (same size, same probe embeddings)."""
        built = self.model_info
        dimension = _dimension(model)
        if dimension != built["dimension"]:
            raise ValueError(
                f"The query model {_model_name(model)!r} gives {dimension}-d embeddings; this index was built with "
                f"{built['name']!r} ({built['dimension']}-d). Use the model the index was built with."
            )
        probes = np.asarray(built["probe"]["embeddings"], dtype=np.float32)
        embeddings = model.encode(list(built["probe"]["sentences"]), normalize_embeddings=True, convert_to_numpy=True)
        cosine = float(np.min(np.sum(probes * embeddings, axis=1)))
        if cosine < PROBE_MIN_COSINE:
            raise ValueError(
                f"The query model {_model_name(model)!r} is not the model this index was built with "
                f"({built['name']!r}): their embeddings of the same probe sentences differ (cosine {cosine:.3f})."
            )

    # --- saving and loading ---------------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write the index to ``directory`` atomically (into a hidden sibling, then renamed): ``index.json`` (kind,
        settings, the model record, the file list with sizes and SHA-256), the vectors, the sentences and their ids.

        Raises:
            FileExistsError: ``directory`` exists and ``overwrite`` is False (or it is a non-empty folder that holds
                no index).
        """
        directory = Path(directory)
        manifest = {
            "simcse_st": simcse_st.__version__,
            "count": len(self),
            "next_id": self._next_id,
            "config": self.config.to_dict(),
            "settings": self._settings,
            "model": self.model_info,
        }

        def write(staging: Path) -> None:
            self._store.save(staging)
            self._texts.save(staging)
            np.save(staging / IDS, self._ids.array[:, 0])

        write_directory(directory, manifest, write, overwrite)
        logger.info(f"Saved the index ({len(self)} sentences) to {directory}.")
        return directory

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        model: str | os.PathLike[str] | SentenceTransformer | None = None,
        verify: bool = True,
        inference: InferenceConfig | None = None,
    ) -> EmbeddingIndex:
        """The index saved in ``directory``.

        Args:
            model: The query model (checked against the index now); default: the recorded model, loaded on the first
                text query.
            verify: Check every file's SHA-256 against ``index.json`` (sizes are always checked).
            inference: Backend and precision of the query model when it is loaded by name (the given one or the
                recorded one); default torch, bf16 where native.

        Raises:
            FileNotFoundError: No such directory.
            IndexFormatError: Not an index, a partial or damaged one, or another format version: nothing is loaded.
            ValueError: ``model`` does not match the index.
        """
        directory = Path(directory)
        manifest = read_manifest(directory, verify)
        workdir = Path(tempfile.mkdtemp(prefix="simcse-st-index-"))
        try:
            config = IndexConfig.from_dict(manifest["config"])
            settings = manifest["settings"]
            store = open_store(directory, config.kind, config.precision, settings, workdir)
            texts = TextStore.open(directory)
            ids = np.load(directory / IDS)[:, None]
        except (KeyError, TypeError, ValueError, OSError, RuntimeError) as error:
            shutil.rmtree(workdir, ignore_errors=True)
            raise IndexFormatError(f"{str(directory)!r}: the index cannot be read ({error}).") from error
        if not len(store) == len(texts) == len(ids) == manifest["count"]:
            shutil.rmtree(workdir, ignore_errors=True)
            raise IndexFormatError(
                f"{str(directory)!r}: {len(store)} vectors, {len(texts)} sentences and {len(ids)} ids, "
                f"{manifest['count']} expected; the index is damaged."
            )
        index = cls(
            config, settings, manifest["model"], store, texts, GrowableRows(1, np.int64, ids), manifest["next_id"],
            workdir,
        )  # fmt: skip
        index.inference = inference
        if model is not None:
            st_model = model_for_encoding(model, inference)
            index.check_model(st_model)
            index._model = st_model
        return index

    # --- facts ----------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._store)

    @property
    def dimension(self) -> int:
        return int(self.model_info["dimension"])

    @property
    def next_id(self) -> int:
        """The id the next added row gets (one past the last row of every input so far, blank rows included)."""
        return self._next_id

    @property
    def nbytes(self) -> int:
        """Bytes of vectors held in memory (int8: 1/4 of float32, binary: 1/32; their float32 rows stay on disk)."""
        return self._store.nbytes

    def tune(self, **changes: Any) -> EmbeddingIndex:
        """Change the search-time settings in place (``ef_search``, ``nprobe``, ``rescore_multiplier``: recall
        against speed, no rebuild) and return the index; :meth:`save` records them."""
        allowed = {"ef_search", "nprobe", "rescore_multiplier"}
        if set(changes) - allowed:
            unknown = sorted(set(changes) - allowed)
            raise ValueError(f"only {sorted(allowed)} can change after building; got {unknown}.")
        self.config = replace(self.config, **changes)  # validated by IndexConfig
        self._settings |= changes
        if hasattr(self._store, "settings"):
            self._store.settings = self._settings  # type: ignore[union-attr]
        return self

    def __repr__(self) -> str:
        return (
            f"EmbeddingIndex({len(self)} sentences, kind={self.config.kind!r}, precision={self.config.precision!r}, "
            f"model={self.model_info['name']!r}, dimension={self.dimension})"
        )


def _settings(config: IndexConfig, dimension: int, rows: int) -> dict[str, Any]:
    """What the store is built with: the config, the dimension and, for IVF, the resolved cluster count (√rows, at
    most rows / 39 so that faiss has its 39 training points per cluster) and training sample size."""
    settings = {"dimension": dimension, **config.to_dict()}
    if config.kind == "ivf":
        nlist = config.nlist or max(1, min(int(math.sqrt(rows)), rows // 39))
        settings |= {"nlist": nlist, "train_size": min(rows, config.train_size or 39 * nlist)}
    return settings


def _training_rows(seed: int, rows: int, size: int) -> np.ndarray:
    """The positions (sorted) of the IVF training sample: drawn at random, not the first rows (often one topic)."""
    return np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))


def _unit(rows: np.ndarray) -> np.ndarray:
    """``rows`` [n, d] scaled to unit L2 norm (a zero row stays zero), float32."""
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _check_sizes(batch_size: int, chunk_size: int) -> None:
    if batch_size < 1 or chunk_size < 1:
        raise ValueError(f"batch_size and chunk_size must be >= 1, got {batch_size} and {chunk_size}.")


def _check_search(top_k: int, threshold: float | None) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"top_k={top_k!r} is invalid: give a whole number >= 1.")
    if threshold is not None and not (isinstance(threshold, (int, float)) and -1.0 <= threshold <= 1.0):
        raise ValueError(f"threshold={threshold!r} is invalid: a cosine similarity between -1 and 1, or None.")


def _dimension(model: SentenceTransformer) -> int:
    dimension = model.get_embedding_dimension()
    return int(dimension) if dimension else int(model.encode(["x"], convert_to_numpy=True).shape[1])


def _model_name(model: SentenceTransformer) -> str:
    transformer = model[0]
    config = getattr(getattr(transformer, "auto_model", None), "config", None)
    return str(getattr(config, "_name_or_path", "") or type(transformer).__name__)


def _describe(model: SentenceTransformer, name: str) -> dict[str, Any]:
    probes = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
    parameter = next(model.parameters(), None)  # an ONNX / OpenVINO transformer has none
    dtype = parameter.dtype if parameter is not None else "float32"
    return {
        "name": name,
        "dimension": _dimension(model),
        "normalized": True,
        "similarity": "cosine",
        "dtype": str(dtype).removeprefix("torch."),
        "inference": getattr(model, "backend_description", "as given"),
        "probe": {"sentences": list(PROBES), "embeddings": np.asarray(probes, dtype=np.float32).tolist()},
    }
