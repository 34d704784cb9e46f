"""Fault injection (marker ``faults``, run by ``.ci/run``): ``simcse-st train`` killed with SIGKILL at many points,
inside checkpoint writes too, or interrupted with SIGINT, then resumed until done; the final model must equal an
uninterrupted run of the same seed and ``results.json`` must describe the whole run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import SENTENCES, build_tiny_bert
from sentence_transformers import SentenceTransformer

pytestmark = pytest.mark.faults

STEPS = 10
CLI = str(Path(sys.executable).with_name("simcse-st"))
SETTINGS = ["--pooling", "cls", "--batch-size", "4", "--max-steps", str(STEPS), "--save-steps", "1",
            "--logging-steps", "1", "--no-bf16", "--mlm-weight", "0.1", "--quiet"]  # fmt: skip
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("faults")
    corpus = root / "corpus.txt"
    corpus.write_text(
        "\n".join(SENTENCES + [f"{s[:-1]} again." for s in SENTENCES] + [f"number {i}." for i in range(16)])
    )
    bert = build_tiny_bert(root / "bert")
    reference = root / "reference"
    done = _command(corpus, bert, reference)
    out = subprocess.run(done, env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return {"root": root, "corpus": corpus, "bert": bert, "reference": reference, "embeddings": _embed(reference)}


def _command(corpus: Path, bert: Path, output: Path, *extra: str) -> list[str]:
    return [CLI, "train", str(corpus), "--model", str(bert), "--output", str(output), *SETTINGS, *extra]


def _embed(model_dir: Path) -> torch.Tensor:
    return SentenceTransformer(str(model_dir), device="cpu").encode(SENTENCES, convert_to_tensor=True)


def _checkpoints(output: Path) -> set[str]:
    folder = output / "checkpoints"
    return {path.name for path in folder.iterdir()} if folder.is_dir() else set()


def _run_until(command: list[str], output: Path, kill_when_step: int | None, delay: float, sig: int) -> int:
    """Start ``command``; once checkpoint ``kill_when_step`` appears (``None``: at once), wait ``delay`` s and send
    ``sig``. Returns the exit code (negative: killed by a signal)."""
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    target = f"checkpoint-{kill_when_step}" if kill_when_step is not None else None
    while process.poll() is None and time.monotonic() < deadline:
        if target is None or target in _checkpoints(output):
            time.sleep(delay)
            process.send_signal(sig)
            break
        time.sleep(0.002)
    process.communicate(timeout=240)
    return process.returncode


def _finish(setup: dict, output: Path, attempts: list[int]) -> dict:
    """Resume (without faults) until the run completes, then compare it with the uninterrupted reference."""
    for _ in range(3):
        done = subprocess.run(_command(setup["corpus"], setup["bert"], output, "--resume"), env=ENV,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        if done.returncode == 0:
            break
    assert done.returncode == 0, (attempts, done.stderr[-3000:])
    results = json.loads((output / "results.json").read_text())
    reference = json.loads((setup["reference"] / "results.json").read_text())
    difference = (_embed(output) - setup["embeddings"]).abs().max().item()
    assert difference <= 1e-6, (attempts, difference)
    assert results["global_step"] == STEPS and results["train_loss_steps"] == [1, STEPS]
    assert results["train_loss"] == pytest.approx(reference["train_loss"], rel=1e-6), attempts
    return {"attempts": attempts, "max_abs_difference": difference}


# (kill when this checkpoint appears, then after this many seconds): inside the next checkpoint's write (0 s after
# a folder appears, while the Trainer is still filling it), between steps, and during the first steps.
POINTS = [(1, 0.0), (3, 0.0), (5, 0.0), (7, 0.0), (2, 0.01), (4, 0.03), (6, 0.05), (8, 0.02), (9, 0.0)]


@pytest.mark.parametrize(("step", "delay"), POINTS, ids=[f"ckpt{s}+{d}s" for s, d in POINTS])
def test_sigkill_at_a_point_then_resume_equals_the_uninterrupted_run(setup: dict, step: int, delay: float) -> None:
    output = setup["root"] / f"kill-{step}-{delay}"
    code = _run_until(_command(setup["corpus"], setup["bert"], output), output, step, delay, signal.SIGKILL)
    if code == 0:
        pytest.skip("the run finished before the kill landed")
    assert code == -signal.SIGKILL
    assert not (output / "results.json").exists()  # a killed run reports nothing as done
    _finish(setup, output, [code])


def test_repeated_random_kills_then_resume_equals_the_uninterrupted_run(setup: dict) -> None:
    rng = random.Random(16)
    output = setup["root"] / "random-kills"
    codes = []
    for _ in range(4):
        extra = ["--resume"] if codes else []
        command = _command(setup["corpus"], setup["bert"], output, *extra)
        have = {int(n.rsplit("-", 1)[1]) for n in _checkpoints(output) if n.rsplit("-", 1)[1].isdigit()}
        step = min(max(have, default=0) + rng.randint(1, 2), STEPS - 1)
        codes.append(_run_until(command, output, step, rng.uniform(0.0, 0.05), signal.SIGKILL))
        if codes[-1] == 0:
            break
    _finish(setup, output, codes)


def test_sigint_then_resume_equals_the_uninterrupted_run(setup: dict) -> None:
    output = setup["root"] / "sigint"
    process_code = _run_until(_command(setup["corpus"], setup["bert"], output), output, 4, 0.0, signal.SIGINT)
    assert process_code in (130, 0), process_code
    _finish(setup, output, [process_code])


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0  # fmt: skip


def _free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


@pytest.mark.parametrize("where", ["final save", "checkpoint"])
def test_a_full_disk_leaves_the_previous_model_intact_and_says_so(setup: dict, tmp_path: Path, where: str) -> None:
    disk = tmp_path / "disk"
    if os.geteuid() != 0 or not _mount_tmpfs(disk, "8m"):
        pytest.skip("needs root and tmpfs to make a small disk")
    try:
        output = disk / "run"
        first = subprocess.run(_command(setup["corpus"], setup["bert"], output, "--save-steps", "1000"), env=ENV,
                               capture_output=True, text=True, timeout=300)  # fmt: skip
        assert first.returncode == 0, first.stderr[-2000:]
        before = {path.name: path.read_bytes() for path in output.iterdir() if path.is_file()}
        model_size = (output / "model.safetensors").stat().st_size
        # fill the disk: the second run's final save (no checkpoints) or its first checkpoint no longer fits
        (disk / "filler").write_bytes(b"\0" * (_free_bytes(disk) - model_size // 3))
        save_steps = "1000" if where == "final save" else "1"
        second = subprocess.run(_command(setup["corpus"], setup["bert"], output, "--save-steps", save_steps,
                                         "--seed", "7", "--overwrite"), env=ENV, capture_output=True, text=True,
                                timeout=300)  # fmt: skip
        assert second.returncode == 1, second.stderr[-2000:]
        errors = [line for line in second.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "disk is full" in errors[0] and "Traceback" not in second.stderr, second.stderr
        after = {path.name: path.read_bytes() for path in output.iterdir() if path.is_file()}
        assert after == before  # the previous model and results.json, byte for byte
        assert not list(output.glob(".final-*"))
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
