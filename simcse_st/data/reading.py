"""Read and clean sentence corpora: `.txt` (one sentence per line), `.csv`, `.tsv`, `.jsonl`, optionally gzipped.

Everything streams line by line, so a corpus is never held twice in memory; only the kept sentences are.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import logging
import os
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

import pyarrow as pa
from datasets import Dataset

from simcse_st.data.names import (
    LENGTH_UNITS,
    UNICODE_NORMALIZATIONS,
    DecodeErrors,
    LengthUnit,
    UnicodeNormalization,
)

logger = logging.getLogger(__name__)

CorpusFormat = Literal["txt", "csv", "tsv", "jsonl"]
FORMATS: tuple[CorpusFormat, ...] = ("txt", "csv", "tsv", "jsonl")
# Byte order marks of encodings that are not UTF-8 (UTF-32 first: its little-endian mark starts with UTF-16's).
_FOREIGN_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32-LE"),
    (b"\x00\x00\xfe\xff", "UTF-32-BE"),
    (b"\xff\xfe", "UTF-16-LE"),
    (b"\xfe\xff", "UTF-16-BE"),
)
NUL_SHARE = 0.25  # a line with at least this share of NUL characters is not UTF-8 text (UTF-16/32 without a BOM)


def corpus_format(path: str | os.PathLike[str]) -> CorpusFormat:
    """The format of a corpus file from its suffix (``.gz`` is looked through); unknown suffixes read as text."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    suffix = suffixes[-1].lstrip(".") if suffixes else "txt"
    return suffix if suffix in FORMATS else "txt"  # type: ignore[return-value]


