"""SimCSE's five poolers against references computed by hand from the encoder's hidden states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
from torch.testing import assert_close
from transformers import BertModel, BertTokenizerFast

from simcse_st.modules import POOLERS, SimCSEPooling, build_simcse_model

TEXTS = ["a man is playing a guitar.", "the cat", "two kids are playing football in the park of the city."]


@pytest.fixture(scope="module")
def bert3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three layers, so that hidden[1] (first layer), hidden[-2] and hidden[-1] are three different tensors."""
    from conftest import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert-3-layers"), layers=3)


def reference_embeddings(bert_dir: Path, pooler: str, mlp: torch.nn.Linear | None = None) -> torch.Tensor:
    """SimCSE's Pooler written out per sentence: each sentence encoded alone (no padding), hidden states by index."""
    tokenizer = BertTokenizerFast.from_pretrained(bert_dir)
    bert = BertModel.from_pretrained(bert_dir).eval()
    rows = []
    for text in TEXTS:
        inputs = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            hidden = bert(**inputs, output_hidden_states=True).hidden_states  # L + 1 × (1, T, D)
        assert len(hidden) == bert.config.num_hidden_layers + 1
        last, second_last, first_layer = hidden[-1][0], hidden[-2][0], hidden[1][0]  # (T, D)
        if pooler == "cls_before_pooler":
            rows.append(last[0])
        elif pooler == "cls":
            rows.append(torch.tanh(mlp.weight @ last[0] + mlp.bias))
        elif pooler == "avg":
            rows.append(last.sum(0) / last.size(0))
        elif pooler == "avg_top2":
            rows.append(((last + second_last) / 2).sum(0) / last.size(0))
        else:  # avg_first_last: hidden[1] is the first transformer layer, not the embeddings (hidden[0])
            rows.append(((first_layer + last) / 2).sum(0) / last.size(0))
    return torch.stack(rows)


def mlp_linear(model: SentenceTransformer) -> torch.nn.Linear | None:
    for module in model:
        if isinstance(module, SimCSEPooling) and module.mlp is not None:
            return module.mlp[0]
        if type(module).__name__ == "Dense":
            return module.linear
    return None


@pytest.mark.parametrize("portable", [True, False], ids=["builtin-modules", "SimCSEPooling"])
@pytest.mark.parametrize("pooler", POOLERS)
def test_pooler_matches_hand_computed_reference_and_survives_reload(
    bert3_dir: Path, tmp_path: Path, pooler: str, portable: bool
) -> None:
    model = build_simcse_model(str(bert3_dir), pooler, max_seq_length=128, device="cpu", portable=portable).eval()
    expected = reference_embeddings(bert3_dir, pooler, mlp_linear(model))
    with torch.no_grad():
        forward = model(model.preprocess(TEXTS))["sentence_embedding"]  # padded batch
    assert_close(forward, expected, rtol=1e-4, atol=1e-5)
    assert_close(model.encode(TEXTS, convert_to_tensor=True), expected, rtol=1e-4, atol=1e-5)

    model.save(str(tmp_path))
    reloaded = SentenceTransformer(str(tmp_path), device="cpu", trust_remote_code=not portable)
    assert [type(m).__name__ for m in reloaded] == [type(m).__name__ for m in model]
    assert_close(reloaded.encode(TEXTS, convert_to_tensor=True), expected, rtol=1e-4, atol=1e-5)
    saved_config = json.loads((tmp_path / "config.json").read_text())
    assert saved_config.get("output_hidden_states", False) == (pooler in ("avg_top2", "avg_first_last"))


def test_poolers_differ_from_each_other(bert3_dir: Path) -> None:
    outputs = {p: reference_embeddings(bert3_dir, p, torch.nn.Linear(32, 32)) for p in POOLERS}
    for a in POOLERS:
        for b in POOLERS:
            if a < b:
                assert not torch.allclose(outputs[a], outputs[b]), (a, b)


def test_portable_models_reload_without_trust_remote_code(tiny_bert_dir: Path, tmp_path: Path) -> None:
    build_simcse_model(str(tiny_bert_dir), "avg_first_last", device="cpu").save(str(tmp_path / "portable"))
    assert isinstance(SentenceTransformer(str(tmp_path / "portable"), device="cpu")[1], torch.nn.Module)
    build_simcse_model(str(tiny_bert_dir), "avg", device="cpu", portable=False).save(str(tmp_path / "custom"))
    with pytest.raises(ValueError, match="trust_remote_code"):
        SentenceTransformer(str(tmp_path / "custom"), device="cpu")


def test_cls_mlp_is_initialised_like_simcse() -> None:
    pooling = SimCSEPooling(256, "cls", initializer_range=0.02)
    linear = pooling.mlp[0]
    assert torch.count_nonzero(linear.bias) == 0
    assert abs(linear.weight.std().item() - 0.02) < 0.002
    assert SimCSEPooling(256, "avg").mlp is None


def test_hidden_state_pooler_without_hidden_states_says_how_to_fix(tiny_bert_dir: Path) -> None:
    transformer = Transformer(str(tiny_bert_dir))  # config without output_hidden_states
    model = SentenceTransformer(modules=[transformer, SimCSEPooling(32, "avg_top2")], device="cpu")
    with pytest.raises(ValueError, match="output_hidden_states"):
        model.encode(TEXTS)


def test_cls_before_pooler_equals_sentence_transformers_cls_pooling(tiny_bert_dir: Path) -> None:
    transformer = Transformer(str(tiny_bert_dir))
    ours = SentenceTransformer(modules=[transformer, SimCSEPooling(32, "cls_before_pooler")], device="cpu")
    theirs = SentenceTransformer(modules=[transformer, Pooling(32, pooling_mode="cls")], device="cpu")
    assert_close(ours.encode(TEXTS, convert_to_tensor=True), theirs.encode(TEXTS, convert_to_tensor=True))


@pytest.mark.parametrize("bad", [{"pooler": "mean"}, {"pooler": "cls", "embedding_dimension": 0}])
def test_invalid_settings(tiny_bert_dir: Path, bad: dict) -> None:
    with pytest.raises(ValueError):
        SimCSEPooling(**{"embedding_dimension": 32, **bad})
    if "embedding_dimension" not in bad:
        with pytest.raises(ValueError, match="pooler"):
            build_simcse_model(str(tiny_bert_dir), bad["pooler"])
