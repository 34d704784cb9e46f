"""``export_model``: a model folder that also holds an ONNX or OpenVINO export (and its int8 version)."""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Transformer

from simcse_st.backends.export_config import ExportConfig
from simcse_st.backends.export_manifest import write_manifest
from simcse_st.backends.graph_export import (
    convert_openvino,
    export_onnx,
    optimize_onnx,
    quantize_onnx_int8,
    quantize_openvino_int8,
)
from simcse_st.backends.missing_extra import require
from simcse_st.backends.names import EXPORT_FILES, EXPORT_FORMAT_VERSION
from simcse_st.backends.transformer_module import transformer_module

logger = logging.getLogger(__name__)


def export_model(
    model: str | os.PathLike[str] | SentenceTransformer,
    output: str | os.PathLike[str],
    config: ExportConfig | None = None,
    *,
    calibration: Sequence[str] | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save ``model`` to ``output`` with an ONNX or OpenVINO export of its transformer next to its own files.

    The folder is a complete sentence-transformers save (``SentenceTransformer(output)`` loads it with torch), plus
    ``onnx/model.onnx`` or ``openvino/openvino_model.xml`` (and the int8 model with ``quantize="int8"``), where
    sentence-transformers' own ``backend="onnx"`` / ``"openvino"`` loading looks for them, plus ``export.json``
    (backend, files, source). Every simcse-st function takes the folder with
    ``inference=InferenceConfig(backend=...)``. Only the transformer is exported; tokenization, pooling, dense and
    normalize modules run as saved. It is written into a hidden sibling folder and renamed at the end, so an
    interrupted export leaves nothing at ``output``.

    Args:
        model: A model folder or hub id (a model trained by ``train_simcse`` too), or a ``SentenceTransformer``.
        output: The folder to write.
        config: Backend, int8 quantization, graph fusions, calibration size (default: ONNX, float32).
        calibration: OpenVINO int8 only: sentences to calibrate the activation ranges on, or a text file of them
            (one per line, ``.gz`` ok; a ``Path``); the first ``config.calibration_size`` non-blank ones are used.
            In-domain sentences, e.g. a sample of the training corpus.
        overwrite: Replace ``output`` if it exists and is not empty.

    Returns:
        ``output`` as a Path.

    Raises:
        FileExistsError: ``output`` exists and is not empty, and ``overwrite`` is False.
        NotADirectoryError: ``output`` is a file.
        ValueError: An OpenVINO int8 export without ``calibration`` sentences; a model that already runs on
            another backend; a first module that is not a transformer.
        ImportError: The extra of the backend is not installed (``pip install 'simcse-st[onnx]'``).

    Example:
        ::

            export_model("runs/simcse", "runs/simcse-onnx", ExportConfig(backend="onnx", quantize="int8"))
            model = load_model("runs/simcse-onnx", inference=InferenceConfig(backend="onnx", precision="int8"))
    """
    config = config or ExportConfig()
    target = Path(output).expanduser()
    if target.is_file():
        raise NotADirectoryError(f"output={str(target)!r} is a file, not a folder.")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise FileExistsError(f"{target} exists and is not empty; pass overwrite=True to replace it.")
    sentences = _calibration_sentences(config, calibration)
    for module in ("onnx", "onnxruntime") if config.backend == "onnx" else ("openvino", "onnx"):
        require(module, config.backend)
    if config.backend == "openvino" and config.quantize == "int8":
        require("nncf", "openvino")

    if isinstance(model, SentenceTransformer):
        st_model, source = model, None
    else:
        from simcse_st.inference.model_loading import load_model

        st_model, source = load_model(model, device="cpu"), os.fspath(model)
    transformer = transformer_module(st_model, "export")
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.export-", dir=target.parent))
    try:
        st_model.save(str(work))
        files, input_names = _write_backend(config, transformer, st_model, work, sentences)
        write_manifest(
            work,
            {
                "format_version": EXPORT_FORMAT_VERSION,
                "backend": config.backend,
                "files": files,
                "config": config.to_dict(),
                "source": str(source) if source else None,
                "input_names": input_names,
            },
        )
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    logger.info("Exported %s to %s (%s) in %.1f s.", source or "the model", target, ", ".join(files), seconds)
    return target


def _calibration_sentences(config: ExportConfig, calibration: Sequence[str] | os.PathLike[str] | None) -> list[str]:
    if config.backend != "openvino" or config.quantize != "int8":
        return []
    if isinstance(calibration, str):
        raise ValueError("calibration must be a list of sentences or a Path to a file of them, not one string.")
    if isinstance(calibration, os.PathLike):
        from simcse_st.data.reading import iter_lines

        rows: Iterable[str] = (line.strip() for line in iter_lines(calibration))
    else:
        rows = (row.strip() for row in calibration or () if isinstance(row, str))
    sentences = list(itertools.islice((row for row in rows if row), config.calibration_size))
    if not sentences:
        raise ValueError(
            "An OpenVINO int8 export needs calibration sentences (static quantization measures the activations "
            "on them): pass calibration=[...], e.g. a few hundred sentences of the training corpus."
        )
    return sentences


def _write_backend(
    config: ExportConfig, transformer: Transformer, st_model: SentenceTransformer, work: Path, sentences: list[str]
) -> tuple[dict[str, str], list[str]]:
    """Write the export's files into ``work``; return them by precision, and the graph's input names."""
    names = EXPORT_FILES[config.backend]
    onnx_path = work / EXPORT_FILES["onnx"]["fp32"]
    input_names = export_onnx(transformer.model, transformer.tokenizer, onnx_path, config.opset)
    if config.backend == "onnx":
        if config.optimize:
            optimize_onnx(onnx_path, transformer.model.config)
        files = {"fp32": names["fp32"]}
        if config.quantize == "int8":
            quantize_onnx_int8(onnx_path, work / names["int8"])
            files["int8"] = names["int8"]
        return files, input_names
    convert_openvino(onnx_path, work / names["fp32"])
    shutil.rmtree(onnx_path.parent)  # the OpenVINO folder is self-contained: the traced ONNX is not kept
    files = {"fp32": names["fp32"]}
    if config.quantize == "int8":
        quantize_openvino_int8(work / names["fp32"], work / names["int8"], st_model.tokenize, sentences)
        files["int8"] = names["int8"]
    return files, input_names
