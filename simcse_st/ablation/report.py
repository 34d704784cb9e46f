"""Markdown tables and PNG plots of the ablation records (``run_ablation`` writes them after every run)."""

from __future__ import annotations

import logging
import math
import statistics
import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scipy.stats import spearmanr, ttest_rel

from simcse_st.ablation.ablation_run import AblationRun
from simcse_st.ablation.studies import STUDIES
from simcse_st.training.presets import ABLATION_BASELINE
from simcse_st.training.simcse_config import SimCSEConfig

logger = logging.getLogger(__name__)

# The paper's Figure 2: ℓ_align/ℓ_uniform every few steps for these constructions (by settings, from any study).
FIGURE2_RUNS = (
    AblationRun.of("Unsup. SimCSE"),
    AblationRun.of("Fixed 0.1", same_dropout_mask=True),
    AblationRun.of("No dropout", dropout=0.0),
    AblationRun.of("Delete one word", augmentation="delete_one_word"),
)


def _mean_sd(values: list[float], digits: int = 2) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _change(first: list[dict[str, float]], last: list[dict[str, float]], key: str) -> str:
    before, after = [p[key] for p in first if key in p], [p[key] for p in last if key in p]
    return f"{_mean_sd(before, 3)} → {_mean_sd(after, 3)}"


def _done(records: Sequence[dict[str, Any]], run: AblationRun, baseline: SimCSEConfig) -> list[dict[str, Any]]:
    return [r for r in records if r["key"] == run.key(baseline) and "skipped" not in r]


