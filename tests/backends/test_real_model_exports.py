"""The exports of a real sentence encoder (all-MiniLM-L6-v2, offline) and of a model trained by ``simcse-st train``.

Tolerances on all-MiniLM-L6-v2, per sentence against torch fp32: fp32 exports >= 0.9999 cosine; int8 (ONNX dynamic,
OpenVINO static) >= 0.98 on average and >= 0.90 for every sentence (measured on 1,000 Wikipedia sentences: ONNX int8
mean 0.992, 1st percentile 0.986, min 0.96; docs/performance.md has the STS averages).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_ok, invoke
from conftest import SENTENCES, build_tiny_bert

from simcse_st.backends import ExportConfig, InferenceConfig, export_model
from simcse_st.inference import load_model, offline_minilm_path

STS_LIKE = [
    "A man is playing a guitar.",
    "A woman is slicing an onion on a wooden board.",
    "Two dogs are running through a snowy field.",
    "The stock market fell sharply after the announcement.",
    "A child draws a red house with a crayon.",
    "The train to Berlin leaves at noon from platform four.",
    "Scientists discovered a new species of frog in the rainforest.",
    "He cooks pasta for dinner every Friday.",
] * 4


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def minilm_reference() -> np.ndarray:
    return load_model(offline_minilm_path()).encode(STS_LIKE)


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_minilm_exports_encode_like_torch(backend: str, minilm_reference: np.ndarray, tmp_path: Path) -> None:
    config = ExportConfig(backend=backend, quantize="int8")  # type: ignore[arg-type]
    folder = export_model(offline_minilm_path(), tmp_path / backend, config, calibration=STS_LIKE)
    for precision in ("fp32", "int8"):
        model = load_model(folder, inference=InferenceConfig(backend=backend, precision=precision))  # type: ignore[arg-type]
        assert model.get_embedding_dimension() == 384
        similarity = cosines(model.encode(STS_LIKE), minilm_reference)
        if precision == "fp32":
            assert similarity.min() >= 0.9999, (backend, similarity.min())
        else:
            assert similarity.mean() >= 0.98 and similarity.min() >= 0.90, (
                backend,
                similarity.mean(),
                similarity.min(),
            )


def test_a_model_trained_by_simcse_st_train_exports(tmp_path: Path) -> None:
    """simcse-st train -> simcse-st export -> simcse-st encode --backend onnx: the same embeddings as torch."""
    bert = build_tiny_bert(tmp_path / "bert")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(SENTENCES * 4) + "\n")
    trained = tmp_path / "trained"
    assert_ok(invoke("train", corpus, "--model", bert, "--output", trained, "--max-steps", "2", "-b", "8", "-q"))
    assert_ok(invoke("export", trained, "--output", tmp_path / "export", "--quantize", "int8", "-q"))
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join(SENTENCES) + "\n")
    for backend, precision in (("torch", "fp32"), ("onnx", "fp32"), ("onnx", "int8")):
        out = tmp_path / f"{backend}-{precision}.npy"
        folder = trained if backend == "torch" else tmp_path / "export"
        result = invoke(
            "encode", sentences, "--model", folder, "-o", out, "--backend", backend, "--precision", precision, "-q"
        )
        assert_ok(result)
    reference = np.load(tmp_path / "torch-fp32.npy")
    np.testing.assert_allclose(reference, load_model(trained).encode(SENTENCES), atol=1e-5)
    assert cosines(np.load(tmp_path / "onnx-fp32.npy"), reference).min() >= 0.9999
    assert cosines(np.load(tmp_path / "onnx-int8.npy"), reference).min() >= 0.98
