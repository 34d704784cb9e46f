"""Does the label-free dev signal (``CorpusDevEvaluator``) pick the checkpoints STS-B dev picks?

Runs of all-MiniLM-L6-v2 that differ in setting and quality (poolers, dropout 0.5, a fixed mask, random init, a
high learning rate, a follow-up method) train on the Wikipedia corpus with 500 sentences held out (the same
500 for every run). Every ``--eval-steps`` (and before training) each checkpoint is scored by STS-B dev Spearman
and by the label-free evaluator in every candidate design (deletion rate × score). Each run is saved as it ends
(``OUT/runs/<name>/record.json``) and skipped when the command runs again.

The analysis, per design: the Spearman correlation between the label-free score and STS-B dev across runs (their
final checkpoints; all checkpoints pooled) and within runs (the mean over runs of the per-run correlation), and the
STS-B dev points lost by selecting each run's checkpoint with the label-free score instead of STS-B dev. The
evaluator's default design was chosen on the ``tune`` runs; the ``report`` runs (other seeds and other settings)
were not looked at for it.

    python benchmarks/label_free_dev.py --data ../shared/data --out label-free-runs --runs tune
    python benchmarks/label_free_dev.py --data ../shared/data --out label-free-runs --runs report
    python benchmarks/label_free_dev.py --data ../shared/data --out label-free-runs --analyse --markdown table.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from scipy.stats import spearmanr
from sentence_transformers.sentence_transformer.evaluation import SequentialEvaluator

from simcse_st.data.data_dir import WIKI_CORPUS, require_data_dir
from simcse_st.data.hold_out import hold_out
from simcse_st.data.reading import load_sentences
from simcse_st.evaluation import CORPUS_DEV_SCORES, CorpusDevEvaluator, sts_dev_evaluator
from simcse_st.inference.model_loading import offline_minilm_path
from simcse_st.training import SimCSEConfig, build_model, train_simcse

RATES = (0.1, 0.3)
HOLD_OUT_SEED = 0  # the same held-out sentences for every run, so that the scores compare across runs
COMBINATION = {"queue_size": 160, "off_dropout_negatives": True, "dcl_weight": 0.1}
RUNS: dict[str, dict[str, dict[str, Any]]] = {
    "tune": {
        "cls-simcse-s42": {"seed": 42},
        "mean-simcse-s42": {"seed": 42, "pooling": "mean"},
        "cls-dropout0.5-s42": {"seed": 42, "dropout": 0.5},
        "cls-fixed-mask-s42": {"seed": 42, "same_dropout_mask": True},
        "cls-random-init-s42": {"seed": 42, "init": "random"},
    },
    "report": {
        "cls-simcse-s43": {"seed": 43},
        "mean-simcse-s43": {"seed": 43, "pooling": "mean"},
        "cls-dropout0.0-s43": {"seed": 43, "dropout": 0.0},
        "cls-combination-s43": {"seed": 43, **COMBINATION},
        "mean-random-init-s43": {"seed": 43, "pooling": "mean", "init": "random"},
        "cls-lr3e-4-s43": {"seed": 43, "learning_rate": 3e-4},
    },
}


def evaluators(held_out: list[str], data: Path) -> SequentialEvaluator:
    """Every candidate design, then STS-B dev last (SequentialEvaluator's primary: the checkpoint kept)."""
    parts = [CorpusDevEvaluator(held_out, deletion_rate=rate, name=f"cd{int(rate * 100)}", write_csv=False)
             for rate in RATES]  # fmt: skip
    sts = sts_dev_evaluator(data, write_csv=False, write_json=False)
    evaluator = SequentialEvaluator([*parts, sts])
    evaluator.primary_metric = "sequential_score"
    return evaluator


def train_run(name: str, changes: dict[str, Any], args: argparse.Namespace, train_rows, held_out) -> dict:
    config = SimCSEConfig(max_steps=args.steps, eval_steps=args.eval_steps, **changes)
    directory = args.out / "runs" / name
    evaluator = evaluators(held_out, args.data)
    model = build_model(args.model, config)
    initial = evaluator(model.eval())
    start = time.perf_counter()
    results = train_simcse(train_rows, directory / "model", config, model=model, evaluator=evaluator,
                           overwrite=True, show_progress_bar=False)  # fmt: skip
    history = [{"step": 0, **initial}] + [
        {"step": entry["step"], **{k.removeprefix("eval_"): v for k, v in entry.items() if k != "step"}}
        for entry in results["eval_history"]
    ]
    shutil.rmtree(directory / "model", ignore_errors=True)
    return {"name": name, "changes": changes, "config": config.to_dict(), "history": history,
            "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip


def key(rate: float, metric: str) -> str:
    return f"cd{int(rate * 100)}_{metric}"


def score_of(point: dict[str, float], rate: float, score: str) -> float:
    """The greater-is-better number of design (rate, score), from the logged components."""
    get = lambda metric: point[key(rate, metric)]  # noqa: E731
    return {
        "retrieval_mrr": lambda: get("retrieval_mrr"),
        "retrieval_top1": lambda: get("retrieval_top1"),
        "alignment": lambda: -get("align_loss"),
        "uniformity": lambda: -get("uniform_loss"),
        "align_uniform": lambda: -(get("align_loss") + get("uniform_loss")),
        "contrastive": lambda: -get("contrastive_loss"),
    }[score]()


def sts(point: dict[str, float]) -> float:
    return 100 * point["sts-dev_stsb_spearman"]


def analyse(records: list[dict], rate: float, score: str) -> dict[str, Any]:
    finals = [(score_of(r["history"][-1], rate, score), sts(r["history"][-1])) for r in records]
    pooled = [(score_of(p, rate, score), sts(p)) for r in records for p in r["history"]]
    within, regrets, per_run = [], [], {}
    for record in records:
        points = record["history"][1:]  # the trained checkpoints: what selection chooses among
        values = [score_of(p, rate, score) for p in points]
        golds = [sts(p) for p in points]
        rho = spearmanr(values, golds).statistic if len(set(values)) > 1 and len(set(golds)) > 1 else float("nan")
        within.append(rho)
        picked = golds[max(range(len(values)), key=values.__getitem__)]
        regrets.append(max(golds) - picked)
        per_run[record["name"]] = {"within": rho, "regret": max(golds) - picked, "best": max(golds), "picked": picked}
    finite = [x for x in within if x == x]
    return {
        "across_final": spearmanr(*zip(*finals, strict=True)).statistic,
        "across_pooled": spearmanr(*zip(*pooled, strict=True)).statistic,
        "within_mean": statistics.mean(finite) if finite else float("nan"),
        "regret_mean": statistics.mean(regrets),
        "regret_max": max(regrets),
        "per_run": per_run,
    }


def load(out: Path, group: str) -> list[dict]:
    names = RUNS[group]
    return [json.loads((out / "runs" / n / "record.json").read_text()) for n in names
            if (out / "runs" / n / "record.json").is_file()]  # fmt: skip


def report(out: Path, chosen: tuple[float, str] | None) -> str:
    lines = []
    tune = load(out, "tune")
    designs = [(rate, score) for rate in RATES for score in CORPUS_DEV_SCORES]
    lines.append(f"### Tuning runs ({len(tune)}): every design\n")
    lines.append("| deletion rate | score | ρ across runs (final) | ρ all checkpoints | ρ within runs (mean) | "
                 "STS-B dev lost (mean / max) |")  # fmt: skip
    lines.append("|---:|---|---:|---:|---:|---:|")
    results = {}
    for rate, score in designs:
        a = analyse(tune, rate, score)
        results[(rate, score)] = a
        lines.append(f"| {rate} | {score} | {a['across_final']:.2f} | {a['across_pooled']:.2f} | "
                     f"{a['within_mean']:.2f} | {a['regret_mean']:.2f} / {a['regret_max']:.2f} |")  # fmt: skip
    best = min(designs, key=lambda d: (results[d]["regret_mean"], -results[d]["across_pooled"]))
    ties = [d for d in designs if all(abs(results[d][k] - results[best][k]) < 0.005 for k in ("regret_mean",
            "across_pooled", "across_final"))]  # fmt: skip
    lines.append("\nBest on the tuning runs (least STS-B dev lost, then ρ over all checkpoints): "
                 + ", ".join(f"{rate} / {score}" for rate, score in ties) + ".")  # fmt: skip
    if chosen is None:  # the library's default design
        defaults = CorpusDevEvaluator(["a b", "c d"])
        chosen = (defaults.deletion_rate, defaults.score)
    lines.append(f"The design reported below: deletion rate {chosen[0]}, score {chosen[1]}.\n")
    for group in ("tune", "report"):
        records = load(out, group)
        if not records:
            continue
        a = analyse(records, *chosen)
        lines.append(f"### {group} runs ({len(records)}), the chosen design\n")
        lines.append(f"ρ across runs (final checkpoints) {a['across_final']:.2f}; all checkpoints pooled "
                     f"{a['across_pooled']:.2f}; within runs (mean) {a['within_mean']:.2f}; STS-B dev lost by its "
                     f"selection: mean {a['regret_mean']:.2f}, max {a['regret_max']:.2f}.\n")  # fmt: skip
        lines.append("| run | STS-B dev before | best (STS-B selects) | label-free selects | lost | ρ within | s |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for record in records:
            r = a["per_run"][record["name"]]
            lines.append(
                f"| {record['name']} | {sts(record['history'][0]):.2f} | {r['best']:.2f} | "
                f"{r['picked']:.2f} | {r['regret']:.2f} | {r['within']:.2f} | {record['seconds']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default=None, help="default: the offline all-MiniLM-L6-v2")
    parser.add_argument("--runs", choices=("tune", "report", "all"), default="all")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--eval-steps", type=int, default=10)
    parser.add_argument("--held-out", type=int, default=500)
    parser.add_argument("--analyse", action="store_true", help="only write the tables from the finished runs")
    parser.add_argument("--design", default=None, help="RATE,SCORE to report (default: CorpusDevEvaluator's)")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    args.data = Path(require_data_dir(args.data))
    args.model = args.model or offline_minilm_path()
    if not args.analyse:
        rows, held_out = hold_out(load_sentences(args.data / WIKI_CORPUS), args.held_out, seed=HOLD_OUT_SEED)
        groups = ("tune", "report") if args.runs == "all" else (args.runs,)
        for group in groups:
            for name, changes in RUNS[group].items():
                path = args.out / "runs" / name / "record.json"
                if path.is_file():
                    continue
                record = train_run(name, changes, args, rows, held_out)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(record, indent=2) + "\n")
                print(f"finished {name} in {record['seconds']:.0f} s", flush=True)
    chosen = None
    if args.design:
        rate, score = args.design.split(",")
        chosen = (float(rate), score)
    text = report(args.out, chosen)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
