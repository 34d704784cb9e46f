"""``train_simcse`` on the tiny BERT: outputs, repeatability, the wiring of each setting, resume, errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import SENTENCES
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.evaluation.evaluator import BaseEvaluator
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss
from simcse_st.modules import FastDropout
from simcse_st.training import SimCSEConfig, build_model, train_simcse
from simcse_st.training.loss_state_callback import LOSS_STATE_FILE, LossStateCallback

TINY = SimCSEConfig(batch_size=4, max_steps=3, bf16=False)


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(str(directory / "model.safetensors"))


@pytest.mark.parametrize(
    "options",
    [{}, {"batching": "random"}, {"mini_batch_size": 2}, {"fast_dropout": False}],
    ids=["plain", "random-batches", "gradcache", "native-dropout"],
)
def test_train_simcse_writes_a_reloadable_model_and_results(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path, options: dict
) -> None:
    out = tmp_path / "run"
    config = replace(TINY, **options)
    results = train_simcse(corpus_file, out, config, model=str(tiny_bert_dir), show_progress_bar=False)
    assert results["global_step"] == 3
    assert results["config"] == config.to_dict()
    assert SimCSEConfig.from_json(out / "results.json") == config  # the run can be repeated from its results
    assert results["resolved"]["mlp_in_loss"] is True  # the paper's unsupervised default: [CLS] + train-only MLP
    assert results["loss"]["mlp_only_train"] is True and results["loss"]["temperature"] == 0.05
    assert (out / "README.md").is_file()  # the model card
    model = SentenceTransformer(str(out), device="cpu")
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling"]  # the MLP is not saved
    assert model.encode(["a dog runs."]).shape == (1, 32)


def test_a_run_is_a_function_of_its_seed(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    """[CLS] + train-only MLP + MLM head + dropout + data order: two runs with one seed give the same weights."""
    config = replace(TINY, mlm_weight=0.1, save_steps=3)
    runs = [
        train_simcse(corpus_file, tmp_path / name, config, model=str(tiny_bert_dir), show_progress_bar=False)
        for name in ("a", "b")
    ]
    first, second = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key
    assert runs[0]["train_loss"] == runs[1]["train_loss"]
    heads = [torch.load(tmp_path / n / "checkpoints" / "checkpoint-3" / LOSS_STATE_FILE) for n in ("a", "b")]
    assert {key.split(".")[0] for key in heads[0]} == {"mlp", "mlm"}
    for key in heads[0]:
        assert torch.equal(heads[0][key], heads[1][key]), key
    other = train_simcse(
        corpus_file, tmp_path / "c", replace(config, seed=7), model=str(tiny_bert_dir), show_progress_bar=False
    )
    assert other["train_loss"] != runs[0]["train_loss"]  # and the seed does change it


def test_build_model_follows_the_config(tiny_bert_dir: Path) -> None:
    model = build_model(str(tiny_bert_dir), SimCSEConfig(max_seq_length=16))
    assert model.max_seq_length == 16
    assert len(model) == 2 and model[1].pooling_mode == "cls"  # the raw [CLS]: the MLP lives in the loss
    features = model.preprocess(["the cat sits on the mat."])
    model.eval()
    with torch.no_grad():
        output = model(features)
    assert_close(output["sentence_embedding"], output["token_embeddings"][:, 0])
    with_mlp = build_model(str(tiny_bert_dir), SimCSEConfig(supervised=True))  # supervised: the MLP is saved
    assert [type(m).__name__ for m in with_mlp] == ["Transformer", "Pooling", "Dense"]
    assert build_model(str(tiny_bert_dir), SimCSEConfig(pooling="mean"))[1].pooling_mode == "mean"
    assert build_model(str(tiny_bert_dir), SimCSEConfig(dropout=0.3))[0].auto_model.config.hidden_dropout_prob == 0.3


def test_dropout_is_set_on_a_ready_model(
    tiny_model: SentenceTransformer, tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    """How the Table 3 ablation sets p: it passes ready models and config.dropout."""
    config = replace(TINY, dropout=0.25, max_steps=1, fast_dropout=False)
    train_simcse(corpus_file, tmp_path / "run", config, model=tiny_model, show_progress_bar=False)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["model"] == str(tiny_bert_dir)  # a ready model records its source, for --config results.json
    rates = {m.p for m in tiny_model.modules() if isinstance(m, torch.nn.Dropout)}
    assert rates == {0.25}
    assert tiny_model[0].auto_model.config.attention_probs_dropout_prob == 0.25


def test_fast_dropout_and_batching_reach_the_model_and_the_trainer(
    tiny_model: SentenceTransformer, corpus_file: Path, tmp_path: Path
) -> None:
    from sentence_transformers.base.training_args import BatchSamplers

    from simcse_st.training import training_arguments

    train_simcse(corpus_file, tmp_path / "a", replace(TINY, max_steps=1), model=tiny_model, show_progress_bar=False)
    assert any(isinstance(m, FastDropout) for m in tiny_model.modules())  # fast_dropout=True (the default)
    length = training_arguments(TINY, tmp_path / "b", tiny_model, None, False)
    assert length.batch_sampler.func.__name__ == "LengthGroupedBatchSampler"  # batching="length"
    random = training_arguments(replace(TINY, batching="random"), tmp_path / "c", tiny_model, None, False)
    assert random.batch_sampler == BatchSamplers.NO_DUPLICATES
    assert (length.seed, length.data_seed, length.learning_rate) == (42, 42, 3e-5)


class ScriptedEvaluator(BaseEvaluator):
    """Returns the next of ``scores`` at each call: a checkpoint-selection test with a known best step. No ``name``
    (``BaseEvaluator`` does not define one): the Trainer's metric is then ``eval_score``."""

    def __init__(self, scores: list[float]) -> None:
        super().__init__()
        self.scores = list(scores)
        self.primary_metric = "score"

    def __call__(self, model, output_path=None, epoch=-1, steps=-1) -> dict[str, float]:
        return {"score": self.scores.pop(0)}


