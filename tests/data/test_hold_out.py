"""hold_out (seeded, disjoint, order kept) and the perturbation of the held-out sentences."""

from __future__ import annotations

import random

import pytest
from datasets import Dataset

from simcse_st.data.hold_out import delete_units, hold_out, perturbation_units


def _dataset(n: int) -> Dataset:
    return Dataset.from_dict({"text": [f"sentence number {i}" for i in range(n)]})


def test_hold_out_is_seeded_disjoint_and_keeps_the_order() -> None:
    rest, held = hold_out(_dataset(50), 10, seed=7)
    again_rest, again_held = hold_out(_dataset(50), 10, seed=7)
    _, other = hold_out(_dataset(50), 10, seed=8)
    assert held == again_held and list(rest["text"]) == list(again_rest["text"])
    assert held != other
    assert len(held) == 10 and len(rest) == 40
    assert not set(held) & set(list(rest["text"]))
    assert sorted(held + list(rest["text"])) == sorted(_dataset(50)["text"])
    numbers = [int(text.rsplit(" ", 1)[1]) for text in list(rest["text"])]
    assert numbers == sorted(numbers)  # the training rows keep the corpus order
    expected = sorted(random.Random(7).sample(range(50), 10))
    assert held == [f"sentence number {i}" for i in expected]


def test_hold_out_refuses_too_many_or_none() -> None:
    with pytest.raises(ValueError, match="dev_from_corpus=0 is invalid"):
        hold_out(_dataset(10), 0, seed=1)
    with pytest.raises(ValueError, match="dev_from_corpus=8 is invalid: the corpus has 10 usable rows"):
        hold_out(_dataset(10), 8, seed=1, min_train=4)


def test_delete_units_deletes_words_or_characters() -> None:
    rng = random.Random(0)
    out = delete_units("one two three four five six seven eight nine ten", 0.3, rng)
    assert len(out.split()) == 7 and all(
        word in "one two three four five six seven eight nine ten" for word in out.split()
    )
    chinese = "我们今天去公园散步了"  # 10 characters, no spaces
    assert perturbation_units(chinese) == (list(chinese), "")
    out = delete_units(chinese, 0.3, random.Random(0))
    assert len(out) == 7 and " " not in out
    kept = iter(out)
    current = next(kept)
    for char in chinese:  # a subsequence: characters deleted, none reordered
        if char == current:
            current = next(kept, None)
    assert current is None
    thai = "ฉันชอบกินข้าวผัด"
    assert len(delete_units(thai, 0.1, random.Random(1))) == len(thai) - 2  # round(16 × 0.1) = 2
    assert delete_units("x", 0.5, random.Random(0)) == "x"  # one unit: left as it is
    assert delete_units("a b", 0.9, random.Random(0)) in ("a", "b")  # at most n - 1 deleted


def test_delete_units_is_a_function_of_the_seed() -> None:
    texts = [f"w{i} " * 12 for i in range(5)]
    first = [delete_units(t, 0.3, rng) for rng in [random.Random(3)] for t in texts]
    second = [delete_units(t, 0.3, rng) for rng in [random.Random(3)] for t in texts]
    assert first == second
