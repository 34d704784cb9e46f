"""Gathering across 2 CPU processes (gloo) equals one process on the concatenated global batch, loss and gradients."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import SENTENCES as ALL_SENTENCES
from sentence_transformers import SentenceTransformer
from torch.testing import assert_close

from simcse_st import DropoutContrastiveLoss

SENTENCES = ALL_SENTENCES[:8]
NEGATIVES = list(reversed(SENTENCES))


def _model(bert_dir: str) -> SentenceTransformer:
    from conftest import make_model

    model = make_model(Path(bert_dir))
    for module in model.modules():  # dropout off: both processes and the reference see the same embeddings
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model.train()


def _loss_and_grads(model: SentenceTransformer, columns: list[list[str]], gather: bool) -> tuple[float, list]:
    loss_fn = DropoutContrastiveLoss(model, hard_negative_weight=0.8, gather_across_devices=gather)
    loss = loss_fn([model.preprocess(column) for column in columns], None)
    loss.backward()
    return loss.item(), [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]


def _worker(rank: int, world_size: int, port: int, bert_dir: str, n_columns: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        model = _model(bert_dir)
        half = len(SENTENCES) // world_size
        local = slice(rank * half, (rank + 1) * half)
        columns = [SENTENCES[local], SENTENCES[local][::-1], NEGATIVES[local]][:n_columns]
        loss, grads = _loss_and_grads(model, columns, gather=True)
        for grad in grads:  # what DDP does to the gradients
            dist.all_reduce(grad)
            grad /= world_size
        losses = [None] * world_size
        dist.all_gather_object(losses, loss)
        if rank == 0:
            torch.save({"losses": losses, "grads": grads}, out)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("n_columns", [1, 3], ids=["unsupervised", "hard-negatives"])
def test_two_process_gather_equals_single_process(tiny_bert_dir: Path, tmp_path: Path, n_columns: int) -> None:
    out = tmp_path / "rank0.pt"
    mp.spawn(_worker, args=(2, _free_port(), str(tiny_bert_dir), n_columns, str(out)), nprocs=2, join=True)
    result = torch.load(out)

    model = _model(str(tiny_bert_dir))
    half = len(SENTENCES) // 2
    # The global batch as one process sees it: each rank's reversed-positive column, concatenated in rank order.
    positives = SENTENCES[:half][::-1] + SENTENCES[half:][::-1]
    columns = [SENTENCES, positives, NEGATIVES][:n_columns]
    loss, grads = _loss_and_grads(model, columns, gather=False)

    assert_close(sum(result["losses"]) / 2, loss, rtol=1e-5, atol=1e-6)
    for distributed, single in zip(result["grads"], grads, strict=True):
        assert_close(distributed, single, rtol=1e-4, atol=1e-6)