def _open_binary(path: Path) -> IO[bytes]:
    if not path.exists():
        raise FileNotFoundError(f"Corpus file not found: {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"Expected a corpus file, got a directory: {str(path)!r}")
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def _raw_lines(path: Path) -> Iterator[bytes]:
    """The raw lines of ``path``; a truncated or non-gzip ``.gz`` is a ``ValueError`` that names the file."""
    try:
        with _open_binary(path) as handle:
            yield from handle
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(f"{path}: not a complete gzip file ({error}); re-download or re-compress it.") from None


def count_lines(path: str | os.PathLike[str]) -> int:
    """The number of lines of a (possibly gzipped) file, as :func:`iter_lines` splits them."""
    return sum(1 for _ in _raw_lines(Path(path)))


def iter_lines(
    path: str | os.PathLike[str],
    errors: DecodeErrors = "strict",
    counts: Counter | None = None,
    keep_ends: bool = False,
) -> Iterator[str]:
    """Yield the decoded lines of a (possibly gzipped) UTF-8 file, without their line endings unless ``keep_ends``.

    ``errors="strict"`` raises ``UnicodeDecodeError``-derived ``ValueError`` naming the file and line number;
    ``"skip"`` drops undecodable lines (counted in ``counts["undecodable"]``); ``"replace"`` keeps them with U+FFFD.
    Lines that are mostly NUL characters (UTF-16/32 text without a byte order mark) follow the same rule (``skip``:
    counted in ``counts["NUL bytes"]``; ``replace``: the NULs removed). A UTF-8 byte order mark at the start of the
    file is removed; a UTF-16 or UTF-32 one is an error whatever ``errors`` says (decoding it as UTF-8 would train
    on NUL-interleaved junk).
    """
    if errors not in ("strict", "skip", "replace"):
        raise ValueError(f"errors must be 'strict', 'skip' or 'replace', got {errors!r}.")
    path = Path(path)
    for number, raw in enumerate(_raw_lines(path), 1):
        if number == 1:
            _check_byte_order_mark(path, raw)
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            if errors == "replace":
                line = raw.decode("utf-8", errors="replace")
            elif errors == "skip":
                if counts is not None:
                    counts["undecodable"] += 1
                continue
            else:
                raise ValueError(
                    f"{path}: line {number} is not valid UTF-8 ({error.reason} at byte {error.start}). "
                    "Pass errors='skip' to drop such lines or errors='replace' to keep them with U+FFFD."
                ) from None
        if "\x00" in line and line.count("\x00") >= NUL_SHARE * len(line.rstrip("\r\n")):
            if errors == "skip":
                if counts is not None:
                    counts["NUL bytes"] += 1
                continue
            if errors == "strict":
                raise ValueError(
                    f"{path}: line {number} is mostly NUL bytes: the file looks UTF-16 or UTF-32, not UTF-8. Convert "
                    "it (iconv -f UTF-16 -t UTF-8), or pass errors='skip' to drop such lines."
                )
            line = line.replace("\x00", "")
        yield line if keep_ends else line.rstrip("\r\n")


def _check_byte_order_mark(path: Path, first: bytes) -> None:
    for mark, encoding in _FOREIGN_BOMS:
        if first.startswith(mark):
            raise ValueError(
                f"{path}: the file is {encoding} (it starts with that byte order mark); only UTF-8 is read. Convert "
                f"it first, e.g. iconv -f {encoding} -t UTF-8 {path.name} > {path.stem}.utf8{path.suffix}."
            )


def delimited_rows(
    path: Path, fmt: CorpusFormat, errors: DecodeErrors = "strict", counts: Counter | None = None
) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each line of a ``.csv``/``.tsv`` file, the header first.

    TSV is read without quoting (one row per line, as STS-B and SICK are): a ``"`` is an ordinary character. In CSV a
    quoted field may hold line breaks, but an unbalanced ``"`` swallows the lines that follow into one field, so
    rows that run over several lines are counted and a warning names the first; a field past the csv module's size
    limit is an error naming its line.
    """
    counts = Counter() if counts is None else counts
    lines = iter_lines(path, errors=errors, counts=counts, keep_ends=True)
    if fmt == "tsv":
        reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(lines, delimiter=",")
    previous, spanning, first_spanning = 0, 0, 0
    try:
        for row in reader:
            start = previous + 1 + counts["undecodable"] + counts["NUL bytes"]
            if reader.line_num - previous > 1:
                spanning += 1
                first_spanning = first_spanning or start
            previous = reader.line_num
            yield start, row
    except csv.Error as error:
        line = previous + 1 + counts["undecodable"] + counts["NUL bytes"]
        raise ValueError(f"{path}: the row starting at line {line}: {error} (an unbalanced '\"'?).") from None
    if spanning:
        logger.warning(
            f"{path}: {spanning} rows run over several lines (the first starts at line {first_spanning}): quoted "
            "fields with line breaks, or an unbalanced '\"' that merged lines; .tsv files are read without quoting."
        )


def _iter_texts(
    path: Path, fmt: CorpusFormat, column: str | None, errors: DecodeErrors, counts: Counter
) -> Iterator[str]:
    if fmt in ("csv", "tsv"):
        yield from _iter_delimited(path, fmt, column, errors, counts)
        return
    lines = iter_lines(path, errors=errors, counts=counts)
    if fmt == "txt":
        yield from lines
        return
    yield from _iter_jsonl(path, lines, column, counts)


def _iter_delimited(
    path: Path, fmt: CorpusFormat, column: str | None, errors: DecodeErrors, counts: Counter
) -> Iterator[str]:
    rows = delimited_rows(path, fmt, errors, counts)
    first = next(rows, None)
    if first is None:
        return
    header = first[1]
    index = column_index(path, header, column)
    for _, row in rows:
        if not row:
            continue
        if index >= len(row):
            counts["missing column"] += 1
            continue
        yield row[index]


def column_index(path: Path, header: list[str], column: str | None) -> int:
    if column is None:
        if len(header) == 1:
            return 0
        for default in ("text", "sentence", "sent0"):
            if default in header:
                return header.index(default)
        raise ValueError(f"{path}: several columns {header}; choose one with column=NAME.")
    if column not in header:
        raise ValueError(f"{path}: no column {column!r}; the header has {header}.")
    return header.index(column)


def _iter_jsonl(path: Path, lines: Iterator[str], column: str | None, counts: Counter) -> Iterator[str]:
    key = column or "text"
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: line {number} is not valid JSON ({error.msg}).") from None
        if not isinstance(record, dict) or key not in record:
            if number == 1:
                found = list(record) if isinstance(record, dict) else type(record).__name__
                raise ValueError(f"{path}: line 1 has no key {key!r} (found {found}); choose one with column=NAME.")
            counts["missing column"] += 1
            continue
        value = record[key]
        if not isinstance(value, str):
            counts["not a string"] += 1
            continue
        yield value


def iter_sentences(
    path: str | os.PathLike[str],
    column: str | None = None,
    dedup: bool = True,
    min_words: int = 1,
    max_words: int | None = None,
    errors: DecodeErrors = "strict",
    limit: int | None = None,
    *,
    length_unit: LengthUnit = "words",
    normalization: UnicodeNormalization | None = None,
    token_length: Callable[[str], int] | None = None,
) -> Iterator[str]:
    """Stream the stripped, filtered sentences of a corpus file; when done, log how many were kept and why the
    others were dropped, and raise if none was usable.

    Args:
        path: ``.txt`` (one sentence per line), ``.csv``, ``.tsv`` or ``.jsonl`` (one object per line), each
            optionally gzipped (``.txt.gz``, ...).
        column: The text column of a ``.csv``/``.tsv`` (header row) or the key of a ``.jsonl`` file. Defaults to the
            only column, else ``text``/``sentence``/``sent0`` when present.
        dedup: Keep only the first occurrence of each (stripped) sentence. Duplicates in a batch are false
            negatives for SimCSE, so this is on by default. Sentences are remembered by their 64-bit hash, not
            their text, so dedup adds ~60 bytes per sentence (two different sentences collide with probability
            ~n²/2⁶⁵: about 3e-8 for a million).
        min_words: Drop sentences shorter than this, counted in ``length_unit`` (by default whitespace-separated
            words).
        max_words: Drop sentences longer than this, in ``length_unit`` (None: no limit).
        errors: What to do with lines that are not valid UTF-8: ``"strict"`` (raise, naming the line), ``"skip"``
            or ``"replace"``.
        limit: Stop after this many kept sentences.
        length_unit: What ``min_words``/``max_words`` count: ``"words"`` (whitespace-separated: a Chinese, Japanese
            or Thai sentence without spaces is one word), ``"characters"`` (Unicode code points of the stripped
            text) or ``"tokens"`` (``token_length(text)``, e.g. the model's tokenizer without special tokens).
        normalization: ``"NFC"`` or ``"NFKC"``: normalise each text (``unicodedata.normalize``) before the
            filters and dedup; ``None`` (default): the text as written.
        token_length: The token count of a text; required with ``length_unit="tokens"``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Bad settings, undecodable bytes with ``errors="strict"``, a missing column, or no usable sentence.
    """
    if min_words < 0 or (max_words is not None and max_words < max(min_words, 1)):
        raise ValueError(f"Need 0 <= min_words <= max_words, got min_words={min_words}, max_words={max_words}.")
    if length_unit not in LENGTH_UNITS:
        raise ValueError(f"length_unit={length_unit!r} is invalid: must be one of {', '.join(LENGTH_UNITS)}.")
    if normalization is not None and normalization not in UNICODE_NORMALIZATIONS:
        raise ValueError(f"normalization={normalization!r} is invalid: must be NFC, NFKC or None.")
    if length_unit == "tokens" and token_length is None:
        raise ValueError("length_unit='tokens' needs token_length (a function: text -> number of tokens).")
    measure = _length_function(length_unit, token_length)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}.")
    path = Path(path)
    counts: Counter = Counter()
    seen: set[int] = set()
    kept = 0
    for text in _iter_texts(path, corpus_format(path), column, errors, counts):
        counts["read"] += 1
        if normalization is not None:
            text = unicodedata.normalize(normalization, text)
        text = text.strip()
        if not text:
            counts["blank"] += 1
            continue
        if min_words > 1 or max_words is not None:
            words = measure(text)
            if words < min_words:
                counts["too short"] += 1
                continue
            if max_words is not None and words > max_words:
                counts["too long"] += 1
                continue
        if dedup:
            key = hash(text)
            if key in seen:
                counts["duplicate"] += 1
                continue
            seen.add(key)
        kept += 1
        yield text
        if limit is not None and kept >= limit:
            break
    dropped = ", ".join(f"{n} {why}" for why, n in counts.items() if why != "read" and n)
    rows = counts["read"] + sum(counts[why] for why in _UNREAD)  # every row, also those dropped while reading
    logger.info(f"{path}: kept {kept} of {rows} rows" + (f" (dropped: {dropped})" if dropped else ""))
    if not kept:
        detail = f"; dropped: {dropped}" if dropped else ""
        raise ValueError(f"{path}: no usable sentence (read {rows} rows{detail}).")


def _length_function(unit: LengthUnit, token_length: Callable[[str], int] | None) -> Callable[[str], int]:
    if unit == "words":
        return lambda text: len(text.split())
    if unit == "characters":
        return len
    return token_length  # type: ignore[return-value]


# Rows dropped before they are counted as read (they never became a text).
_UNREAD = ("undecodable", "NUL bytes", "missing column", "not a string")


def read_sentences(path: str | os.PathLike[str], **kwargs: Any) -> list[str]:
    """All sentences of :func:`iter_sentences` (same keyword arguments) as a list."""
    return list(iter_sentences(path, **kwargs))


def load_sentences(
    path: str | os.PathLike[str], column_name: str = "text", chunk_size: int = 100_000, **kwargs: Any
) -> Dataset:
    """Read a corpus with :func:`iter_sentences` into a one-column ``datasets.Dataset`` for the Trainer.

    The sentences go into Arrow ``chunk_size`` at a time, so no Python list of the whole corpus is ever built. Use
    the dataset with ``BatchSamplers.NO_DUPLICATES`` and ``dataloader_drop_last=True`` in the training arguments, or
    let :func:`simcse_st.training.train_simcse` set those for you. Keyword arguments go to :func:`iter_sentences`.
    """
    chunks: list[pa.Array] = []
    buffer: list[str] = []
    for sentence in iter_sentences(path, **kwargs):
        buffer.append(sentence)
        if len(buffer) == chunk_size:
            chunks.append(pa.array(buffer, type=pa.large_string()))
            buffer = []
    if buffer:
        chunks.append(pa.array(buffer, type=pa.large_string()))
    table = pa.Table.from_arrays([pa.chunked_array(chunks, type=pa.large_string())], names=[column_name])
    # An explicit fingerprint: without one, datasets hashes the whole table (a transient copy of the corpus).
    stat = Path(path).stat()
    key = json.dumps([str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, column_name, kwargs], default=str)
    return Dataset(table, fingerprint=hashlib.sha256(key.encode()).hexdigest()[:16])


def load_pairs(path: str | os.PathLike[str], errors: DecodeErrors = "strict") -> Dataset:
    """Read supervised SimCSE data: a ``.csv``/``.tsv`` with a header ``sent0, sent1[, hard_neg]``, like SimCSE's
    ``nli_for_simcse.csv`` (anchor, entailment, contradiction). Rows with an empty cell are dropped (and counted).

    Returns a ``datasets.Dataset`` with the columns ``sent0``, ``sent1`` and, when present, ``hard_neg``.
    """
    path = Path(path)
    fmt = corpus_format(path)
    if fmt not in ("csv", "tsv"):
        raise ValueError(f"{path}: supervised data must be a .csv or .tsv file with a sent0,sent1[,hard_neg] header.")
    rows = delimited_rows(path, fmt, errors)
    first = next(rows, None)
    if first is None:
        raise ValueError(f"{path}: the file is empty.")
    header = [name.strip() for name in first[1]]
    if "sent0" not in header or "sent1" not in header:
        raise ValueError(f"{path}: the header must name sent0 and sent1 (and optionally hard_neg); found {header}.")
    names = ["sent0", "sent1"] + (["hard_neg"] if "hard_neg" in header else [])
    indices = [header.index(name) for name in names]
    columns: dict[str, list[str]] = {name: [] for name in names}
    dropped = 0
    for _, row in rows:
        cells = [row[i].strip() if i < len(row) else "" for i in indices]
        if not all(cells):
            dropped += 1
            continue
        for name, cell in zip(names, cells, strict=True):
            columns[name].append(cell)
    kept = len(columns["sent0"])
    logger.info(
        f"{path}: kept {kept} rows with columns {names}"
        + (f" (dropped {dropped} with an empty cell)" if dropped else "")
    )
    if not kept:
        raise ValueError(f"{path}: no complete row (dropped {dropped} with an empty cell).")
    return Dataset.from_dict(columns)
