"""Issue 16's training defects, each test named after its number: divergence, resume, unsafe loads, the output
directory's lock and cleanup, the position limit."""

from __future__ import annotations

import os
import pickle
import re
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer

import simcse_st.losses.dropout_contrastive_loss as loss_module
from simcse_st.training import SimCSEConfig, TrainingDiverged, train_simcse
from simcse_st.training.checkpoint_check import newest_complete_checkpoint
from simcse_st.training.loss_state_callback import LOSS_STATE_FILE, LossStateCallback
from simcse_st.training.output_dir import OutputDirLock

TINY = SimCSEConfig(batch_size=4, max_steps=4, save_steps=1, bf16=False)


def _train(corpus: Path, out: Path, model: Path | SentenceTransformer, config: SimCSEConfig = TINY, **kwargs):
    model = str(model) if isinstance(model, Path) else model
    return train_simcse(corpus, out, config, model=model, show_progress_bar=False, **kwargs)


def test_defect_02_a_nan_loss_stops_the_run_naming_the_step_and_keeps_the_good_checkpoints(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = loss_module.DropoutContrastiveLoss.compute_loss_from_embeddings
    calls = {"n": 0}

    def nan_at_step_3(self, embeddings, labels=None):
        calls["n"] += 1
        value = original(self, embeddings, labels)
        return value * float("nan") if calls["n"] == 3 else value

    monkeypatch.setattr(loss_module.DropoutContrastiveLoss, "compute_loss_from_embeddings", nan_at_step_3)
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match="at step 3: the loss or its gradients are not finite") as info:
        _train(corpus_file, out, tiny_bert_dir)
    assert info.value.step == 3
    assert not (out / "model.safetensors").exists() and not (out / "results.json").exists()  # no final model
    kept = sorted(path.name for path in (out / "checkpoints").iterdir())
    assert kept == ["checkpoint-1", "checkpoint-2"]
    weights = SentenceTransformer(str(out / "checkpoints" / "checkpoint-2"), device="cpu")[0].auto_model
    assert all(torch.isfinite(p).all() for p in weights.parameters())


