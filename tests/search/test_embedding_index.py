"""EmbeddingIndex: every kind against a brute-force numpy reference, top_k / threshold semantics, ids of blank and
duplicate rows, streaming in chunks, the model check."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SENTENCES, build_tiny_bert, make_model
from sentence_transformers import SentenceTransformer

from simcse_st.search import EmbeddingIndex, IndexConfig

CORPUS = SENTENCES + [f"{sentence[:-1]} again and again." for sentence in SENTENCES] + ["a b c", "x y z"]
QUERIES = ["a man plays the guitar.", "the weather is bad.", "dogs in the park", "football"]
CONFIGS = {
    "exact": IndexConfig(),
    "int8": IndexConfig(precision="int8"),
    "binary": IndexConfig(precision="binary"),
    "hnsw": IndexConfig(kind="hnsw"),
    "ivf": IndexConfig(kind="ivf", nlist=2, nprobe=2),
}
needs_faiss = pytest.importorskip  # the faiss kinds are skipped where the extra is not installed


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> SentenceTransformer:
    torch.manual_seed(0)
    return make_model(build_tiny_bert(tmp_path_factory.mktemp("search-bert")))


def reference(model: SentenceTransformer, corpus: list[str], queries: list[str]) -> np.ndarray:
    """Cosine similarities [queries, corpus] written out in numpy: normalise, one matrix product."""
    corpus_embeddings = model.encode(corpus, convert_to_numpy=True)
    query_embeddings = model.encode(queries, convert_to_numpy=True)
    corpus_embeddings /= np.linalg.norm(corpus_embeddings, axis=1, keepdims=True)
    query_embeddings /= np.linalg.norm(query_embeddings, axis=1, keepdims=True)
    return query_embeddings @ corpus_embeddings.T


def same_hits(hits: list, expected: list) -> bool:
    """The same rows and sentences in the same order, scores equal to float32 rounding (batching moves them ~1e-7)."""
    assert [(h.id, h.sentence) for h in hits] == [(h.id, h.sentence) for h in expected]
    torch.testing.assert_close([h.score for h in hits], [h.score for h in expected], rtol=0, atol=1e-5)
    return True


def build(model: SentenceTransformer, name: str, corpus: list[str] = CORPUS) -> EmbeddingIndex:
    if CONFIGS[name].kind != "exact":
        pytest.importorskip("faiss")
    return EmbeddingIndex.build(model, corpus, CONFIGS[name], show_progress_bar=False)


def test_exact_search_equals_the_brute_force_reference(model: SentenceTransformer) -> None:
    index = build(model, "exact")
    scores = reference(model, CORPUS, QUERIES)
    for query, row, hits in zip(QUERIES, scores, index.search(QUERIES, top_k=7), strict=True):
        order = np.argsort(-row, kind="stable")[:7]
        assert [hit.id for hit in hits] == order.tolist(), query
        assert [hit.sentence for hit in hits] == [CORPUS[i] for i in order]
        torch.testing.assert_close(
            np.array([hit.score for hit in hits], dtype=np.float32), row[order], rtol=0, atol=1e-5
        )


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_kind_returns_cosines_best_first_and_never_pads(model: SentenceTransformer, name: str) -> None:
    index = build(model, name)
    scores = reference(model, CORPUS, QUERIES)
    for row, hits in zip(scores, index.search(QUERIES, top_k=5), strict=True):
        ids = [hit.id for hit in hits]
        assert ids == np.argsort(-row, kind="stable")[:5].tolist()  # 34 rows: every kind finds the exact top 5
        # the scores are the exact cosines of those rows, whatever the kind (one threshold means the same everywhere)
        torch.testing.assert_close(
            np.array([hit.score for hit in hits], dtype=np.float32), row[ids], rtol=0, atol=1e-5
        )
    everything = index.search(QUERIES[0], top_k=1000)  # more than the index holds: what exists, no -1 padding
    assert len(everything) == len(CORPUS)
    assert sorted(hit.id for hit in everything) == list(range(len(CORPUS)))
    assert all(a.score >= b.score for a, b in itertools.pairwise(everything))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_threshold_keeps_exactly_the_hits_at_or_above_it(model: SentenceTransformer, name: str) -> None:
    index = build(model, name)
    row = reference(model, CORPUS, QUERIES[:1])[0]
    fourth, fifth = np.sort(row)[-4], np.sort(row)[-5]
    threshold = float(fourth + fifth) / 2  # between the 4th and 5th best scores: 4 rows qualify
    hits = index.search(QUERIES[0], top_k=10, threshold=threshold)
    assert [hit.id for hit in hits] == np.argsort(-row, kind="stable")[:4].tolist()
    assert all(hit.score >= threshold for hit in hits)
    assert index.search(QUERIES[0], top_k=2, threshold=threshold) == hits[:2]  # top_k still caps
    assert index.search(QUERIES[0], top_k=10, threshold=1.0) == [] or row.max() >= 1.0


def test_a_list_of_queries_honours_top_k_and_threshold_for_every_query(model: SentenceTransformer) -> None:
    index = build(model, "exact")
    results = index.search(QUERIES, top_k=3, threshold=0.0)
    assert len(results) == len(QUERIES)
    for query, hits in zip(QUERIES, results, strict=True):
        assert same_hits(hits, index.search(query, top_k=3, threshold=0.0))
        assert len(hits) <= 3 and all(hit.score >= 0.0 for hit in hits)
    assert index.search([], top_k=3) == []


@pytest.mark.parametrize("top_k", [0, -1, 1.5, True, "3"])
def test_bad_top_k_is_refused(model: SentenceTransformer, top_k: object) -> None:
    index = build(model, "exact")
    with pytest.raises(ValueError, match="top_k="):
        index.search("a query", top_k=top_k)  # type: ignore[arg-type]


def test_bad_queries_and_thresholds_are_refused(model: SentenceTransformer) -> None:
    index = build(model, "exact")
    with pytest.raises(ValueError, match="the query is empty"):
        index.search("   ")
    with pytest.raises(ValueError, match=r"queries\[1\] is empty"):
        index.search(["fine", ""])
    with pytest.raises(ValueError, match=r"queries\[0\] is a int"):
        index.search([3])  # type: ignore[list-item]
    for threshold in (1.5, -2, "0.5"):
        with pytest.raises(ValueError, match="threshold="):
            index.search("a query", threshold=threshold)  # type: ignore[arg-type]


def test_blank_and_duplicate_rows_keep_their_input_row_ids(model: SentenceTransformer, tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sits on the mat.\n\nbirds sing in the morning.\n   \nthe cat sits on the mat.\n")
    index = EmbeddingIndex.build(model, path, show_progress_bar=False)
    assert len(index) == 3 and index.next_id == 5
    hits = index.search("the cat sits on the mat.", top_k=5)
    assert [hit.id for hit in hits][:2] in ([0, 4], [4, 0])  # both copies, each with its own row
    assert {hit.id for hit in hits} == {0, 2, 4}
    torch.testing.assert_close(hits[0].score, 1.0, rtol=0, atol=1e-5)


def test_an_empty_or_blank_corpus_is_refused(model: SentenceTransformer, tmp_path: Path) -> None:
    empty, blank = tmp_path / "empty.txt", tmp_path / "blank.txt"
    empty.write_text("")
    blank.write_text("\n  \n\n")
    for path in (empty, blank):
        with pytest.raises(ValueError, match="no sentences to index"):
            EmbeddingIndex.build(model, path, show_progress_bar=False)
    with pytest.raises(ValueError, match="no sentences to index"):
        EmbeddingIndex.build(model, [], show_progress_bar=False)
    with pytest.raises(FileNotFoundError):
        EmbeddingIndex.build(model, tmp_path / "missing.txt", show_progress_bar=False)


def test_a_file_is_encoded_a_chunk_at_a_time(
    model: SentenceTransformer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(CORPUS) + "\n")
    whole = EmbeddingIndex.build(model, path, show_progress_bar=False)
    sizes: list[int] = []
    original = model.encode
    monkeypatch.setattr(model, "encode", lambda texts, **kw: sizes.append(len(texts)) or original(texts, **kw))
    chunked = EmbeddingIndex.build(model, path, chunk_size=5, show_progress_bar=False)
    assert max(sizes[1:]) == 5 and sum(sizes[1:]) == len(CORPUS)  # sizes[0]: the three probe sentences
    for query in QUERIES:
        assert same_hits(chunked.search(query, top_k=10), whole.search(query, top_k=10))


def test_csv_and_jsonl_corpora_read_their_column(model: SentenceTransformer, tmp_path: Path) -> None:
    csv, jsonl = tmp_path / "corpus.csv", tmp_path / "corpus.jsonl"
    csv.write_text("id,text\n1,the cat sits on the mat.\n2,birds sing in the morning.\n")
    jsonl.write_text('{"text": "the cat sits on the mat."}\n{"text": "birds sing in the morning."}\n')
    for path in (csv, jsonl):
        index = EmbeddingIndex.build(model, path, column="text", show_progress_bar=False)
        assert [hit.sentence for hit in index.search("birds sing in the morning.", top_k=1)] == [
            "birds sing in the morning."
        ]


def test_add_continues_the_ids(model: SentenceTransformer) -> None:
    index = build(model, "int8", CORPUS[:10])
    assert index.add(["", *CORPUS[10:]], show_progress_bar=False) == len(CORPUS) - 10
    assert len(index) == len(CORPUS) and index.next_id == len(CORPUS) + 1
    hit = index.search(CORPUS[12], top_k=1)[0]
    assert (hit.id, hit.sentence) == (10 + 1 + 2, CORPUS[12])  # after the 10 first rows and the blank one


def test_from_embeddings_equals_build(model: SentenceTransformer) -> None:
    embeddings = model.encode(CORPUS, convert_to_numpy=True)
    for name in ("exact", "int8"):
        built, given = build(model, name), EmbeddingIndex.from_embeddings(model, CORPUS, embeddings, CONFIGS[name])
        for query in QUERIES:
            assert [h.id for h in given.search(query)] == [h.id for h in built.search(query)]
    with pytest.raises(ValueError, match="shape"):
        EmbeddingIndex.from_embeddings(model, CORPUS[:3], embeddings)


def test_a_query_model_that_differs_is_refused(model: SentenceTransformer, tmp_path: Path) -> None:
    index = build(model, "exact")
    torch.manual_seed(1)
    other_weights = make_model(build_tiny_bert(tmp_path / "other", layers=1))  # same 32-d, other weights
    with pytest.raises(ValueError, match="not the model this index was built with"):
        index.check_model(other_weights)
    wider = make_model(build_tiny_bert(tmp_path / "wider", hidden_size=48))
    with pytest.raises(ValueError, match="gives 48-d embeddings"):
        index.check_model(wider)
    index.check_model(model)  # the same model passes


def test_faiss_kinds_need_float32() -> None:
    with pytest.raises(ValueError, match="the faiss kinds hold float32"):
        IndexConfig(kind="hnsw", precision="int8")
    with pytest.raises(ValueError, match="kind="):
        IndexConfig(kind="annoy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nprobe=0"):
        IndexConfig(nprobe=0)


def test_tune_changes_the_search_time_settings_only(model: SentenceTransformer) -> None:
    pytest.importorskip("faiss")
    index = build(model, "ivf")  # 2 clusters, both probed
    assert len(index.search(QUERIES[0], top_k=100)) == len(CORPUS)
    assert index.tune(nprobe=1) is index and index.config.nprobe == 1
    one_cluster = index.search(QUERIES[0], top_k=100)
    assert 0 < len(one_cluster) < len(CORPUS)  # only the rows of the nearest cluster
    with pytest.raises(ValueError, match="can change after building"):
        index.tune(nlist=4)
    with pytest.raises(ValueError, match="nprobe=0"):
        index.tune(nprobe=0)
