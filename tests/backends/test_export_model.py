"""``export_model`` and the runtime models: every backend / precision encodes like torch fp32 (tolerances below),
the export folder is a complete model, misuse fails with a clear error."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SENTENCES, build_tiny_bert, make_model
from sentence_transformers import SentenceTransformer

from simcse_st.backends import ExportConfig, InferenceConfig, apply_inference_config, export_model, read_manifest
from simcse_st.inference import load_model

# Minimum cosine between an embedding and its torch fp32 embedding, per precision (every sentence, not the mean).
# fp32 exports differ only in the order of float operations; bf16 keeps 8 bits of mantissa in the matmuls; int8
# quantizes weights and activations (dynamic per batch for ONNX, calibrated for OpenVINO).
MIN_COSINE = {"fp32": 0.9999, "bf16": 0.99, "int8": 0.98}
CASES = [
    ("onnx", "fp32"),
    ("onnx", "int8"),
    ("openvino", "fp32"),
    ("openvino", "int8"),
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny mean-pooling encoder, saved (what ``simcse-st train`` writes, in miniature)."""
    torch.manual_seed(0)
    bert = build_tiny_bert(tmp_path_factory.mktemp("bert"), hidden_size=64, layers=2)
    folder = tmp_path_factory.mktemp("model") / "encoder"
    make_model(bert).save(str(folder))
    return folder


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> np.ndarray:
    return load_model(model_dir).encode(SENTENCES, batch_size=4)


