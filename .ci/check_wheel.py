"""Run with the Python of a venv where the simcse-st wheel is installed (not editable), from outside the checkout:
the installed package must hold every module, and every command must start."""

from __future__ import annotations

import importlib
import importlib.resources
import pkgutil
import subprocess
import sys
import tempfile
from pathlib import Path

import simcse_st

location = Path(simcse_st.__file__).resolve().parent
assert "site-packages" in location.parts, f"simcse_st is imported from {location}, not from the installed wheel"
modules = sorted(module.name for module in pkgutil.walk_packages(simcse_st.__path__, "simcse_st."))
for name in modules:
    importlib.import_module(name)
PACKAGES = ("ablation", "backends", "cli", "data", "evaluation", "inference", "losses", "modules", "search")
PACKAGES += ("training",)
for package in PACKAGES:
    assert f"simcse_st.{package}" in modules, f"the wheel has no simcse_st.{package}"
script = Path(sys.executable).with_name("simcse-st")
page = importlib.resources.files("simcse_st.search").joinpath("search_page.html")
assert page.is_file() and "<html" in page.read_text("utf-8").lower(), "the wheel has no search page"
commands = ["train", "encode", "evaluate", "similarity", "quickstart", "ablate", "index", "search", "serve", "export"]
for arguments in (["--version"], ["--help"], *([command, "--help"] for command in commands)):
    done = subprocess.run([str(script), *arguments], capture_output=True, text=True)
    assert done.returncode == 0, (arguments, done.stdout, done.stderr)

# The wheel with its onnx extra exports a model and encodes with it like torch (a tiny random BERT, offline).
with tempfile.TemporaryDirectory() as tmp:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from simcse_st.backends import InferenceConfig
    from simcse_st.inference import load_model

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz ."]
    BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}).save_pretrained(f"{tmp}/bert")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)  # fmt: skip
    BertModel(config).save_pretrained(f"{tmp}/bert")
    transformer = Transformer(f"{tmp}/bert")
    SentenceTransformer(modules=[transformer, Pooling(32)], device="cpu").save(f"{tmp}/model")
    done = subprocess.run([str(script), "export", f"{tmp}/model", "-o", f"{tmp}/onnx", "-q"], capture_output=True)
    assert done.returncode == 0, (done.stdout, done.stderr)
    sentences = ["a cat sat.", "the dog ran far away."]
    expected = load_model(f"{tmp}/model").encode(sentences)
    got = load_model(f"{tmp}/onnx", inference=InferenceConfig(backend="onnx")).encode(sentences)
    np.testing.assert_allclose(got, expected, atol=1e-4)
print(f"wheel: {len(modules)} modules import, {len(commands) + 2} commands start, an onnx export encodes: {location}")