def format_study(name: str, records: Sequence[dict[str, Any]], baseline: SimCSEConfig = ABLATION_BASELINE) -> str:
    """One study as a markdown table: STS-B dev ×100 before training, best over the evaluations and final (mean ± sd
    over seeds), ℓ_align and ℓ_uniform before and after training, the paper's number, seconds per run; then how the
    row order compares with the paper's (Spearman ρ over the rows both have)."""
    study = STUDIES[name]
    lines = [
        f"### {study.title}",
        "",
        "| row | STS-B dev before | best | final | ℓ_align before → after | ℓ_uniform before → after | paper | seeds "
        "| s/run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ours, theirs = [], []
    for run in study.runs:
        done = _done(records, run, baseline)
        skipped = [r["skipped"] for r in records if r["key"] == run.key(baseline) and "skipped" in r]
        paper = study.paper.get(run.label)
        paper_text = f"{paper:.1f}" if paper is not None else "–"
        if not done:
            why = f"skipped: {skipped[0]}" if skipped else "not run"
            lines.append(f"| {run.label} | {why} | | | | | {paper_text} | 0 | |")
            continue
        best = [r["best_stsb"] for r in done if r["best_stsb"] is not None]
        first, last = [r["history"][0] for r in done], [r["history"][-1] for r in done]
        lines.append(
            f"| {run.label} | {_mean_sd([p['stsb_spearman'] for p in first])} | {_mean_sd(best)} | "
            f"{_mean_sd([r['final_stsb'] for r in done])} | {_change(first, last, 'align_loss')} | "
            f"{_change(first, last, 'uniform_loss')} | "
            f"{paper_text} | {len(done)} | {statistics.mean(r['train_seconds'] for r in done):.0f} |"
        )
        if paper is not None and best:
            ours.append(statistics.mean(best))
            theirs.append(paper)
    if len(ours) >= 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # all-equal scores: ρ is undefined (nan), said below
            rho = spearmanr(ours, theirs).statistic
        rho_text = f"Spearman ρ = {rho:.2f}" if not math.isnan(rho) else "undefined (all scores equal)"
        lines += ["", f"Row order vs the paper (best STS-B dev, {len(ours)} rows): {rho_text}."]
    return "\n".join(lines)


def format_paired(name: str, records: Sequence[dict[str, Any]], baseline: SimCSEConfig = ABLATION_BASELINE) -> str:
    """Each row's best STS-B dev against the study's first row, paired by seed: the differences seed by seed, their
    mean and sd, and a two-sided paired t-test (n − 1 d.f.) over the seeds both rows have. Rows with fewer than two
    common seeds are left out; "" when none has two."""
    study = STUDIES[name]
    reference = _best_by_seed(records, study.runs[0], baseline)
    lines = []
    for run in study.runs[1:]:
        best = _best_by_seed(records, run, baseline)
        seeds = sorted(set(best) & set(reference))
        if len(seeds) < 2:
            continue
        deltas = [best[seed] - reference[seed] for seed in seeds]
        mean, sd = statistics.mean(deltas), statistics.stdev(deltas)
        if sd > 0:
            result = ttest_rel([best[seed] for seed in seeds], [reference[seed] for seed in seeds])
            test = f"{result.statistic:.1f}, {result.pvalue:.3f}"
        else:
            test = "–"  # equal differences: no spread to test against
        per_seed = ", ".join(f"{seed}: {delta:+.2f}" for seed, delta in zip(seeds, deltas, strict=True))
        lines.append(f"| {run.label} | {per_seed} | {mean:+.2f} ({sd:.2f}) | {test} |")
    if not lines:
        return ""
    header = [
        f"Best STS-B dev of each row minus that of {study.runs[0].label!r} with the same seed:",
        "",
        "| row | Δ by seed | mean Δ (sd) | paired t, p (two-sided) |",
        "|---|---|---:|---:|",
    ]
    return "\n".join(header + lines)


def _best_by_seed(records: Sequence[dict[str, Any]], run: AblationRun, baseline: SimCSEConfig) -> dict[int, float]:
    return {r["seed"]: r["best_stsb"] for r in _done(records, run, baseline) if r["best_stsb"] is not None}


def _plot_dev_curves(
    runs: Sequence[AblationRun], records: Sequence[dict[str, Any]], baseline: SimCSEConfig, path: Path, title: str
) -> None:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for run in runs:
        done = _done(records, run, baseline)
        if not done:
            continue
        points = done[0]["history"]
        means = [statistics.mean(r["history"][i]["stsb_spearman"] for r in done) for i in range(len(points))]
        axis.plot([p["sentences"] for p in points], means, marker="o", markersize=3, label=run.label)
    axis.set_xlabel("training sentences seen")
    axis.set_ylabel("STS-B dev Spearman ×100")
    axis.set_title(textwrap.fill(title, 60), fontsize=10)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _plot_align_uniform(
    runs: Sequence[AblationRun], records: Sequence[dict[str, Any]], baseline: SimCSEConfig, path: Path, title: str
) -> None:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 5))
    for run in runs:
        done = [r for r in _done(records, run, baseline) if "align_loss" in r["history"][0]]
        if not done:
            continue
        points = done[0]["history"]  # the first seed's trajectory, as the paper plots one run
        xs, ys = [p["uniform_loss"] for p in points], [p["align_loss"] for p in points]
        (line,) = axis.plot(xs, ys, marker="o", markersize=3, label=run.label)
        axis.plot(xs[0], ys[0], marker="*", markersize=11, color=line.get_color())  # before training
        axis.annotate(
            "",
            xy=(xs[-1], ys[-1]),
            xytext=(xs[-2], ys[-2]) if len(xs) > 1 else (xs[-1], ys[-1]),
            arrowprops={"arrowstyle": "->", "color": line.get_color()},
        )
    axis.set_xlabel("ℓ_uniform")
    axis.set_ylabel("ℓ_align")
    axis.set_title(
        textwrap.fill(title + " (★ before training, a point per evaluation, arrow = last)", 60), fontsize=10
    )
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_report(
    records: Sequence[dict[str, Any]],
    studies: Sequence[str],
    output_dir: Path,
    baseline: SimCSEConfig = ABLATION_BASELINE,
) -> list[Path]:
    """Write ``ablations.md`` and, with matplotlib, ``<study>_stsb_dev.png``, ``<study>_align_uniform.png`` and
    ``figure2_align_uniform.png`` into ``output_dir``; returns the files written."""
    parts = [(format_study(name, records, baseline), format_paired(name, records, baseline)) for name in studies]
    text = "\n\n".join(part for pair in parts for part in pair if part)
    written = [output_dir / "ablations.md"]
    written[0].write_text(f"# Ablations (STS-B dev Spearman ×100)\n\n{text}\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        logger.warning("matplotlib is not installed (pip install 'simcse-st[plots]'): tables only, no plots.")
        return written
    for name in studies:
        study = STUDIES[name]
        if any(_done(records, run, baseline) for run in study.runs):
            written.append(output_dir / f"{name}_stsb_dev.png")
            _plot_dev_curves(study.runs, records, baseline, written[-1], study.title)
            written.append(output_dir / f"{name}_align_uniform.png")
            _plot_align_uniform(study.runs, records, baseline, written[-1], study.title)
    if sum(bool(_done(records, run, baseline)) for run in FIGURE2_RUNS) >= 2:
        written.append(output_dir / "figure2_align_uniform.png")
        _plot_align_uniform(FIGURE2_RUNS, records, baseline, written[-1], "Figure 2: ℓ_align vs ℓ_uniform")
    return written
