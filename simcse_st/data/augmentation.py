"""The discrete positive constructions that SimCSE's Table 1 compares with dropout noise, as data-side transforms.

Each transform turns a sentence into its positive; :func:`augment_dataset` builds the two-column dataset
``(sent0 = original, sent1 = augmented)`` that :class:`~simcse_st.DropoutContrastiveLoss` trains on as pairs. The
paper keeps the standard 10% dropout in every row except "w/o dropout" (delete one word, dropout off:
:func:`simcse_st.modules.set_dropout` with ``p=0``). Words are whitespace-separated tokens.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset

from simcse_st.data.names import AUGMENTATION_METHODS, AugmentationMethod

METHODS: tuple[str, ...] = AUGMENTATION_METHODS
WORDNET_ENV_VAR = "SIMCSE_WORDNET_DIR"

# Table 1 of the paper (STS-B dev): row label -> (method, ratio, encoder dropout; None = the checkpoint's 0.1).
TABLE1_ROWS: dict[str, tuple[AugmentationMethod | None, float | None, float | None]] = {
    "None (unsup. SimCSE)": (None, None, None),
    "Crop 10%": ("crop", 0.1, None),
    "Crop 20%": ("crop", 0.2, None),
    "Crop 30%": ("crop", 0.3, None),
    "Word deletion 10%": ("word_deletion", 0.1, None),
    "Word deletion 20%": ("word_deletion", 0.2, None),
    "Word deletion 30%": ("word_deletion", 0.3, None),
    "Delete one word": ("delete_one_word", None, None),
    "Delete one word, w/o dropout": ("delete_one_word", None, 0.0),
    "Synonym replacement": ("synonym_replacement", None, None),
    "MLM 15%": ("mlm", 0.15, None),
}

# Function words never replaced by a synonym (WordNet lists e.g. "a" as a noun: vitamin A, angstrom).
_STOPWORDS_TEXT = (
    "a an the and or but if of at by for with about against between into through during before after above below "
    "to from up down in out on off over under again further then once here there when where why how all any both "
    "each few more most other some such no nor not only own same so than too very can will just should now i me my "
    "we our you your he him his she her it its they them their what which who whom this that these those am is are "
    "was were be been being have has had having do does did doing would could"
)
STOPWORDS: frozenset[str] = frozenset(_STOPWORDS_TEXT.split())
_EDGE_PUNCTUATION = re.compile(r"^(\W*)(.*?)(\W*)$")


def _check_ratio(ratio: float) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must be a number in (0, 1), got {ratio!r}.")
    return float(ratio)


def _removed_words(n_words: int, ratio: float) -> int:
    """round(n × ratio), at least 1 and at most n - 1 (a sentence keeps a word); 0 for sentences of one word."""
    if n_words < 2:
        return 0
    return min(max(int(n_words * ratio + 0.5), 1), n_words - 1)


def crop(sentence: str, ratio: float, rng: random.Random) -> str:
    """Table 1's "crop k%": keep a random contiguous span of ``100 - k``% of the words.

    Example:
        ::

            crop("a b c d e f g h i j", 0.3, random.Random(0))  # 7 consecutive words
    """
    words = sentence.split()
    removed = _removed_words(len(words), _check_ratio(ratio))
    start = rng.randrange(removed + 1)
    return " ".join(words[start : start + len(words) - removed])


def word_deletion(sentence: str, ratio: float, rng: random.Random) -> str:
    """Table 1's "word deletion k%": delete k% of the words (round(n × k), at least one), at random positions.

    Example:
        ::

            word_deletion("a b c d e f g h i j", 0.2, random.Random(0))  # 8 of the words, in order
    """
    words = sentence.split()
    deleted = set(rng.sample(range(len(words)), _removed_words(len(words), _check_ratio(ratio))))
    return " ".join(word for index, word in enumerate(words) if index not in deleted)


def delete_one_word(sentence: str, rng: random.Random) -> str:
    """Table 1's "delete one word": drop one random word (one-word sentences are returned unchanged).

    Example:
        ::

            delete_one_word("a man is playing", random.Random(0))  # three of the four words
    """
    words = sentence.split()
    if len(words) < 2:
        return " ".join(words)
    index = rng.randrange(len(words))
    return " ".join(words[:index] + words[index + 1 :])


def _find_wordnet(directory: str | os.PathLike[str] | None) -> Path:
    candidates = [directory] if directory is not None else [os.environ.get(WORDNET_ENV_VAR)]
    if directory is None:
        candidates += ["/usr/share/wordnet", Path.home() / "nltk_data/corpora/wordnet"]
        candidates += [f"{root}/nltk_data/corpora/wordnet" for root in ("/usr/share", "/usr/local/share", "/usr/lib")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "index.noun").is_file() and (Path(candidate) / "data.noun").is_file():
            return Path(candidate)
    where = f"at {directory}" if directory is not None else f"in ${WORDNET_ENV_VAR}, /usr/share/wordnet or nltk_data"
    raise RuntimeError(
        "synonym_replacement needs a WordNet 3.0 database folder (index.noun, data.noun, ...); "
        f"none was found {where}. No PyPI package ships it for offline use: nltk and wn download WordNet from the "
        "internet at run time. Install Debian/Ubuntu's `wordnet-base` package (apt-get install wordnet-base, which "
        f"puts it in /usr/share/wordnet), or point ${WORDNET_ENV_VAR} at a WordNet 'dict' folder (e.g. "
        "nltk_data/corpora/wordnet), or pass your own `synonyms` (a dict or a function word -> list of synonyms)."
    )


@lru_cache(maxsize=4)
def _load_wordnet(directory: Path) -> tuple[dict[str, list[tuple[str, int]]], dict[str, list[str]]]:
    """Index (lemma -> [(pos, data offset)]) and exceptions (inflected -> base forms) of a WordNet dict folder."""
    index: dict[str, list[tuple[str, int]]] = {}
    exceptions: dict[str, list[str]] = {}
    for pos in ("noun", "verb", "adj", "adv"):
        if not (directory / f"index.{pos}").is_file():
            continue
        with open(directory / f"index.{pos}", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith(" "):  # license header
                    continue
                fields = line.split()
                n_synsets = int(fields[2])
                index.setdefault(fields[0], []).extend((pos, int(offset)) for offset in fields[-n_synsets:])
        if (directory / f"{pos}.exc").is_file():
            with open(directory / f"{pos}.exc", encoding="utf-8") as lines:
                for line in lines:
                    inflected, *bases = line.split()
                    exceptions.setdefault(inflected, []).extend(bases)
    return index, exceptions


_SUFFIX_RULES = (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
                 ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""),
                 ("er", ""), ("est", ""), ("er", "e"), ("est", "e"))  # fmt: skip


def wordnet_synonyms(directory: str | os.PathLike[str] | None = None) -> Callable[[str], list[str]]:
    """A synonym lookup over a local WordNet 3.0 database (the data nlpaug's synonym augmenter uses).

    A word is reduced to its base forms with WordNet's exception lists and suffix rules (like ``morphy``); its
    synonyms are the other lemmas of all synsets of those base forms, all parts of speech, sorted.

    Args:
        directory: A WordNet ``dict`` folder; ``None`` = ``$SIMCSE_WORDNET_DIR``, ``/usr/share/wordnet`` (Debian's
            ``wordnet-base``), then ``nltk_data/corpora/wordnet``.

    Raises:
        RuntimeError: No WordNet database was found; the message says how to get one.

    Example:
        ::

            synonyms = wordnet_synonyms()
            synonyms("happy")  # ['felicitous', 'glad', 'well-chosen']
    """
    folder = _find_wordnet(directory)
    index, exceptions = _load_wordnet(folder)

    @lru_cache(maxsize=100_000)
    def lookup(word: str) -> list[str]:
        word = word.lower()
        bases = {word, *exceptions.get(word, [])}
        bases |= {word[: -len(old)] + new for old, new in _SUFFIX_RULES if word.endswith(old) and len(word) > len(old)}
        synonyms: set[str] = set()
        for base in bases & index.keys():
            for pos, offset in index[base]:
                with open(folder / f"data.{pos}", "rb") as data:
                    data.seek(offset)
                    fields = data.readline().decode("utf-8").split()
                n_words = int(fields[3], 16)
                lemmas = fields[4 : 4 + 2 * n_words : 2]
                synonyms |= {re.sub(r"\(\w+\)$", "", lemma).replace("_", " ").lower() for lemma in lemmas}
        return sorted(synonyms - bases)

    return lookup


def synonym_replacement(
    sentence: str,
    rng: random.Random,
    synonyms: Mapping[str, Sequence[str]] | Callable[[str], Sequence[str]] | None = None,
) -> str:
    """Table 1's "synonym replacement": replace one random word that has a synonym with a random synonym of it.

    Function words (:data:`STOPWORDS`) are never replaced; punctuation around the word and a capital first letter
    are kept. The paper used nlpaug's WordNet augmenter, which also POS-tags the sentence to pick synonyms of the
    word's part of speech; here all parts of speech are candidates (no tagger model is needed).

    Args:
        sentence: The input sentence.
        rng: The random generator (fixes which word and which synonym).
        synonyms: A dict or function word -> synonyms; ``None`` = :func:`wordnet_synonyms` (a local WordNet).

    Raises:
        RuntimeError: ``synonyms`` is None and no WordNet database is installed (see :func:`wordnet_synonyms`).

    Example:
        ::

            synonym_replacement("the cat is happy.", random.Random(0), {"happy": ["glad"]})  # 'the cat is glad.'
    """
    lookup: Callable[[str], Sequence[str]]
    if synonyms is None:
        lookup = wordnet_synonyms()
    elif isinstance(synonyms, Mapping):
        lookup = lambda word: synonyms.get(word, ())  # noqa: E731
    else:
        lookup = synonyms
    words = sentence.split()
    options: list[tuple[int, list[str]]] = []
    for position, word in enumerate(words):
        core = _EDGE_PUNCTUATION.match(word).group(2)  # type: ignore[union-attr]
        if core and core.lower() not in STOPWORDS:
            found = [s for s in lookup(core.lower()) if s and s != core.lower()]
            if found:
                options.append((position, found))
    if not options:
        return " ".join(words)
    position, found = options[rng.randrange(len(options))]
    prefix, core, suffix = _EDGE_PUNCTUATION.match(words[position]).groups()  # type: ignore[union-attr]
    replacement = found[rng.randrange(len(found))]
    if core[:1].isupper():
        replacement = replacement[:1].upper() + replacement[1:]
    words[position] = prefix + replacement + suffix
    return " ".join(words)


def mlm_replace_token_ids(
    token_ids: Sequence[Sequence[int]],
    tokenizer: Any,
    fill_model: torch.nn.Module | None = None,
    ratio: float = 0.15,
    rng: random.Random | None = None,
    batch_size: int = 64,
) -> list[list[int]]:
    """Table 1's "MLM 15%" on token ids: replace ``ratio`` of each sequence's non-special tokens.

    ``round(ratio × tokens)`` (at least one) non-special positions are chosen per sequence, all masked at once, and
    each is replaced by ``fill_model``'s most likely token other than the original one and the special tokens (the
    paper used BERT-base's MLM). Without ``fill_model`` the replacements are random non-special vocabulary tokens.

    Args:
        token_ids: Tokenized sentences, special tokens included (``tokenizer(sentences)["input_ids"]``).
        tokenizer: The Hugging Face tokenizer of ``fill_model`` (or of the encoder).
        fill_model: A masked LM, e.g. ``AutoModelForMaskedLM.from_pretrained("bert-base-uncased")``; called with
            ``input_ids`` and ``attention_mask``, it must return ``.logits``. ``None`` = random tokens.
        ratio: Share of the tokens replaced (Table 1: 0.15).
        rng: The random generator for the positions (and the random tokens); ``None`` = ``random.Random(0)``.
        batch_size: Sequences per ``fill_model`` forward pass.
    """
    ratio = _check_ratio(ratio)
    rng = rng or random.Random(0)
    special = set(tokenizer.all_special_ids)
    outputs = [list(ids) for ids in token_ids]
    chosen: list[list[int]] = []
    for ids in outputs:
        positions = [i for i, token_id in enumerate(ids) if token_id not in special]
        k = min(len(positions), max(1, int(len(positions) * ratio + 0.5))) if positions else 0
        chosen.append(sorted(rng.sample(positions, k)))
    if fill_model is None:
        vocabulary = [token_id for token_id in range(len(tokenizer)) if token_id not in special]
        for ids, positions in zip(outputs, chosen, strict=True):
            for position in positions:
                original = ids[position]
                while ids[position] == original:  # a replacement, not the original
                    ids[position] = vocabulary[rng.randrange(len(vocabulary))]
        return outputs
    fill_model.eval()
    device = next(fill_model.parameters()).device
    banned = torch.tensor(sorted(special), device=device)
    for start in range(0, len(outputs), batch_size):
        rows = range(start, min(start + batch_size, len(outputs)))
        masked = [[tokenizer.mask_token_id if i in chosen[r] else t for i, t in enumerate(outputs[r])] for r in rows]
        batch = tokenizer.pad({"input_ids": masked}, return_tensors="pt").to(device)
        with torch.no_grad():
            logits = fill_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        logits[..., banned] = float("-inf")  # (B, T, V)
        for offset, row in enumerate(rows):
            for position in chosen[row]:
                scores = logits[offset, position]  # (V,)
                scores[outputs[row][position]] = float("-inf")  # a replacement, not the original
                outputs[row][position] = int(scores.argmax())
    return outputs


def mlm_replacement_batch(
    sentences: Sequence[str],
    tokenizer: Any,
    fill_model: torch.nn.Module | None = None,
    ratio: float = 0.15,
    rng: random.Random | None = None,
    batch_size: int = 64,
) -> list[str]:
    """Table 1's "MLM 15%" for many sentences: tokenize, :func:`mlm_replace_token_ids`, decode back to text.

    The paper says "replace 15% of words"; here 15% of the (sub)word tokens are replaced.
    """
    max_length = min(int(tokenizer.model_max_length), 512)
    encoded = tokenizer(list(sentences), truncation=True, max_length=max_length)["input_ids"]
    replaced = mlm_replace_token_ids(encoded, tokenizer, fill_model, ratio, rng, batch_size)
    return [tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True) for ids in replaced]


def mlm_replacement(
    sentence: str,
    tokenizer: Any,
    fill_model: torch.nn.Module | None = None,
    ratio: float = 0.15,
    rng: random.Random | None = None,
) -> str:
    """Table 1's "MLM 15%" for one sentence; see :func:`mlm_replacement_batch`.

    Example:
        ::

            mlm_replacement("a man is playing a guitar.", tokenizer, fill_model, 0.15, random.Random(0))
    """
    return mlm_replacement_batch([sentence], tokenizer, fill_model, ratio, rng)[0]


def augment_dataset(
    sentences: Iterable[str] | Dataset,
    method: AugmentationMethod,
    ratio: float | None = None,
    seed: int = 42,
    *,
    tokenizer: Any = None,
    fill_model: torch.nn.Module | None = None,
    synonyms: Mapping[str, Sequence[str]] | Callable[[str], Sequence[str]] | None = None,
) -> Dataset:
    """A ``(sent0, sent1)`` dataset: each sentence and its augmented positive, for the pairs mode of the loss.

    Deterministic: the same sentences, method, ratio and seed give the same dataset.

    Args:
        sentences: The sentences (or a one-column ``Dataset``, e.g. from :func:`simcse_st.load_sentences`).
        method: ``crop``, ``word_deletion`` (``ratio`` required: 0.1, 0.2, 0.3 in Table 1), ``delete_one_word``,
            ``synonym_replacement`` (no ratio), ``mlm`` (``ratio`` default 0.15; needs ``tokenizer``).
        ratio: The share k of the method (see above).
        seed: Seed of the ``random.Random`` that drives every choice.
        tokenizer: For ``mlm``: the tokenizer (e.g. ``model.tokenizer``).
        fill_model: For ``mlm``: the masked LM that predicts the replacements (``None`` = random tokens).
        synonyms: For ``synonym_replacement``: a dict or function word -> synonyms (``None`` = local WordNet).

    Example:
        ::

            from simcse_st import DropoutContrastiveLoss, load_sentences
            from simcse_st.data.augmentation import augment_dataset

            pairs = augment_dataset(load_sentences("wiki1m.txt"), "crop", ratio=0.1)
            # train with DropoutContrastiveLoss(model) on `pairs` (columns sent0, sent1)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if isinstance(sentences, Dataset):
        if len(sentences.column_names) != 1:
            raise ValueError(f"Expected a one-column dataset of sentences, got columns {sentences.column_names}.")
        sentences = sentences[sentences.column_names[0]]
    originals = [str(sentence) for sentence in sentences]
    if method in ("delete_one_word", "synonym_replacement") and ratio is not None:
        raise ValueError(f"method={method!r} takes no ratio, got {ratio!r}.")
    if method in ("crop", "word_deletion") and ratio is None:
        raise ValueError(f"method={method!r} needs a ratio (Table 1: 0.1, 0.2 or 0.3).")
    rng = random.Random(seed)
    if method == "mlm":
        if tokenizer is None:
            raise ValueError("method='mlm' needs a tokenizer (and usually a fill_model).")
        augmented = mlm_replacement_batch(originals, tokenizer, fill_model, 0.15 if ratio is None else ratio, rng)
    elif method == "crop":
        augmented = [crop(sentence, ratio, rng) for sentence in originals]  # type: ignore[arg-type]
    elif method == "word_deletion":
        augmented = [word_deletion(sentence, ratio, rng) for sentence in originals]  # type: ignore[arg-type]
    elif method == "delete_one_word":
        augmented = [delete_one_word(sentence, rng) for sentence in originals]
    else:
        lookup = wordnet_synonyms() if synonyms is None else synonyms
        augmented = [synonym_replacement(sentence, rng, lookup) for sentence in originals]
    return Dataset.from_dict({"sent0": originals, "sent1": augmented})
