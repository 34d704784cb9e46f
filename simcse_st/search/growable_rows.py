"""``GrowableRows``: a 2-D array that rows are appended to without copying it on every append."""

from __future__ import annotations

import numpy as np


class GrowableRows:
    """Rows of one dtype and width in a preallocated buffer: :meth:`reserve` the known total once (no copy at all),
    otherwise the capacity doubles when full (amortised O(1) per row). :attr:`array` is a view of the filled rows."""

    def __init__(self, width: int, dtype: np.dtype | type, rows: np.ndarray | None = None) -> None:
        self._buffer = np.empty((0, width), dtype=dtype) if rows is None else rows
        self._size = 0 if rows is None else len(rows)

    def __len__(self) -> int:
        return self._size

    @property
    def array(self) -> np.ndarray:
        return self._buffer[: self._size]

    @property
    def nbytes(self) -> int:
        return int(self._buffer.nbytes)

    def reserve(self, total: int) -> None:
        """Make room for ``total`` rows in all (one allocation; the filled rows are copied once if any)."""
        if total > len(self._buffer):
            buffer = np.empty((total, self._buffer.shape[1]), dtype=self._buffer.dtype)
            buffer[: self._size] = self._buffer[: self._size]
            self._buffer = buffer

    def append(self, rows: np.ndarray) -> None:
        end = self._size + len(rows)
        if end > len(self._buffer):
            self.reserve(max(end, 2 * len(self._buffer), 1024))
        self._buffer[self._size : end] = rows
        self._size = end
