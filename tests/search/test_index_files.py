"""Saving and loading an index: identical hits after a round trip in every kind, atomic saves, and directories that
are partial, damaged or not an index are reported, never half-loaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SENTENCES, build_tiny_bert, make_model
from sentence_transformers import SentenceTransformer

from simcse_st.search import EmbeddingIndex, IndexConfig, IndexFormatError
from simcse_st.search.index_files import sha256

QUERIES = ["a man plays the guitar.", "rain tomorrow", "the museum"]
CONFIGS = [
    IndexConfig(),
    IndexConfig(precision="int8"),
    IndexConfig(precision="binary"),
    IndexConfig(kind="hnsw"),
    IndexConfig(kind="ivf", nlist=2),
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model saved as a sentence-transformers folder, so an index can record where it is."""
    torch.manual_seed(0)
    target = tmp_path_factory.mktemp("search-model") / "model"
    make_model(build_tiny_bert(tmp_path_factory.mktemp("bert"))).save(str(target))
    return target


@pytest.fixture(scope="module")
def model(model_dir: Path) -> SentenceTransformer:
    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture
def saved(model: SentenceTransformer, tmp_path: Path) -> Path:
    EmbeddingIndex.build(model, SENTENCES, IndexConfig(precision="int8"), show_progress_bar=False).save(tmp_path / "i")
    return tmp_path / "i"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.kind}-{c.precision}")
def test_a_round_trip_returns_identical_hits(model: SentenceTransformer, tmp_path: Path, config: IndexConfig) -> None:
    if config.kind != "exact":
        pytest.importorskip("faiss")
    index = EmbeddingIndex.build(model, SENTENCES, config, show_progress_bar=False)
    index.save(tmp_path / "index")
    loaded = EmbeddingIndex.load(tmp_path / "index", model=model)
    assert loaded.config == config and len(loaded) == len(index) and loaded.next_id == index.next_id
    for query in QUERIES:
        assert loaded.search(query, top_k=len(SENTENCES)) == index.search(query, top_k=len(SENTENCES))


def test_the_recorded_model_is_loaded_for_text_queries(model_dir: Path, tmp_path: Path) -> None:
    built = EmbeddingIndex.build(model_dir, SENTENCES, show_progress_bar=False)
    built.save(tmp_path / "index")
    manifest = json.loads((tmp_path / "index" / "index.json").read_text())
    assert manifest["model"]["name"] == str(model_dir.resolve())
    assert manifest["model"]["dimension"] == 32 and manifest["model"]["normalized"] is True
    loaded = EmbeddingIndex.load(tmp_path / "index")  # no model given: the recorded folder, on the first query
    assert loaded.search(SENTENCES[3], top_k=1)[0].id == 3


def test_a_mismatched_model_is_refused_at_load(saved: Path, tmp_path: Path) -> None:
    torch.manual_seed(5)
    other = make_model(build_tiny_bert(tmp_path / "other", layers=1))
    with pytest.raises(ValueError, match="not the model this index was built with"):
        EmbeddingIndex.load(saved, model=other)


def test_save_refuses_an_existing_directory_unless_overwrite(model: SentenceTransformer, saved: Path) -> None:
    index = EmbeddingIndex.load(saved, model=model)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        index.save(saved)
    index.add(["a brand new sentence."], show_progress_bar=False)
    index.save(saved, overwrite=True)
    assert len(EmbeddingIndex.load(saved, model=model)) == len(SENTENCES) + 1
    not_an_index = saved.parent / "photos"
    not_an_index.mkdir()
    (not_an_index / "cat.jpg").write_bytes(b"\xff")
    with pytest.raises(FileExistsError, match="holds no index"):
        index.save(not_an_index, overwrite=True)


def test_adding_to_a_loaded_index_never_writes_the_saved_one(model: SentenceTransformer, saved: Path) -> None:
    before = {path.name: sha256(path) for path in saved.iterdir()}
    index = EmbeddingIndex.load(saved, model=model)
    index.add(["one more sentence.", "and another one."], show_progress_bar=False)
    assert index.search("and another one.", top_k=1)[0].id == len(SENTENCES) + 1
    assert {path.name: sha256(path) for path in saved.iterdir()} == before


def test_an_interrupted_save_leaves_nothing_behind(
    model: SentenceTransformer, saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = EmbeddingIndex.load(saved, model=model)
    before = {path.name: sha256(path) for path in saved.iterdir()}

    def crash(directory: Path) -> None:
        (directory / "ids.npy").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(index._texts, "save", crash)
    for target in (saved.parent / "fresh", saved):  # a new directory, and over the existing index
        with pytest.raises(KeyboardInterrupt):
            index.save(target, overwrite=True)
    assert not (saved.parent / "fresh").exists()
    assert {path.name: sha256(path) for path in saved.iterdir()} == before  # the old index, untouched
    assert [path.name for path in saved.parent.iterdir() if path.name.startswith(".")] == []


def test_not_an_index_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        EmbeddingIndex.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexFormatError, match=r"has no index\.json"):
        EmbeddingIndex.load(tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        EmbeddingIndex.load(tmp_path / "file")


def test_a_missing_file_is_reported(saved: Path) -> None:
    (saved / "quantized.npy").unlink()
    with pytest.raises(IndexFormatError, match=r"quantized\.npy is missing"):
        EmbeddingIndex.load(saved)


def test_a_truncated_file_is_reported(saved: Path) -> None:
    data = (saved / "embeddings.npy").read_bytes()
    (saved / "embeddings.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexFormatError, match=r"embeddings\.npy has .* bytes"):
        EmbeddingIndex.load(saved)


def test_a_corrupted_byte_is_reported(saved: Path) -> None:
    path = saved / "sentences.bin"
    data = bytearray(path.read_bytes())
    data[3] ^= 0x20
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=r"sentences\.bin does not match its checksum"):
        EmbeddingIndex.load(saved)
    EmbeddingIndex.load(saved, verify=False)  # sizes only: what a caller who skips the checksums gets


def test_a_damaged_or_foreign_manifest_is_reported(saved: Path) -> None:
    manifest = saved / "index.json"
    original = json.loads(manifest.read_text())
    manifest.write_text("{not json")
    with pytest.raises(IndexFormatError, match="not valid JSON"):
        EmbeddingIndex.load(saved)
    manifest.write_text(json.dumps({**original, "version": 99}))
    with pytest.raises(IndexFormatError, match="format version 99"):
        EmbeddingIndex.load(saved)
    manifest.write_text(json.dumps({**original, "count": original["count"] + 1}))
    with pytest.raises(IndexFormatError, match="expected; the index is damaged"):
        EmbeddingIndex.load(saved)


def test_saved_arrays_are_what_the_index_holds(model: SentenceTransformer, saved: Path) -> None:
    """The int8 kind keeps 1/4 of the float32 bytes in memory; the float32 rows are on disk for the rescoring."""
    index = EmbeddingIndex.load(saved, model=model)
    floats = np.load(saved / "embeddings.npy")
    assert floats.shape == (len(SENTENCES), 32) and index.nbytes == floats.nbytes // 4
    torch.testing.assert_close(np.linalg.norm(floats, axis=1), np.ones(len(SENTENCES), dtype=np.float32))
