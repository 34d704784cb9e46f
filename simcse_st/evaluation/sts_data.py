"""Read the seven STS tasks of SentEval/SimCSE from a SentEval-style directory or from the Hugging Face hub.

Every reader returns ``{subset_name: [(sentence1, sentence2, gold_score), ...]}``. Sentences are split on whitespace
and re-joined with single spaces, as SentEval does. The directory layout (names as in ``../shared/data``)::

    <data_dir>/
      STS12/ .. STS16/   STS.input.<subset>.txt  (sentence1 TAB sentence2, one pair per line)
                         STS.gs.<subset>.txt     (one gold score per line; an empty line = pair without gold, skipped)
      STSB/              sts-dev.csv, sts-test.csv  (TSV, no header, no CSV quoting: score = column 4,
                                                     sentences = columns 5 and 6; some rows have 9 fields)
      SICK/              SICK_trial.txt, SICK_test_annotated.txt  (TSV with a header row: pair_ID, sentence_A,
                                                                  sentence_B, relatedness_score, ...)

The STS12-16 subsets are found by globbing ``STS.gs.*.txt`` (``STS.gs.ALL.txt``, an aggregate file shipped with some
SentEval copies, is ignored); :data:`SENTEVAL_SUBSETS` lists the ones SentEval evaluates.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

from simcse_st.data.data_dir import DATA_ENV_VAR, require_file, resolve_data_dir

logger = logging.getLogger(__name__)

STSTask = Literal["sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr"]
STSMode = Literal["test", "dev"]
ScoredPair = tuple[str, str, float]
TaskData = dict[str, list[ScoredPair]]

STS_TASKS: tuple[STSTask, ...] = get_args(STSTask)
STS_YEAR_TASKS: tuple[STSTask, ...] = ("sts12", "sts13", "sts14", "sts15", "sts16")
DEV_TASKS: tuple[STSTask, ...] = ("stsb", "sickr")

# The subsets SentEval evaluates per year (and the pair counts with gold in ../shared/data, see SOURCES.md).
SENTEVAL_SUBSETS: dict[str, tuple[str, ...]] = {
    "sts12": ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),  # 750 750 459 750 399
    "sts13": ("FNWN", "headlines", "OnWN"),  # 189 750 561
    "sts14": ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"),  # 450 300 750 750 750 750
    "sts15": ("answers-forums", "answers-students", "belief", "headlines", "images"),  # 375 750 375 750 750
    "sts16": ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),  # 254 249 230 244 209
}
TASK_FOLDERS: dict[STSTask, str] = {
    "sts12": "STS12",
    "sts13": "STS13",
    "sts14": "STS14",
    "sts15": "STS15",
    "sts16": "STS16",
    "stsb": "STSB",
    "sickr": "SICK",
}
SPLIT_FILES: dict[STSTask, dict[STSMode, str]] = {
    "stsb": {"test": "sts-test.csv", "dev": "sts-dev.csv"},
    "sickr": {"test": "SICK_test_annotated.txt", "dev": "SICK_trial.txt"},
}

# Hub fallback: (dataset id, {mode: split}, factor that brings the scores to SentEval's 0-5 scale).
# The mteb STS12-16 sets are the SentEval files without the per-subset split; mteb/sickr-sts is all 9,927 SICK pairs
# (SentEval tests on the 4,927 of SICK_test_annotated.txt) and has no trial split, so SICK-R dev needs a directory.
HUB_DATASETS: dict[STSTask, tuple[str, dict[STSMode, str], float]] = {
    "sts12": ("mteb/sts12-sts", {"test": "test"}, 1.0),
    "sts13": ("mteb/sts13-sts", {"test": "test"}, 1.0),
    "sts14": ("mteb/sts14-sts", {"test": "test"}, 1.0),
    "sts15": ("mteb/sts15-sts", {"test": "test"}, 1.0),
    "sts16": ("mteb/sts16-sts", {"test": "test"}, 1.0),
    "stsb": ("sentence-transformers/stsb", {"test": "test", "dev": "validation"}, 5.0),
    "sickr": ("mteb/sickr-sts", {"test": "test"}, 1.0),
}
HUB_SUBSET = "all"
IGNORED_SUBSETS = ("ALL",)


def normalize_whitespace(text: str) -> str:
    """Split on whitespace and re-join with single spaces, as SentEval's tokenisation-free path does."""
    return " ".join(text.split())


def _read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\r\n") for line in handle]


def _parse_score(text: str, path: Path, line_number: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"Bad gold score {text!r} in {str(path)!r}, line {line_number}.") from None


