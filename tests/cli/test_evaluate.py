"""``simcse-st evaluate`` and ``evaluate_model`` on tiny data in the real SentEval layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_clean_error, assert_ok, invoke, load, save_tiny_encoder, write_mr_dir, write_sts_dir

from simcse_st.evaluation import STSEvaluator
from simcse_st.evaluation.evaluate import evaluate_model, resolve_evaluation_tasks

STS_HEADERS = ("STS12", "STS13", "STS14", "STS15", "STS16", "STS-B", "SICK-R", "Avg.")


@pytest.fixture(scope="module")
def encoder_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(tiny_bert_dir, tmp_path_factory.mktemp("encoder") / "model")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mr_dir(write_sts_dir(tmp_path_factory.mktemp("data") / "senteval"))


def test_sts_test_table_and_json(encoder_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    json_path = tmp_path / "results" / "sts.json"
    result = invoke("evaluate", "--model", encoder_dir, "--data", data_dir, "--json", json_path, "-q")
    assert_ok(result)
    for header in STS_HEADERS:
        assert header in result.output
    saved = json.loads(json_path.read_text())
    assert saved["mode"] == "test" and saved["data_dir"] == str(data_dir)
    assert saved["tasks"] == {"sts": ["sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr"]}
    assert saved["table"] in result.output
    # the same numbers as the STSEvaluator on its own
    direct = STSEvaluator(data_dir=data_dir, mode="test")(load(encoder_dir))
    assert saved["metrics"]["avg_spearman"] == pytest.approx(direct["avg_spearman"])
    assert -1 <= saved["metrics"]["stsb_spearman"] <= 1


def test_dev_mode_single_tasks_and_env_var(
    encoder_dir: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIMCSE_ST_DATA", str(data_dir))
    result = invoke("evaluate", "-m", encoder_dir, "--mode", "dev", "--tasks", "stsb", "--json", tmp_path / "d.json")
    assert_ok(result)
    saved = json.loads((tmp_path / "d.json").read_text())
    assert saved["tasks"] == {"sts": ["stsb"]} and saved["mode"] == "dev"
    assert "STS-B" in result.output and "SICK-R" not in result.output


def test_transfer_task_mr(encoder_dir: Path, data_dir: Path) -> None:
    results = evaluate_model(
        encoder_dir, data_dir=data_dir, tasks=["stsb,mr"], transfer_mode="fast", show_progress_bar=False
    )
    assert results["tasks"] == {"sts": ["stsb"], "transfer": ["MR"], "transfer_mode": "fast"}
    assert 0 <= results["metrics"]["mr_accuracy"] <= 1 and "stsb_spearman" in results["metrics"]
    assert "MR" in results["table"] and "STS-B" in results["table"]


def test_max_seq_length_is_used_and_restored(encoder_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    model = load(encoder_dir)
    results = evaluate_model(model, data_dir=data_dir, tasks=["stsb"], max_seq_length=4, show_progress_bar=False)
    assert results["max_seq_length"] == 4 and model.max_seq_length == 32
    full = evaluate_model(model, data_dir=data_dir, tasks=["stsb"], show_progress_bar=False)
    assert full["max_seq_length"] == 32
    assert results["metrics"]["stsb_spearman"] != full["metrics"]["stsb_spearman"]  # 4 tokens cut the sentences
    result = invoke("evaluate", "-m", encoder_dir, "-d", data_dir, "-t", "stsb", "--max-seq-length", "1")
    assert_clean_error(result, "max_seq_length")


def test_resolve_evaluation_tasks() -> None:
    assert resolve_evaluation_tasks(["sts"]) == ([], None)
    assert resolve_evaluation_tasks(["all"]) == ([], [])
    assert resolve_evaluation_tasks(["STSB,sickr", "mr", "TREC"]) == (["stsb", "sickr"], ["MR", "TREC"])
    assert resolve_evaluation_tasks(["transfer", "sts12"]) == (["sts12"], [])
    with pytest.raises(ValueError, match="Unknown task"):
        resolve_evaluation_tasks(["sts17"])
    with pytest.raises(ValueError, match="at least one"):
        resolve_evaluation_tasks([" , "])


def test_user_errors(encoder_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    assert_clean_error(invoke("evaluate", "-m", encoder_dir, "--data", tmp_path / "nowhere"), "nowhere")
    assert_clean_error(invoke("evaluate", "-m", encoder_dir, "--data", data_dir, "--tasks", "sts99"), "sts99")
    assert_clean_error(invoke("evaluate", "-m", tmp_path / "no-model", "--data", data_dir), "no-model")
    assert_clean_error(  # STS12 has no dev split
        invoke("evaluate", "-m", encoder_dir, "--data", data_dir, "--mode", "dev", "--tasks", "sts12"), "dev"
    )
    assert_clean_error(  # CR is not in the fixture directory
        invoke("evaluate", "-m", encoder_dir, "--data", data_dir, "--tasks", "cr"), "CR"
    )
    bad_mode = invoke("evaluate", "-m", encoder_dir, "--data", data_dir, "--mode", "train")
    assert_clean_error(bad_mode, "--mode", exit_code=2)
