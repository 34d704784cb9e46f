from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss
from simcse_st.training import build_model, train_simcse


@pytest.mark.parametrize(
    "options",
    [{}, {"batching": "length"}, {"mini_batch_size": 2}, {"fast_dropout": False}],
    ids=["plain", "length-batching", "gradcache", "native-dropout"],
)
def test_train_simcse_writes_a_reloadable_model_and_results(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path, options: dict
) -> None:
    out = tmp_path / "run"
    results = train_simcse(
        corpus_file,
        out,
        model=str(tiny_bert_dir),
        batch_size=4,
        max_steps=3,
        bf16=False,
        show_progress_bar=False,
        **options,
    )
    assert results["global_step"] == 3
    assert results["settings"]["batch_size"] == 4 and results["settings"]["temperature"] == 0.05
    assert json.loads((out / "results.json").read_text())["global_step"] == 3
    assert results["settings"]["mlp_only_train"] is True  # the paper's unsupervised default: [CLS] + train-only MLP
    assert results["settings"]["fast_dropout"] is options.get("fast_dropout", True)  # 16-bit masks by default
    assert (out / "README.md").is_file()  # the model card
    model = SentenceTransformer(str(out), device="cpu")
    assert model.encode(["a dog runs."]).shape == (1, 32)


def test_build_model_sets_pooling_and_length(tiny_bert_dir: Path) -> None:
    model = build_model(str(tiny_bert_dir), pooling="cls", max_seq_length=16, mlp_only_train=True)
    assert model.max_seq_length == 16
    assert len(model) == 2 and model[1].pooling_mode == "cls"  # the raw [CLS]: the MLP lives in the loss
    features = model.preprocess(["the cat sits on the mat."])
    model.eval()
    with torch.no_grad():
        output = model(features)
    assert_close(output["sentence_embedding"], output["token_embeddings"][:, 0])
    with_mlp = build_model(str(tiny_bert_dir), pooling="cls")  # supervised SimCSE: the MLP is part of the model
    assert [type(m).__name__ for m in with_mlp] == ["Transformer", "Pooling", "Dense"]
    assert build_model(str(tiny_bert_dir), pooling="mean")[1].pooling_mode == "mean"


def test_supervised_triplets(tiny_bert_dir: Path, tmp_path: Path) -> None:
    from conftest import SENTENCES

    csv = tmp_path / "nli.csv"
    rows = [f'"{a}","{b}","{c}"' for a, b, c in zip(SENTENCES[:8], SENTENCES[8:], SENTENCES[::-1][:8], strict=True)]
    csv.write_text("sent0,sent1,hard_neg\n" + "\n".join(rows) + "\n")
    results = train_simcse(
        csv,
        tmp_path / "sup",
        model=str(tiny_bert_dir),
        supervised=True,
        batch_size=4,
        max_steps=2,
        hard_negative_weight=1.0,
        bf16=False,
        show_progress_bar=False,
    )
    assert results["mode"] == "supervised" and results["rows"] == 8 and results["global_step"] == 2


def test_user_errors(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="Training file not found"):
        train_simcse(tmp_path / "missing.txt", tmp_path / "a", model=str(tiny_bert_dir))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        train_simcse(corpus_file, busy, model=str(tiny_bert_dir))
    with pytest.raises(ValueError, match="fewer than one batch of 64"):
        train_simcse(corpus_file, tmp_path / "b", model=str(tiny_bert_dir), batch_size=64)
    with pytest.raises(ValueError, match="batch_size"):
        train_simcse(corpus_file, tmp_path / "c", model=str(tiny_bert_dir), batch_size=1)
    with pytest.raises(FileNotFoundError, match="Model folder not found"):
        build_model(str(tmp_path / "no-such-model"))
    with pytest.raises(OSError, match="pass a local model folder"):
        build_model("no-such-org/no-such-model-on-the-hub")  # HF_HUB_OFFLINE or no network: a clear message


def test_resume_restores_the_loss_owned_mlp(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    """The train-only MLP lives in the loss: it is saved with each checkpoint and loaded back on resume."""
    from simcse_st.loss_state import LOSS_STATE_FILE, LossStateCallback

    out = tmp_path / "run"
    common = dict(
        model=str(tiny_bert_dir), pooling="cls", batch_size=4, save_steps=1, bf16=False, show_progress_bar=False
    )
    train_simcse(corpus_file, out, max_steps=2, **common)
    saved = torch.load(out / "checkpoints" / "checkpoint-2" / LOSS_STATE_FILE)
    assert set(saved) == {"mlp.0.weight", "mlp.0.bias"}
    loss = DropoutContrastiveLoss(build_model(str(tiny_bert_dir), "cls", mlp_only_train=True), mlp_only_train=True)
    assert not torch.equal(loss.mlp[0].weight, saved["mlp.0.weight"])
    assert LossStateCallback.restore(loss, out / "checkpoints" / "checkpoint-2")
    torch.testing.assert_close(loss.mlp[0].weight, saved["mlp.0.weight"])
    assert not LossStateCallback.restore(loss, tmp_path)  # no state saved there


def test_resume_continues_from_the_last_checkpoint(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    common = dict(
        model=str(tiny_bert_dir), batch_size=4, save_steps=1, eval_steps=1, bf16=False, show_progress_bar=False
    )
    train_simcse(corpus_file, out, max_steps=2, **common)
    assert (out / "checkpoints" / "checkpoint-2").is_dir()
    results = train_simcse(corpus_file, out, max_steps=4, resume=True, **common)
    assert results["global_step"] == 4
