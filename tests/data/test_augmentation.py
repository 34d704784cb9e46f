"""Table 1's positive constructions on fixed inputs: exact outputs for a seed, and the invariants behind them."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from transformers import BertForMaskedLM, BertTokenizerFast

from simcse_st.data.augmentation import (
    TABLE1_ROWS,
    augment_dataset,
    crop,
    delete_one_word,
    mlm_replace_token_ids,
    mlm_replacement,
    synonym_replacement,
    word_deletion,
    wordnet_synonyms,
)

TEN = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"
WORDS = TEN.split()


@pytest.mark.parametrize(("ratio", "kept"), [(0.1, 9), (0.2, 8), (0.3, 7)])
def test_crop_keeps_a_contiguous_span(ratio: float, kept: int) -> None:
    for seed in range(20):
        out = crop(TEN, ratio, random.Random(seed)).split()
        start = WORDS.index(out[0])
        assert out == WORDS[start : start + kept]
    assert crop(TEN, ratio, random.Random(0)) == crop(TEN, ratio, random.Random(0))


@pytest.mark.parametrize(("ratio", "kept"), [(0.1, 9), (0.2, 8), (0.3, 7)])
def test_word_deletion_deletes_k_percent_keeping_order(ratio: float, kept: int) -> None:
    outputs = {word_deletion(TEN, ratio, random.Random(seed)) for seed in range(20)}
    for out in outputs:
        words = out.split()
        assert len(words) == kept and words == sorted(words, key=WORDS.index)
    assert len(outputs) > 1, "positions are random"


def test_fixed_outputs_for_seed_0() -> None:
    assert crop(TEN, 0.3, random.Random(0)) == "w3 w4 w5 w6 w7 w8 w9"
    assert word_deletion(TEN, 0.2, random.Random(0)) == "w0 w1 w2 w3 w4 w5 w7 w8"
    assert delete_one_word(TEN, random.Random(0)) == "w0 w1 w2 w3 w4 w5 w7 w8 w9"


def test_short_sentences_keep_a_word() -> None:
    assert crop("hello", 0.3, random.Random(0)) == "hello"
    assert word_deletion("hello", 0.3, random.Random(0)) == "hello"
    assert delete_one_word("hello", random.Random(0)) == "hello"
    assert len(crop("two words", 0.1, random.Random(0)).split()) == 1  # at least one word removed, one kept
    assert len(word_deletion("a b c", 0.1, random.Random(0)).split()) == 2


def test_delete_one_word() -> None:
    outputs = {delete_one_word(TEN, random.Random(seed)) for seed in range(30)}
    assert all(len(out.split()) == 9 and set(out.split()) < set(WORDS) for out in outputs)
    assert len(outputs) == 10, "every position can be deleted"


def test_synonym_replacement_replaces_exactly_one_content_word() -> None:
    synonyms = {"man": ["gentleman", "adult male"], "playing": ["performing"], "guitar": [], "a": ["angstrom"]}
    sentence = "A man is playing a guitar."
    outputs = {synonym_replacement(sentence, random.Random(seed), synonyms) for seed in range(30)}
    assert outputs == {
        "A gentleman is playing a guitar.",
        "A adult male is playing a guitar.",
        "A man is performing a guitar.",
    }, "one word, never a stopword ('a'), never a word without synonyms"
    assert synonym_replacement("Man, go!", random.Random(0), {"man": ["gentleman"]}) == "Gentleman, go!"
    assert synonym_replacement("the cat.", random.Random(0), lambda word: []) == "the cat."


def write_fake_wordnet(folder: Path) -> Path:
    """A two-synset WordNet database in the real file format (data lines found by byte offset)."""
    folder.mkdir()
    header = "  1 This is a license header line.\n"
    lines = [
        "{offset} 05 n 02 cat 0 true_cat 0 000 | feline mammal\n",
        "{offset} 18 n 03 guy 0 cat 1 hombre 0 000 | an informal term for a youth or man\n",
    ]
    data, offsets = header, []
    for line in lines:
        offsets.append(len(data.encode()))
        data += line.format(offset=f"{len(data.encode()):08d}")
    (folder / "data.noun").write_text(data)
    index = header + f"cat n 2 0 2 0 {offsets[0]:08d} {offsets[1]:08d}\nguy n 1 0 1 0 {offsets[1]:08d}\n"
    (folder / "index.noun").write_text(index)
    (folder / "noun.exc").write_text("kine cow\n")
    return folder


def test_wordnet_reader_on_the_database_format(tmp_path: Path) -> None:
    lookup = wordnet_synonyms(write_fake_wordnet(tmp_path / "dict"))
    assert lookup("cat") == ["guy", "hombre", "true cat"]
    assert lookup("cats") == ["guy", "hombre", "true cat"], "suffix rules reduce to the base form"
    assert lookup("guy") == ["cat", "hombre"]
    assert lookup("guitar") == []


def test_missing_wordnet_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="wordnet-base"):
        wordnet_synonyms(tmp_path / "nothing-here")


def test_real_wordnet_when_installed() -> None:
    try:
        lookup = wordnet_synonyms()
    except RuntimeError:
        pytest.skip("no WordNet database on this machine (apt-get install wordnet-base)")
    assert lookup("happy") == ["felicitous", "glad", "well-chosen"]


def test_mlm_replacement_replaces_fifteen_percent_of_tokens(tiny_bert_dir: Path) -> None:
    tokenizer = BertTokenizerFast.from_pretrained(tiny_bert_dir)
    ids = tokenizer(["the cat is on the dog in the man of the cat is on the dog in the man of the"])["input_ids"]
    n_tokens = len(ids[0]) - 2  # 20 words, one token each, plus [CLS] and [SEP]
    torch.manual_seed(0)
    fill_model = BertForMaskedLM.from_pretrained(tiny_bert_dir).eval()
    special = set(tokenizer.all_special_ids)
    for model in (None, fill_model):
        out = mlm_replace_token_ids(ids, tokenizer, model, 0.15, random.Random(0))[0]
        changed = [i for i, (a, b) in enumerate(zip(ids[0], out, strict=True)) if a != b]
        assert len(changed) == round(0.15 * n_tokens) == 3
        assert all(out[i] not in special for i in changed) and out[0] == ids[0][0] and out[-1] == ids[0][-1]
        assert out == mlm_replace_token_ids(ids, tokenizer, model, 0.15, random.Random(0))[0], "deterministic"
    text = mlm_replacement("the cat is on the dog", tokenizer, fill_model, 0.15, random.Random(0))
    assert isinstance(text, str) and text != "the cat is on the dog"


def test_augment_dataset_is_deterministic_and_two_columns(tiny_bert_dir: Path) -> None:
    sentences = ["a man is playing a guitar .", "the cat sits on the mat .", "a dog runs in the park ."] * 4
    first = augment_dataset(sentences, "word_deletion", ratio=0.2, seed=1)
    assert first.column_names == ["sent0", "sent1"] and first["sent0"] == sentences
    assert first["sent1"] == augment_dataset(Dataset.from_dict({"text": sentences}), "word_deletion", 0.2, 1)["sent1"]
    assert first["sent1"] != augment_dataset(sentences, "word_deletion", ratio=0.2, seed=2)["sent1"]
    tokenizer = BertTokenizerFast.from_pretrained(tiny_bert_dir)
    mlm = augment_dataset(sentences, "mlm", seed=1, tokenizer=tokenizer)
    assert mlm["sent1"] == augment_dataset(sentences, "mlm", seed=1, tokenizer=tokenizer)["sent1"]
    assert all(a != b for a, b in zip(mlm["sent0"], mlm["sent1"], strict=True))
    synonyms = augment_dataset(sentences, "synonym_replacement", synonyms={"cat": ["feline"]})
    assert synonyms["sent1"][1] == "the feline sits on the mat ."
    assert len(TABLE1_ROWS) == 11 and TABLE1_ROWS["Delete one word, w/o dropout"] == ("delete_one_word", None, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "shuffle"}, "method"),
        ({"method": "crop"}, "ratio"),
        ({"method": "crop", "ratio": 1.0}, "ratio"),
        ({"method": "delete_one_word", "ratio": 0.1}, "no ratio"),
        ({"method": "mlm"}, "tokenizer"),
    ],
)
def test_augment_dataset_validates(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        augment_dataset(["a b c"], **kwargs)
