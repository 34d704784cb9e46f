"""The settings of the follow-up methods in :class:`~simcse_st.DropoutContrastiveLoss`, validated in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn


def _number(name: str, value: Any, low: float, high: float | None = None, low_open: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    ok = ok and (value > low if low_open else value >= low) and (high is None or value < high)
    if not ok:
        bounds = f"{'>' if low_open else '>='} {low}" + (f" and < {high}" if high is not None else "")
        raise ValueError(f"{name} must be a number {bounds}, got {value!r}.")
    return float(value)


def _count(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}.")
    return value


@dataclass(frozen=True)
class MethodSettings:
    """ESimCSE, SimCSE++, SSCL and PromptBERT settings of the loss (see its docstring); all off by default."""

    repetition_rate: float = 0.0
    queue_size: int = 0
    momentum: float = 0.995
    off_dropout_negatives: bool = False
    dcl_weight: float = 0.0
    dcl_temperature: float = 5.0
    intermediate_layers: int = 0
    positive_template: str | None = None

    @classmethod
    def checked(cls, model: nn.Module, **settings: Any) -> MethodSettings:
        """The settings, each validated, and checked against ``model`` (SSCL's pooler, PromptBERT's module)."""
        from simcse_st.losses.view_encoding import check_intermediate_pooling
        from simcse_st.modules.prompt_transformer import prompt_module

        method = cls(
            repetition_rate=_number("repetition_rate", settings["repetition_rate"], 0.0, 1.0),
            queue_size=_count("queue_size", settings["queue_size"]),
            momentum=_number("momentum", settings["momentum"], 0.0, 1.0),
            off_dropout_negatives=bool(settings["off_dropout_negatives"]),
            dcl_weight=_number("dcl_weight", settings["dcl_weight"], 0.0),
            dcl_temperature=_number("dcl_temperature", settings["dcl_temperature"], 0.0, low_open=True),
            intermediate_layers=_count("intermediate_layers", settings["intermediate_layers"]),
            positive_template=settings["positive_template"],
        )
        if method.intermediate_layers:
            check_intermediate_pooling(model)
        if method.positive_template is not None:
            prompt_module(model).check_template(method.positive_template)
        return method

    @property
    def active(self) -> list[str]:
        """The names of the settings that are switched on (empty: plain SimCSE)."""
        names = ("repetition_rate", "queue_size", "off_dropout_negatives", "dcl_weight", "intermediate_layers")
        return [name for name in (*names, "positive_template") if getattr(self, name)]  # 0 / False / None = off

    def config_dict(self) -> dict[str, Any]:
        """The switched-on settings and their companions, for ``get_config_dict``."""
        config: dict[str, Any] = {name: getattr(self, name) for name in self.active}
        if self.queue_size:
            config["momentum"] = self.momentum
        if self.dcl_weight:
            config["dcl_temperature"] = self.dcl_temperature
        return config


@dataclass
class _BatchState:
    """What one batch's first loss call made, reused by further calls on the same batch."""

    input_ids: Tensor
    positives: dict[str, Tensor]
    queue: Tensor | None  # the queue before this batch: (≤K, D)
    momentum: Tensor | None  # this batch's momentum embeddings, to enqueue: (W·N, D)
    enqueued: bool = False
