"""Readers of the SentEval transfer tasks, on tiny fixture files written in the real formats and encodings."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from simcse_st.data.data_dir import DATA_ENV_VAR
from simcse_st.evaluation.transfer_data import (
    TRANSFER_TASKS,
    TREC_CLASSES,
    TransferSplit,
    read_transfer_task,
    resolve_transfer_tasks,
)

REAL_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
WORDS = ["good", "bad", "film", "plot", "great", "dull", "the", "a", "is", "very", "not", "fun"]


def _sentences(count: int, offset: int) -> list[str]:
    """``count`` distinct lowercase tokenised sentences of 2-6 tokens."""
    return [
        " ".join(WORDS[(offset + i + j * 5) % len(WORDS)] for j in range(2 + (i % 5))) + f" {offset + i} ."
        for i in range(count)
    ]


def write_transfer_dir(root: Path, per_class: int = 12) -> Path:
    """Write all seven tasks in SentEval's layout: Latin-1 TREC train, BOM + CRLF MRPC, empty line in CR."""
    for task, (first, second) in {
        "MR": ("rt-polarity.pos", "rt-polarity.neg"),
        "CR": ("custrev.pos", "custrev.neg"),
        "SUBJ": ("subj.objective", "subj.subjective"),
        "MPQA": ("mpqa.pos", "mpqa.neg"),
    }.items():
        (root / task).mkdir(parents=True)
        for index, name in enumerate((first, second)):
            lines = [f"{s} " for s in _sentences(per_class, 100 * index)]  # trailing space, as in the real files
            if task == "CR" and index == 0:
                lines[3] = ""  # the real CR files have empty lines, which SentEval keeps
            (root / task / name).write_text("\n".join(lines) + "\n", encoding="ascii")

    (root / "SST2").mkdir()
    for split, count in (("train", 3 * per_class), ("dev", per_class), ("test", per_class)):
        rows = [f"{s} \t{i % 2}" for i, s in enumerate(_sentences(count, 1000 + 100 * len(split)))]
        if split == "train":
            rows[0] = "a café  that 's   charming \t1"
        (root / "SST2" / f"sentiment-{split}").write_text("\n".join(rows) + "\n", encoding="utf-8")

    (root / "TREC").mkdir()
    for name, count in (("train_5500.label", 6), ("TREC_10.label", 2)):
        rows = [
            f"{TREC_CLASSES[i % 6]}:fine{i} {s.capitalize()} ?"
            for i, s in enumerate(_sentences(6 * count, 2000 + count))
        ]
        if name == "train_5500.label":
            rows[1] = "DESC:def What is a sister\xf0city ?"  # the Latin-1 byte 0xF0 of the real file
        (root / "TREC" / name).write_bytes(("\n".join(rows) + "\n").encode("latin-1"))

    (root / "MRPC").mkdir()
    header = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"
    for split, count in (("train", 2 * per_class), ("test", per_class)):
        first, second = _sentences(count, 3000), _sentences(count, 3100)
        rows = [
            f"{i % 2}\t{i}\t{i + 50}\t{a.capitalize()}, “quoted”\t{b}"
            for i, (a, b) in enumerate(zip(first, second, strict=True))
        ]
        text = "\r\n".join([header, *rows]) + "\r\n"
        (root / "MRPC" / f"msr_paraphrase_{split}.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return root


@pytest.fixture
def transfer_dir(tmp_path: Path) -> Path:
    return write_transfer_dir(tmp_path / "data")


def test_binary_tasks_read_label_one_file_first_and_keep_empty_lines(transfer_dir: Path) -> None:
    for task in ("MR", "CR", "SUBJ", "MPQA"):
        splits = read_transfer_task(task, transfer_dir)
        assert list(splits) == ["all"]
        data = splits["all"]
        assert len(data) == 24 and data.labels == [1] * 12 + [0] * 12
        expected = _sentences(12, 0) + _sentences(12, 100)
        if task == "CR":
            expected[3] = ""
        assert data.texts == (expected,)  # trailing spaces gone, file order kept
    subj = read_transfer_task("SUBJ", transfer_dir)["all"]
    objective = (transfer_dir / "SUBJ" / "subj.objective").read_text().splitlines()
    assert subj.texts[0][:12] == [line.strip() for line in objective] and subj.labels[:12] == [1] * 12


def test_sst2_reads_tab_separated_utf8_and_rejoins_tokens(transfer_dir: Path) -> None:
    splits = read_transfer_task("SST2", transfer_dir)
    assert {split: len(rows) for split, rows in splits.items()} == {"train": 36, "dev": 12, "test": 12}
    assert splits["train"].texts[0][0] == "a café that 's charming" and splits["train"].labels[0] == 1
    assert Counter(splits["dev"].labels) == {0: 6, 1: 6}


def test_trec_reads_latin1_coarse_labels_and_question_text(transfer_dir: Path) -> None:
    splits = read_transfer_task("TREC", transfer_dir)
    train, test = splits["train"], splits["test"]
    assert len(train) == 36 and len(test) == 12
    assert train.texts[0][1] == "What is a sister\u00f0city ?" and train.labels[1] == TREC_CLASSES.index("DESC")
    assert not train.texts[0][0].startswith("fine") and train.labels[0] == TREC_CLASSES.index("ABBR")
    assert Counter(train.labels) == {label: 6 for label in range(6)}


def test_mrpc_strips_bom_crlf_and_header(transfer_dir: Path) -> None:
    splits = read_transfer_task("MRPC", transfer_dir)
    train = splits["train"]
    assert len(train) == 24 and len(splits["test"]) == 12 and len(train.texts) == 2
    assert train.labels[:4] == [0, 1, 0, 1]
    assert train.texts[0][0].endswith(", “quoted”") and train.texts[0][0][0].isupper()
    assert not any("\r" in text or "\ufeff" in text or "Quality" in text for column in train.texts for text in column)


def test_sorted_like_senteval_sorts_stably_by_lengths_then_label() -> None:
    data = TransferSplit((["a b c", "a", "b c", "d", "e f"],), [0, 1, 1, 0, 0])
    ordered = data.sorted_like_senteval()
    assert ordered.texts[0] == ["d", "a", "e f", "b c", "a b c"] and ordered.labels == [0, 1, 0, 1, 0]
    pairs = TransferSplit((["a b", "a", "a"], ["x", "y z", "y"]), [1, 1, 0]).sorted_like_senteval()
    assert pairs.texts == (["a", "a", "a b"], ["y", "y z", "x"]) and pairs.labels == [0, 1, 1]


def test_missing_file_error_names_the_expected_path(transfer_dir: Path) -> None:
    (transfer_dir / "TREC" / "TREC_10.label").unlink()
    with pytest.raises(FileNotFoundError, match=r"TREC/TREC_10\.label"):
        read_transfer_task("TREC", transfer_dir)


def test_no_data_dir_asks_for_data_dir_or_env_var(monkeypatch: pytest.MonkeyPatch, transfer_dir: Path) -> None:
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    with pytest.raises(ValueError, match=f"data_dir=.*{DATA_ENV_VAR}"):
        read_transfer_task("MR")
    monkeypatch.setenv(DATA_ENV_VAR, str(transfer_dir))
    assert len(read_transfer_task("MR")["all"]) == 24


def test_resolve_transfer_tasks_orders_like_simcse_and_rejects_unknown_names() -> None:
    assert resolve_transfer_tasks(None) == list(TRANSFER_TASKS)
    assert resolve_transfer_tasks(["mrpc", "MR", "sst2"]) == ["MR", "SST2", "MRPC"]
    assert resolve_transfer_tasks("trec") == ["TREC"]
    with pytest.raises(ValueError, match="SST5"):
        resolve_transfer_tasks(["MR", "SST5"])


@pytest.mark.slow
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="needs ../shared/data")
def test_real_data_counts_match_sources_md() -> None:
    counts = {
        task: {s: Counter(d.labels) for s, d in read_transfer_task(task, REAL_DATA).items()} for task in TRANSFER_TASKS
    }
    assert counts["MR"]["all"] == {1: 5331, 0: 5331}
    assert counts["CR"]["all"] == {1: 2407, 0: 1368}
    assert counts["SUBJ"]["all"] == {1: 5000, 0: 5000}
    assert counts["MPQA"]["all"] == {1: 3312, 0: 7294}
    assert counts["SST2"]["train"] == {1: 37569, 0: 29780} and counts["SST2"]["test"] == {1: 909, 0: 912}
    assert counts["SST2"]["dev"] == {1: 444, 0: 428}
    assert sum(counts["TREC"]["train"].values()) == 5452 and sum(counts["TREC"]["test"].values()) == 500
    assert counts["MRPC"]["train"] == {1: 2753, 0: 1323} and counts["MRPC"]["test"] == {1: 1147, 0: 578}
