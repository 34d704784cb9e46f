"""``simcse-st export`` and ``--backend`` / ``--precision`` on every command that encodes; clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_clean_error, assert_ok, invoke, save_tiny_encoder, write_sts_dir
from conftest import SENTENCES


@pytest.fixture(scope="module")
def encoder_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(tiny_bert_dir, tmp_path_factory.mktemp("encoder") / "model")


@pytest.fixture(scope="module")
def onnx_dir(encoder_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exports") / "onnx"
    assert_ok(invoke("export", encoder_dir, "--output", folder, "--quantize", "int8", "-q"))
    return folder


def test_export_writes_the_folder_and_says_so(encoder_dir: Path, tmp_path: Path) -> None:
    result = invoke("export", encoder_dir, "-o", tmp_path / "ov", "--backend", "openvino", "-q")
    assert_ok(result)
    assert f"Exported {encoder_dir} to {tmp_path / 'ov'} (openvino, fp32)." in result.output
    manifest = json.loads((tmp_path / "ov" / "export.json").read_text())
    assert manifest["backend"] == "openvino" and manifest["config"]["quantize"] == "none"


def test_openvino_int8_reads_calibration_sentences_from_a_file(encoder_dir: Path, tmp_path: Path) -> None:
    calibration = tmp_path / "calibration.txt"
    calibration.write_text("\n".join(SENTENCES) + "\n\n")
    result = invoke(
        "export", encoder_dir, "-o", tmp_path / "ov8", "--backend", "openvino", "--quantize", "int8",
        "--calibration", calibration, "--calibration-size", "8", "-q",
    )  # fmt: skip
    assert_ok(result)
    assert "(openvino, int8 and fp32)" in result.output
    result = invoke("encode", calibration, "-m", tmp_path / "ov8", "-o", tmp_path / "e.npy", "--blank-lines", "keep",
                    "--backend", "openvino", "--precision", "int8", "-q")  # fmt: skip
    assert_ok(result)
    assert np.load(tmp_path / "e.npy").shape[0] == len(SENTENCES) + 1


def test_export_errors_are_one_line(encoder_dir: Path, onnx_dir: Path, tmp_path: Path) -> None:
    assert_clean_error(
        invoke("export", encoder_dir, "-o", tmp_path / "x", "--backend", "openvino", "--quantize", "int8"),
        "needs calibration sentences",
    )
    assert_clean_error(invoke("export", encoder_dir, "-o", onnx_dir), "exists and is not empty", "--overwrite")
    assert_clean_error(invoke("export", tmp_path / "missing", "-o", tmp_path / "y"), "not found")
    result = invoke("export", encoder_dir, "-o", tmp_path / "z", "--backend", "torch")
    assert result.exit_code == 2 and "torch" in result.output  # typer refuses the choice itself


def test_every_encoding_command_runs_the_export(encoder_dir: Path, onnx_dir: Path, tmp_path: Path) -> None:
    sentences = tmp_path / "s.txt"
    sentences.write_text("\n".join(SENTENCES) + "\n")
    for precision in ("fp32", "int8"):
        flags = ("--backend", "onnx", "--precision", precision)
        assert_ok(invoke("encode", sentences, "-m", onnx_dir, "-o", tmp_path / f"{precision}.npy", *flags, "-q"))
        similarity = invoke("similarity", SENTENCES[0], SENTENCES[1], "-m", onnx_dir, *flags, "-q")
        assert_ok(similarity)
    reference = tmp_path / "torch.npy"
    assert_ok(invoke("encode", sentences, "-m", encoder_dir, "-o", reference, "--precision", "fp32", "-q"))
    expected = np.load(reference)
    for precision, minimum in (("fp32", 0.9999), ("int8", 0.98)):
        got = np.load(tmp_path / f"{precision}.npy")
        cos = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
        assert cos.min() >= minimum, (precision, cos.min())

    data = write_sts_dir(tmp_path / "data")
    result = invoke("evaluate", "-m", onnx_dir, "--data", data, "--backend", "onnx", "--precision", "int8",
                    "--json", tmp_path / "sts.json", "-q")  # fmt: skip
    assert_ok(result)
    assert json.loads((tmp_path / "sts.json").read_text())["inference"] == "onnx int8 (onnx/model_qint8.onnx)"

    index = tmp_path / "index"
    flags = ("--backend", "onnx", "--model-precision", "int8")
    assert_ok(invoke("index", sentences, "-m", onnx_dir, "-o", index, "--precision", "int8", *flags, "-q"))
    manifest = json.loads((index / "index.json").read_text())
    assert manifest["config"]["precision"] == "int8"  # the index's storage; the model ran int8 onnx
    search = invoke("search", index, SENTENCES[2], "--top-k", "1", "--backend", "onnx", "--precision", "int8", "-q")
    assert_ok(search)
    assert SENTENCES[2] in search.output


def test_backend_errors_are_one_line(encoder_dir: Path, onnx_dir: Path, tmp_path: Path) -> None:
    sentences = tmp_path / "s.txt"
    sentences.write_text("one\ntwo\n")
    out = tmp_path / "e.npy"
    assert_clean_error(
        invoke("encode", sentences, "-m", onnx_dir, "-o", out, "--backend", "openvino"),
        "is an onnx export, not an openvino one", "--backend onnx",
    )  # fmt: skip
    assert_clean_error(
        invoke("encode", sentences, "-m", encoder_dir, "-o", out, "--backend", "torch", "--precision", "int8"),
        "does not run on", "--backend",
    )  # fmt: skip
    assert_clean_error(
        invoke("similarity", "a", "b", "-m", encoder_dir, "--backend", "onnx", "--precision", "bf16"),
        "bf16 runs only with",
    )
    assert not out.exists()
