"""Your own scored pairs: formats, column mappings, any score range, bad rows by line number, the evaluator."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest
import torch
from scipy.stats import spearmanr
from sentence_transformers import SentenceTransformer

from simcse_st.evaluation import parse_pair_columns, read_scored_pairs, scored_pairs_evaluator

PAIRS = [
    ("a man plays a guitar.", "a man is playing a guitar.", 4.8),
    ("the cat sits on the mat.", "a dog runs in the park.", 0.4),
    ("rain is expected tomorrow.", "tomorrow it will rain.", 4.1),
    ("the band played all night.", "the museum opens at nine.", 0.9),
    ("two kids play football.", "children are playing soccer.", 3.7),
]


def _write_tsv(path: Path, header: str = "sentence1\tsentence2\tscore", rows: list[str] | None = None) -> Path:
    lines = [header] if header else []
    lines += rows if rows is not None else [f"{a}\t{b}\t{s}" for a, b, s in PAIRS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_tsv_csv_jsonl_and_gzip_read_the_same_pairs(tmp_path: Path) -> None:
    expected = ([a for a, _, _ in PAIRS], [b for _, b, _ in PAIRS], [s for _, _, s in PAIRS])
    assert read_scored_pairs(_write_tsv(tmp_path / "p.tsv")) == expected
    csv_rows = ["sentence1,sentence2,score"] + [f'"{a}","{b}",{s}' for a, b, s in PAIRS]
    (tmp_path / "p.csv").write_text("\n".join(csv_rows) + "\n")
    assert read_scored_pairs(tmp_path / "p.csv") == expected
    records = [json.dumps({"sentence1": a, "sentence2": b, "score": s}) for a, b, s in PAIRS]
    (tmp_path / "p.jsonl").write_text("\n".join(records) + "\n")
    assert read_scored_pairs(tmp_path / "p.jsonl") == expected
    with gzip.open(tmp_path / "p.tsv.gz", "wt") as handle:
        handle.write((tmp_path / "p.tsv").read_text())
    assert read_scored_pairs(tmp_path / "p.tsv.gz") == expected


def test_column_mapping_by_name_by_position_and_sick_names(tmp_path: Path) -> None:
    rows = [f"{i}\t{s * 20}\t{a}\t{b}" for i, (a, b, s) in enumerate(PAIRS)]  # scores 0-100
    named = _write_tsv(tmp_path / "named.tsv", "id\trating\tquery\tanswer", rows)
    s1, s2, scores = read_scored_pairs(named, ("query", "answer", "rating"))
    assert s1[0] == PAIRS[0][0] and s2[4] == PAIRS[4][1] and scores[0] == pytest.approx(96.0)
    headerless = _write_tsv(tmp_path / "stsb-like.tsv", "", rows)
    assert read_scored_pairs(headerless, (2, 3, 1)) == (s1, s2, scores)
    sick = _write_tsv(tmp_path / "sick.tsv", "pair_ID\tsentence_A\tsentence_B\trelatedness_score",
                      [f"{i}\t{a}\t{b}\t{s}" for i, (a, b, s) in enumerate(PAIRS)])  # fmt: skip
    assert read_scored_pairs(sick)[2] == [s for _, _, s in PAIRS]
    assert parse_pair_columns("q, a ,rating") == ("q", "a", "rating") and parse_pair_columns("5,6,4") == (5, 6, 4)
    with pytest.raises(ValueError, match="three comma-separated"):
        parse_pair_columns("a,b")
    with pytest.raises(ValueError, match="not a mix"):
        parse_pair_columns("a,2,score")


def test_bad_rows_are_listed_by_line_number(tmp_path: Path) -> None:
    rows = [f"{a}\t{b}\t{s}" for a, b, s in PAIRS]
    rows[1] = "only one sentence"  # line 3 (the header is line 1)
    rows[2] = "x\ty\tnot-a-number"  # line 4
    rows[4] = "\tempty first\t2.0"  # line 6
    path = _write_tsv(tmp_path / "bad.tsv", rows=[*rows, "nan\tpair\tnan"])  # line 7
    with pytest.raises(ValueError) as error:
        read_scored_pairs(path)
    message = str(error.value)
    assert "4 bad rows" in message and "line 3: no sentence 2 column" in message
    assert "line 4: score 'not-a-number' is not a number" in message and "line 6: sentence 1 is empty" in message
    assert "line 7: score 'nan' is not a finite number" in message


def test_skip_bad_rows_warns_with_the_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = [f"{a}\t{b}\t{s}" for a, b, s in PAIRS] + ["x\ty\t?"]
    path = _write_tsv(tmp_path / "bad.tsv", rows=rows)
    with caplog.at_level(logging.WARNING):
        s1, _, _ = read_scored_pairs(path, skip_bad_rows=True)
    assert len(s1) == 5 and "skipped 1 bad rows (line 7: score '?' is not a number)" in caplog.text


def test_jsonl_bad_lines_and_unusable_files(tmp_path: Path) -> None:
    lines = [json.dumps({"sentence1": a, "sentence2": b, "score": s}) for a, b, s in PAIRS]
    lines.insert(2, "{not json")
    lines.insert(4, json.dumps({"sentence1": "a", "sentence2": 3, "score": 1}))
    (tmp_path / "p.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 3: not valid JSON .*line 5: sentence 2 is not a string"):
        read_scored_pairs(tmp_path / "p.jsonl")
    with pytest.raises(ValueError, match="no sentence1, sentence2, score columns in the header"):
        read_scored_pairs(_write_tsv(tmp_path / "h.tsv", "a\tb\tc"))
    with pytest.raises(ValueError, match="no column 'query'"):
        read_scored_pairs(_write_tsv(tmp_path / "p.tsv"), ("query", "sentence2", "score"))
    same = _write_tsv(tmp_path / "same.tsv", rows=["a\tb\t3", "c\td\t3"])
    with pytest.raises(ValueError, match=r"every score is 3\.0"):
        read_scored_pairs(same)
    with pytest.raises(ValueError, match=r"must be a \.csv, \.tsv or \.jsonl"):
        read_scored_pairs(tmp_path / "pairs.txt")


def test_evaluator_is_the_spearman_of_the_cosines(tiny_model: SentenceTransformer, tmp_path: Path) -> None:
    evaluator = scored_pairs_evaluator(_write_tsv(tmp_path / "p.tsv"), name="mine")
    metrics = evaluator(tiny_model)
    assert evaluator.primary_metric == "mine_spearman_cosine"
    e1 = tiny_model.encode([a for a, _, _ in PAIRS], convert_to_tensor=True)
    e2 = tiny_model.encode([b for _, b, _ in PAIRS], convert_to_tensor=True)
    cosines = torch.nn.functional.cosine_similarity(e1, e2).tolist()
    expected = spearmanr([s for _, _, s in PAIRS], cosines).statistic
    assert metrics["mine_spearman_cosine"] == pytest.approx(expected, abs=1e-6)
