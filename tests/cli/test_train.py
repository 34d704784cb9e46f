"""``simcse-st train`` on the tiny model: outputs, evaluation during training, resume, Ctrl-C, user errors."""

from __future__ import annotations

import inspect
import json
from dataclasses import fields, replace
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_clean_error, assert_ok, invoke, load, write_sts_dir
from sentence_transformers import SentenceTransformerTrainer

from simcse_st.cli import train as train_cli
from simcse_st.training import PRESETS, SimCSEConfig

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
    assert results["config"]["temperature"] == 0.1 and results["config"]["seed"] == 3
    assert results["config"]["learning_rate"] == 1e-4 and results["resolved"]["bf16"] is False
    assert results["config"]["pooling"] == "mean" and results["train_loss"] > 0
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
    assert results["mode"] == "supervised" and results["config"]["hard_negative_weight"] == 1.0


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
    assert result.output.count("interrupted") == 1  # issue 16, defect 14: reported once (it was twice)
    assert not (output / "results.json").exists()
    monkeypatch.setattr(SentenceTransformerTrainer, "training_step", original)
    assert_ok(invoke(*args, "--save-steps", "1", "--resume", "-q"))
    assert json.loads((output / "results.json").read_text())["global_step"] == 4


def _fake_train_simcse(calls: list[dict]):
    def fake(corpus, output_dir, config, **kwargs):
        calls.append({"corpus": corpus, "output_dir": output_dir, "config": config, **kwargs})
        return {"global_step": 3, "train_seconds": 1.0, "train_loss": 0.5, "best_metric_name": None}

    return fake


# The options of `simcse-st train` that are not SimCSEConfig fields, and why each is not.
OPERATIONAL = {
    "corpus": "the input",
    "model": "the input (a model is not a setting of the method)",
    "output": "where the run goes",
    "config_file": "where the settings come from",
    "preset": "where the settings come from",
    "eval_data": "builds the evaluator (data, not a setting)",
    "eval_pairs": "builds the evaluator (data, not a setting)",
    "pairs_columns": "how the evaluator's data is read",
    "skip_bad_rows": "how the evaluator's data is read",
    "overwrite": "what to do with an existing output",
    "resume": "what to do with an existing output",
    "decode_errors": "how to read the corpus file",
    "quiet": "logging",
}


def test_every_config_field_is_an_option_with_its_default_and_help() -> None:
    import typer.main

    from simcse_st.cli.app import app

    command = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    params = {param.name: param for param in command.params}
    defaults = SimCSEConfig()
    for item in fields(SimCSEConfig):
        assert item.name in params, f"SimCSEConfig.{item.name} has no option in simcse-st train"
        assert params[item.name].default == getattr(defaults, item.name), item.name
        assert params[item.name].help == item.metadata["help"], item.name
    extra = set(params) - {item.name for item in fields(SimCSEConfig)}
    assert extra == set(OPERATIONAL), extra  # no option without a field or an operational reason
    assert inspect.getsource(train_cli).count("= 64") == 0  # no literal defaults left in cli/


def test_every_option_reaches_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict] = []
    monkeypatch.setattr("simcse_st.training.train_simcse", _fake_train_simcse(calls))
    result = invoke(
        "train", tmp_path / "c.txt", "-m", "some/model", "-o", tmp_path / "o", "--supervised", "--epochs", "2.5",
        "--max-steps", "3", "-b", "8", "--lr", "5e-5", "--max-seq-length", "48", "--temperature", "0.1",
        "--hard-negative-weight", "1.5", "--pooling", "cls", "--no-mlp-only-train", "--mlm-weight", "0.1",
        "--mlm-probability", "0.2", "--dropout", "0.2", "--batching", "random", "--no-gather", "--seed", "7",
        "--native-dropout", "--eval-steps", "10", "--save-steps", "5", "--logging-steps", "2", "--bf16",
        "--init", "random", "--overwrite", "--resume", "--decode-errors", "replace", "-q",
    )  # fmt: skip
    assert_ok(result)
    [call] = calls
    assert call["config"] == SimCSEConfig(
        supervised=True, epochs=2.5, max_steps=3, batch_size=8, learning_rate=5e-5, max_seq_length=48,
        temperature=0.1, hard_negative_weight=1.5, pooling="cls", mlp_only_train=False, mlm_weight=0.1,
        mlm_probability=0.2, dropout=0.2, batching="random", gather_across_devices=False, seed=7,
        fast_dropout=False, eval_steps=10, save_steps=5, logging_steps=2, bf16=True, init="random",
    )  # fmt: skip
    assert {k: call[k] for k in ("model", "evaluator", "overwrite", "resume", "decode_errors")} == {
        "model": "some/model",
        "evaluator": None,
        "overwrite": True,
        "resume": True,
        "decode_errors": "replace",
    }
    assert call["show_progress_bar"] is False and "3 steps" in result.output
    other = invoke("train", tmp_path / "c.txt", "--augmentation", "crop", "--augmentation-ratio", "0.1",
                   "--mini-batch-size", "4", "--same-dropout-mask", "-q")  # fmt: skip
    assert_clean_error(other, "--same-dropout-mask")  # GradCache and the same mask: refused, named as flags
    assert_ok(invoke("train", tmp_path / "c.txt", "--augmentation", "mlm", "--fill-model", "m", "-q"))
    assert calls[-1]["config"] == SimCSEConfig(augmentation="mlm", fill_model="m")
    assert_ok(invoke("train", tmp_path / "c.txt", "-q"))
    assert calls[-1]["config"] == SimCSEConfig() and calls[-1]["model"] is None  # None: bert-base-uncased
    assert calls[-1]["output_dir"] == Path("runs/simcse")


def test_config_file_repeats_a_run_and_the_command_line_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict] = []
    monkeypatch.setattr("simcse_st.training.train_simcse", _fake_train_simcse(calls))
    recorded = SimCSEConfig(batch_size=16, learning_rate=1e-4, batching="random", seed=3)
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"model": "recorded/model", "config": recorded.to_dict()}))
    assert_ok(invoke("train", tmp_path / "c.txt", "--config", results, "-q"))
    assert calls[-1]["config"] == recorded and calls[-1]["model"] == "recorded/model"
    assert_ok(invoke("train", tmp_path / "c.txt", "--config", results, "--seed", "4", "-m", "mine", "-q"))
    assert calls[-1]["config"] == replace(recorded, seed=4) and calls[-1]["model"] == "mine"
    assert_ok(invoke("train", tmp_path / "c.txt", "--preset", "paper", "--batch-size", "32", "-q"))
    assert calls[-1]["config"] == replace(PRESETS["paper"], batch_size=32)
    bad = tmp_path / "bad.json"
    bad.write_text('{"batch_size": 1}')
    assert_clean_error(invoke("train", tmp_path / "c.txt", "--config", bad, "-q"), "bad.json", "--batch-size 1")
    for preset in ("paper", "default"):
        assert_clean_error(invoke("train", tmp_path / "c.txt", "--config", results, "--preset", preset), "not both")


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


def test_bad_numeric_settings_are_clean_errors_that_name_the_flag(
    corpus_file: Path, tiny_bert_dir: Path, tmp_path: Path
) -> None:
    error = assert_clean_error(
        _train(corpus_file, tiny_bert_dir, tmp_path / "o", "--batch-size", "1"), "--batch-size 1"
    )
    assert "batch_size" not in error
    assert_clean_error(_train(corpus_file, tiny_bert_dir, tmp_path / "o", "--lr", "inf"), "--lr inf is invalid")


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
