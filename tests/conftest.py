"""Offline fixtures: a tiny random BERT with a character-level WordPiece vocabulary, and small corpora."""

from __future__ import annotations

import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
from transformers import BertConfig, BertModel, BertTokenizerFast

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARS = list(string.ascii_lowercase + string.digits + string.punctuation)
VOCAB = SPECIAL + CHARS + [f"##{c}" for c in CHARS] + ["the", "is", "cat", "dog", "man", "on", "in", "of"]

SENTENCES = [
    "a man is playing a guitar.",
    "the cat sits on the mat.",
    "a dog runs in the park.",
    "the weather is nice today.",
    "she reads a book in the library.",
    "two kids are playing football.",
    "the stock market fell sharply.",
    "a woman is slicing an onion.",
    "the train arrives at noon.",
    "he cooks pasta for dinner.",
    "birds sing in the morning.",
    "the museum opens at nine.",
    "a child draws a red house.",
    "rain is expected tomorrow.",
    "the band played all night.",
    "an old man feeds the pigeons.",
]


def build_tiny_bert(directory: Path, hidden_size: int = 32, layers: int = 2, dropout: float = 0.1) -> Path:
    """Write a randomly initialised BERT and its tokenizer to ``directory`` and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    BertTokenizerFast(vocab={token: i for i, token in enumerate(VOCAB)}, do_lower_case=True).save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=128,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def make_model(bert_dir: Path, pooling: str = "mean", max_seq_length: int = 32) -> SentenceTransformer:
    transformer = Transformer(str(bert_dir), max_seq_length=max_seq_length)
    pooling_module = Pooling(transformer.get_embedding_dimension(), pooling_mode=pooling)
    return SentenceTransformer(modules=[transformer, pooling_module], device="cpu")


@pytest.fixture
def tiny_model(tiny_bert_dir: Path) -> SentenceTransformer:
    """A fresh tiny mean-pooling model per test (tests train it)."""
    torch.manual_seed(0)
    return make_model(tiny_bert_dir)


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(SENTENCES) + "\n")
    return path


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[str]:
    """``http://host:port`` of ``server`` (e.g. :func:`simcse_st.search.make_server`) serving in a thread until the
    block ends; then it is shut down and closed."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
