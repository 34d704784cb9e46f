"""ESimCSE's momentum contrast (Wu et al., 2022, §3.3): an EMA copy of the encoder embeds each batch's sentences
without dropout; the last ``size`` of those embeddings are extra negatives of the following batches."""

from __future__ import annotations

import copy

import torch
from sentence_transformers.sentence_transformer.model import SentenceTransformer
from torch import Tensor, nn


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` (or similar ``.module``) wrapper."""
    return getattr(model, "module", model)


class MomentumQueue(nn.Module):
    """A momentum encoder and a first-in-first-out queue of its embeddings.

    The encoder starts as a copy of the model's pretrained weights (the official code copies it before the weights
    load, so its encoder starts random; ESimCSE's paper describes an EMA of the trained encoder, which is what this
    is) and follows it by ``θ_m ← m · θ_m + (1 - m) · θ`` (:meth:`update`). It encodes in eval mode (no dropout),
    without gradients. The queue is a buffer of ``size`` rows, oldest first; :attr:`negatives` are its filled rows.
    Both are part of ``state_dict()``, so checkpoints save them and a resumed run continues with the same queue.

    Args:
        model: The model being trained; its modules are copied (all of them: encoder and pooling).
        size: Queue length K (ESimCSE: 160 for BERT-base).
        momentum: m (ESimCSE: 0.995).
    """

    def __init__(self, model: SentenceTransformer, size: int, momentum: float = 0.995) -> None:
        super().__init__()
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}.")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
        self.size = size
        self.momentum = float(momentum)
        self.encoder = copy.deepcopy(unwrap(model))
        self.encoder.requires_grad_(False)
        self.encoder.eval()
        dimension = self.encoder.get_embedding_dimension()
        self.register_buffer("queue", torch.zeros(size, dimension, device=self.encoder.device))  # (K, D)
        self.register_buffer("filled", torch.zeros((), dtype=torch.long, device=self.encoder.device))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """One EMA step towards ``model``'s current parameters."""
        online = dict(unwrap(model).named_parameters())
        for name, parameter in self.encoder.named_parameters():
            parameter.mul_(self.momentum).add_(online[name].detach().to(parameter.dtype), alpha=1.0 - self.momentum)

    @torch.no_grad()
    def encode(self, features: dict[str, Tensor]) -> Tensor:
        """The momentum encoder's embeddings of a tokenized batch, dropout off: (N, D)."""
        self.encoder.eval()  # the Trainer's loss.train() reaches this copy too
        return self.encoder(dict(features))["sentence_embedding"].float()

    @property
    def negatives(self) -> Tensor:
        """The queued embeddings, oldest first: (filled, D)."""
        return self.queue[self.size - int(self.filled) :]

    @torch.no_grad()
    def enqueue(self, embeddings: Tensor) -> None:
        """Append ``embeddings`` (M, D); keep the newest ``size`` rows."""
        rows = torch.cat([self.negatives, embeddings.detach().float()])[-self.size :]  # (≤K, D)
        self.queue.zero_()
        self.queue[self.size - rows.size(0) :] = rows
        self.filled.fill_(rows.size(0))
