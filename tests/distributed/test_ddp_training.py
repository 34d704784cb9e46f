"""A real 2-process CPU training run (torchrun, gloo): sharding, gathering, saving on rank 0 only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from conftest import SENTENCES
from sentence_transformers import SentenceTransformer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun_command() -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port())]


def test_torchrun_two_processes_shard_train_and_save_once(
    tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path
) -> None:
    worker = Path(__file__).with_name("ddp_worker.py")
    command = _torchrun_command()
    # On CPU, model.fit only runs distributed when accelerate is told to use the CPU (the Trainer path sets use_cpu).
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "ACCELERATE_USE_CPU": "true"}
    done = subprocess.run(
        [*command, str(worker), str(tiny_bert_dir), str(corpus_file), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    corpus = {s.replace(" ", "") for s in SENTENCES}

    for path in ("trainer", "fit"):
        seen: list[str] = []
        for record in ranks:
            assert record[path], f"{path}: a rank trained on nothing"
            for batch in record[path]:
                assert len(batch) == 4 and len(set(batch)) == 4
                seen.extend(batch)
        # 16 sentences, batch 4, 2 ranks: each rank trains 2 batches; together they cover the corpus exactly once
        assert len(seen) == len(set(seen)) == 16, path
        assert set(seen) == corpus, path

    assert [record["train_simcse_steps"] for record in ranks] == [[["2"]], [["2"]]]
    # ESimCSE's queue under gathering: every step enqueues both processes' 4 momentum embeddings, the same on each
    assert [record["methods_gather"] for record in ranks] == [[["True"]], [["True"]]]
    queues = [record["methods_queue"] for record in ranks]
    assert len(queues[0]) == 16 and queues[0] == queues[1]
    saved = tmp_path / "model"
    assert sorted(p.name for p in saved.rglob("modules.json") if "checkpoints" not in p.parts) == ["modules.json"]
    assert json.loads((saved / "results.json").read_text())["world_size"] == 2
    reloaded = SentenceTransformer(str(saved), device="cpu")
    assert reloaded.encode(["a dog runs."]).shape == (1, 32)


def test_torchrun_runs_the_cli(tiny_bert_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("simcse-st")
    command = _torchrun_command()
    out = tmp_path / "cli-model"
    args = ["train", str(corpus_file), "--model", str(tiny_bert_dir), "--batch-size", "4", "--max-steps", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [*command, str(cli), *args, "--output", str(out), "--no-bf16", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.count("Saved the model") == 1  # only the main process reports
    results = json.loads((out / "results.json").read_text())
    assert results["world_size"] == 2 and results["loss"]["gather_across_devices"] is True
    assert SentenceTransformer(str(out), device="cpu").encode(["a dog runs."]).shape == (1, 32)
