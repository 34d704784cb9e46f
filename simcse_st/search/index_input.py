"""The sentences an index is built from: a list, or a corpus file read row by row as ``encode_file`` reads it."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, Union

from simcse_st.inference.encoding import iter_rows

Sentences = Union[Sequence[str], str, "os.PathLike[str]"]
InputDecodeErrors = Literal["strict", "replace"]  # no "skip": every row keeps its position, so ids stay row numbers


class IndexInput:
    """Where the sentences come from; iterating yields ``(row, text)`` for every non-blank row, in order.

    A ``str`` or path is a corpus file (``.txt``, ``.csv``/``.tsv`` with a header, ``.jsonl``; ``.gz`` ok), read
    streaming, so a corpus never has to fit in memory; a list or tuple is the sentences themselves. Rows are
    numbered from 0 in input order; blank rows are counted but not indexed, duplicates are indexed each time.
    """

    def __init__(self, sentences: Sentences, column: str | None = None, decode_errors: InputDecodeErrors = "strict"):
        if decode_errors not in ("strict", "replace"):
            raise ValueError(
                f"decode_errors={decode_errors!r} is invalid: choose 'strict' or 'replace' (an index keeps every "
                "row's position, so undecodable rows cannot be skipped)."
            )
        self.column, self.decode_errors = column, decode_errors
        if isinstance(sentences, (str, os.PathLike)):
            self.path: Path | None = Path(sentences)
            self.sentences: Sequence[str] = ()
            if not self.path.exists():
                raise FileNotFoundError(f"Corpus file not found: {str(self.path)!r}")
            if self.path.is_dir():
                raise IsADirectoryError(f"Expected a corpus file, got a directory: {str(self.path)!r}")
        else:
            self.path = None
            self.sentences = list(sentences)
            for position, text in enumerate(self.sentences):
                if not isinstance(text, str):
                    raise ValueError(f"sentences[{position}] is a {type(text).__name__}, not a string.")
        # A first pass over the file checks every row (bad JSON, missing column, bad UTF-8) before any encoding.
        self.rows = self.kept = 0
        for row, text in self._all_rows():
            self.rows = row + 1
            self.kept += bool(text.strip())

    @property
    def name(self) -> str:
        return str(self.path) if self.path is not None else "the sentences"

    def _all_rows(self) -> Iterator[tuple[int, str]]:
        texts = self.sentences
        if self.path is not None:
            texts = iter_rows(self.path, self.column, self.decode_errors, "keep", Counter())  # type: ignore[assignment]
        yield from enumerate(texts)

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return ((row, text) for row, text in self._all_rows() if text.strip())
