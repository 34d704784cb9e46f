from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from sentence_transformers.sentence_transformer.datasets.no_duplicates_dataloader import NoDuplicatesDataLoader
from sentence_transformers.sentence_transformer.readers.input_example import InputExample

from simcse_st.data.reading import read_sentences


class UnlabeledSentenceLoader(NoDuplicatesDataLoader):
    def __init__(
        self,
        sentences: str | os.PathLike[str] | Sequence[str],
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int = 0,
        **read_kwargs: Any,
    ) -> None:
        """Batches of single-sentence ``InputExample`` s for ``model.fit`` with unsupervised SimCSE.

        No batch holds the same sentence twice (a duplicate would be a false negative) and the last partial batch
        is dropped, so every batch has exactly ``batch_size`` different sentences. It is a
        ``NoDuplicatesDataLoader``, so ``model.fit`` (which rebuilds the batches from the loader's sentences) also
        trains with the no-duplicates batch sampler. Sentences are held once, as strings; the ``InputExample`` s
        are made per batch.

        Args:
            sentences: A corpus file (read with :func:`simcse_st.read_sentences`: ``.txt``, ``.txt.gz``, ``.csv``,
                ``.tsv``, ``.jsonl``) or a sequence of sentences.
            batch_size: Sentences per batch (>= 2: the other sentences are the negatives).
            shuffle: Shuffle anew every epoch (seeded by ``seed + epoch``).
            seed: Seed of the shuffling.
            **read_kwargs: Options of :func:`simcse_st.read_sentences` (``column``, ``dedup``, ``min_words``,
                ``max_words``, ``errors``, ``limit``) when ``sentences`` is a path.

        Raises:
            ValueError: ``batch_size`` < 2, fewer usable sentences than one batch, or non-string items.
        """
        if not isinstance(batch_size, int) or batch_size < 2:
            raise ValueError(f"batch_size must be an integer >= 2 (in-batch negatives), got {batch_size!r}.")
        if isinstance(sentences, (str, os.PathLike)):
            sentences = read_sentences(sentences, **read_kwargs)
        elif read_kwargs:
            raise ValueError(f"{sorted(read_kwargs)} only apply when reading a corpus file.")
        else:
            sentences = list(sentences)
            for position, sentence in enumerate(sentences):
                if not isinstance(sentence, str) or not sentence.strip():
                    raise ValueError(f"Every sentence must be a non-empty string; item {position} is {sentence!r}.")
        if len(sentences) < batch_size:
            raise ValueError(
                f"Only {len(sentences)} usable sentences, fewer than one batch of {batch_size}: "
                "lower the batch size or give more sentences."
            )
        self.sentences: list[str] = list(sentences)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.collate_fn: Callable[[list[InputExample]], Any] | None = None

    def __len__(self) -> int:
        """Full batches per epoch (exact without duplicates; an upper bound when the corpus repeats sentences)."""
        return len(self.sentences) // self.batch_size

    def batch_indices(self, epoch: int) -> Iterator[list[int]]:
        """The sentence indices of each batch of ``epoch``: no repeated text within a batch, no partial batch.

        A sentence whose text is already in the current batch waits for the next batch, so no sentence is lost
        for duplicates except those left over at the end of the epoch.
        """
        order = (
            np.random.default_rng(self.seed + epoch).permutation(len(self.sentences))
            if self.shuffle
            else np.arange(len(self.sentences))
        )
        stream = iter(order.tolist())
        waiting: deque[int] = deque()
        while True:
            batch: list[int] = []
            texts: set[str] = set()
            for _ in range(len(waiting)):
                if len(batch) == self.batch_size:
                    break
                index = waiting.popleft()
                if self.sentences[index] in texts:
                    waiting.append(index)
                else:
                    batch.append(index)
                    texts.add(self.sentences[index])
            while len(batch) < self.batch_size:
                index = next(stream, None)
                if index is None:
                    return  # the last partial batch is dropped
                if self.sentences[index] in texts:
                    waiting.append(index)
                else:
                    batch.append(index)
                    texts.add(self.sentences[index])
            yield batch

    def __iter__(self) -> Iterator[Any]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        for indices in self.batch_indices(epoch):
            batch = [InputExample(texts=[self.sentences[i]]) for i in indices]
            yield self.collate_fn(batch) if self.collate_fn is not None else batch
