"""Every command on bad input (issue 16): a non-zero exit, one ``Error:`` line, no traceback, no file of the user's
changed. Table-driven: each case builds its files, runs one command, and is checked the same way."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import assert_clean_error, invoke, save_tiny_encoder, write_sts_dir
from conftest import SENTENCES

Case = Callable[[Path, Path, Path], list[str | Path]]  # (folder, tiny BERT, tiny encoder) -> arguments


def _corpus(folder: Path, name: str = "corpus.txt", data: bytes | None = None) -> Path:
    path = folder / name
    path.write_bytes(data if data is not None else ("\n".join(SENTENCES) + "\n").encode())
    return path


def _train(folder: Path, bert: Path, corpus: Path | str, *extra: str | Path) -> list[str | Path]:
    return ["train", corpus, "--model", bert, "--output", folder / "out", "--batch-size", "4", "--max-steps", "1",
            "--no-bf16", "-q", *extra]  # fmt: skip


def _partial_sts12(folder: Path) -> Path:
    """Issue 16's defect 6: an STS12 folder holding 1 of its 5 subsets."""
    data = write_sts_dir(folder / "d")
    for path in (data / "STS12").glob("STS.*.txt"):
        if "MSRpar" not in path.name:
            path.unlink()
    return data


def _busy_output(folder: Path) -> Path:
    (folder / "out").mkdir()
    (folder / "out" / "notes.txt").write_text("mine")
    return folder / "out"


CASES: dict[str, tuple[Case, str, int]] = {
    "train: missing corpus": (lambda f, b, e: _train(f, b, f / "nope.txt"), "not found", 1),
    "train: a directory as corpus": (lambda f, b, e: _train(f, b, f), "is a directory", 1),
    "train: empty corpus": (lambda f, b, e: _train(f, b, _corpus(f, data=b"\n \n")), "no usable sentence", 1),
    "train: UTF-16 corpus": (
        lambda f, b, e: _train(f, b, _corpus(f, data="a cat.\n".encode("utf-16")), "--decode-errors", "skip"),
        "UTF-16-LE",
        1,
    ),
    "train: truncated .gz": (
        lambda f, b, e: _train(
            f, b, _corpus(f, "c.txt.gz", gzip.compress("".join(f"line {i}\n" for i in range(9000)).encode())[:2000])
        ),
        "not a complete gzip file",
        1,
    ),
    "train: learning rate inf": (lambda f, b, e: _train(f, b, _corpus(f), "--lr", "inf"), "--lr inf is invalid", 1),
    "train: temperature inf": (
        lambda f, b, e: _train(f, b, _corpus(f), "--temperature", "inf"),
        "--temperature inf is invalid",
        1,
    ),
    "train: hard-negative weight inf": (
        lambda f, b, e: _train(f, b, _corpus(f), "--hard-negative-weight", "inf"),
        "--hard-negative-weight inf",
        1,
    ),
    "train: batch of one": (lambda f, b, e: _train(f, b, _corpus(f), "-b", "1"), "--batch-size 1 is invalid", 1),
    "train: max_seq_length past the positions": (
        lambda f, b, e: _train(f, b, _corpus(f), "--max-seq-length", "700"),
        "128 positions",
        1,
    ),
    "train: non-empty output": (lambda f, b, e: (_busy_output(f), _train(f, b, _corpus(f)))[1], "--overwrite", 1),
    "train: missing --config": (
        lambda f, b, e: _train(f, b, _corpus(f), "--config", f / "none.json"),
        "Config file not found",
        1,
    ),
    "train: --config not JSON": (
        lambda f, b, e: _train(f, b, _corpus(f), "--config", _corpus(f, "c.json", b"{oops")),
        "not a JSON file",
        1,
    ),
    "train: --config with an unknown field": (
        lambda f, b, e: _train(f, b, _corpus(f), "--config", _corpus(f, "c.json", json.dumps({"lr": 1}).encode())),
        "Unknown SimCSEConfig field",
        1,
    ),
    "train: supervised without sent0": (
        lambda f, b, e: _train(f, b, _corpus(f, "nli.csv", b"a,b\nx,y\n"), "--supervised"),
        "sent0 and sent1",
        1,
    ),
    "train: unknown model folder": (lambda f, b, e: _train(f, f / "no-model", _corpus(f)), "Model folder", 1),
    "train: unknown pooling": (lambda f, b, e: _train(f, b, _corpus(f), "--pooling", "max"), "'max' is not one", 2),
    "encode: missing input": (
        lambda f, b, e: ["encode", f / "nope.txt", "-m", e, "-o", f / "x.npy", "-q"],
        "not found",
        1,
    ),
    "encode: existing output": (
        lambda f, b, e: ["encode", _corpus(f), "-m", e, "-o", _corpus(f, "old.npy", b"old"), "-q"],
        "exists",
        1,
    ),
    "encode: blank row": (
        lambda f, b, e: ["encode", _corpus(f, data=b"a\n\nb\n"), "-m", e, "-o", f / "x.npy", "-q"],
        "line 2 is blank",
        1,
    ),
    "encode: unknown output format": (
        lambda f, b, e: ["encode", _corpus(f), "-m", e, "-o", f / "x.parquet", "-q"],
        "must end in .npy",
        1,
    ),
    "encode: UTF-32 input": (
        lambda f, b, e: ["encode", _corpus(f, data="a\n".encode("utf-32")), "-m", e, "-o", f / "x.npy", "-q"],
        "UTF-32-LE",
        1,
    ),
    "evaluate: missing data directory": (
        lambda f, b, e: ["evaluate", "-m", e, "--data", f / "none", "-q"],
        "does not exist",
        1,
    ),
    "evaluate: unknown task": (
        lambda f, b, e: ["evaluate", "-m", e, "--data", write_sts_dir(f / "d"), "-t", "sts99", "-q"],
        "sts99",
        1,
    ),
    "evaluate: STS12 with 1 of its 5 subsets": (
        lambda f, b, e: ["evaluate", "-m", e, "--data", _partial_sts12(f), "-t", "sts12", "-q"],
        "missing 4 of the 5 subsets",
        1,
    ),
    "similarity: one sentence": (lambda f, b, e: ["similarity", "-m", e, "only one", "-q"], "at least two", 2),
    "quickstart: missing data directory": (
        lambda f, b, e: ["quickstart", "--data", f / "none", "-o", f / "qs", "-q"],
        "does not exist",
        1,
    ),
    "ablate: bad seeds": (
        lambda f, b, e: ["ablate", _corpus(f), "-m", b, "--seeds", "one", "-q"],
        "--seeds one is invalid",
        1,
    ),
    "ablate: unknown study": (
        lambda f, b, e: ["ablate", _corpus(f), "-m", b, "-d", write_sts_dir(f / "d"), "-s", "table9", "-q"],
        "unknown studies",
        1,
    ),
}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def encoder(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(tiny_bert_dir, tmp_path_factory.mktemp("encoder") / "model")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_clear_error_and_changes_no_file(
    name: str, tiny_bert_dir: Path, encoder: Path, tmp_path: Path
) -> None:
    build, fragment, exit_code = CASES[name]
    arguments = build(tmp_path, tiny_bert_dir, encoder)
    before = _snapshot(tmp_path)
    assert_clean_error(invoke(*arguments), fragment, exit_code=exit_code)
    after = _snapshot(tmp_path)
    assert {key: after.get(key) for key in before} == before, "a file of the user's changed"
    assert not [key for key in after if key not in before and not key.startswith("out/.simcse-st")], after.keys()
