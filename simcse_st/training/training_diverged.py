"""``TrainingDiverged``: a run stopped because its loss, gradients or weights stopped being finite."""

from __future__ import annotations


class TrainingDiverged(ValueError):
    """Raised during :func:`~simcse_st.training.train_simcse` at the first non-finite loss, gradient or weight.

    The run stops at once: the checkpoints already written are finite (the last good one can be resumed from with
    other settings) and no final model or ``results.json`` is written. A ``ValueError``, so the CLI reports it as one
    line.

    Args:
        step: The optimizer step at which it happened (1-based).
        what: What was not finite.
    """

    def __init__(self, step: int, what: str) -> None:
        self.step = step
        super().__init__(
            f"Training diverged at step {step}: {what} are not finite (NaN or inf). No final model was written; "
            "the checkpoints before this step are kept. Lower learning_rate or check the data and settings."
        )
