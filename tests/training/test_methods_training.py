"""The follow-up methods through ``train_simcse``: each trains and saves, a resumed run continues with the same queue
and RNG draws, and the refused combinations are refused by the config."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer

from simcse_st.modules import PROMPTBERT_POSITIVE_TEMPLATE, PROMPTBERT_TEMPLATE
from simcse_st.training import SimCSEConfig, train_simcse
from simcse_st.training.loss_state_callback import LOSS_STATE_FILE

TINY = SimCSEConfig(batch_size=4, max_steps=3, bf16=False, pooling="mean")
ALL_BUT_PROMPT = {"repetition_rate": 0.32, "queue_size": 6, "off_dropout_negatives": True, "dcl_weight": 0.1}


@pytest.mark.parametrize(
    "changes",
    [
        {"repetition_rate": 0.32, "queue_size": 6},
        {"off_dropout_negatives": True, "dcl_weight": 0.1},
        {"intermediate_layers": 1},
        {"pooling": "cls", "prompt_template": PROMPTBERT_TEMPLATE, "positive_template": PROMPTBERT_POSITIVE_TEMPLATE},
        {**ALL_BUT_PROMPT, "intermediate_layers": 1},
    ],
    ids=["esimcse", "simcse++", "sscl", "promptbert", "combined"],
)
def test_each_method_trains_saves_and_records_its_settings(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path, changes: dict
) -> None:
    config = replace(TINY, **changes)
    results = train_simcse(corpus_file, tmp_path / "run", config, model=str(tiny_bert_dir), show_progress_bar=False)
    assert results["global_step"] == 3 and results["train_loss"] == results["train_loss"]  # finite, not NaN
    for name in config.active_methods:
        if name != "prompt_template":
            assert name in results["loss"]
    assert SimCSEConfig.from_json(tmp_path / "run" / "results.json") == config
    trusted = "prompt_template" in changes
    model = SentenceTransformer(str(tmp_path / "run"), device="cpu", trust_remote_code=trusted)
    assert model.encode(["a dog runs."]).shape == (1, 32)


def test_a_resumed_run_continues_with_the_same_queue_and_draws(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    config = replace(TINY, max_steps=4, save_steps=1, **ALL_BUT_PROMPT)
    train_simcse(corpus_file, tmp_path / "whole", config, model=str(tiny_bert_dir), show_progress_bar=False)
    train_simcse(corpus_file, tmp_path / "split", config, model=str(tiny_bert_dir), show_progress_bar=False)
    shutil.rmtree(tmp_path / "split" / "checkpoints" / "checkpoint-4")  # as if killed during step 4
    (tmp_path / "split" / "results.json").unlink()
    train_simcse(
        corpus_file, tmp_path / "split", config, model=str(tiny_bert_dir), resume=True, show_progress_bar=False
    )
    whole = torch.load(tmp_path / "whole" / "checkpoints" / "checkpoint-4" / LOSS_STATE_FILE)
    split = torch.load(tmp_path / "split" / "checkpoints" / "checkpoint-4" / LOSS_STATE_FILE)
    assert int(whole["momentum_queue.filled"]) == 6
    assert set(whole) == set(split)
    for key in whole:
        assert torch.equal(whole[key], split[key]), key
    weights = [load_file(str(tmp_path / name / "model.safetensors")) for name in ("whole", "split")]
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"queue_size": 8, "supervised": True}, "unsupervised"),
        ({"repetition_rate": 0.3, "augmentation": "delete_one_word"}, "augmentation"),
        ({"off_dropout_negatives": True, "mini_batch_size": 2}, "GradCache"),
        ({"dcl_weight": 0.1, "same_dropout_mask": True}, "same_dropout_mask"),
        ({"intermediate_layers": 1, "pooling": "avg_first_last"}, "mixes layers"),
        ({"prompt_template": "no slots"}, r"one \[X\]"),
        ({"prompt_template": PROMPTBERT_TEMPLATE, "pooling": "mean"}, r"\[MASK\] state"),
        ({"prompt_template": PROMPTBERT_TEMPLATE, "repetition_rate": 0.3}, "template tokens"),
        ({"prompt_template": PROMPTBERT_TEMPLATE, "intermediate_layers": 1}, "SSCL"),
        ({"positive_template": PROMPTBERT_POSITIVE_TEMPLATE}, "needs a prompt_template"),
        ({"repetition_rate": 1.0}, "repetition_rate=1.0"),
        ({"momentum": 1.0}, "momentum=1.0"),
    ],
)
def test_refused_combinations_name_the_field(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimCSEConfig(**changes)


def test_model_fit_trains_with_the_methods(tiny_model: SentenceTransformer, corpus_file: Path) -> None:
    from simcse_st import DropoutContrastiveLoss, UnlabeledSentenceLoader

    loss = DropoutContrastiveLoss(tiny_model, repetition_rate=0.32, queue_size=8, off_dropout_negatives=True)
    before = {name: p.clone() for name, p in tiny_model.named_parameters()}
    loader = UnlabeledSentenceLoader(str(corpus_file), batch_size=4)
    tiny_model.fit(train_objectives=[(loader, loss)], epochs=1, warmup_steps=0, show_progress_bar=False)
    assert int(loss.momentum_queue.filled) == 8
    assert any(not torch.equal(p, before[name]) for name, p in tiny_model.named_parameters())


def test_the_cli_offers_every_method_field(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from simcse_st.cli.app import app

    runner = CliRunner()
    help_text = runner.invoke(app, ["train", "--help"], terminal_width=200).output
    for flag in ("--repetition-rate", "--queue-size", "--momentum", "--off-dropout-negatives", "--dcl-weight",
                 "--dcl-temperature", "--intermediate-layers", "--prompt-template", "--positive-template",
                 "--prompt-denoising"):  # fmt: skip
        assert flag in help_text, flag
    out = tmp_path / "cli"
    args = ["train", str(corpus_file), "--model", str(tiny_bert_dir), "-b", "4", "--max-steps", "2", "--no-bf16"]
    done = runner.invoke(app, [*args, "--queue-size", "8", "--dcl-weight", "0.1", "--output", str(out), "--quiet"])
    assert done.exit_code == 0, done.output
    assert SimCSEConfig.from_json(out / "results.json").queue_size == 8
    refused = runner.invoke(app, [*args, "--queue-size", "8", "--mini-batch-size", "2", "-o", str(tmp_path / "x")])
    assert refused.exit_code != 0 and "--queue-size" in refused.output and "GradCache" in refused.output