def test_the_saved_model_is_the_best_checkpoint(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = replace(TINY, max_steps=3, eval_steps=1)
    results = train_simcse(
        corpus_file,
        out,
        config,
        model=str(tiny_bert_dir),
        evaluator=ScriptedEvaluator([0.2, 0.9, 0.5]),
        show_progress_bar=False,
    )
    assert results["best_metric_name"] == "eval_score"
    assert results["best_metric"] == 0.9 and results["best_checkpoint"].endswith("checkpoint-2")
    saved, best = _weights(out), _weights(out / "checkpoints" / "checkpoint-2")
    last = _weights(out / "checkpoints" / "checkpoint-3")
    for key in saved:
        assert torch.equal(saved[key], best[key]), key
    assert any(not torch.equal(saved[key], last[key]) for key in saved)  # and not simply the last one


def test_resume_restores_the_loss_owned_mlp_inside_train_simcse(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simcse_st.training.train as train_module

    out = tmp_path / "run"
    config = replace(TINY, max_steps=2, save_steps=1)
    train_simcse(corpus_file, out, config, model=str(tiny_bert_dir), show_progress_bar=False)
    saved = torch.load(out / "checkpoints" / "checkpoint-2" / LOSS_STATE_FILE)
    assert set(saved) == {"mlp.0.weight", "mlp.0.bias"}
    losses: list[DropoutContrastiveLoss] = []
    build_loss = train_module.build_loss
    monkeypatch.setattr(train_module, "build_loss", lambda *args: losses.append(build_loss(*args)) or losses[-1])
    monkeypatch.setattr(  # stop where the Trainer would start: the heads it would train are the loss's now
        train_module.SentenceTransformerTrainer,
        "train",
        lambda self, **kwargs: (_ for _ in ()).throw(KeyboardInterrupt),
    )
    with pytest.raises(KeyboardInterrupt):
        train_simcse(corpus_file, out, replace(config, max_steps=4), model=str(tiny_bert_dir), resume=True)
    assert_close(losses[0].mlp[0].weight.detach(), saved["mlp.0.weight"])
    assert_close(losses[0].mlp[0].bias.detach(), saved["mlp.0.bias"])
    fresh = DropoutContrastiveLoss(build_model(str(tiny_bert_dir), config), mlp_only_train=True)
    assert not torch.equal(fresh.mlp[0].weight, saved["mlp.0.weight"])  # a fresh head would differ
    assert LossStateCallback.restore(fresh, out / "checkpoints" / "checkpoint-2")
    assert not LossStateCallback.restore(fresh, tmp_path)  # no state saved there


def test_resume_continues_from_the_last_checkpoint(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = replace(TINY, max_steps=2, save_steps=1, eval_steps=1)
    train_simcse(corpus_file, out, config, model=str(tiny_bert_dir), show_progress_bar=False)
    assert (out / "checkpoints" / "checkpoint-2").is_dir()
    results = train_simcse(
        corpus_file, out, replace(config, max_steps=4), model=str(tiny_bert_dir), resume=True, show_progress_bar=False
    )
    assert results["global_step"] == 4


def test_supervised_triplets_keep_their_hard_negatives(tiny_bert_dir: Path, tmp_path: Path) -> None:
    csv = tmp_path / "nli.csv"
    rows = [f'"{a}","{b}","{c}"' for a, b, c in zip(SENTENCES[:8], SENTENCES[8:], SENTENCES[::-1][:8], strict=True)]
    csv.write_text("sent0,sent1,hard_neg\n" + "\n".join(rows) + "\n")
    columns: list[int] = []
    original = DropoutContrastiveLoss.forward
    DropoutContrastiveLoss.forward = lambda self, features, labels=None: (
        columns.append(len(list(features))) or original(self, features, labels)
    )
    try:
        config = replace(TINY, supervised=True, max_steps=2, hard_negative_weight=1.0)
        results = train_simcse(csv, tmp_path / "sup", config, model=str(tiny_bert_dir), show_progress_bar=False)
    finally:
        DropoutContrastiveLoss.forward = original
    assert results["mode"] == "supervised" and results["rows"] == 8 and results["global_step"] == 2
    assert columns == [3, 3]  # anchor, positive, hard negative reach the loss
    assert results["loss"]["hard_negative_weight"] == 1.0


def test_augmentation_trains_on_pairs(tiny_model: SentenceTransformer, corpus_file: Path, tmp_path: Path) -> None:
    config = replace(TINY, max_steps=1, augmentation="crop", augmentation_ratio=0.2)
    results = train_simcse(corpus_file, tmp_path / "run", config, model=tiny_model, show_progress_bar=False)
    assert results["corpus"] == str(corpus_file) and results["global_step"] == 1


def test_deprecated_keywords_still_work_with_a_warning(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    with pytest.warns(FutureWarning, match="SimCSEConfig"):
        results = train_simcse(
            corpus_file, tmp_path / "run", model=str(tiny_bert_dir), batch_size=4, max_steps=1, bf16=False
        )
    assert results["config"]["batch_size"] == 4 and results["global_step"] == 1
    with pytest.raises(TypeError, match="config must be a SimCSEConfig"):
        train_simcse(corpus_file, tmp_path / "x", str(tiny_bert_dir))  # the old positional model


def test_user_errors(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="Training file not found"):
        train_simcse(tmp_path / "missing.txt", tmp_path / "a", model=str(tiny_bert_dir))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        train_simcse(corpus_file, busy, model=str(tiny_bert_dir))
    with pytest.raises(ValueError, match="fewer than one batch"):
        train_simcse(corpus_file, tmp_path / "b", SimCSEConfig(batch_size=64), model=str(tiny_bert_dir))
    with pytest.raises(FileNotFoundError, match="Model folder not found"):
        build_model(str(tmp_path / "no-such-model"), SimCSEConfig())
    with pytest.raises(OSError, match="pass a local model folder"):
        build_model("no-such-org/no-such-model-on-the-hub", SimCSEConfig())  # offline: a clear message


def test_interrupt_names_the_checkpoint_and_the_parameter(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simcse_st.training import TrainingInterrupted

    monkeypatch.setattr(
        "simcse_st.training.train.SentenceTransformerTrainer.train",
        lambda self, **kwargs: (_ for _ in ()).throw(KeyboardInterrupt),
    )
    with pytest.raises(TrainingInterrupted, match="resume=True") as info:
        train_simcse(corpus_file, tmp_path / "run", TINY, model=str(tiny_bert_dir), show_progress_bar=False)
    assert info.value.checkpoint is None and isinstance(info.value, KeyboardInterrupt)
    assert json.dumps(str(info.value))  # one plain line
