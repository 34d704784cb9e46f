"""``TrainingInterrupted``: Ctrl-C during :func:`simcse_st.train_simcse`, with the checkpoint to resume from."""

from __future__ import annotations


class TrainingInterrupted(KeyboardInterrupt):
    """Raised by :func:`~simcse_st.training.train_simcse` when the run is interrupted (Ctrl-C, SIGINT).

    A ``KeyboardInterrupt``, so code that stops on Ctrl-C still does; the message says where the last checkpoint is
    and how to continue, and is the one report of the interruption (the library logs nothing else about it).

    Args:
        checkpoint: The last complete checkpoint folder, or ``None`` when none was written yet.
    """

    def __init__(self, checkpoint: str | None) -> None:
        self.checkpoint = checkpoint
        where = f"the last checkpoint is {checkpoint}" if checkpoint else "no checkpoint was written yet"
        super().__init__(f"Training interrupted: {where}; run it again with resume=True to continue.")
