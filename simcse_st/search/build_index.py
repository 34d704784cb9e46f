"""``build_index``: encode a corpus file into an :class:`EmbeddingIndex` and save it (``simcse-st index``)."""

from __future__ import annotations

import os
from pathlib import Path

from sentence_transformers import SentenceTransformer

from simcse_st.backends.inference_config import InferenceConfig
from simcse_st.search.embedding_index import EmbeddingIndex
from simcse_st.search.index_config import IndexConfig
from simcse_st.search.index_input import InputDecodeErrors, Sentences
from simcse_st.search.names import MANIFEST


def build_index(
    sentences: Sentences,
    model: str | os.PathLike[str] | SentenceTransformer,
    output_dir: str | os.PathLike[str],
    config: IndexConfig | None = None,
    *,
    column: str | None = None,
    batch_size: int = 64,
    chunk_size: int = 10_000,
    show_progress_bar: bool = True,
    decode_errors: InputDecodeErrors = "strict",
    overwrite: bool = False,
    inference: InferenceConfig | None = None,
) -> EmbeddingIndex:
    """:meth:`EmbeddingIndex.build` then :meth:`~EmbeddingIndex.save` to ``output_dir``, refusing an existing
    ``output_dir`` before anything is encoded (unless ``overwrite``). Returns the index.

    Example:
        ::

            build_index("corpus.txt", "runs/simcse", "corpus-index", IndexConfig(kind="hnsw"))
    """
    output = Path(output_dir)
    if output.exists() and not overwrite:
        raise FileExistsError(f"Index directory {str(output)!r} exists; pass overwrite=True to replace it.")
    if output.exists() and not (output / MANIFEST).is_file() and (not output.is_dir() or any(output.iterdir())):
        raise FileExistsError(f"{str(output)!r} exists and holds no index; refusing to replace it.")
    index = EmbeddingIndex.build(
        model, sentences, config, column=column, batch_size=batch_size, chunk_size=chunk_size,
        show_progress_bar=show_progress_bar, decode_errors=decode_errors, inference=inference,
    )  # fmt: skip
    index.save(output, overwrite=overwrite)
    return index
