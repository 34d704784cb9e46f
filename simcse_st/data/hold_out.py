"""Hold out sentences of a training corpus for label-free checkpoint selection, and the perturbed copies the
:class:`~simcse_st.evaluation.CorpusDevEvaluator` retrieves them by."""

from __future__ import annotations

import random

from datasets import Dataset

DEV_SENTENCES_FILE = "dev_sentences.txt"  # in the output directory of a run with dev_from_corpus
MIN_PERTURB_UNITS = 2  # a sentence of fewer words (characters, for text without spaces) is left as it is


def hold_out(dataset: Dataset, count: int, seed: int, min_train: int = 1) -> tuple[Dataset, list[str]]:
    """Split ``count`` random rows off ``dataset`` (seeded: the same ``seed`` holds out the same rows, also on
    ``--resume``); the rest keep their order. Returns ``(training rows, held-out sentences of the first column)``.

    Raises:
        ValueError: ``count < 1``, or fewer than ``min_train`` rows would be left to train on.
    """
    if count < 1:
        raise ValueError(f"dev_from_corpus={count!r} is invalid: hold out at least 1 sentence (0 = off).")
    if len(dataset) - count < min_train:
        raise ValueError(
            f"dev_from_corpus={count} is invalid: the corpus has {len(dataset)} usable rows, and at least "
            f"{min_train} (one batch) must be left to train on."
        )
    picked = sorted(random.Random(seed).sample(range(len(dataset)), count))
    chosen = set(picked)
    column = dataset.column_names[0]
    held_out = [str(text) for text in dataset.select(picked)[column]]
    rest = dataset.select([i for i in range(len(dataset)) if i not in chosen])
    return rest, held_out


def perturbation_units(sentence: str) -> tuple[list[str], str]:
    """The units a sentence is perturbed by and the separator that joins them: whitespace words when it has at
    least :data:`MIN_PERTURB_UNITS` of them, else its non-space characters (Chinese, Japanese, Thai)."""
    words = sentence.split()
    if len(words) >= MIN_PERTURB_UNITS:
        return words, " "
    return [char for char in sentence if not char.isspace()], ""


def delete_units(sentence: str, rate: float, rng: random.Random) -> str:
    """Delete ``round(rate × n)`` of the sentence's ``n`` units (at least 1, at most ``n - 1``) at random positions;
    a sentence of fewer than :data:`MIN_PERTURB_UNITS` units is returned as it is.

    Example:
        ::

            delete_units("the cat sat on the mat", 0.3, random.Random(0))  # 2 of the 6 words deleted
            delete_units("我们今天去公园散步", 0.3, random.Random(0))  # 3 of the 9 characters deleted
    """
    units, separator = perturbation_units(sentence)
    if len(units) < MIN_PERTURB_UNITS:
        return sentence
    removed = min(max(int(len(units) * rate + 0.5), 1), len(units) - 1)
    dropped = set(rng.sample(range(len(units)), removed))
    return separator.join(unit for i, unit in enumerate(units) if i not in dropped)
