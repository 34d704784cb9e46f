from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from datasets import Dataset
from sentence_transformers.base.sampler import DefaultBatchSampler


class LengthGroupedBatchSampler(DefaultBatchSampler):
    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
        group_size: int = 16,
        length_fn: Callable[[Sequence[str]], Sequence[int]] | None = None,
    ) -> None:
        """Batches of similar length, still random enough for in-batch negatives, and without duplicate texts.

        Padding to the longest sentence of a batch wastes compute: on Wikipedia sentences at max_seq_length 32, a
        random batch of 64 is ~33% padding. Each epoch this sampler shuffles the rows, cuts the shuffled order
        into groups of ``group_size × batch_size`` rows, sorts each group by length (``length_fn``: tokens with
        :func:`token_length_fn`; default characters, a rough proxy), cuts it into batches and shuffles the order
        of all batches. A batch is thus a random sample of its group's length stratum: its negatives are random
        sentences of similar length. ``group_size=1`` is plain random batching. As in ``NoDuplicatesBatchSampler``,
        a row whose text is already in the batch waits for the next batch (duplicates are false negatives).

        Pass the class as ``batch_sampler=LengthGroupedBatchSampler`` in ``SentenceTransformerTrainingArguments``
        (the Trainer calls it with the dataset and its batch settings), or
        ``functools.partial(LengthGroupedBatchSampler, group_size=...)`` to change the group size.

        Args:
            dataset: The training dataset; every string column counts for length and duplicates.
            batch_size: Rows per batch.
            drop_last: Drop the last incomplete batch.
            valid_label_columns: Label columns, ignored for length and duplicates.
            generator: Unused (the sampler seeds its own generator with ``seed + epoch``).
            seed: Seed of the shuffling.
            group_size: Batches per sorted group; larger groups give tighter lengths and less random batches.
            length_fn: Lengths of a list of texts. Sorting by characters leaves a batch of Wikipedia sentences ~32%
                padding (a 47-character sentence can be 10 or 20 tokens); :func:`token_length_fn` (what
                ``train_simcse(batching="length")`` uses) sorts by the tokens the model will see.
        """
        super().__init__(
            dataset,
            batch_size=batch_size,
            drop_last=drop_last,
            valid_label_columns=valid_label_columns,
            generator=generator,
            seed=seed,
        )
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}.")
        self.group_size = group_size
        ignored = set(valid_label_columns or []) | {"dataset_name"}
        columns = [
            name
            for name, feature in dataset.features.items()
            if name not in ignored and getattr(feature, "dtype", None) in ("string", "large_string")
        ]
        if not columns:
            raise ValueError(f"LengthGroupedBatchSampler needs a text column; the dataset has {dataset.column_names}.")
        texts = [dataset[name] for name in columns]  # column-wise reads: fast on Arrow
        self.keys: list[tuple[str, ...]] = list(zip(*texts, strict=True))
        measure = length_fn or (lambda column: [len(text) for text in column])
        self.lengths = torch.tensor([list(measure(column)) for column in texts]).amax(dim=0)  # (rows,)

    def __len__(self) -> int:
        rows = len(self.keys)
        return rows // self.batch_size if self.drop_last else -(-rows // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.keys), generator=generator)  # (rows,)
        group_rows = self.group_size * self.batch_size
        batches: list[list[int]] = []
        waiting: deque[int] = deque()
        for start in range(0, len(order), group_rows):
            group = order[start : start + group_rows]
            group = group[torch.argsort(self.lengths[group], stable=True)]
            batches.extend(self._batches(waiting, group.tolist()))
        leftover = list(waiting)
        if leftover and not self.drop_last:
            batches.append(leftover[: self.batch_size])
        for index in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[index]

    def _batches(self, waiting: deque[int], rows: list[int]) -> Iterator[list[int]]:
        """Cut sorted ``rows`` (after the rows still waiting) into full batches of distinct texts."""
        pending = deque([*waiting, *rows])
        waiting.clear()
        batch: list[int] = []
        texts: set[str] = set()
        while pending:
            row = pending.popleft()
            if texts.isdisjoint(self.keys[row]):
                batch.append(row)
                texts.update(self.keys[row])
            else:
                waiting.append(row)
            if len(batch) == self.batch_size:
                yield batch
                batch, texts = [], set()
                pending.extendleft(reversed(waiting))  # retry the waiting rows first
                waiting.clear()
        waiting.extend(batch)  # an incomplete batch waits for the next group


class _TokenLengths:
    """Picklable (the Trainer saves its arguments, the batch sampler included, with every checkpoint)."""

    def __init__(self, tokenizer: Any, max_length: int | None) -> None:
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, texts: Sequence[str]) -> list[int]:
        truncate = {"truncation": True, "max_length": self.max_length} if self.max_length is not None else {}
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=True, **truncate)["input_ids"]]


def token_length_fn(tokenizer: Any, max_length: int | None = None) -> Callable[[Sequence[str]], list[int]]:
    """Token counts (special tokens included, capped at ``max_length``, as the model truncates) of a list of texts,
    for ``LengthGroupedBatchSampler(length_fn=...)``; e.g. ``token_length_fn(model.tokenizer, model.max_seq_length)``.
    """
    return _TokenLengths(tokenizer, max_length)
