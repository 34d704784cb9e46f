"""Training without STS-B: dev_from_corpus (held out, written, selecting), scored pairs next to it, corpus filters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SENTENCES
from datasets import Dataset

from simcse_st.data.hold_out import DEV_SENTENCES_FILE
from simcse_st.evaluation import scored_pairs_evaluator
from simcse_st.training import SimCSEConfig, train_simcse

TINY = SimCSEConfig(pooling="mean", batch_size=4, max_steps=3, eval_steps=1, bf16=False)


def _held_out(directory: Path) -> list[str]:
    return (directory / DEV_SENTENCES_FILE).read_text(encoding="utf-8").splitlines()


def test_dev_from_corpus_holds_out_writes_and_selects(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = replace(TINY, dev_from_corpus=4)
    results = train_simcse(corpus_file, out, config, model=str(tiny_bert_dir), show_progress_bar=False)
    held_out = _held_out(out)
    assert len(held_out) == 4 and set(held_out) <= set(SENTENCES)
    assert results["rows"] == len(SENTENCES) - 4  # the held-out sentences are not trained on
    assert results["best_metric_name"] == "eval_corpus-dev_score"
    history = results["eval_history"]
    assert [entry["step"] for entry in history] == [1, 2, 3]
    assert results["best_metric"] == max(entry["eval_corpus-dev_score"] for entry in history)
    assert {"eval_corpus-dev_retrieval_mrr", "eval_corpus-dev_align_loss"} <= set(history[0])
    again = train_simcse(corpus_file, tmp_path / "again", config, model=str(tiny_bert_dir), show_progress_bar=False)
    assert _held_out(tmp_path / "again") == held_out and again["eval_history"] == history  # a function of the seed
    train_simcse(
        corpus_file, tmp_path / "s2", replace(config, seed=2), model=str(tiny_bert_dir), show_progress_bar=False
    )
    assert _held_out(tmp_path / "s2") != held_out


def test_resume_holds_out_the_same_sentences(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = replace(TINY, max_steps=2, save_steps=1, dev_from_corpus=4)
    train_simcse(corpus_file, out, config, model=str(tiny_bert_dir), show_progress_bar=False)
    first = _held_out(out)
    results = train_simcse(
        corpus_file, out, replace(config, max_steps=4), model=str(tiny_bert_dir), resume=True, show_progress_bar=False
    )
    assert results["global_step"] == 4 and _held_out(out) == first and results["rows"] == 12


def test_a_given_evaluator_selects_and_corpus_dev_is_logged_next_to_it(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    pairs = tmp_path / "dev.tsv"
    pairs.write_text("s1\ts2\tscore\n" + "".join(f"{a}\t{b}\t{i}\n" for i, (a, b) in enumerate(zip(SENTENCES[::2],
                     SENTENCES[1::2], strict=True))))  # fmt: skip
    evaluator = scored_pairs_evaluator(pairs, name="dev-pairs")
    config = replace(TINY, dev_from_corpus=4)
    results = train_simcse(
        corpus_file, tmp_path / "run", config, model=str(tiny_bert_dir), evaluator=evaluator, show_progress_bar=False
    )
    assert results["best_metric_name"] == "eval_dev-pairs_spearman_cosine"
    entry = results["eval_history"][0]
    assert "eval_corpus-dev_score" in entry and "eval_dev-pairs_spearman_cosine" in entry
    assert results["best_metric"] == max(e["eval_dev-pairs_spearman_cosine"] for e in results["eval_history"])


def test_corpus_filters_reach_the_reader(tiny_bert_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    long_ones = [f"{s} and then some more words were added" for s in SENTENCES[:6]]
    corpus.write_text("\n".join(SENTENCES + long_ones) + "\n")
    # the tiny tokenizer is character-level: a sentence has about as many tokens as characters
    config = replace(TINY, max_steps=1, length_unit="tokens", max_length=30)
    results = train_simcse(corpus, tmp_path / "tokens", config, model=str(tiny_bert_dir), show_progress_bar=False)
    assert results["rows"] == sum(len(s.replace(" ", "")) <= 30 for s in SENTENCES + long_ones)
    config = replace(TINY, max_steps=1, length_unit="characters", min_length=27)
    results = train_simcse(corpus, tmp_path / "chars", config, model=str(tiny_bert_dir), show_progress_bar=False)
    assert results["rows"] == sum(len(s) >= 27 for s in SENTENCES + long_ones)


def test_own_data_settings_are_validated(tiny_bert_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dev_from_corpus=4 is invalid: it holds out unsupervised"):
        SimCSEConfig(supervised=True, dev_from_corpus=4)
    with pytest.raises(ValueError, match="length_unit='tokens' is invalid: corpus filters read unsupervised"):
        SimCSEConfig(supervised=True, length_unit="tokens")
    with pytest.raises(ValueError, match="max_length=2 is invalid: it must be >= min_length"):
        SimCSEConfig(min_length=3, max_length=2)
    with pytest.raises(ValueError, match="unicode_normalization='NFD' is invalid"):
        SimCSEConfig(unicode_normalization="NFD")  # type: ignore[arg-type]
    dataset = Dataset.from_dict({"text": SENTENCES})
    with pytest.raises(ValueError, match="a ready Dataset is trained on as it is"):
        train_simcse(dataset, tmp_path / "d", replace(TINY, min_length=3), model=str(tiny_bert_dir))
    with pytest.raises(ValueError, match="dev_from_corpus=14 is invalid: the corpus has 16 usable rows"):
        train_simcse(dataset, tmp_path / "e", replace(TINY, dev_from_corpus=14), model=str(tiny_bert_dir))


def test_corpus_dev_evaluator_in_model_fit(tiny_model, tmp_path: Path) -> None:
    from simcse_st import DropoutContrastiveLoss, UnlabeledSentenceLoader
    from simcse_st.data.hold_out import hold_out
    from simcse_st.evaluation import CorpusDevEvaluator

    rows, held_out = hold_out(Dataset.from_dict({"text": SENTENCES}), 4, seed=0)
    loader = UnlabeledSentenceLoader(list(rows["text"]), batch_size=4)
    evaluator = CorpusDevEvaluator(held_out)
    before = evaluator(tiny_model)["corpus-dev_score"]
    tiny_model.fit(
        train_objectives=[(loader, DropoutContrastiveLoss(tiny_model))],
        evaluator=evaluator,
        epochs=1,
        warmup_steps=0,
        evaluation_steps=1,
        output_path=str(tmp_path / "fit"),
        show_progress_bar=False,
    )
    lines = (tmp_path / "fit" / "eval" / "corpus_dev_evaluation_corpus-dev_results.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["epoch", "steps", "score"] and len(lines) >= 2  # fit called it
    after = dict(zip(header, map(float, lines[-1].split(",")), strict=True))
    assert after["score"] == -after["contrastive_loss"] and before < 0  # the default score: -InfoNCE
