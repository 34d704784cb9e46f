"""``simcse-st encode`` and ``encode_file``: one output row per input row, in order, in every format; clean errors."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import assert_clean_error, assert_ok, invoke, load, save_tiny_encoder
from torch.testing import assert_close

from simcse_st.inference.encoding import encode_file, output_format
from simcse_st.training.precision import bf16_supported

# duplicates, punctuation, quotes, commas and non-ASCII: all must come back in order, nothing merged or dropped
LINES = [
    "a man is playing a guitar.",
    'she said "hello, world".',
    "the cat sits on the mat.",
    "a man is playing a guitar.",
    "  leading and trailing spaces  ",
    "café, naïve, 東京",
    "the cat sits on the mat.",
]
# The exact comparisons with ``model.encode`` (float32) ask for fp32: the default precision, auto, is bf16 on CPUs
# with native bf16 (test_default_precision_is_bf16_close_where_native covers it).
FP32 = ("--precision", "fp32")


@pytest.fixture(scope="module")
def encoder_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(tiny_bert_dir, tmp_path_factory.mktemp("encoder") / "model")


@pytest.fixture(scope="module")
def expected(encoder_dir: Path) -> torch.Tensor:
    return torch.from_numpy(load(encoder_dir).encode(LINES, convert_to_numpy=True))


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def _jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_npy_matches_model_encode_row_by_row(
    text_file: Path, encoder_dir: Path, expected: torch.Tensor, tmp_path: Path
) -> None:
    output = tmp_path / "out" / "emb.npy"
    result = invoke("encode", text_file, "--model", encoder_dir, "--output", output, "--chunk-size", "3", *FP32)
    assert_ok(result)
    assert f"Wrote {len(LINES)} embeddings to {output}" in result.output
    array = np.load(output)
    assert array.shape == (len(LINES), 32) and array.dtype == np.float32
    assert_close(torch.from_numpy(array), expected, atol=1e-5, rtol=1e-4)
    assert not list(output.parent.glob("*.partial"))


def test_jsonl_and_csv_keep_text_and_order(
    text_file: Path, encoder_dir: Path, expected: torch.Tensor, tmp_path: Path
) -> None:
    jsonl, csv_out = tmp_path / "emb.jsonl", tmp_path / "emb.csv"
    assert_ok(invoke("encode", text_file, "-m", encoder_dir, "-o", jsonl, "--chunk-size", "2", "-q", *FP32))
    rows = _jsonl_rows(jsonl)
    assert [row["text"] for row in rows] == LINES
    assert_close(torch.tensor([row["embedding"] for row in rows]), expected, atol=1e-5, rtol=1e-4)

    assert_ok(invoke("encode", text_file, "-m", encoder_dir, "-o", csv_out, "-q", *FP32))
    with open(csv_out, newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["text"] + [f"dim_{i}" for i in range(32)]
    assert [row[0] for row in table[1:]] == LINES
    assert_close(torch.tensor([[float(x) for x in row[1:]] for row in table[1:]]), expected, atol=1e-5, rtol=1e-4)


def test_default_precision_is_bf16_close_where_native(
    text_file: Path, encoder_dir: Path, expected: torch.Tensor, tmp_path: Path
) -> None:
    """Without --precision (auto): float32 output, the same rows in order, exact where the CPU lacks native bf16 and
    within bf16 rounding where it has it."""
    output = tmp_path / "emb.npy"
    assert_ok(invoke("encode", text_file, "-m", encoder_dir, "-o", output, "-q"))
    array = torch.from_numpy(np.load(output))
    assert array.dtype == torch.float32 and array.shape == expected.shape
    tolerance = {"atol": 1e-2, "rtol": 5e-2} if bf16_supported("cpu") else {"atol": 1e-5, "rtol": 1e-4}
    assert_close(array, expected, **tolerance)
    cosine = torch.nn.functional.cosine_similarity(array, expected)
    assert cosine.min() > 0.999


def test_normalize(text_file: Path, encoder_dir: Path, expected: torch.Tensor, tmp_path: Path) -> None:
    output = tmp_path / "emb.npy"
    assert_ok(invoke("encode", text_file, "-m", encoder_dir, "-o", output, "--normalize", "-q", *FP32))
    assert_close(torch.from_numpy(np.load(output)), torch.nn.functional.normalize(expected), atol=1e-5, rtol=1e-4)


def test_csv_and_jsonl_inputs_with_a_column(encoder_dir: Path, expected: torch.Tensor, tmp_path: Path) -> None:
    csv_in = tmp_path / "in.csv"
    with open(csv_in, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body"])
        writer.writerows([i, line] for i, line in enumerate(LINES))
    jsonl_in = tmp_path / "in.jsonl.gz"
    with gzip.open(jsonl_in, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps({"body": line, "n": i}) + "\n" for i, line in enumerate(LINES))
    for source in (csv_in, jsonl_in):
        output = tmp_path / f"{source.name}.npy"
        assert_ok(invoke("encode", source, "-m", encoder_dir, "-o", output, "--column", "body", "-q", *FP32))
        assert_close(torch.from_numpy(np.load(output)), expected, atol=1e-5, rtol=1e-4)
    error = assert_clean_error(invoke("encode", csv_in, "-m", encoder_dir, "-o", tmp_path / "x.npy", "-q"))
    assert "column" in error  # two columns, none called text: say which to choose
    assert not (tmp_path / "x.npy").exists()


def test_blank_lines_error_by_default_or_are_kept(encoder_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "blank.txt"
    source.write_text("first.\n\n   \nlast.\n", encoding="utf-8")
    output = tmp_path / "emb.npy"
    assert_clean_error(invoke("encode", source, "-m", encoder_dir, "-o", output, "-q"), "line 2 is blank")
    assert not output.exists()
    assert_ok(invoke("encode", source, "-m", encoder_dir, "-o", output, "--blank-lines", "keep", "-q", *FP32))
    expected = load(encoder_dir).encode(["first.", "", "   ", "last."])
    assert_close(torch.from_numpy(np.load(output)), torch.from_numpy(expected), atol=1e-5, rtol=1e-4)


def test_undecodable_lines(encoder_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "bad.txt"
    source.write_bytes(b"good one.\nbad \xff byte.\nlast.\n")
    output = tmp_path / "emb.jsonl"
    assert_clean_error(invoke("encode", source, "-m", encoder_dir, "-o", output, "-q"), "line 2", "UTF-8")
    assert_ok(invoke("encode", source, "-m", encoder_dir, "-o", output, "--decode-errors", "skip", "-q"))
    assert [row["text"] for row in _jsonl_rows(output)] == ["good one.", "last."]
    assert_ok(invoke("encode", source, "-m", encoder_dir, "-o", output, "--decode-errors", "replace", "--overwrite"))
    assert [row["text"] for row in _jsonl_rows(output)][1] == "bad \ufffd byte."


def test_user_errors(text_file: Path, encoder_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "emb.npy"
    assert_clean_error(invoke("encode", tmp_path / "nope.txt", "-m", encoder_dir, "-o", output), "not found")
    assert_clean_error(invoke("encode", text_file, "-m", encoder_dir, "-o", tmp_path / "emb.parquet"), ".npy")
    assert_clean_error(invoke("encode", text_file, "-m", tmp_path / "no-model", "-o", output), "no-model")
    output.write_bytes(b"precious")
    assert_clean_error(invoke("encode", text_file, "-m", encoder_dir, "-o", output), "exists", "--overwrite")
    assert output.read_bytes() == b"precious"
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert_clean_error(invoke("encode", empty, "-m", encoder_dir, "-o", tmp_path / "e.npy"), "no rows")
    missing_model = invoke("encode", text_file, "-o", output)
    assert missing_model.exit_code == 2 and "--model" in missing_model.output


def test_library_function_with_a_loaded_model(text_file: Path, encoder_dir: Path, tmp_path: Path) -> None:
    model = load(encoder_dir)
    output = tmp_path / "emb.npy"
    rows = encode_file(text_file, output, model, chunk_size=4, batch_size=2, show_progress_bar=False)
    assert rows == len(LINES)
    assert np.load(output, mmap_mode="r").shape == (len(LINES), 32)
    assert output_format("x.JSONL") == "jsonl"
    with pytest.raises(ValueError, match="chunk_size"):
        encode_file(text_file, tmp_path / "y.npy", model, chunk_size=0)


def test_defect_13_another_partial_file_is_never_touched(encoder_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("a cat.\na dog.\n")
    output = tmp_path / "out.npy"
    theirs = tmp_path / "out.npy.partial"  # another process's file, or the user's
    theirs.write_text("not mine")
    assert_ok(invoke("encode", source, "--model", encoder_dir, "--output", output, "-q"))
    assert theirs.read_text() == "not mine" and np.load(output).shape[0] == 2
    assert oct(output.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    blank = tmp_path / "blank.txt"
    blank.write_text("a cat.\n\n")
    assert_clean_error(invoke("encode", blank, "--model", encoder_dir, "--output", tmp_path / "o2.npy", "-q"), "blank")
    assert theirs.read_text() == "not mine" and not list(tmp_path.glob(".o2.npy.*"))


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_defect_01_encode_refuses_to_write_fewer_rows_than_input_lines(
    encoder_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard behind "one output row per input row": a reader that loses a row (as the quoting TSV reader lost
    700 of 1,000) is caught before anything is written."""
    import simcse_st.inference.encoding as encoding

    source = tmp_path / "in.tsv"
    source.write_text("text\n" + "".join(f'"row {i}\n' for i in range(20)))  # opening quotes: TSV reads them as is
    original = encoding.iter_rows
    monkeypatch.setattr(encoding, "iter_rows", lambda *args: (text for i, text in enumerate(original(*args)) if i))
    with pytest.raises(ValueError, match=r"21 lines but 19 rows \+ 1 header"):
        encode_file(source, tmp_path / "out.npy", str(encoder_dir), show_progress_bar=False)
    assert not (tmp_path / "out.npy").exists()
    monkeypatch.setattr(encoding, "iter_rows", original)
    assert encode_file(source, tmp_path / "out.npy", str(encoder_dir), show_progress_bar=False) == 20
