"""Your own scored pairs: read ``(sentence1, sentence2, score)`` rows from a csv/tsv/jsonl file, and evaluate on them
with sentence-transformers' ``EmbeddingSimilarityEvaluator`` (Spearman of the cosine similarities)."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

from simcse_st.data.names import DecodeErrors
from simcse_st.data.reading import corpus_format, delimited_rows, iter_lines

logger = logging.getLogger(__name__)

PairColumns = Sequence[str | int]
# Header names found without a mapping, in this order: (sentence 1, sentence 2, score).
DEFAULT_PAIR_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("sentence1", "sentence2", "score"),
    ("sentence1", "sentence2", "label"),
    ("sentence_A", "sentence_B", "relatedness_score"),  # SICK
    ("text1", "text2", "score"),
    ("s1", "s2", "score"),
)
SHOWN_BAD_ROWS = 10
PAIRS_EVALUATOR_NAME = "pairs"


def parse_pair_columns(text: str) -> tuple[str | int, ...]:
    """``"q,a,rating"`` → ``("q", "a", "rating")``; ``"5,6,4"`` → ``(5, 6, 4)`` (0-based positions, no header).

    Raises:
        ValueError: Not exactly three comma-separated names, or names and positions mixed.
    """
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"columns {text!r}: give three comma-separated columns: sentence 1, sentence 2, score.")
    digits = [part.isdigit() for part in parts]
    if any(digits) and not all(digits):
        raise ValueError(f"columns {text!r}: give three header names or three 0-based positions, not a mix.")
    return tuple(int(part) for part in parts) if all(digits) else tuple(parts)


def read_scored_pairs(
    path: str | os.PathLike[str],
    columns: PairColumns | None = None,
    skip_bad_rows: bool = False,
    errors: DecodeErrors = "strict",
) -> tuple[list[str], list[str], list[float]]:
    """The ``(sentences1, sentences2, scores)`` of a scored-pairs file, any score range (Spearman is rank-based).

    Formats, by suffix (``.gz`` looked through): ``.csv`` / ``.tsv`` with a header row, or without one when
    ``columns`` are 0-based positions (TSV is read without quoting, like STS-B); ``.jsonl`` (one object per line,
    ``columns`` are its keys). Without ``columns`` the header (or the first object) must hold one of
    :data:`DEFAULT_PAIR_COLUMNS`, e.g. ``sentence1, sentence2, score``.

    A bad row (a missing field, an empty sentence, a score that is not a finite number) is an error that lists the
    bad rows by line number (the first :data:`SHOWN_BAD_ROWS`); with ``skip_bad_rows`` they are dropped with a
    warning that lists them the same way.

    Raises:
        FileNotFoundError: No such file.
        ValueError: An unknown format or column, bad rows (without ``skip_bad_rows``), fewer than 2 pairs, or scores
            that are all equal (no ranking to correlate with).
    """
    path = Path(path)
    fmt = corpus_format(path)
    if fmt not in ("csv", "tsv", "jsonl"):
        raise ValueError(f"{path}: scored pairs must be a .csv, .tsv or .jsonl file (sentence1, sentence2, score).")
    if columns is not None and len(columns) != 3:
        raise ValueError(f"columns={list(columns)}: give three (sentence 1, sentence 2, score).")
    rows = _jsonl_rows(path, columns, errors) if fmt == "jsonl" else _delimited_rows(path, fmt, columns, errors)
    sentences1: list[str] = []
    sentences2: list[str] = []
    scores: list[float] = []
    bad: list[str] = []
    for line, cells in rows:
        problem = cells if isinstance(cells, str) else _problem(cells)
        if problem is not None:
            bad.append(f"line {line}: {problem}")
            continue
        sentences1.append(str(cells[0]).strip())  # type: ignore[index]
        sentences2.append(str(cells[1]).strip())  # type: ignore[index]
        scores.append(float(cells[2]))  # type: ignore[arg-type,index]
    if bad:
        more = len(bad) - SHOWN_BAD_ROWS
        listing = "; ".join(bad[:SHOWN_BAD_ROWS]) + (f"; {more} more" if more > 0 else "")
        if not skip_bad_rows:
            raise ValueError(f"{path}: {len(bad)} bad rows ({listing}). Fix them, or drop them: skip_bad_rows=True.")
        logger.warning(f"{path}: skipped {len(bad)} bad rows ({listing}).")
    if len(scores) < 2:
        raise ValueError(f"{path}: {len(scores)} usable pairs; at least 2 are needed for a correlation.")
    if min(scores) == max(scores):
        raise ValueError(f"{path}: every score is {scores[0]}; a correlation needs scores that differ.")
    logger.info(f"{path}: {len(scores)} scored pairs, scores from {min(scores)} to {max(scores)}")
    return sentences1, sentences2, scores


def _problem(cells: list[object | None]) -> str | None:
    for index, what in ((0, "sentence 1"), (1, "sentence 2")):
        if cells[index] is None:
            return f"no {what} column"
        if not isinstance(cells[index], str) or not str(cells[index]).strip():
            return f"{what} is empty" if isinstance(cells[index], str) else f"{what} is not a string"
    if cells[2] is None:
        return "no score column"
    try:
        score = float(cells[2])  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"score {cells[2]!r} is not a number"
    if isinstance(cells[2], bool) or not math.isfinite(score):
        return f"score {cells[2]!r} is not a finite number"
    return None


def _delimited_rows(
    path: Path, fmt: str, columns: PairColumns | None, errors: DecodeErrors
) -> Iterator[tuple[int, list[object | None]]]:
    rows = delimited_rows(path, fmt, errors)  # type: ignore[arg-type]
    if columns is not None and all(isinstance(c, int) for c in columns):
        indices = [int(c) for c in columns]  # no header: every line is a row
    else:
        first = next(rows, None)
        if first is None:
            raise ValueError(f"{path}: the file is empty.")
        header = [name.strip() for name in first[1]]
        indices = [header.index(name) for name in _names(path, header, columns)]
    for line, fields in rows:
        if not fields or not any(cell.strip() for cell in fields):
            continue  # a blank line
        yield line, [fields[i] if i < len(fields) else None for i in indices]


def _jsonl_rows(
    path: Path, columns: PairColumns | None, errors: DecodeErrors
) -> Iterator[tuple[int, list[object | None] | str]]:
    if columns is not None and any(isinstance(c, int) for c in columns):
        raise ValueError(f"{path}: a .jsonl file is read by key; give three key names as columns, not positions.")
    names: list[str] | None = None
    for line, text in enumerate(iter_lines(path, errors=errors), 1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            yield line, f"not valid JSON ({error.msg})"
            continue
        if not isinstance(record, dict):
            yield line, f"a JSON {type(record).__name__}, not an object"
            continue
        if names is None:
            names = _names(path, list(record), columns)
        yield line, [record.get(name) for name in names]


def _names(path: Path, header: list[str], columns: PairColumns | None) -> list[str]:
    if columns is not None:
        missing = [name for name in columns if name not in header]
        if missing:
            raise ValueError(f"{path}: no column {missing[0]!r}; the header has {header}.")
        return [str(name) for name in columns]
    for names in DEFAULT_PAIR_COLUMNS:
        if all(name in header for name in names):
            return list(names)
    raise ValueError(
        f"{path}: no sentence1, sentence2, score columns in the header {header}; name yours with columns="
        "(sentence 1, sentence 2, score), e.g. 'question,answer,rating' (or 0-based positions for a file without "
        "a header)."
    )


def scored_pairs_evaluator(
    path: str | os.PathLike[str],
    columns: PairColumns | None = None,
    skip_bad_rows: bool = False,
    batch_size: int = 64,
    name: str = PAIRS_EVALUATOR_NAME,
    show_progress_bar: bool = False,
) -> EmbeddingSimilarityEvaluator:
    """sentence-transformers' ``EmbeddingSimilarityEvaluator`` over the pairs of :func:`read_scored_pairs`: the
    Spearman (and Pearson) correlation of the cosine similarities with the scores. Use it as ``evaluator=`` in
    training (dev pairs: its primary metric ``<name>_spearman_cosine`` selects the checkpoint), or call it on a
    model (test pairs)."""
    sentences1, sentences2, scores = read_scored_pairs(path, columns, skip_bad_rows)
    evaluator = EmbeddingSimilarityEvaluator(
        sentences1,
        sentences2,
        scores,
        batch_size=batch_size,
        main_similarity="cosine",
        similarity_fn_names=["cosine"],
        name=name,
        show_progress_bar=show_progress_bar,
    )
    # it names its primary metric at its first call; the Trainer needs the name before (metric_for_best_model)
    evaluator.primary_metric = f"{name}_spearman_cosine" if name else "spearman_cosine"
    return evaluator
