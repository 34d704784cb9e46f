"""Evaluators: STS as SentEval/SimCSE report it, alignment and uniformity."""

from __future__ import annotations

__all__: list[str] = []
