"""The ablation tables from hand-made records: mean ± sd over seeds, skipped rows, rank agreement with the paper."""

from __future__ import annotations

from pathlib import Path

from simcse_st.ablation import ABLATION_BASELINE, STUDIES, format_study, write_report


def _record(run, seed: int, scores: list[float], align: float = 0.2, uniform: float = -2.0) -> dict:
    history = [
        {"step": i, "sentences": 64 * i, "stsb_spearman": s, "align_loss": align + i, "uniform_loss": uniform - i}
        for i, s in enumerate(scores)
    ]
    return {
        "key": run.key(ABLATION_BASELINE),
        "seed": seed,
        "config": run.config(ABLATION_BASELINE).to_dict(),
        "steps": len(scores) - 1,
        "history": history,
        "best_stsb": max(scores[1:]),
        "final_stsb": scores[-1],
        "train_seconds": 10.0 * seed,
    }


def test_mean_and_sd_over_seeds_final_align_uniform_and_paper_column() -> None:
    runs = STUDIES["table6"].runs
    records = [_record(runs[1], 1, [70.0, 80.0, 79.0]), _record(runs[1], 3, [70.0, 78.0, 82.0], align=0.4)]
    table = format_study("table6", records)
    # before 70 (both seeds); best 80 and 82 -> 81.00 ± 1.41; final 79 and 82 -> 80.50 ± 2.12;
    # align 0.2 and 0.4 -> 2.2 and 2.4; uniform -2 -> -4; 2 seeds; 10 and 30 s -> 20 s/run
    row = (
        "| [CLS] w/ MLP (train) | 70.00 ± 0.00 | 81.00 ± 1.41 | 80.50 ± 2.12 | 0.300 ± 0.141 → 2.300 ± 0.141 | "
        "-2.000 ± 0.000 → -4.000 ± 0.000 | 82.5 | 2 | 20 |"
    )
    assert row in table
    assert "| [CLS] w/ MLP | not run | | | | | 81.7 | 0 | |" in table
    assert "| Avg. | not run | | | | | – | 0 | |" in table
    assert "Row order" not in table  # one row with a paper number: no ranking


def test_rank_agreement_with_the_paper() -> None:
    runs = STUDIES["table3"].runs
    paper = STUDIES["table3"].paper
    same_order = [_record(run, 1, [0.0, paper[run.label]]) for run in runs]
    assert "Spearman ρ = 1.00" in format_study("table3", same_order)
    reversed_order = [_record(run, 1, [0.0, -paper[run.label]]) for run in runs]
    assert "Spearman ρ = -1.00" in format_study("table3", reversed_order)


def test_write_report_writes_the_markdown_and_skipped_reasons(tmp_path: Path) -> None:
    runs = STUDIES["table1"].runs
    records = [
        _record(runs[0], 1, [60.0, 70.0]),
        {"key": runs[9].key(ABLATION_BASELINE), "seed": 1, "skipped": "no WordNet here"},
    ]
    written = write_report(records, ["table1"], tmp_path)
    text = (tmp_path / "ablations.md").read_text()
    assert written[0] == tmp_path / "ablations.md"
    assert "| Synonym replacement | skipped: no WordNet here | | | | | 77.4 | 0 | |" in text
    assert "| None (unsup. SimCSE) | 60.00 | 70.00 | 70.00 | 0.200 → 1.200 | -2.000 → -3.000 | 82.5 | 1 | 10 |" in text
