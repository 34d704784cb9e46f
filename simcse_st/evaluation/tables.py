"""Shared helpers of the result tables: find a metric under any prefix, draw a one-row ASCII table."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path


def lookup_metric(metrics: Mapping[str, float], key: str, name: str | None) -> float | None:
    """``metrics[key]`` under the ``name`` prefix; with ``name=None``, under any prefix (the Trainer's ``eval_``)."""
    if name is not None:
        return metrics.get(f"{name}_{key}" if name else key)
    if key in metrics:
        return metrics[key]
    matches = [candidate for candidate in metrics if candidate.endswith(f"_{key}")]
    if len(matches) > 1:
        raise ValueError(f"Several metrics end in {key!r} ({matches}); pass name= to choose one evaluator's keys.")
    return metrics[matches[0]] if matches else None


def render_table(metrics: Mapping[str, float], columns: list[tuple[str, str]], name: str | None) -> str | None:
    """One row of ``100 × metric`` with two decimals under ``(header, key)`` columns; absent keys are left out.

    Returns ``None`` when no column is present.
    """
    cells = [
        (header, f"{100 * value:.2f}")
        for header, key in columns
        if (value := lookup_metric(metrics, key, name)) is not None
    ]
    if not cells:
        return None
    widths = [max(len(header), len(value)) for header, value in cells]
    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"
    head = "| " + " | ".join(header.center(width) for (header, _), width in zip(cells, widths, strict=True)) + " |"
    row = "| " + " | ".join(value.rjust(width) for (_, value), width in zip(cells, widths, strict=True)) + " |"
    return "\n".join([rule, head, rule, row, rule])


def append_csv_row(headers: list[str], path: Path, metrics: Mapping[str, float], epoch: int, steps: int) -> None:
    """Append ``epoch, steps, metrics...`` to the CSV at ``path`` (``headers`` = epoch, steps, metric keys),
    writing the header row first when the file is new, like the sentence-transformers evaluators."""
    exists = path.is_file()
    with open(path, newline="", mode="a" if exists else "w", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if not exists:
            writer.writerow(headers)
        writer.writerow([epoch, steps, *(metrics[key] for key in headers[2:])])
