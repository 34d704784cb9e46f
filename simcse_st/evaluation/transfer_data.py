"""Readers for the SentEval transfer tasks (MR, CR, SUBJ, MPQA, SST2, TREC, MRPC) in their SentEval file layout.

Each reader parses like SentEval's loader (``senteval/binary.py``, ``sst.py``, ``trec.py``, ``mrpc.py``): sentences
are split on whitespace and re-joined with single spaces, the way SimCSE's batcher re-joins SentEval's tokens.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from simcse_st.data.data_dir import DATA_ENV_VAR, require_file, resolve_data_dir

TransferTask = Literal["MR", "CR", "SUBJ", "MPQA", "SST2", "TREC", "MRPC"]
TRANSFER_TASKS: tuple[TransferTask, ...] = ("MR", "CR", "SUBJ", "MPQA", "SST2", "TREC", "MRPC")  # SimCSE's order
# (label 1 file, label 0 file), as SentEval passes them to BinaryClassifierEval(pos, neg)
BINARY_TASK_FILES: dict[str, tuple[str, str]] = {
    "MR": ("rt-polarity.pos", "rt-polarity.neg"),
    "CR": ("custrev.pos", "custrev.neg"),
    "SUBJ": ("subj.objective", "subj.subjective"),
    "MPQA": ("mpqa.pos", "mpqa.neg"),
}
TREC_CLASSES: tuple[str, ...] = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")


@dataclass
class TransferSplit:
    """One split of a transfer task: one text column (two for sentence pairs) and an integer label per row."""

    texts: tuple[list[str], ...]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.labels)

    def sorted_like_senteval(self) -> TransferSplit:
        """Rows stably sorted by (token count of each column, label), as SentEval orders them before encoding.

        The order matters beyond padding: SentEval's stratified folds are drawn over the sorted rows.
        """
        order = sorted(range(len(self)), key=lambda i: (*(len(col[i].split()) for col in self.texts), self.labels[i]))
        return TransferSplit(tuple([col[i] for i in order] for col in self.texts), [self.labels[i] for i in order])


def _join(text: str) -> str:
    return " ".join(text.split())


def read_binary_file(path: Path) -> list[str]:
    """One sentence per line (Latin-1, as SentEval opens them); empty lines are kept, as SentEval keeps them."""
    return [_join(line) for line in path.read_text(encoding="latin-1").splitlines()]


def read_sst2_file(path: Path) -> TransferSplit:
    """``sentence<TAB>label`` lines (UTF-8)."""
    sentences, labels = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            fields = line.strip().split("\t")
            if len(fields) < 2 or fields[1].strip() not in ("0", "1"):
                raise ValueError(f"{str(path)!r} line {number}: expected 'sentence<TAB>0|1', got {line!r}.")
            sentences.append(_join(fields[0]))
            labels.append(int(fields[1]))
    return TransferSplit((sentences,), labels)


def read_trec_file(path: Path) -> TransferSplit:
    """``COARSE:fine question`` lines (Latin-1); the label is the coarse class, the text follows the first space."""
    sentences, labels = [], []
    with open(path, encoding="latin-1") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            target, _, rest = line.strip().partition(":")
            if target not in TREC_CLASSES or " " not in rest:
                raise ValueError(f"{str(path)!r} line {number}: expected 'COARSE:fine question', got {line!r}.")
            sentences.append(_join(rest.split(" ", 1)[1]))
            labels.append(TREC_CLASSES.index(target))
    return TransferSplit((sentences,), labels)


def read_mrpc_file(path: Path) -> TransferSplit:
    """MSR paraphrase TSV (UTF-8 with or without BOM, CRLF): a header row, then Quality, #1 ID, #2 ID, #1 String,
    #2 String."""
    first, second, labels = [], [], []
    with open(path, encoding="utf-8-sig") as handle:
        rows = [line.strip().split("\t") for line in handle if line.strip()]
    for number, fields in enumerate(rows[1:], 2):
        if len(fields) < 5 or fields[0] not in ("0", "1"):
            raise ValueError(f"{str(path)!r} row {number}: expected 5 tab-separated fields, got {fields!r}.")
        labels.append(int(fields[0]))
        first.append(_join(fields[3]))
        second.append(_join(fields[4]))
    return TransferSplit((first, second), labels)


def resolve_transfer_tasks(tasks: str | Sequence[str] | None = None) -> list[TransferTask]:
    """The tasks to run in SimCSE's order: all seven for ``None``; names are case-insensitive."""
    if tasks is None:
        return list(TRANSFER_TASKS)
    wanted = {task.upper() for task in ([tasks] if isinstance(tasks, str) else tasks)}
    unknown = sorted(wanted - set(TRANSFER_TASKS))
    if unknown or not wanted:
        raise ValueError(f"tasks must be among {', '.join(TRANSFER_TASKS)}; got {tasks!r}.")
    return [task for task in TRANSFER_TASKS if task in wanted]


def transfer_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding the task folders (``MR/``, ``CR/``, ...): ``data_dir`` or ``$SIMCSE_ST_DATA``."""
    path = resolve_data_dir(data_dir)
    if path is None:
        raise ValueError(
            "The SentEval transfer tasks are read from local files, which are not on the Hugging Face hub in this "
            f"form: pass data_dir=... or set ${DATA_ENV_VAR} to a directory with MR/, CR/, SUBJ/, MPQA/, SST2/, "
            "TREC/ and MRPC/ in SentEval's layout."
        )
    return path


def read_transfer_task(task: TransferTask, data_dir: str | os.PathLike[str] | None = None) -> dict[str, TransferSplit]:
    """The splits of one task, in file order: ``{"all"}`` for MR/CR/SUBJ/MPQA, ``{"train", "dev", "test"}`` for
    SST2, ``{"train", "test"}`` for TREC and MRPC."""
    root = transfer_data_dir(data_dir) / task
    if task in BINARY_TASK_FILES:
        positive, negative = (
            read_binary_file(require_file(root / name, f"the {task} file {name!r}"))
            for name in BINARY_TASK_FILES[task]
        )
        return {"all": TransferSplit((positive + negative,), [1] * len(positive) + [0] * len(negative))}
    if task == "SST2":
        names = {split: f"sentiment-{split}" for split in ("train", "dev", "test")}
        return {
            split: read_sst2_file(require_file(root / name, f"the SST2 {split} file")) for split, name in names.items()
        }
    if task == "TREC":
        names = {"train": "train_5500.label", "test": "TREC_10.label"}
        return {
            split: read_trec_file(require_file(root / name, f"the TREC {split} file")) for split, name in names.items()
        }
    if task == "MRPC":
        names = {split: f"msr_paraphrase_{split}.txt" for split in ("train", "test")}
        return {
            split: read_mrpc_file(require_file(root / name, f"the MRPC {split} file")) for split, name in names.items()
        }
    raise ValueError(f"Unknown transfer task {task!r}; expected one of {', '.join(TRANSFER_TASKS)}.")
