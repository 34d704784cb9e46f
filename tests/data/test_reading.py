from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from simcse_st import load_sentences, read_sentences
from simcse_st.data import corpus_format


def test_txt_strips_skips_blank_and_dedups(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"\xef\xbb\xbf  first one \r\n\n   \nsecond\nfirst one\nthird\n")
    with caplog.at_level(logging.INFO, logger="simcse_st.data.reading"):
        assert read_sentences(path) == ["first one", "second", "third"]
    assert "kept 3 of 6" in caplog.text and "2 blank" in caplog.text and "1 duplicate" in caplog.text


def test_dedup_off_keeps_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("a b\na b\nc d\n")
    assert read_sentences(path, dedup=False) == ["a b", "a b", "c d"]


def test_word_filters_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("one\ntwo words\nthree words here\nfour words are here\n")
    assert read_sentences(path, min_words=2, max_words=3) == ["two words", "three words here"]
    assert read_sentences(path, limit=2) == ["one", "two words"]
    with pytest.raises(ValueError, match="min_words"):
        read_sentences(path, min_words=3, max_words=2)


def test_gzip_text(tmp_path: Path) -> None:
    path = tmp_path / "c.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("héllo wörld\nsecond line\n")
    assert corpus_format(path) == "txt"
    assert read_sentences(path) == ["héllo wörld", "second line"]


def test_csv_tsv_jsonl_with_columns(tmp_path: Path) -> None:
    csv_path = tmp_path / "c.csv"
    csv_path.write_text('id,text\n1,"hello, world"\n2,"multi\nline"\n3,\n')
    assert read_sentences(csv_path) == ["hello, world", "multi\nline"]
    tsv_path = tmp_path / "c.tsv"
    tsv_path.write_text("sent0\tsent1\nanchor one\tpositive one\n")
    assert read_sentences(tsv_path, column="sent1") == ["positive one"]
    jsonl_path = tmp_path / "c.jsonl"
    jsonl_path.write_text("\n".join(json.dumps({"body": s}) for s in ["x y", "z w"]) + "\n")
    assert read_sentences(jsonl_path, column="body") == ["x y", "z w"]


def test_missing_or_ambiguous_column(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="several columns"):
        read_sentences(path)
    with pytest.raises(ValueError, match="no column 'c'"):
        read_sentences(path, column="c")
    jsonl_path = tmp_path / "c.jsonl"
    jsonl_path.write_text('{"a": "x"}\n')
    with pytest.raises(ValueError, match="no key 'text'"):
        read_sentences(jsonl_path)
    jsonl_path.write_text('{"text": "x"}\nnot json\n')
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        read_sentences(jsonl_path)


def test_missing_file_directory_and_empty(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        read_sentences(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError):
        read_sentences(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="no usable sentence"):
        read_sentences(empty)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\t\n")
    with pytest.raises(ValueError, match=r"no usable sentence.*3 blank"):
        read_sentences(blank)


def test_undecodable_bytes_name_the_line_and_can_be_skipped_or_replaced(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"good line\ncaf\xe9 au lait\nlast line\n")
    with pytest.raises(ValueError, match=r"line 2 is not valid UTF-8.*errors='skip'"):
        read_sentences(path)
    assert read_sentences(path, errors="skip") == ["good line", "last line"]
    assert read_sentences(path, errors="replace") == ["good line", "caf\ufffd au lait", "last line"]
    with pytest.raises(ValueError, match="errors must be"):
        read_sentences(path, errors="ignore")  # type: ignore[arg-type]


def test_load_sentences_gives_a_one_column_dataset(corpus_file: Path) -> None:
    dataset = load_sentences(corpus_file)
    assert dataset.column_names == ["text"]
    assert len(dataset) == 16
    assert load_sentences(corpus_file, column_name="sentence", limit=3).column_names == ["sentence"]
