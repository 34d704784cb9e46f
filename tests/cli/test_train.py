"""``simcse-st train`` on the tiny model: outputs, evaluation during training, resume, Ctrl-C, user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_clean_error, assert_ok, invoke, load, write_sts_dir
from sentence_transformers import SentenceTransformerTrainer

BASE = ("--pooling", "mean", "--batch-size", "4", "--no-bf16")
FAST = (*BASE, "--max-steps", "2", "-q")


def _train(corpus: Path, model: Path, output: Path, *extra: str):
    return invoke("train", corpus, "--model", model, "--output", output, *FAST, *extra)


def test_train_writes_a_loadable_model_results_and_card(
    corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "run"
    result = _train(corpus_file, tiny_bert_dir, output, "--seed", "3", "--temperature", "0.1", "--lr", "1e-4")
    assert_ok(result)
    assert f"Saved the model to {output}" in result.output
    results = json.loads((output / "results.json").read_text())
    assert results["global_step"] == 2 and results["mode"] == "unsupervised" and results["rows"] == 16
    assert results["settings"]["temperature"] == 0.1 and results["settings"]["seed"] == 3
    assert results["settings"]["learning_rate"] == 1e-4 and results["settings"]["bf16"] is False
    assert results["settings"]["pooling"] == "mean" and results["train_loss"] > 0
    assert (output / "README.md").is_file()  # the model card
    model = load(output)
    assert model.encode(["a cat."]).shape == (1, 32)


def test_train_with_eval_data_keeps_the_best_checkpoint(
    corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path
) -> None:
    data = write_sts_dir(tmp_path / "senteval")
    output = tmp_path / "run"
    result = _train(corpus_file, tiny_bert_dir, output, "--eval-data", data, "--eval-steps", "1")
    assert_ok(result)
    results = json.loads((output / "results.json").read_text())
    metric = results["best_metric_name"]
    assert metric == "eval_sts-dev_stsb_spearman"
    assert [entry["step"] for entry in results["eval_history"]] == [1, 2]
    assert results["best_metric"] == max(entry[metric] for entry in results["eval_history"])
    assert "STS-B dev Spearman ×100 by step: 1:" in result.output


def test_supervised_csv(tiny_bert_dir: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "nli.csv"
    rows = [f'"sentence {i}, anchor",entailed {i},contradicts {i}' for i in range(8)]
    csv_file.write_text("sent0,sent1,hard_neg\n" + "\n".join(rows) + "\n")
    output = tmp_path / "sup"
    assert_ok(_train(csv_file, tiny_bert_dir, output, "--supervised", "--hard-negative-weight", "1.0"))
    results = json.loads((output / "results.json").read_text())
    assert results["mode"] == "supervised" and results["settings"]["hard_negative_weight"] == 1.0


def test_resume_continues_from_the_last_checkpoint(corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "run"
    assert_ok(_train(corpus_file, tiny_bert_dir, output, "--save-steps", "1"))
    assert (output / "checkpoints" / "checkpoint-2").is_dir()
    result = invoke(
        "train", corpus_file, "--model", tiny_bert_dir, "--output", output, *BASE, "--max-steps", "4", "--resume", "-q"
    )
    assert_ok(result)
    assert json.loads((output / "results.json").read_text())["global_step"] == 4
    state = json.loads((output / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4


def test_ctrl_c_leaves_a_usable_checkpoint_and_resume_finishes(
    corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = SentenceTransformerTrainer.training_step
    calls = {"n": 0}

    def interrupt_at_step_3(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformerTrainer, "training_step", interrupt_at_step_3)
    output = tmp_path / "run"
    args = ("train", corpus_file, "--model", tiny_bert_dir, "--output", output, *BASE, "--max-steps", "4")
    result = invoke(*args, "--save-steps", "1", "-q")
    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.output
    assert "checkpoint-2" in result.output and "--resume" in result.output
    assert not (output / "results.json").exists()
    monkeypatch.setattr(SentenceTransformerTrainer, "training_step", original)
    assert_ok(invoke(*args, "--save-steps", "1", "--resume", "-q"))
    assert json.loads((output / "results.json").read_text())["global_step"] == 4


def test_every_option_reaches_train_simcse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict] = []

    def fake_train_simcse(corpus, output_dir, **kwargs):
        calls.append({"corpus": corpus, "output_dir": output_dir, **kwargs})
        return {"global_step": 3, "train_seconds": 1.0, "train_loss": 0.5, "best_metric_name": None}

    monkeypatch.setattr("simcse_st.training.train_simcse", fake_train_simcse)
    result = invoke(
        "train", tmp_path / "c.txt", "-m", "some/model", "-o", tmp_path / "o", "--supervised", "--epochs", "2.5",
        "--max-steps", "3", "-b", "8", "--lr", "5e-5", "--max-seq-length", "48", "--temperature", "0.1",
        "--hard-negative-weight", "1.5", "--pooling", "avg_first_last", "--no-mlp-only-train", "--mlm-weight", "0.1",
        "--dropout", "0.2", "--batching", "length", "--mini-batch-size", "4", "--no-gather", "--seed", "7",
        "--native-dropout", "--eval-steps", "10", "--save-steps", "5", "--logging-steps", "2", "--bf16",
        "--overwrite", "--resume", "--decode-errors", "replace", "-q",
    )  # fmt: skip
    assert_ok(result)
    assert calls == [
        {
            "corpus": tmp_path / "c.txt",
            "output_dir": tmp_path / "o",
            "model": "some/model",
            "supervised": True,
            "pooling": "avg_first_last",
            "epochs": 2.5,
            "max_steps": 3,
            "batch_size": 8,
            "learning_rate": 5e-5,
            "max_seq_length": 48,
            "temperature": 0.1,
            "hard_negative_weight": 1.5,
            "gather_across_devices": False,
            "mini_batch_size": 4,
            "batching": "length",
            "mlp_only_train": False,
            "mlm_weight": 0.1,
            "dropout": 0.2,
            "fast_dropout": False,
            "seed": 7,
            "evaluator": None,
            "eval_steps": 10,
            "save_steps": 5,
            "bf16": True,
            "overwrite": True,
            "resume": True,
            "decode_errors": "replace",
            "logging_steps": 2,
            "show_progress_bar": False,
        }
    ]
    assert "3 steps" in result.output
    defaults = invoke("train", tmp_path / "c.txt", "-q")
    assert_ok(defaults)
    keys = ("model", "pooling", "mlp_only_train", "bf16", "gather_across_devices", "fast_dropout")
    assert {key: calls[1][key] for key in keys} == {
        "model": "bert-base-uncased",
        "fast_dropout": True,
        "pooling": "cls",
        "mlp_only_train": None,
        "bf16": None,
        "gather_across_devices": None,
    }
    assert (calls[1]["batch_size"], calls[1]["learning_rate"], calls[1]["max_seq_length"]) == (64, 3e-5, 32)
    assert (calls[1]["temperature"], calls[1]["epochs"], calls[1]["output_dir"]) == (0.05, 1.0, Path("runs/simcse"))


def test_missing_and_empty_corpus(tiny_bert_dir: Path, tmp_path: Path) -> None:
    assert_clean_error(_train(tmp_path / "nope.txt", tiny_bert_dir, tmp_path / "a"), "not found", "nope.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    assert_clean_error(_train(empty, tiny_bert_dir, tmp_path / "b"), "no usable sentence")


def test_non_empty_output_needs_overwrite(corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "run"
    output.mkdir()
    (output / "notes.txt").write_text("keep me")
    assert_clean_error(_train(corpus_file, tiny_bert_dir, output), "not empty", "--overwrite")
    assert not (output / "results.json").exists()


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [("--pooling", "max", "'max' is not one of"), ("--batch-size", "x", "valid integer")],
)
def test_bad_option_values_are_usage_errors(
    corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path, option: str, value: str, fragment: str
) -> None:
    result = invoke("train", corpus_file, "--model", tiny_bert_dir, "--output", tmp_path / "o", option, value)
    assert_clean_error(result, option, fragment, exit_code=2)


def test_bad_numeric_settings_are_clean_errors(corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path) -> None:
    assert_clean_error(_train(corpus_file, tiny_bert_dir, tmp_path / "o", "--batch-size", "1"), "batch_size")


def test_missing_eval_data_dir(corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path) -> None:
    result = _train(corpus_file, tiny_bert_dir, tmp_path / "o", "--eval-data", tmp_path / "no-data")
    assert_clean_error(result, "no-data", "does not exist")


def test_unknown_model_path(corpus_file: Path, tmp_path: Path) -> None:
    error = assert_clean_error(_train(corpus_file, tmp_path / "no-model", tmp_path / "o"), "Model folder not found")
    assert "no-model" in error


def test_hub_model_offline_says_how_to_pass_a_local_model(
    corpus_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # read at import time
    torch.manual_seed(0)
    result = invoke("train", corpus_file, "--output", tmp_path / "o", *FAST)  # default model: bert-base-uncased
    assert_clean_error(result, "bert-base-uncased", "Hugging Face hub", "local model folder")