def read_sts_year(folder: str | os.PathLike[str]) -> TaskData:
    """Read one STS12-16 folder: every ``STS.gs.<subset>.txt`` with its ``STS.input.<subset>.txt``.

    Pairs whose gold line is empty are skipped, as in SentEval. Subsets are ordered as in :data:`SENTEVAL_SUBSETS`
    when the folder's name is known, then alphabetically.
    """
    folder = Path(folder)
    gold_files = sorted(folder.glob("STS.gs.*.txt"))
    subsets = [p.name[len("STS.gs.") : -len(".txt")] for p in gold_files]
    subsets = [s for s in subsets if s not in IGNORED_SUBSETS]
    if not subsets:
        raise FileNotFoundError(f"Expected STS gold files at {str(folder / 'STS.gs.*.txt')!r}, but found none.")
    known = SENTEVAL_SUBSETS.get(folder.name.lower(), ())
    missing = [s for s in known if s not in subsets]
    if missing:  # a score over some subsets is not the task's score: SentEval's "all" is over every subset
        names = ", ".join(f"STS.gs.{s}.txt" for s in missing)
        raise FileNotFoundError(
            f"{folder} is missing {len(missing)} of the {len(known)} subsets SentEval scores {folder.name} on: "
            f"{names} (and their STS.input files)."
        )
    subsets.sort(key=lambda s: (known.index(s) if s in known else len(known), s))
    data: TaskData = {}
    for subset in subsets:
        gold_path = folder / f"STS.gs.{subset}.txt"
        input_path = require_file(folder / f"STS.input.{subset}.txt", f"the sentence pairs of subset {subset!r}")
        inputs, golds = _read_lines(input_path), _read_lines(gold_path)
        if len(inputs) != len(golds):
            raise ValueError(
                f"{str(input_path)!r} has {len(inputs)} lines but {str(gold_path)!r} has {len(golds)} (must match)."
            )
        pairs: list[ScoredPair] = []
        for number, (line, gold) in enumerate(zip(inputs, golds, strict=True), 1):
            if not gold.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise ValueError(f"Expected 'sentence1<TAB>sentence2' in {str(input_path)!r}, line {number}.")
            pairs.append(
                (
                    normalize_whitespace(fields[0]),
                    normalize_whitespace(fields[1]),
                    _parse_score(gold, gold_path, number),
                )
            )
        if not pairs:
            raise ValueError(f"{str(gold_path)!r} has no non-empty gold line.")
        data[subset] = pairs
    return data


def read_stsb_split(path: str | os.PathLike[str]) -> list[ScoredPair]:
    """Read an STS Benchmark ``sts-*.csv`` line by line with ``split('\\t')`` (never CSV quoting).

    Columns: genre, file, year, id, score, sentence1, sentence2 (and on some rows 2 more source columns).
    """
    path = Path(path)
    pairs: list[ScoredPair] = []
    for number, line in enumerate(_read_lines(path), 1):
        if not line.strip():
            continue
        fields = line.strip().split("\t")
        if len(fields) < 7:
            raise ValueError(f"Expected at least 7 tab-separated fields in {str(path)!r}, line {number}.")
        score = _parse_score(fields[4], path, number)
        pairs.append((normalize_whitespace(fields[5]), normalize_whitespace(fields[6]), score))
    return pairs


def read_sick_split(path: str | os.PathLike[str]) -> list[ScoredPair]:
    """Read a SICK ``SICK_*.txt`` file: a header row, then pair_ID, sentence_A, sentence_B, relatedness_score, ..."""
    path = Path(path)
    pairs: list[ScoredPair] = []
    for number, line in enumerate(_read_lines(path)[1:], 2):
        if not line.strip():
            continue
        fields = line.strip().split("\t")
        if len(fields) < 4:
            raise ValueError(f"Expected at least 4 tab-separated fields in {str(path)!r}, line {number}.")
        pairs.append(
            (normalize_whitespace(fields[1]), normalize_whitespace(fields[2]), _parse_score(fields[3], path, number))
        )
    return pairs


