"""CorpusDevEvaluator: every metric against a hand-written reference; the score choices; through a model."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer

from simcse_st.evaluation import CORPUS_DEV_SCORES, CorpusDevEvaluator

HELD_OUT = [f"the {w} sat on the mat number {i} today" for i, w in enumerate(["cat", "dog", "man", "kid", "owl"])]


def _reference(e: torch.Tensor, q: torch.Tensor) -> dict[str, float]:
    """The metrics written out row by row, from their definitions."""
    e = e / e.norm(dim=1, keepdim=True)
    q = q / q.norm(dim=1, keepdim=True)
    n = len(e)
    ranks, nll = [], 0.0
    for i in range(n):
        sims = [float(e[i] @ q[j]) for j in range(n)]
        ranks.append(1 + sum(s > sims[i] for s in sims))
        nll -= math.log(math.exp(sims[i] / 0.05) / sum(math.exp(s / 0.05) for s in sims))
    align = sum(float((e[i] - q[i]).norm() ** 2) for i in range(n)) / n
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    uniform = math.log(sum(math.exp(-2 * float((e[i] - e[j]).norm() ** 2)) for i, j in pairs) / len(pairs))
    return {
        "retrieval_mrr": sum(1 / r for r in ranks) / n,
        "retrieval_top1": sum(r == 1 for r in ranks) / n,
        "align_loss": align,
        "uniform_loss": uniform,
        "contrastive_loss": nll / n,
    }


def test_metrics_equal_their_definitions() -> None:
    torch.manual_seed(0)
    e = torch.randn(5, 8, dtype=torch.float64)
    q = e + 0.8 * torch.randn(5, 8, dtype=torch.float64)  # noisy copies: some ranks > 1
    evaluator = CorpusDevEvaluator(HELD_OUT)
    metrics = evaluator.compute_metrics(e, q)
    expected = _reference(e, q)
    for key, value in expected.items():
        torch.testing.assert_close(
            torch.tensor(metrics[key], dtype=torch.float64), torch.tensor(value, dtype=torch.float64)
        )
    assert metrics["score"] == -metrics["contrastive_loss"]  # the default score


@pytest.mark.parametrize("score", CORPUS_DEV_SCORES)
def test_each_score_is_its_component_greater_is_better(score: str) -> None:
    torch.manual_seed(1)
    e = torch.randn(5, 8, dtype=torch.float64)
    q = e + 0.5 * torch.randn(5, 8, dtype=torch.float64)
    m = CorpusDevEvaluator(HELD_OUT, score=score).compute_metrics(e, q)  # type: ignore[arg-type]
    expected = {
        "retrieval_mrr": m["retrieval_mrr"],
        "retrieval_top1": m["retrieval_top1"],
        "alignment": -m["align_loss"],
        "uniformity": -m["uniform_loss"],
        "align_uniform": -(m["align_loss"] + m["uniform_loss"]),
        "contrastive": -m["contrastive_loss"],
    }[score]
    assert m["score"] == expected


def test_a_better_encoder_scores_higher() -> None:
    torch.manual_seed(2)
    e = torch.randn(20, 16, dtype=torch.float64)
    close = CorpusDevEvaluator([f"s {i} x" for i in range(20)]).compute_metrics(e, e + 0.05 * torch.randn_like(e))
    far = CorpusDevEvaluator([f"s {i} x" for i in range(20)]).compute_metrics(e, torch.randn_like(e))
    assert close["retrieval_top1"] == 1.0 and close["score"] > far["score"]
    assert close["align_loss"] < far["align_loss"] and close["contrastive_loss"] < far["contrastive_loss"]


def test_perturbations_are_fixed_and_seeded() -> None:
    a = CorpusDevEvaluator(HELD_OUT, seed=3)
    assert a.perturbed == CorpusDevEvaluator(HELD_OUT, seed=3).perturbed
    assert a.perturbed != CorpusDevEvaluator(HELD_OUT, seed=4).perturbed
    assert all(len(p.split()) == 6 for p in a.perturbed)  # 9 words, round(0.3 × 9) = 3 deleted


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 held-out sentences"):
        CorpusDevEvaluator(["only one"])
    with pytest.raises(ValueError, match="score='recall' is invalid"):
        CorpusDevEvaluator(HELD_OUT, score="recall")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"deletion_rate=1\.0 is invalid"):
        CorpusDevEvaluator(HELD_OUT, deletion_rate=1.0)


def test_through_a_model_names_the_metrics_and_writes_csv(tiny_model: SentenceTransformer, tmp_path: Path) -> None:
    evaluator = CorpusDevEvaluator(HELD_OUT)
    metrics = evaluator(tiny_model, output_path=str(tmp_path), epoch=0, steps=5)
    assert evaluator.primary_metric == "corpus-dev_score" and evaluator.greater_is_better
    assert set(metrics) == {f"corpus-dev_{k}" for k in ("score", "retrieval_mrr", "retrieval_top1", "align_loss",
                                                         "uniform_loss", "contrastive_loss")}  # fmt: skip
    embeddings = tiny_model.encode(HELD_OUT + evaluator.perturbed, convert_to_tensor=True).double()
    expected = _reference(embeddings[:5], embeddings[5:])
    got = torch.tensor(metrics["corpus-dev_align_loss"], dtype=torch.float64)
    torch.testing.assert_close(got, torch.tensor(expected["align_loss"], dtype=torch.float64), rtol=1e-4, atol=1e-5)
    rows = list(csv.reader((tmp_path / "corpus_dev_evaluation_corpus-dev_results.csv").open()))
    assert rows[0][:3] == ["epoch", "steps", "score"] and rows[1][:2] == ["0", "5"]


def test_row_blocks_give_the_same_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    import simcse_st.evaluation.corpus_dev_evaluator as module
    from simcse_st.evaluation import uniformity_loss

    torch.manual_seed(3)
    e = torch.randn(23, 8, dtype=torch.float64)
    q = e + 0.7 * torch.randn(23, 8, dtype=torch.float64)
    evaluator = CorpusDevEvaluator([f"s {i} x" for i in range(23)])
    whole = evaluator.compute_metrics(e, q)
    monkeypatch.setattr(module, "BLOCK_ROWS", 5)  # 5 blocks, the last one short
    blocked = evaluator.compute_metrics(e, q)
    for key in whole:
        torch.testing.assert_close(torch.tensor(blocked[key]), torch.tensor(whole[key]))
    expected = uniformity_loss(e).item()  # the library's pdist definition
    torch.testing.assert_close(torch.tensor(whole["uniform_loss"]), torch.tensor(expected))
