"""What the commands print about a finished run: the one place results are turned into lines for a person."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def train_summary(results: dict[str, Any], output: Path) -> str:
    """Where the model went, steps, time and loss, and the dev curve with the best (saved) checkpoint."""
    lines = [
        f"Saved the model to {output} ({results['global_step']} steps in {results['train_seconds']:.0f} s, "
        f"training loss {results['train_loss']:.4f}); results in {output / 'results.json'}."
    ]
    metric = results.get("best_metric_name")
    if metric and results.get("eval_history"):
        curve = ", ".join(f"{entry['step']}: {100 * entry[metric]:.2f}" for entry in results["eval_history"])
        lines.append(f"{metric_label(metric)} ×100 by step: {curve}")
        best = results.get("best_metric")
        if best is not None:
            lines.append(f"Best: {100 * best:.2f} ({results.get('best_checkpoint')}); the saved model is that one.")
    return "\n".join(lines)


def metric_label(metric: str) -> str:
    """What the checkpoint-selecting metric is, for a person: STS-B dev, the label-free score, scored pairs."""
    if metric.endswith("stsb_spearman"):
        return "STS-B dev Spearman"
    if metric.endswith("corpus-dev_score"):
        return "Label-free dev score (held-out corpus sentences)"
    if metric.endswith("spearman_cosine"):
        return "Dev pairs Spearman"
    return metric.removeprefix("eval_")


def quickstart_summary(results: dict[str, Any]) -> str:
    """STS-B dev before and after the quickstart's training."""
    return (
        f"STS-B dev Spearman ×100: before {results['stsb_dev_before']:.2f} -> after {results['stsb_dev_after']:.2f} "
        f"({results['config']['max_steps']} steps, model in {results['output_dir']})"
    )


def ablation_summary(records: list[dict[str, Any]], output: Path) -> str:
    """How many runs finished or were skipped, and where the tables are."""
    done = sum("skipped" not in record for record in records)
    return f"{done} runs done, {len(records) - done} skipped; tables in {output / 'ablations.md'}"