@pytest.fixture(scope="module")
def exports(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exports")
    return {
        "onnx": export_model(model_dir, root / "onnx", ExportConfig(backend="onnx", quantize="int8")),
        "openvino": export_model(
            model_dir, root / "openvino", ExportConfig(backend="openvino", quantize="int8"), calibration=SENTENCES
        ),
    }


@pytest.mark.parametrize(("backend", "precision"), CASES)
def test_every_export_encodes_like_torch_fp32(
    exports: dict[str, Path], reference: np.ndarray, backend: str, precision: str
) -> None:
    model = load_model(exports[backend], inference=InferenceConfig(backend=backend, precision=precision))
    assert model.backend_description.startswith(f"{backend} {precision} (")
    embeddings = model.encode(SENTENCES, batch_size=4)
    assert embeddings.shape == reference.shape and embeddings.dtype == np.float32
    assert cosines(embeddings, reference).min() >= MIN_COSINE[precision]
    if precision == "int8":  # the int8 model is really another model: not bit-identical to float
        assert not np.allclose(embeddings, reference, atol=1e-6)


def test_torch_bf16_autocast_encodes_like_fp32(model_dir: Path, reference: np.ndarray) -> None:
    model = load_model(model_dir, inference=InferenceConfig(precision="bf16"))
    assert model.backend_description == "torch bf16"
    embeddings = model.encode(SENTENCES, batch_size=4)
    assert embeddings.dtype == np.float32
    assert cosines(embeddings, reference).min() >= MIN_COSINE["bf16"]
    assert not np.array_equal(embeddings, reference)  # bf16 really ran


def test_the_export_folder_is_a_complete_model(exports: dict[str, Path], reference: np.ndarray) -> None:
    onnx = exports["onnx"]
    assert {p.name for p in (onnx / "onnx").iterdir()} == {"model.onnx", "model_qint8.onnx"}
    assert {p.name for p in (exports["openvino"] / "openvino").iterdir()} == {
        "openvino_model.xml", "openvino_model.bin",
        "openvino_model_qint8_quantized.xml", "openvino_model_qint8_quantized.bin",
    }  # fmt: skip
    manifest = read_manifest(onnx)
    assert manifest is not None and manifest["backend"] == "onnx"
    assert manifest["files"] == {"fp32": "onnx/model.onnx", "int8": "onnx/model_qint8.onnx"}
    assert manifest["input_names"] == ["input_ids", "attention_mask", "token_type_ids"]
    # the torch weights are there too: a plain SentenceTransformer load gives the original embeddings
    np.testing.assert_allclose(SentenceTransformer(str(onnx), device="cpu").encode(SENTENCES), reference, atol=1e-6)


def test_a_plain_folder_is_exported_on_the_fly(model_dir: Path, reference: np.ndarray) -> None:
    model = load_model(model_dir, inference=InferenceConfig(backend="onnx"))
    assert model.backend_description == "onnx fp32 (onnx/model.onnx)"
    assert cosines(model.encode(SENTENCES), reference).min() >= MIN_COSINE["fp32"]
    assert not (model_dir / "onnx").exists()  # the user's folder is not written to


def test_openvino_int8_cannot_be_made_on_the_fly(model_dir: Path) -> None:
    with pytest.raises(ValueError, match="needs calibration sentences"):
        load_model(model_dir, inference=InferenceConfig(backend="openvino", precision="int8"))


def test_an_export_used_with_the_wrong_backend_says_so(exports: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="is an onnx export, not an openvino one: load it with backend='onnx'"):
        load_model(exports["onnx"], inference=InferenceConfig(backend="openvino"))
    with pytest.raises(ValueError, match="is an openvino export, not an onnx one"):
        load_model(exports["openvino"], inference=InferenceConfig(backend="onnx"))


def test_an_export_without_the_precision_says_so(model_dir: Path, tmp_path: Path) -> None:
    folder = export_model(model_dir, tmp_path / "fp32-only")
    with pytest.raises(
        ValueError, match=re.escape("has no int8 model (it has: fp32); export it with quantize='int8'")
    ):
        load_model(folder, inference=InferenceConfig(backend="onnx", precision="int8"))


def test_hidden_state_poolers_are_exported(tmp_path: Path) -> None:
    """avg_first_last reads every layer's hidden states: the graph exports them and the pooler gets them."""
    from simcse_st.modules import build_simcse_model

    bert = build_tiny_bert(tmp_path / "bert")
    model = build_simcse_model(str(bert), pooler="avg_first_last", device="cpu")
    model.save(str(tmp_path / "model"))
    expected = model.encode(SENTENCES)
    folder = export_model(tmp_path / "model", tmp_path / "export")
    got = load_model(folder, inference=InferenceConfig(backend="onnx")).encode(SENTENCES)
    assert cosines(got, expected).min() >= MIN_COSINE["fp32"]


def test_an_existing_output_is_refused_then_replaced(model_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_model(model_dir, target)
    assert (target / "keep.txt").read_text() == "mine"
    export_model(model_dir, target, overwrite=True)
    assert (target / "onnx" / "model.onnx").is_file() and not (target / "keep.txt").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        export_model(model_dir, tmp_path / "file")


def test_an_interrupted_export_leaves_nothing(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module("simcse_st.backends.export_model")  # the module, not the function

    def fail(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "optimize_onnx", fail)
    with pytest.raises(KeyboardInterrupt):
        export_model(model_dir, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_openvino_int8_needs_calibration(model_dir: Path, tmp_path: Path) -> None:
    config = ExportConfig(backend="openvino", quantize="int8")
    for calibration in (None, [], ["   "]):
        with pytest.raises(ValueError, match="needs calibration sentences"):
            export_model(model_dir, tmp_path / "out", config, calibration=calibration)
    with pytest.raises(ValueError, match="not one string"):
        export_model(model_dir, tmp_path / "out", config, calibration="one sentence")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("backend", "module"), [("onnx", "onnxruntime"), ("onnx", "onnx"), ("openvino", "openvino")])
def test_a_missing_extra_names_it(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import of it now raises ImportError
    with pytest.raises(ImportError, match=rf"pip install 'simcse-st\[{backend}\]'"):
        export_model(model_dir, tmp_path / "out", ExportConfig(backend=backend))  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_a_missing_runtime_names_the_extra_at_load(exports: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"pip install 'simcse-st\[onnx\]'"):
        load_model(exports["onnx"], inference=InferenceConfig(backend="onnx"))


def test_a_runtime_model_cannot_be_exported_or_saved(exports: dict[str, Path], tmp_path: Path) -> None:
    model = load_model(exports["onnx"], inference=InferenceConfig(backend="onnx"))
    with pytest.raises(ValueError, match="already runs as OnnxRuntimeModel"):
        export_model(model, tmp_path / "again")
    with pytest.raises(NotImplementedError, match="save the torch model"):
        model.save(str(tmp_path / "saved"))


def test_a_loaded_model_with_inference_settings_is_refused(model_dir: Path, tmp_path: Path) -> None:
    from simcse_st.inference import pairwise_similarity

    model = load_model(model_dir)
    with pytest.raises(ValueError, match="apply_inference_config"):
        pairwise_similarity(model, SENTENCES[:2], inference=InferenceConfig(backend="onnx"))
    # ... and applying it to the loaded model works
    apply_inference_config(model, InferenceConfig(precision="bf16"))
    assert model.backend_description == "torch bf16"


def test_onnx_on_a_gpu_model_is_refused(model_dir: Path) -> None:
    model = load_model(model_dir, device="cpu")
    model.to("meta")  # a device that is not the CPU, without a GPU
    with pytest.raises(ValueError, match="runs on the CPU here"):
        apply_inference_config(model, InferenceConfig(backend="onnx"), model_dir)


def test_manifest_errors(exports: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(exports["onnx"], broken)
    (broken / "onnx" / "model_qint8.onnx").unlink()
    with pytest.raises(ValueError, match=re.escape("incomplete: onnx/model_qint8.onnx (int8) is missing")):
        load_model(broken, inference=InferenceConfig(backend="onnx"))
    manifest = json.loads((broken / "export.json").read_text())
    (broken / "export.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ValueError, match="format_version 99"):
        read_manifest(broken)
    (broken / "export.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a simcse-st export manifest"):
        read_manifest(broken)
