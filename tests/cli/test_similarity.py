"""``simcse-st similarity`` and ``pairwise_similarity``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_helpers import assert_clean_error, assert_ok, invoke, load, save_tiny_encoder
from torch.testing import assert_close

from simcse_st.inference.similarity import format_similarity, pairwise_similarity

SENTENCES = ["a man is playing a guitar.", "someone plays music.", "the stock market fell."]


@pytest.fixture(scope="module")
def encoder_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(tiny_bert_dir, tmp_path_factory.mktemp("encoder") / "model")


def test_two_sentences_print_one_score(encoder_dir: Path) -> None:
    result = invoke("similarity", "--model", encoder_dir, *SENTENCES[:2])
    assert_ok(result)
    embeddings = load(encoder_dir).encode(SENTENCES[:2], convert_to_tensor=True)
    expected = torch.nn.functional.cosine_similarity(embeddings[0], embeddings[1], dim=0).item()
    assert result.stdout.strip() == f"{expected:.4f}"


def test_three_sentences_print_a_matrix(encoder_dir: Path) -> None:
    result = invoke("similarity", "-m", encoder_dir, *SENTENCES)
    assert_ok(result)
    lines = result.stdout.strip().splitlines()
    assert lines[:3] == [f"[{i}] {s}" for i, s in enumerate(SENTENCES)]
    matrix = [[float(x) for x in line.split()[1:]] for line in lines[-3:]]
    assert_close(torch.tensor(matrix), pairwise_similarity(encoder_dir, SENTENCES), atol=1e-4, rtol=0)
    assert all(abs(matrix[i][i] - 1) < 1e-4 for i in range(3))


def test_library_function(encoder_dir: Path) -> None:
    model = load(encoder_dir)
    scores = pairwise_similarity(model, SENTENCES)
    assert scores.shape == (3, 3) and scores.dtype == torch.float32
    assert_close(scores, scores.T)
    assert format_similarity(SENTENCES[:2], scores[:2, :2]) == f"{scores[0, 1].item():.4f}"
    with pytest.raises(ValueError):
        pairwise_similarity(model, [])


def test_user_errors(encoder_dir: Path, tmp_path: Path) -> None:
    one = invoke("similarity", "-m", encoder_dir, "only one")
    assert_clean_error(one, "at least two", exit_code=2)
    assert_clean_error(invoke("similarity", "-m", tmp_path / "no-model", "a", "b"), "Model folder not found")