def read_sts_task(data_dir: str | os.PathLike[str], task: STSTask, mode: STSMode = "test") -> TaskData:
    """Read one task from a SentEval-style directory.

    STS12-16 give one entry per subset (``mode`` must be ``"test"``; they have no dev split). STS-B and SICK-R give
    one entry named after ``mode``: ``sts-test.csv``/``SICK_test_annotated.txt`` or ``sts-dev.csv``/``SICK_trial.txt``.
    Missing files raise ``FileNotFoundError`` naming the expected path.
    """
    folder = Path(data_dir) / TASK_FOLDERS[task]
    if task in STS_YEAR_TASKS:
        if mode != "test":
            raise ValueError(f"{task} has no {mode!r} split; only 'stsb' and 'sickr' have one.")
        if not folder.is_dir():
            raise FileNotFoundError(f"Expected the {task} folder at {str(folder)!r}, but no such directory exists.")
        return read_sts_year(folder)
    path = require_file(folder / SPLIT_FILES[task][mode], f"the {task} {mode} split")
    pairs = read_stsb_split(path) if task == "stsb" else read_sick_split(path)
    if not pairs:
        raise ValueError(f"{str(path)!r} holds no sentence pairs.")
    return {mode: pairs}


def load_sts_task_from_hub(task: STSTask, mode: STSMode = "test") -> TaskData:
    """Load one task from the Hugging Face hub (ids in :data:`HUB_DATASETS`), scores on SentEval's 0-5 scale.

    STS12-16 come as one entry named ``"all"`` (the hub sets carry no per-subset split). A failed download (for example
    offline) raises ``ConnectionError`` that says how to use a local directory instead.
    """
    from datasets import load_dataset

    dataset_id, splits, scale = HUB_DATASETS[task]
    if mode not in splits:
        raise ValueError(
            f"{task} has no {mode!r} split on the hub ({dataset_id}); pass data_dir= (or set ${DATA_ENV_VAR}) "
            "to a SentEval-style directory to use it."
        )
    try:
        dataset = load_dataset(dataset_id, split=splits[mode])
    except OSError as error:  # ConnectionError, DatasetNotFoundError, HTTP errors
        raise ConnectionError(
            f"Could not load {task} ({dataset_id!r}, split {splits[mode]!r}) from the Hugging Face hub: {error}. "
            f"To evaluate without the hub, pass data_dir= pointing to a SentEval-style directory with STS12..STS16, "
            f"STSB and SICK folders (see docs/evaluation-sts.md), or set ${DATA_ENV_VAR} to it."
        ) from error
    pairs = [
        (normalize_whitespace(s1), normalize_whitespace(s2), float(score) * scale)
        for s1, s2, score in zip(dataset["sentence1"], dataset["sentence2"], dataset["score"], strict=True)
    ]
    return {HUB_SUBSET if task in STS_YEAR_TASKS else mode: pairs}


def resolve_tasks(tasks: Sequence[str] | None, mode: STSMode, from_hub: bool = False) -> tuple[STSTask, ...]:
    """Validate ``tasks`` for ``mode``, in SimCSE's column order; ``None`` means every task the mode has.

    Test mode: all 7. Dev mode: STS-B and SICK-R (only STS-B from the hub, which has no SICK trial split). A single
    task name may be passed as a string.
    """
    if mode not in get_args(STSMode):
        raise ValueError(f"mode must be 'test' or 'dev', got {mode!r}.")
    if tasks is None:
        if mode == "test":
            return STS_TASKS
        return ("stsb",) if from_hub else DEV_TASKS
    if isinstance(tasks, str):
        tasks = [tasks]
    unknown = [t for t in tasks if t not in STS_TASKS]
    if unknown:
        raise ValueError(f"Unknown STS task(s) {unknown}; choose from {list(STS_TASKS)}.")
    if not tasks:
        raise ValueError("tasks must name at least one task.")
    if mode == "dev" and (no_dev := [t for t in tasks if t not in DEV_TASKS]):
        raise ValueError(f"Task(s) {no_dev} have no dev split; dev mode supports {list(DEV_TASKS)}.")
    return tuple(t for t in STS_TASKS if t in tasks)


def load_sts_tasks(
    data_dir: str | os.PathLike[str] | None = None,
    mode: STSMode = "test",
    tasks: Sequence[str] | None = None,
) -> dict[STSTask, TaskData]:
    """Load the STS tasks of ``mode`` from ``data_dir`` (or ``$SIMCSE_ST_DATA``), else from the hub.

    Example:
        ::

            data = load_sts_tasks("../shared/data", mode="test")
            len(data["sts12"]["MSRpar"])  # 750 (sentence1, sentence2, score) triples
    """
    directory = resolve_data_dir(data_dir)
    selected = resolve_tasks(tasks, mode, from_hub=directory is None)
    if directory is None:
        logger.info("No data directory given and $%s is unset: loading the STS sets from the hub.", DATA_ENV_VAR)
        return {task: load_sts_task_from_hub(task, mode) for task in selected}
    return {task: read_sts_task(directory, task, mode) for task in selected}
