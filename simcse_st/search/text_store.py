"""``TextStore``: the indexed sentences on disk (one UTF-8 blob and its row offsets), read back a row at a time."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

TEXTS, OFFSETS = "sentences.bin", "offsets.npy"


class TextStore:
    """Append-only sentences: ``sentences.bin`` holds their UTF-8 bytes back to back, ``offsets`` (int64,
    ``[rows + 1]``) where each starts. Memory is the offsets (8 bytes a row); the text stays on disk and is read
    through a memory map, so a million sentences cost 8 MB of RAM, not a Python list of strings."""

    def __init__(self, directory: Path, offsets: np.ndarray | None = None) -> None:
        self.path = directory / TEXTS
        self._offsets = [np.asarray(offsets if offsets is not None else np.zeros(1), dtype=np.int64)]
        self._lock = threading.Lock()
        self._map: np.memmap | None = None
        if not self.path.exists():
            self.path.touch()

    @classmethod
    def open(cls, directory: Path) -> TextStore:
        """The store saved in ``directory`` (its ``sentences.bin`` and ``offsets.npy``), read-only in place."""
        return cls(directory, np.load(directory / OFFSETS))

    def __len__(self) -> int:
        return sum(len(part) - 1 for part in self._offsets)

    @property
    def offsets(self) -> np.ndarray:
        if len(self._offsets) > 1:
            self._offsets = [np.concatenate([self._offsets[0], *[part[1:] for part in self._offsets[1:]]])]
        return self._offsets[0]

    def writable_in(self, workdir: Path) -> None:
        """Copy the blob into ``workdir`` first if it lives elsewhere (a saved index is never written in place)."""
        if self.path.parent != workdir:
            target = workdir / TEXTS
            shutil.copyfile(self.path, target)
            with self._lock:
                self.path, self._map = target, None

    def add(self, texts: Iterable[str]) -> None:
        encoded = [text.encode("utf-8") for text in texts]
        if not encoded:
            return
        end = int(self._offsets[-1][-1])
        with self._lock, open(self.path, "ab") as handle:
            handle.write(b"".join(encoded))
            self._map = None
        self._offsets.append(np.concatenate([[end], end + np.cumsum([len(text) for text in encoded])]))

    def get(self, rows: Iterable[int]) -> list[str]:
        offsets = self.offsets
        with self._lock:
            if self._map is None and offsets[-1] > 0:
                self._map = np.memmap(self.path, dtype=np.uint8, mode="r", shape=(int(offsets[-1]),))
            data = self._map
        if data is None:
            return ["" for _ in rows]
        return [bytes(data[offsets[row] : offsets[row + 1]]).decode("utf-8") for row in rows]

    def save(self, directory: Path) -> None:
        """Write ``sentences.bin`` and ``offsets.npy`` into ``directory`` (another folder than this store's)."""
        shutil.copyfile(self.path, directory / TEXTS)
        np.save(directory / OFFSETS, self.offsets)