def test_defect_02_weights_blown_up_by_the_learning_rate_are_caught_before_their_checkpoint(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match="not finite"):
        _train(corpus_file, out, tiny_bert_dir, replace(TINY, learning_rate=3e38))
    for checkpoint in (out / "checkpoints").glob("checkpoint-*"):
        weights = SentenceTransformer(str(checkpoint), device="cpu")[0].auto_model
        assert all(torch.isfinite(p).all() for p in weights.parameters()), checkpoint.name
    assert not (out / "results.json").exists()


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage", ["config-only", "weights", "optimizer", "loss-state"])
def test_defect_03_resume_skips_an_incomplete_newest_checkpoint_and_says_why(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run"
    _train(corpus_file, out, tiny_bert_dir, replace(TINY, max_steps=3))
    newest = out / "checkpoints" / "checkpoint-3"
    if damage == "config-only":  # killed during the save: the folder holds only config files so far
        for name in ("trainer_state.json", "model.safetensors", "optimizer.pt", "scheduler.pt"):
            (newest / name).unlink()
    else:
        _truncate(newest / {"weights": "model.safetensors", "optimizer": "optimizer.pt"}.get(damage, LOSS_STATE_FILE))
    with caplog.at_level("INFO", logger="simcse_st"):
        results = _train(corpus_file, out, tiny_bert_dir, replace(TINY, max_steps=5), resume=True)
    assert results["global_step"] == 5
    assert "resume: skipping checkpoint-3" in caplog.text and "checkpoint-2" in caplog.text
    if damage != "config-only":
        assert {"weights": "model.safetensors", "optimizer": "optimizer.pt"}.get(
            damage, LOSS_STATE_FILE
        ) in caplog.text


def test_defect_03_no_complete_checkpoint_names_every_problem_and_starts_over(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run"
    _train(corpus_file, out, tiny_bert_dir, replace(TINY, max_steps=2))
    for checkpoint in (out / "checkpoints").iterdir():
        _truncate(checkpoint / "model.safetensors")
    with caplog.at_level("WARNING", logger="simcse_st"):
        assert newest_complete_checkpoint(out / "checkpoints", (LOSS_STATE_FILE,)) is None
    assert re.search(r"checkpoint-2: .*model\.safetensors is truncated.*checkpoint-1", caplog.text)
    assert "starting from scratch" in caplog.text


class _Planted:
    def __reduce__(self):
        return (os.system, ("touch planted-code-ran",))


def test_defect_04_a_planted_pickle_in_the_loss_state_is_refused(
    tiny_model: SentenceTransformer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simcse_st import DropoutContrastiveLoss

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # what made the old torch.load run the code
    (tmp_path / LOSS_STATE_FILE).write_bytes(pickle.dumps({"mlp.0.weight": _Planted()}))
    loss = DropoutContrastiveLoss(tiny_model, mlp_only_train=True)
    with pytest.raises(pickle.UnpicklingError):
        LossStateCallback.restore(loss, tmp_path)
    assert not (tmp_path / "planted-code-ran").exists()


def test_defect_07_a_second_run_into_a_held_output_directory_is_refused(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    with OutputDirLock(out), pytest.raises(FileExistsError, match=f"in use by another run \\(process {os.getpid()}"):
        _train(corpus_file, out, tiny_bert_dir, overwrite=True)
    assert not (out / "results.json").exists()
    _train(corpus_file, out, tiny_bert_dir, replace(TINY, max_steps=1), overwrite=True)  # released: it runs
    assert not (out / ".simcse-st.lock").exists()


def test_defect_09_max_seq_length_beyond_the_positions_is_refused_before_any_work(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="max_seq_length=700 is invalid: the model has 128 positions"):
        _train(corpus_file, out, tiny_bert_dir, replace(TINY, max_seq_length=700))
    assert not (out / "checkpoints").exists()
    _train(corpus_file, out, tiny_bert_dir, replace(TINY, max_steps=1))  # nothing blocks the rerun


def test_defect_12_overwrite_removes_only_the_checkpoints_simcse_st_wrote(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    _train(corpus_file, out, tiny_bert_dir, replace(TINY, max_steps=2))
    notes = out / "checkpoints" / "my-notes.txt"
    notes.write_text("keep me")
    (out / "checkpoints" / "checkpoint-best-manual").mkdir()
    _train(corpus_file, out, tiny_bert_dir, replace(TINY, max_steps=1), overwrite=True)
    assert notes.read_text() == "keep me" and (out / "checkpoints" / "checkpoint-best-manual").is_dir()
    assert sorted(p.name for p in (out / "checkpoints").glob("checkpoint-[0-9]*")) == ["checkpoint-1"]


def test_defect_14_resume_from_a_checkpoint_at_max_steps_trains_no_more_and_reports_the_whole_run(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    config = replace(TINY, max_steps=3, logging_steps=1)
    first = _train(corpus_file, out, tiny_bert_dir, config)
    expected = SentenceTransformer(str(out), device="cpu").encode(["a dog runs."], convert_to_tensor=True)
    (out / "results.json").unlink()  # as if killed after the last checkpoint, before the final save
    (out / "model.safetensors").unlink()
    again = _train(corpus_file, out, tiny_bert_dir, config, resume=True)
    assert again["global_step"] == 3 and again["train_loss_steps"] == [1, 3]
    assert again["train_loss"] == pytest.approx(first["train_loss"], rel=1e-9)
    resumed = SentenceTransformer(str(out), device="cpu").encode(["a dog runs."], convert_to_tensor=True)
    assert (resumed - expected).abs().max().item() == 0.0


def test_defect_14_train_loss_after_a_resume_covers_the_whole_run(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    import shutil

    config = replace(TINY, max_steps=4, logging_steps=1)
    whole = _train(corpus_file, tmp_path / "whole", tiny_bert_dir, config)
    _train(corpus_file, tmp_path / "split", tiny_bert_dir, config)
    shutil.rmtree(tmp_path / "split" / "checkpoints" / "checkpoint-4")  # as if killed during step 4
    (tmp_path / "split" / "results.json").unlink()
    resumed = _train(corpus_file, tmp_path / "split", tiny_bert_dir, config, resume=True)
    assert resumed["global_step"] == 4 and resumed["train_loss_steps"] == [1, 4]
    assert resumed["train_loss"] == pytest.approx(whole["train_loss"], rel=1e-6)
