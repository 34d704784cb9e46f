from __future__ import annotations

import random
from pathlib import Path

import pytest
from datasets import Dataset
from hypothesis import given, settings
from hypothesis import strategies as st
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

from simcse_st import DropoutContrastiveLoss, load_sentences
from simcse_st.data import LengthGroupedBatchSampler, token_length_fn


def _sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(f"w{rng.randrange(10_000)}" for _ in range(rng.randint(1, 30))) + f" {i}" for i in range(n)]


def test_batches_are_full_distinct_and_cover_each_row_at_most_once() -> None:
    dataset = Dataset.from_dict({"text": _sentences(1000)})
    sampler = LengthGroupedBatchSampler(dataset, batch_size=32, drop_last=True, group_size=4)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 31
    flat = [row for batch in batches for row in batch]
    assert all(len(batch) == 32 for batch in batches)
    assert len(flat) == len(set(flat))


def test_without_drop_last_every_row_is_in_exactly_one_batch() -> None:
    dataset = Dataset.from_dict({"text": _sentences(1000)})
    sampler = LengthGroupedBatchSampler(dataset, batch_size=32, drop_last=False, group_size=4)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 32  # 31 full batches and the leftover 8 rows
    assert sorted(row for batch in batches for row in batch) == list(range(1000))
    assert sorted(len(batch) for batch in batches)[0] == 1000 - 31 * 32


def test_grouping_cuts_padding_against_random_batches() -> None:
    texts = _sentences(4096)
    dataset = Dataset.from_dict({"text": texts})

    def padding_share(group_size: int) -> float:
        sampler = LengthGroupedBatchSampler(dataset, batch_size=64, drop_last=True, group_size=group_size)
        slots = real = 0
        for batch in sampler:
            lengths = [len(texts[i]) for i in batch]
            slots += max(lengths) * len(lengths)
            real += sum(lengths)
        return 1 - real / slots

    random_batches, grouped = padding_share(1), padding_share(16)
    assert grouped < 0.5 * random_batches, (random_batches, grouped)


def test_token_lengths_sort_by_what_the_model_sees(tiny_model: SentenceTransformer) -> None:
    # Equal character lengths, very different token counts (the fixture vocabulary has "the" but spells "xyz" out).
    texts = ["the the the the the", "xyz xyz xyz xyz xyz", "the the", "x y z w v"]
    lengths = token_length_fn(tiny_model.tokenizer)
    expected = [len(tiny_model.tokenizer(text)["input_ids"]) for text in texts]
    assert lengths(texts) == expected and expected[0] < expected[1]
    assert token_length_fn(tiny_model.tokenizer, max_length=8)(texts) == [min(n, 8) for n in expected]
    rows = texts[:2]
    dataset = Dataset.from_dict({"text": [f"{t} {i}" for i in range(32) for t in rows]})
    by_tokens = LengthGroupedBatchSampler(dataset, 8, drop_last=True, group_size=8, length_fn=lengths)
    for batch in by_tokens:  # 32 short + 32 long rows, sorted by tokens: no batch mixes the two kinds
        assert len({dataset[i]["text"].split()[0] for i in batch}) == 1, [dataset[i]["text"] for i in batch]


def test_a_length_fn_that_measures_pairs_takes_the_longest_column() -> None:
    dataset = Dataset.from_dict({"a": ["x", "xxxx", "xx"], "b": ["yyyyyy", "y", "yy"]})
    sampler = LengthGroupedBatchSampler(dataset, 1, drop_last=True, length_fn=lambda texts: [len(t) for t in texts])
    assert sampler.lengths.tolist() == [6, 4, 2]


def test_epochs_are_seeded_and_differ() -> None:
    dataset = Dataset.from_dict({"text": _sentences(256)})
    first = LengthGroupedBatchSampler(dataset, batch_size=16, drop_last=True, seed=5)
    second = LengthGroupedBatchSampler(dataset, batch_size=16, drop_last=True, seed=5)
    epoch0 = list(first)
    assert epoch0 == list(second)
    first.set_epoch(1)
    assert list(first) != epoch0


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.sampled_from(["a", "bb", "ccc", "dddd", "e e e e e", "ffffff", "g"]), min_size=1, max_size=60),
    batch_size=st.integers(min_value=2, max_value=6),
    group_size=st.integers(min_value=1, max_value=4),
)
def test_property_no_batch_repeats_a_text(texts: list[str], batch_size: int, group_size: int) -> None:
    dataset = Dataset.from_dict({"anchor": texts, "positive": [t + "!" for t in texts]})
    sampler = LengthGroupedBatchSampler(dataset, batch_size=batch_size, drop_last=True, group_size=group_size)
    used: list[int] = []
    for batch in sampler:
        assert len(batch) == batch_size
        values = [v for i in batch for v in (texts[i], texts[i] + "!")]
        assert len(values) == len(set(values))
        used.extend(batch)
    assert len(used) == len(set(used))
    assert len(used) // batch_size <= len(sampler)


def test_needs_a_text_column_and_valid_group_size() -> None:
    with pytest.raises(ValueError, match="text column"):
        LengthGroupedBatchSampler(Dataset.from_dict({"x": [1, 2]}), batch_size=2, drop_last=True)
    with pytest.raises(ValueError, match="group_size"):
        LengthGroupedBatchSampler(Dataset.from_dict({"t": ["a"]}), batch_size=2, drop_last=True, group_size=0)


def test_trainer_uses_it(tiny_model: SentenceTransformer, corpus_file: Path, tmp_path: Path) -> None:
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        max_steps=2,
        batch_sampler=LengthGroupedBatchSampler,
        dataloader_drop_last=True,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
    )
    loss = DropoutContrastiveLoss(tiny_model)
    trainer = SentenceTransformerTrainer(
        model=tiny_model, args=args, train_dataset=load_sentences(corpus_file), loss=loss
    )
    assert isinstance(trainer.get_train_dataloader().batch_sampler, LengthGroupedBatchSampler)
    trainer.train()
    assert trainer.state.global_step == 2
