"""``run_ablation`` on the tiny BERT: every row trains from the same start, records curves, resumes, skips honestly."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import build_tiny_bert

import simcse_st.ablation.runner as runner
import simcse_st.data.augmentation as augmentation
from simcse_st.ablation import ABLATION_BASELINE, STUDIES, run_ablation
from simcse_st.modules.build import reinitialize_encoder
from simcse_st.training import SimCSEConfig, build_model

STSB_DEV = [
    "main-captions\tMSRvid\t2012test\t0001\t5.000\tA man is playing a flute.\tA man plays a flute.",
    "main-news\theadlines\t2013\t0002\t4.200\tOil prices rise.\tOil prices climb.",
    "main-forums\tdeft-forum\t2014\t0003\t0.500\tcats are great .\tthe stock market fell .",
    "main-captions\tMSRvid\t2012test\t0004\t2.400\tA woman slices an onion.\tA woman is cutting garlic.",
    "main-captions\tMSRvid\t2012test\t0005\t1.000\tA dog runs.\tThe sea is blue.",
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ablation")
    (root / "data" / "STSB").mkdir(parents=True)
    (root / "data" / "STSB" / "sts-dev.csv").write_text("\n".join(STSB_DEV) + "\n")
    rng = random.Random(0)
    words = ["alpha", "beta", "gamma", "delta", "kappa", "sigma", "omega", "zeta", "theta", "lambda", "the", "cat"]
    sentences = {" ".join(rng.choice(words) for _ in range(rng.randint(3, 8))) + f" {i}." for i in range(400)}
    (root / "corpus.txt").write_text("\n".join(sorted(sentences)) + "\n")
    return {"root": root, "data": root / "data", "corpus": root / "corpus.txt", "bert": build_tiny_bert(root / "bert")}


def _run(
    setup: dict[str, Path], output: Path, studies: list[str], max_steps: int = 2, eval_steps: int = 1, **kwargs
) -> list[dict]:
    options = {"seeds": [1], "show_progress_bar": False} | kwargs
    baseline = replace(ABLATION_BASELINE, max_steps=max_steps, eval_steps=eval_steps)
    return run_ablation(
        setup["corpus"], output, str(setup["bert"]), studies, baseline=baseline, data_dir=setup["data"], **options
    )


def test_table3_records_curves_and_resumes(setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    output = setup["root"] / "table3"
    records = _run(setup, output, ["table3"])
    assert [r["config"]["dropout"] for r in records] == [0.0, 0.01, 0.05, 0.1, 0.15, 0.2, 0.5, 0.1]
    assert records[-1]["config"]["same_dropout_mask"] is True
    starts = {json.dumps(r["history"][0], sort_keys=True) for r in records}
    assert len(starts) == 1  # every row starts from the same untrained model (step 0 of the curves)
    for record in records:
        assert [p["step"] for p in record["history"]] == [0, 1, 2]
        assert [p["sentences"] for p in record["history"]] == [0, 64, 128]
        for point in record["history"]:
            assert -100 <= point["stsb_spearman"] <= 100
            assert 0 <= point["align_loss"] <= 4 and point["uniform_loss"] <= 0
        assert record["best_stsb"] == max(p["stsb_spearman"] for p in record["history"][1:])
        assert record["final_stsb"] == record["history"][-1]["stsb_spearman"]
        assert not (output / "runs" / f"{record['key']}-s1" / "model").exists()  # records only by default
    assert len({r["history"][-1]["align_loss"] for r in records}) > 1  # the rows really trained differently
    report = (output / "ablations.md").read_text()
    assert "Table 3: dropout rate p" in report and "| Fixed 0.1 (same mask) |" in report
    assert "| 43.6 |" in report and "Row order vs the paper" in report
    pytest.importorskip("matplotlib")
    for name in ("table3_stsb_dev.png", "table3_align_uniform.png", "figure2_align_uniform.png"):
        assert (output / name).read_bytes()[:4] == b"\x89PNG"

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(runner, "train_simcse", no_training)
    assert _run(setup, output, ["table3"]) == records


def test_batch_study_trains_on_the_same_number_of_sentences(setup: dict[str, Path]) -> None:
    records = _run(setup, setup["root"] / "batch", ["batch"], max_steps=4, eval_steps=2)
    assert [(r["config"]["batch_size"], r["steps"]) for r in records] == [(32, 8), (64, 4), (128, 2), (256, 1)]
    assert [r["config"]["learning_rate"] for r in records] == [2.1e-5, 3e-5, 4.2e-5, 6e-5]
    assert {r["history"][-1]["sentences"] for r in records} == {256}


def test_table1_trains_augmented_pairs_and_skips_what_cannot_run_here(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_wordnet(directory: object) -> Path:
        raise RuntimeError("synonym_replacement needs a WordNet 3.0 database folder; none was found")

    monkeypatch.setattr(augmentation, "_find_wordnet", no_wordnet)  # the same on machines with and without WordNet
    records = _run(setup, setup["root"] / "table1", ["table1"], max_steps=1)
    by_label = dict(zip([run.label for run in STUDIES["table1"].runs], records, strict=True))
    assert "masked language model" in by_label["MLM 15%"]["skipped"]
    assert "WordNet" in by_label["Synonym replacement"]["skipped"]
    trained = [r for r in records if "skipped" not in r]
    assert len(trained) == 9 and all(math.isfinite(r["best_stsb"]) for r in trained)
    assert by_label["Crop 10%"]["history"][-1] != by_label["Crop 30%"]["history"][-1]
    report = (setup["root"] / "table1" / "ablations.md").read_text()
    assert "| Synonym replacement | skipped: " in report


def test_random_init_keeps_the_architecture_and_changes_every_encoder_weight(setup: dict[str, Path]) -> None:
    config = SimCSEConfig(pooling="avg")
    pretrained = build_model(str(setup["bert"]), config)
    before = {k: v.clone() for k, v in pretrained[0].auto_model.state_dict().items()}
    first = reinitialize_encoder(build_model(str(setup["bert"]), config), seed=3)[0].auto_model.state_dict()
    second = build_model(str(setup["bert"]), replace(config, init="random", seed=3))[0].auto_model.state_dict()
    assert first.keys() == before.keys()
    changed = [k for k in before if before[k].dtype.is_floating_point and not torch.equal(before[k], first[k])]
    assert "embeddings.word_embeddings.weight" in changed and "encoder.layer.0.attention.self.query.weight" in changed
    for key in first:
        torch.testing.assert_close(first[key], second[key])  # seeded


def test_bad_arguments_are_errors(setup: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="unknown studies"):
        _run(setup, setup["root"] / "bad", ["table9"])
    with pytest.raises(ValueError, match="seed"):
        _run(setup, setup["root"] / "bad", ["table3"], seeds=[])
    with pytest.raises(ValueError, match="max_steps"):
        _run(setup, setup["root"] / "bad", ["table3"], max_steps=None)
    with pytest.raises(FileNotFoundError):
        run_ablation(setup["root"] / "missing.txt", setup["root"] / "bad", str(setup["bert"]), ["table3"])


def test_runs_share_the_untrained_evaluation_only_when_they_build_the_same_model() -> None:
    from dataclasses import replace

    from simcse_st.ablation.runner import initial_key
    from simcse_st.modules import PROMPTBERT_POSITIVE_TEMPLATE, PROMPTBERT_TEMPLATE
    from simcse_st.training.presets import ABLATION_BASELINE

    base = ABLATION_BASELINE
    assert initial_key(base) == initial_key(replace(base, queue_size=160, dropout=0.0))
    prompt = replace(base, prompt_template=PROMPTBERT_TEMPLATE)
    assert initial_key(prompt) != initial_key(base)
    assert initial_key(prompt) == initial_key(replace(prompt, positive_template=PROMPTBERT_POSITIVE_TEMPLATE))
    assert initial_key(prompt) != initial_key(replace(prompt, prompt_denoising=False))


def test_rows_trains_only_the_named_rows_and_reports_every_finished_run(setup: dict[str, Path]) -> None:
    output = setup["root"] / "rows"
    first = _run(setup, output, ["table3"], max_steps=1, rows=["p = 0.05"])
    assert [r["config"]["dropout"] for r in first] == [0.05]
    second = _run(setup, output, ["table3"], max_steps=1, rows=["p = 0.2", "p = 0.05"], seeds=[1, 2])
    assert [(r["config"]["dropout"], r["seed"]) for r in second] == [(0.05, 1), (0.05, 2), (0.2, 1), (0.2, 2)]
    assert second[0] == first[0]  # the finished run is read back, not trained again
    assert len(list((output / "runs").glob("*/record.json"))) == 4
    report = (output / "ablations.md").read_text()
    assert "| p = 0.5 | not run |" in report and "| p = 0.05 | not run |" not in report
    assert "| p = 0.2 | not run |" not in report
    with pytest.raises(ValueError, match=r"unknown rows \['p = 0.3'\].*'p = 0.2'"):
        _run(setup, output, ["table3"], rows=["p = 0.3"])
    with pytest.raises(ValueError, match="unknown rows"):
        _run(setup, output, ["table3"], rows=[])
