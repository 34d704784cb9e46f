"""``encode_file``: embed every row of a corpus file into ``.npy``, ``.jsonl`` or ``.csv``, streaming in chunks."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal, TypeVar

import numpy as np
from sentence_transformers import SentenceTransformer
from tqdm.auto import tqdm

from simcse_st.data.reading import DecodeErrors, column_index, corpus_format, count_lines, delimited_rows, iter_lines
from simcse_st.inference.model_loading import model_for_encoding

if TYPE_CHECKING:
    from simcse_st.backends.inference_config import InferenceConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")
OutputFormat = Literal["npy", "jsonl", "csv"]
BlankLines = Literal["error", "keep"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("npy", "jsonl", "csv")
FLOAT_FORMAT = "%.9g"  # 9 significant digits round-trip every float32 exactly


def output_format(path: str | os.PathLike[str]) -> OutputFormat:
    """The output format from the suffix of ``path``: ``.npy``, ``.jsonl`` or ``.csv``.

    Raises:
        ValueError: Any other suffix.
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in OUTPUT_FORMATS:
        raise ValueError(f"Output file {str(path)!r} must end in .npy, .jsonl or .csv (got {Path(path).suffix!r}).")
    return suffix  # type: ignore[return-value]


def encode_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    model: str | os.PathLike[str] | SentenceTransformer,
    column: str | None = None,
    batch_size: int = 64,
    normalize: bool = False,
    chunk_size: int = 10_000,
    show_progress_bar: bool = True,
    decode_errors: DecodeErrors = "strict",
    blank_lines: BlankLines = "error",
    overwrite: bool = False,
    inference: InferenceConfig | None = None,
) -> int:
    """Encode every row of ``input_path`` with ``model`` and write one embedding per row, in input order.

    Rows are never deduplicated, stripped or dropped: row ``i`` of the output is the embedding of row ``i`` of the
    input (a ``.txt`` line, a ``.csv``/``.tsv`` record after the header, a ``.jsonl`` line). The input is read twice,
    streaming: a cheap first pass counts the rows and checks them (blank rows, missing columns, bad JSON, bad UTF-8)
    before anything is encoded; the second pass encodes ``chunk_size`` rows at a time and appends them to the output,
    so memory is bounded by the chunk, not by the file. The output is written to a hidden file of its own next to it
    (``.<output>.<random>.partial``) and renamed when complete, so an interrupted run never leaves a truncated file
    under the final name and never touches another process's files.

    Output formats, by the suffix of ``output_path``:

    - ``.npy``: a float32 array ``[rows, dim]`` (``numpy.load``; ``mmap_mode="r"`` for big files).
    - ``.jsonl``: one ``{"text": ..., "embedding": [...]}`` object per line.
    - ``.csv``: a header ``text,dim_0,...,dim_<d-1>``, then the (quoted) text and its embedding per row.

    Floats in ``.jsonl`` and ``.csv`` are written with 9 significant digits, which round-trips float32 exactly.

    Args:
        input_path: ``.txt`` (one sentence per line), ``.csv``/``.tsv`` (with a header) or ``.jsonl``, optionally
            gzipped.
        output_path: The ``.npy``, ``.jsonl`` or ``.csv`` file to write.
        model: A model folder or hub id (loaded with :func:`simcse_st.inference.model_loading.load_model`) or a
            ``SentenceTransformer``.
        column: The text column of a ``.csv``/``.tsv`` or the key of a ``.jsonl`` input. Defaults to the only column,
            else ``text``/``sentence``/``sent0``.
        batch_size: Encoding batch size.
        normalize: L2-normalise the embeddings (then dot product = cosine similarity).
        chunk_size: Rows encoded and written at a time; bounds the memory.
        show_progress_bar: Show a progress bar over the rows.
        decode_errors: Lines that are not valid UTF-8: ``"strict"`` raises naming the line, ``"replace"`` keeps them
            with U+FFFD, ``"skip"`` drops them (the only way rows are dropped; their count is logged).
        blank_lines: Rows whose text is empty or only whitespace: ``"error"`` raises naming the first one before
            anything is encoded; ``"keep"`` encodes them as they are, so the output stays aligned with the input.
        overwrite: Replace ``output_path`` if it exists.
        inference: Backend and precision of a model loaded by name (default ``InferenceConfig()``: torch, bf16
            where the hardware runs it natively); see :class:`simcse_st.backends.InferenceConfig`.

    Returns:
        The number of rows written.

    Raises:
        FileNotFoundError: ``input_path`` does not exist (or a model path does not).
        IsADirectoryError: ``input_path`` is a directory.
        FileExistsError: ``output_path`` exists and ``overwrite`` is False.
        ValueError: Bad settings or output suffix, a blank row with ``blank_lines="error"``, a missing column, bad
            JSON or UTF-8, or an input without rows.
        OSError: The model could not be loaded (e.g. a hub id while offline).

    Example:
        ::

            from simcse_st.inference.encoding import encode_file

            rows = encode_file("sentences.txt", "embeddings.npy", model="runs/simcse", normalize=True)
            embeddings = numpy.load("embeddings.npy", mmap_mode="r")  # shape (rows, dim)
    """
    if batch_size < 1 or chunk_size < 1:
        raise ValueError(f"batch_size and chunk_size must be >= 1, got {batch_size} and {chunk_size}.")
    if decode_errors not in ("strict", "skip", "replace"):
        raise ValueError(f"decode_errors must be 'strict', 'skip' or 'replace', got {decode_errors!r}.")
    if blank_lines not in ("error", "keep"):
        raise ValueError(f"blank_lines must be 'error' or 'keep', got {blank_lines!r}.")
    input_path, output_path = Path(input_path), Path(output_path)
    fmt = output_format(output_path)
    if not input_path.exists():
        raise FileNotFoundError(f"Input file not found: {str(input_path)!r}")
    if input_path.is_dir():
        raise IsADirectoryError(f"Expected an input file, got a directory: {str(input_path)!r}")
    if output_path.is_dir():
        raise IsADirectoryError(f"The output {str(output_path)!r} is a directory; name a .npy, .jsonl or .csv file.")
    if output_path.exists() and not overwrite:
        raise FileExistsError(f"Output file {str(output_path)!r} exists; pass overwrite=True.")
    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise ValueError("The output file must not be the input file.")

    counts: Counter = Counter()
    total = sum(1 for _ in iter_rows(input_path, column, decode_errors, blank_lines, counts))
    if counts["undecodable"]:
        logger.warning(
            f"{input_path}: skipping {counts['undecodable']} lines that are not valid UTF-8; "
            "the output has no row for them."
        )
    if total == 0:
        raise ValueError(f"{input_path}: no rows to encode.")
    _check_one_row_per_line(input_path, total, counts)
    st_model = model_for_encoding(model, inference)

    output_path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own next to the output (same filesystem: the final rename is atomic); an existing
    # "<output>.partial" that another process writes is never touched.
    descriptor, name = tempfile.mkstemp(dir=output_path.parent, prefix=f".{output_path.name}.", suffix=".partial")
    os.close(descriptor)
    partial = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    partial.chmod(0o666 & ~umask)  # the permissions a plain open() would give the output, not mkstemp's 0600
    start = time.perf_counter()
    written, dim = 0, 0
    try:
        with (
            open(partial, "wb") as handle,
            tqdm(total=total, unit=" rows", desc="Encoding", disable=not show_progress_bar) as bar,
        ):
            rows = iter_rows(input_path, column, decode_errors, blank_lines, Counter())
            for texts in chunks(rows, chunk_size):
                embeddings = st_model.encode(
                    texts,
                    batch_size=batch_size,
                    normalize_embeddings=normalize,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                embeddings = np.asarray(embeddings, dtype=np.float32)
                if written + len(texts) > total:
                    raise ValueError(f"{input_path} changed while it was being encoded (more rows than counted).")
                if written == 0:
                    dim = embeddings.shape[1]
                    _write_header(handle, fmt, total, dim)
                _write_chunk(handle, fmt, texts, embeddings)
                written += len(texts)
                bar.update(len(texts))
        if written != total:
            raise ValueError(f"{input_path} changed while it was being encoded ({written} rows, {total} counted).")
        os.replace(partial, output_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - start
    logger.info(
        f"Encoded {written} rows (dim {dim}) into {output_path} in {seconds:.1f} s "
        f"({written / max(seconds, 1e-9):.0f} rows/s)."
    )
    return written


def iter_rows(
    path: Path, column: str | None, errors: DecodeErrors, blank_lines: BlankLines, counts: Counter
) -> Iterator[str]:
    """Every row's text in file order (no dedup, no stripping, no dropping), checking blanks and columns.

    ``simcse_st.data.reading`` streams too, but drops blank rows and rows without the column (it reads training
    corpora); encoding needs exactly one output row per input row, hence this iterator.
    """
    fmt = corpus_format(path)
    if fmt == "txt":
        texts = _number_lines(iter_lines(path, errors=errors, counts=counts), counts)
    elif fmt == "jsonl":
        texts = _jsonl_texts(path, iter_lines(path, errors=errors, counts=counts), column, counts)
    else:
        texts = _delimited_texts(path, fmt, column, errors, counts)
    for line, text in texts:
        if not text.strip() and blank_lines == "error":
            raise ValueError(
                f"{path}: line {line} is blank. Every input row becomes one output row: remove blank rows, or pass "
                "blank_lines='keep' to encode them as they are."
            )
        yield text


def _check_one_row_per_line(path: Path, rows: int, counts: Counter) -> None:
    """Every line of the input is a row, the header, or a line reported as skipped: nothing vanished unnoticed.
    (A ``.csv`` quoted field with line breaks is one row over several lines; it is reported by the reader.)"""
    header = 1 if corpus_format(path) in ("csv", "tsv") else 0
    skipped = counts["undecodable"] + counts["NUL bytes"]
    lines = count_lines(path)
    if rows + header + skipped != lines and corpus_format(path) != "csv":
        raise ValueError(
            f"{path}: {lines} lines but {rows} rows + {header} header + {skipped} skipped lines; refusing to write "
            "embeddings that do not match the input line by line."
        )


def _number_lines(lines: Iterator[str], counts: Counter) -> Iterator[tuple[int, str]]:
    for index, text in enumerate(lines, 1):
        yield index + counts["undecodable"] + counts["NUL bytes"], text


def _jsonl_texts(path: Path, lines: Iterator[str], column: str | None, counts: Counter) -> Iterator[tuple[int, str]]:
    key = column or "text"
    for line, raw in _number_lines(lines, counts):
        if not raw.strip():
            yield line, ""
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: line {line} is not valid JSON ({error.msg}).") from None
        if not isinstance(record, dict) or key not in record:
            found = sorted(record) if isinstance(record, dict) else type(record).__name__
            raise ValueError(f"{path}: line {line} has no key {key!r} (found {found}); choose one with column=NAME.")
        value = record[key]
        if not isinstance(value, str):
            raise ValueError(f"{path}: line {line}: {key!r} is a {type(value).__name__}, not a string.")
        yield line, value


def _delimited_texts(
    path: Path, fmt: str, column: str | None, errors: DecodeErrors, counts: Counter
) -> Iterator[tuple[int, str]]:
    rows = delimited_rows(path, fmt, errors, counts)  # type: ignore[arg-type]
    first = next(rows, None)
    if first is None:
        return
    header = first[1]
    index = column_index(path, header, column)
    for line, row in rows:
        if not row:
            yield line, ""
        elif index >= len(row):
            raise ValueError(f"{path}: line {line} has {len(row)} fields, no column {header[index]!r}.")
        else:
            yield line, row[index]


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in consecutive lists of ``size`` (the last one shorter), streaming."""
    chunk: list[T] = []
    for text in items:
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_header(handle: IO[bytes], fmt: OutputFormat, rows: int, dim: int) -> None:
    if fmt == "npy":
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False, "shape": (rows, dim)}
        np.lib.format.write_array_header_1_0(handle, header)
    elif fmt == "csv":
        handle.write(("text," + ",".join(f"dim_{i}" for i in range(dim)) + "\n").encode("utf-8"))


def _write_chunk(handle: IO[bytes], fmt: OutputFormat, texts: list[str], embeddings: np.ndarray) -> None:
    if fmt == "npy":
        handle.write(np.ascontiguousarray(embeddings, dtype="<f4").tobytes())
        return
    numbers = ",".join([FLOAT_FORMAT] * embeddings.shape[1])
    if fmt == "jsonl":
        lines = (
            f'{{"text": {json.dumps(text, ensure_ascii=False)}, "embedding": [{numbers % tuple(row)}]}}\n'
            for text, row in zip(texts, embeddings.tolist(), strict=True)
        )
    else:
        lines = (
            '"' + text.replace('"', '""') + '",' + numbers % tuple(row) + "\n"
            for text, row in zip(texts, embeddings.tolist(), strict=True)
        )
    handle.write("".join(lines).encode("utf-8"))
