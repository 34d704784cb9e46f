"""``simcse-st ablate`` on the tiny model: a study end to end, and user errors as one clean line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_clean_error, assert_ok, invoke, write_sts_dir


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "wiki.txt"
    path.write_text("\n".join(f"sentence number {i} is about topic {i % 7}." for i in range(80)) + "\n")
    return path


def test_ablate_runs_a_study_and_writes_the_tables(corpus: Path, tiny_bert_dir: Path, tmp_path: Path) -> None:
    data = write_sts_dir(tmp_path / "senteval")
    output = tmp_path / "ablations"
    args = ("ablate", corpus, "--model", tiny_bert_dir, "--data", data, "--output", output, "--studies", "precision")
    result = invoke(*args, "--max-steps", "1", "--eval-steps", "1", "--seeds", "1,2", "-q")
    assert_ok(result)
    assert "4 runs done, 0 skipped" in result.output
    records = [json.loads(path.read_text()) for path in sorted((output / "runs").glob("*/record.json"))]
    settings = sorted((str(r["config"]["bf16"]), r["seed"]) for r in records)
    assert settings == [("False", 1), ("False", 2), ("None", 1), ("None", 2)]  # fp32, and bf16 where supported
    assert "| fp32 |" in (output / "ablations.md").read_text()


def test_ablate_user_errors(corpus: Path, tiny_bert_dir: Path, tmp_path: Path) -> None:
    base = ("ablate", corpus, "--model", tiny_bert_dir, "--data", write_sts_dir(tmp_path / "d"), "-q")
    assert_clean_error(invoke(*base, "--studies", "table9"), "unknown studies", "table1")
    assert_clean_error(invoke(*base, "--studies", "table3", "--row", "p = 0.3"), "unknown rows ['p = 0.3']", "p = 0.2")
    assert_clean_error(invoke(*base, "--seeds", "one"), "--seeds one is invalid: give comma-separated integers")
    assert_clean_error(invoke(*base, "--max-steps", "0"), "--max-steps 0 is invalid")
    assert_clean_error(invoke("ablate", tmp_path / "none.txt", "--model", tiny_bert_dir, "-q"), "not found")
