"""``simcse-st index`` / ``search``: what the library returns, through the CLI; user errors as one clean line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_clean_error, assert_ok, invoke, save_tiny_encoder
from conftest import SENTENCES

from simcse_st.search import EmbeddingIndex


@pytest.fixture(scope="module")
def encoder(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(tiny_bert_dir, tmp_path_factory.mktemp("encoder") / "model")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(SENTENCES[:8]) + "\n\n" + "\n".join(SENTENCES[8:]) + "\n")  # a blank row at 8
    return path


def test_index_then_search_prints_what_the_library_returns(encoder: Path, corpus: Path, tmp_path: Path) -> None:
    result = invoke("index", corpus, "--model", encoder, "--output", tmp_path / "idx", "--precision", "int8", "-q")
    assert_ok(result)
    assert f"Indexed {len(SENTENCES)} sentences" in result.output and "int8" in result.output
    result = invoke("search", tmp_path / "idx", SENTENCES[9], "the cat", "--top-k", "3", "--json", "-q")
    assert_ok(result)
    printed = json.loads(result.output)
    expected = EmbeddingIndex.load(tmp_path / "idx").search([SENTENCES[9], "the cat"], top_k=3)
    assert [item["query"] for item in printed] == [SENTENCES[9], "the cat"]
    for item, hits in zip(printed, expected, strict=True):
        assert [(hit["id"], hit["sentence"]) for hit in item["hits"]] == [(h.id, h.sentence) for h in hits]
        assert [hit["score"] for hit in item["hits"]] == pytest.approx([h.score for h in hits], abs=1e-5)
    assert printed[0]["hits"][0]["id"] == 10  # row 10 of the file: the blank row 8 shifts nothing


def test_search_reads_queries_from_a_file_and_prints_a_table(encoder: Path, corpus: Path, tmp_path: Path) -> None:
    assert_ok(invoke("index", corpus, "-m", encoder, "-o", tmp_path / "idx", "-q"))
    queries = tmp_path / "queries.txt"
    queries.write_text(f"{SENTENCES[0]}\n\n{SENTENCES[1]}\n")
    result = invoke("search", tmp_path / "idx", "--queries", queries, "-k", "2", "--threshold", "0.5", "-q")
    assert_ok(result)
    assert result.output.count("Query: ") == 2
    assert f"1. 1.0000  [0]  {SENTENCES[0]}" in result.output


def test_bad_search_input_is_one_clean_error(encoder: Path, corpus: Path, tmp_path: Path) -> None:
    assert_ok(invoke("index", corpus, "-m", encoder, "-o", tmp_path / "idx", "-q"))
    assert_clean_error(invoke("search", tmp_path / "idx", "x", "--top-k", "0"), "--top-k 0 is invalid")
    assert_clean_error(invoke("search", tmp_path / "idx", "x", "--threshold", "2"), "--threshold 2.0 is invalid")
    assert_clean_error(invoke("search", tmp_path / "idx", "  "), "queries[0] is empty")
    assert_clean_error(invoke("search", tmp_path / "idx"), "give a query")
    assert_clean_error(invoke("search", tmp_path / "nope", "x"), "Index directory not found")
    assert_clean_error(invoke("search", corpus.parent, "x"), "has no index.json")


def test_bad_index_input_is_one_clean_error(encoder: Path, corpus: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert_clean_error(invoke("index", empty, "-m", encoder, "-o", tmp_path / "a", "-q"), "no sentences to index")
    assert_ok(invoke("index", corpus, "-m", encoder, "-o", tmp_path / "idx", "-q"))
    assert_clean_error(invoke("index", corpus, "-m", encoder, "-o", tmp_path / "idx", "-q"), "exists", "--overwrite")
    assert_ok(invoke("index", corpus, "-m", encoder, "-o", tmp_path / "idx", "--overwrite", "-q"))
    assert_clean_error(
        invoke("index", corpus, "-m", encoder, "-o", tmp_path / "b", "--kind", "hnsw", "--precision", "int8"),
        "the faiss kinds hold float32",
    )
    assert_clean_error(invoke("index", tmp_path / "missing.txt", "-m", encoder, "-o", tmp_path / "c"), "not found")
