"""``AblationRun``: one row of an ablation table, the changes it makes to the baseline :class:`SimCSEConfig`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, replace
from typing import Any

from simcse_st.training.simcse_config import SimCSEConfig

# The run's length and schedule come from run_ablation (scaled by batch size); they are not part of a row's identity.
SCHEDULE_FIELDS = ("max_steps", "eval_steps", "save_steps", "logging_steps", "seed", "max_seq_length", "epochs")
# The fields a row's key was computed from before the config existed (the layout of the old AblationRun), so that
# the runs recorded then are found again.
_LEGACY_KEY_FIELDS = (
    "pooling", "dropout", "same_dropout_mask", "batch_size", "learning_rate", "mlm_weight", "init", "bf16", "batching",
)  # fmt: skip
# The baseline the legacy keys were computed against: its other fields are left out of a key when they are equal.
_LEGACY_BASELINE = SimCSEConfig(dropout=0.1, batching="random", fast_dropout=False)


@dataclass(frozen=True)
class AblationRun:
    """A row of an ablation table: its label and the :class:`SimCSEConfig` fields it changes.

    The row's configuration is ``dataclasses.replace(baseline, **changes)`` (:meth:`config`); two studies that share
    a configuration (e.g. Table 1's "None" and Table 3's "p = 0.1") share one run: :meth:`key` depends on the
    configuration only, not on ``label``.

    Args:
        label: The row label in its table, e.g. ``"Crop 10%"``.
        changes: ``SimCSEConfig`` fields and their values in this row, e.g. ``{"augmentation": "crop",
            "augmentation_ratio": 0.1}``; empty = the baseline itself.
    """

    label: str = field(compare=False)
    changes: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, label: str, **changes: Any) -> AblationRun:
        """``AblationRun.of("p = 0.05", dropout=0.05)``; unknown field names are an error at once."""
        names = {f.name for f in fields(SimCSEConfig)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"AblationRun {label!r}: unknown SimCSEConfig field(s) {unknown}.")
        return cls(label, tuple(sorted(changes.items())))

    def config(self, baseline: SimCSEConfig) -> SimCSEConfig:
        """This row's configuration: ``baseline`` with :attr:`changes` applied."""
        return replace(baseline, **dict(self.changes))

    def key(self, baseline: SimCSEConfig) -> str:
        """A short stable id of the row's configuration (not of the schedule), used as the run's directory name."""
        config = self.config(baseline)
        settings: dict[str, Any] = {name: getattr(config, name) for name in _LEGACY_KEY_FIELDS}
        settings["mlp_only_train"] = config.resolved_mlp_only_train
        augmentation = config.augmentation
        settings["augmentation"] = [augmentation, config.augmentation_ratio] if augmentation else None
        if config.fast_dropout:
            settings["dropout_kernel"] = "fast"  # added later: runs recorded before it keep their key
        skipped = {
            *_LEGACY_KEY_FIELDS,
            *SCHEDULE_FIELDS,
            "mlp_only_train",
            "augmentation",
            "augmentation_ratio",
            "fill_model",
        }
        for item in fields(SimCSEConfig):
            value = getattr(config, item.name)
            if (
                item.name not in skipped
                and item.name != "fast_dropout"
                and value != getattr(_LEGACY_BASELINE, item.name)
            ):
                settings[item.name] = value  # any other field that differs: a different run
        digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
        return f"{config.init}-{config.pooling}-b{config.batch_size}-{digest}"
