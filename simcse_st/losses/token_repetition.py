"""ESimCSE's word repetition (Wu et al., 2022, §3.2): the positive view repeats some of the sentence's subword tokens,
so that the two views differ in length (not only in dropout) and length stops being a shortcut for "same sentence".

For a sentence of ``N`` subword tokens (special tokens excluded), ``dup_len`` is drawn uniformly from
``[0, max(2, int(rate · N))]`` (both ends included, capped at ``N``), then ``dup_len`` distinct token positions are
drawn uniformly; each is written twice, in place. This is the paper's rule; the official code differs (drawn once at
preprocessing, ``randrange(min(10, int(rate · L)))`` with ``L`` counting [CLS]/[SEP], no ``max(2, ·)`` floor), see
docs/methods.md. Here the draw is made afresh for every batch, from Python's ``random`` state, which ``set_seed``
seeds and the Trainer's checkpoints save and restore.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
from torch import Tensor


def repeat_token_list(
    tokens: Sequence[int],
    rate: float,
    rng: random.Random,
    special_ids: frozenset[int] = frozenset(),
    max_length: int | None = None,
) -> list[int]:
    """One sentence's token ids with ESimCSE's repetition applied (see the module docstring).

    Args:
        tokens: The sentence's ids without padding, special tokens included (they are never repeated).
        rate: ``dup_rate`` (ESimCSE: 0.32); must be in ``(0, 1]``.
        rng: The random source; its ``randint`` is called once, then ``sample`` once.
        special_ids: Ids that are never repeated (the tokenizer's [CLS], [SEP], ...).
        max_length: The row may not grow beyond this (the encoder's positions): ``dup_len`` is capped after the draw.

    Example:
        ::

            repeat_token_list([101, 7, 8, 9, 102], 0.32, random.Random(0), frozenset({101, 102}))
    """
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"rate must be in (0, 1], got {rate!r}.")
    body = [index for index, token in enumerate(tokens) if token not in special_ids]
    dup_len = min(rng.randint(0, max(2, int(rate * len(body)))), len(body))
    if max_length is not None:
        dup_len = max(0, min(dup_len, max_length - len(tokens)))
    chosen = set(rng.sample(body, dup_len))
    repeated: list[int] = []
    for index, token in enumerate(tokens):
        repeated.append(token)
        if index in chosen:
            repeated.append(token)
    return repeated


def repeat_tokens(
    features: dict[str, Tensor],
    rate: float,
    rng: random.Random,
    special_ids: frozenset[int],
    pad_token_id: int,
    max_length: int | None = None,
) -> dict[str, Tensor]:
    """A tokenized, right-padded batch with :func:`repeat_token_list` applied to every row, padded again.

    Only ``input_ids``, ``attention_mask`` and ``token_type_ids`` (all zeros, one segment) are kept. A row
    cannot grow beyond ``max_length`` (the encoder's positions).
    """
    input_ids, mask = features["input_ids"], features["attention_mask"]  # (N, T), (N, T)
    rows: list[list[int]] = []
    for ids, row_mask in zip(input_ids.tolist(), mask.tolist(), strict=False):
        length = int(sum(row_mask))
        rows.append(repeat_token_list(ids[:length], rate, rng, special_ids, max_length))
    width = max(len(row) for row in rows)
    new_ids = torch.full((len(rows), width), pad_token_id, dtype=input_ids.dtype)  # (N, T')
    new_mask = torch.zeros((len(rows), width), dtype=mask.dtype)  # (N, T')
    for index, row in enumerate(rows):
        new_ids[index, : len(row)] = torch.tensor(row, dtype=input_ids.dtype)
        new_mask[index, : len(row)] = 1
    result = {"input_ids": new_ids.to(input_ids.device), "attention_mask": new_mask.to(mask.device)}
    if "token_type_ids" in features:
        result["token_type_ids"] = torch.zeros_like(result["input_ids"])
    return result
