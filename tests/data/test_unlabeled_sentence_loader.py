from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sentence_transformers.sentence_transformer.datasets.no_duplicates_dataloader import NoDuplicatesDataLoader

from simcse_st import UnlabeledSentenceLoader


def test_batches_are_full_unique_and_single_column(corpus_file: Path) -> None:
    loader = UnlabeledSentenceLoader(corpus_file, batch_size=5)
    assert isinstance(loader, NoDuplicatesDataLoader)
    batches = list(loader)
    assert len(batches) == len(loader) == 3  # 16 sentences -> 3 full batches, the last partial one dropped
    for batch in batches:
        assert len(batch) == 5
        assert all(len(example.texts) == 1 for example in batch)
        assert len({example.texts[0] for example in batch}) == 5


def test_epochs_reshuffle_deterministically(corpus_file: Path) -> None:
    first = UnlabeledSentenceLoader(corpus_file, batch_size=4, seed=3)
    second = UnlabeledSentenceLoader(corpus_file, batch_size=4, seed=3)
    epoch0 = [[e.texts[0] for e in batch] for batch in first]
    epoch1 = [[e.texts[0] for e in batch] for batch in first]
    assert epoch0 == [[e.texts[0] for e in batch] for batch in second]
    assert epoch0 != epoch1
    assert sorted(s for b in epoch0 for s in b) == sorted(
        s for b in epoch1 for s in b
    )  # 16 = 4 × 4: every sentence once per epoch


def test_no_shuffle_keeps_file_order(corpus_file: Path) -> None:
    loader = UnlabeledSentenceLoader(corpus_file, batch_size=8, shuffle=False)
    assert [e.texts[0] for e in next(iter(loader))] == loader.sentences[:8]


def test_collate_fn_is_applied(corpus_file: Path) -> None:
    loader = UnlabeledSentenceLoader(corpus_file, batch_size=4)
    loader.collate_fn = len
    assert list(loader) == [4, 4, 4, 4]


def test_sentences_from_a_list_and_read_options(tmp_path: Path) -> None:
    loader = UnlabeledSentenceLoader(["a", "b", "c"], batch_size=2)
    assert len(loader) == 1
    path = tmp_path / "c.txt"
    path.write_text("one\ntwo words\nthree words here\n")
    assert UnlabeledSentenceLoader(path, batch_size=2, min_words=2).sentences == ["two words", "three words here"]


@pytest.mark.parametrize("batch_size", [0, 1, 2.5, "8"])
def test_bad_batch_size(corpus_file: Path, batch_size: object) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        UnlabeledSentenceLoader(corpus_file, batch_size=batch_size)  # type: ignore[arg-type]


def test_fewer_sentences_than_one_batch(corpus_file: Path) -> None:
    with pytest.raises(ValueError, match="Only 16 usable sentences, fewer than one batch of 64"):
        UnlabeledSentenceLoader(corpus_file, batch_size=64)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        UnlabeledSentenceLoader(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="item 1"):
        UnlabeledSentenceLoader(["fine", "  ", "x"], batch_size=2)
    with pytest.raises(ValueError, match="only apply when reading a corpus file"):
        UnlabeledSentenceLoader(["a", "b"], batch_size=2, dedup=False)


@settings(max_examples=200, deadline=None)
@given(
    sentences=st.lists(st.sampled_from([f"s{i}" for i in range(12)]), min_size=2, max_size=80),
    batch_size=st.integers(min_value=2, max_value=9),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_property_no_batch_repeats_a_sentence(sentences: list[str], batch_size: int, seed: int) -> None:
    if len(sentences) < batch_size:
        with pytest.raises(ValueError):
            UnlabeledSentenceLoader(sentences, batch_size=batch_size, seed=seed)
        return
    loader = UnlabeledSentenceLoader(sentences, batch_size=batch_size, seed=seed)
    used: list[int] = []
    for indices in loader.batch_indices(epoch=0):
        assert len(indices) == batch_size
        assert len({sentences[i] for i in indices}) == batch_size
        used.extend(indices)
    assert len(used) == len(set(used))  # no row is used twice in an epoch
    assert len(used) // batch_size <= len(loader)
    # nothing is lost to duplicates: the rows left over could not have formed one more batch of distinct texts
    leftover = {sentences[i] for i in set(range(len(sentences))) - set(used)}
    assert len(leftover) < batch_size
