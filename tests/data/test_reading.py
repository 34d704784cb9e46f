from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from simcse_st import load_pairs, load_sentences, read_sentences
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


# --- issue 16: reading defects (each test names its defect number) -------------------------------------------------


def test_defect_01_tsv_is_read_without_quoting_one_row_per_line(tmp_path: Path) -> None:
    path = tmp_path / "c.tsv"
    rows = [f'"hi {i}, he said\tanswer {i}' if i % 7 == 0 else f"plain {i}\tanswer {i}" for i in range(1000)]
    path.write_text("sent0\tsent1\n" + "\n".join(rows) + "\n")  # a field opening with an unbalanced quote
    sentences = read_sentences(path, column="sent0")
    assert len(sentences) == 1000 and sentences[0] == '"hi 0, he said'
    pairs = load_pairs(path)
    assert len(pairs) == 1000 and pairs[7]["sent0"] == '"hi 7, he said'


def test_defect_01_csv_quoting_problems_are_reported_with_their_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.csv"
    path.write_text('text\nfine\n"unbalanced, swallowing\nnext line\nand another\n')
    with caplog.at_level("WARNING"):
        sentences = read_sentences(path)
    assert len(sentences) == 2
    assert "1 rows run over several lines (the first starts at line 3)" in caplog.text
    huge = tmp_path / "huge.csv"
    huge.write_text('text\nfine\n"open quote\n' + ("x" * 100 + "\n") * 1400)  # > csv's 128 KB field limit
    with pytest.raises(ValueError, match=r"huge\.csv: the row starting at line 3: field larger than field limit"):
        read_sentences(huge)


def test_defect_10_truncated_or_non_gzip_files_name_the_file(tmp_path: Path) -> None:
    good = gzip.compress(("\n".join(f"sentence {i}" for i in range(5000)) + "\n").encode())
    truncated = tmp_path / "cut.txt.gz"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"cut\.txt\.gz: not a complete gzip file"):
        read_sentences(truncated)
    fake = tmp_path / "plain.txt.gz"
    fake.write_text("not gzip at all\n")
    with pytest.raises(ValueError, match=r"plain\.txt\.gz: not a complete gzip file"):
        read_sentences(fake)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_defect_11_utf16_and_utf32_files_are_refused_whatever_errors_says(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "wide.txt"
    text = "a man plays a guitar.\nthe cat sits.\n"
    bom = {"utf-16": b"", "utf-16-be": b"\xfe\xff", "utf-32": b""}[encoding]
    path.write_bytes(bom + text.encode(encoding))
    for errors in ("strict", "skip", "replace"):
        with pytest.raises(ValueError, match="byte order mark"):
            read_sentences(path, errors=errors)


def test_defect_11_and_14_nul_heavy_lines_without_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "nul.txt"
    path.write_bytes(b"good line\n" + "wide line\n".encode("utf-16-le") + b"\x00\x00\x00\n" + b"ok too\n")
    with pytest.raises(ValueError, match="line 2 is mostly NUL bytes"):
        read_sentences(path)
    assert read_sentences(path, errors="skip") == ["good line", "ok too"]  # NUL-only lines are not sentences
    assert "\x00" not in "".join(read_sentences(path, errors="replace"))


def test_defect_14_the_kept_count_includes_rows_dropped_while_reading(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"one\n\xff\xfe bad utf-8 \xc3\n\ntwo\none\n")
    with caplog.at_level("INFO", logger="simcse_st"):
        assert read_sentences(path, errors="skip") == ["one", "two"]
    assert "kept 2 of 5 rows (dropped: 1 undecodable, 1 blank, 1 duplicate)" in caplog.text


def test_length_filters_count_characters_or_tokens(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("我们去公园\n你好\n今天天气很好，我们去公园散步吧\nab cd ef\n", encoding="utf-8")
    # in words, each Chinese sentence is one word: a word filter cannot tell them apart
    assert read_sentences(path, min_words=2) == ["ab cd ef"]
    chars = read_sentences(path, min_words=3, max_words=8, length_unit="characters")
    assert chars == ["我们去公园", "ab cd ef"]  # 5 and 8 code points; 2 and 15 dropped
    tokens = read_sentences(path, max_words=2, length_unit="tokens", token_length=lambda text: len(text) // 2)
    assert tokens == ["我们去公园", "你好"]
    with pytest.raises(ValueError, match="needs token_length"):
        read_sentences(path, length_unit="tokens")
    with pytest.raises(ValueError, match="length_unit='bytes' is invalid"):
        read_sentences(path, length_unit="bytes")  # type: ignore[arg-type]


def test_unicode_normalization_is_off_by_default_and_folds_before_dedup(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    # full-width "ＡＢＣ１２３" and "ABC123"; a precomposed é and e + combining acute
    path.write_text("ＡＢＣ１２３ test\nABC123 test\ncaf\u00e9 noir\ncafe\u0301 noir\n", encoding="utf-8")
    assert len(read_sentences(path)) == 4  # default: the text as written
    assert read_sentences(path, normalization="NFC") == ["ＡＢＣ１２３ test", "ABC123 test", "café noir"]
    assert read_sentences(path, normalization="NFKC") == ["ABC123 test", "café noir"]
    with pytest.raises(ValueError, match="normalization='NFD' is invalid"):
        read_sentences(path, normalization="NFD")  # type: ignore[arg-type]
