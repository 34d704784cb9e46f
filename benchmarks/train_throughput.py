"""Training throughput, side by side in one process: the sentence-transformers SimCSE recipe vs DropoutContrastiveLoss.

(a) recipe: ``MultipleNegativesRankingLoss`` on (s, s) pairs, as the sentence-transformers docs train unsupervised
    SimCSE: the collator tokenizes both columns, the loss embeds them (two forward passes of N rows).
(b) simcse-st: ``DropoutContrastiveLoss`` on one column: one tokenization, one forward pass of 2N rows.

Both train the same model (fresh copies of one initialisation) on the same batches with AdamW, in fp32 and in bf16
autocast; the two losses alternate round by round so machine noise hits both alike. Each step is timed from raw
strings to the optimizer update (tokenize, forward, loss, backward, step). Peak memory is the process's peak RSS
(VmHWM) above the RSS at the start of each measured block: the memory one step adds on top of the
models and optimizer states.

    python benchmarks/train_throughput.py --data ../shared/data            # all-MiniLM-L6-v2, batch 64, length 32
    python benchmarks/train_throughput.py --data ../shared/data --steps 4 --rounds 1   # a quick look
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext, suppress
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from simcse_st import DropoutContrastiveLoss, read_sentences, resolve_data_dir
from simcse_st.quickstart import WIKI_CORPUS, offline_minilm_path
from simcse_st.training import build_model


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> float:
    """Reset the peak RSS (VmHWM) to the current RSS (Linux) and return the current RSS in MiB."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mib("VmRSS")


def make_step(name: str, model: SentenceTransformer, bf16: bool) -> Callable[[list[str]], float]:
    loss_fn = MultipleNegativesRankingLoss(model, scale=20.0) if name == "recipe" else DropoutContrastiveLoss(model)
    columns = 2 if name == "recipe" else 1
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)

    def step(sentences: list[str]) -> float:
        features = [model.preprocess(sentences) for _ in range(columns)]  # the collator tokenizes every column
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
            loss = loss_fn(features, None)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="data directory (default: $SIMCSE_ST_DATA)")
    parser.add_argument("--model", default=None, help="model path (default: the offline all-MiniLM-L6-v2)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-seq-length", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per loss per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precisions", default="fp32,bf16")
    args = parser.parse_args()

    data = resolve_data_dir(args.data)
    if data is None:
        raise SystemExit("pass --data DIR or set SIMCSE_ST_DATA")
    needed = args.batch_size * (args.steps * args.rounds + 1)
    sentences = read_sentences(data / WIKI_CORPUS, limit=needed)
    batches = [sentences[i : i + args.batch_size] for i in range(0, needed, args.batch_size)]
    torch.manual_seed(0)
    base = build_model(args.model or offline_minilm_path(), pooling="cls", max_seq_length=args.max_seq_length)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {args.batch_size}, ")
    print(f"max_seq_length {args.max_seq_length}, {args.rounds} rounds × {args.steps} steps per loss\n")

    rows = []
    for precision in args.precisions.split(","):
        bf16 = precision == "bf16"
        models = {name: copy.deepcopy(base).train() for name in ("recipe", "simcse-st")}
        steps = {name: make_step(name, model, bf16) for name, model in models.items()}
        for name in steps:
            steps[name](batches[0])  # warm-up (allocations, oneDNN kernels)
        times: dict[str, list[float]] = {name: [] for name in steps}
        peaks: dict[str, float] = {name: 0.0 for name in steps}
        for round_index in range(args.rounds):
            for name, step in steps.items():
                baseline = reset_peak_rss()
                for i in range(args.steps):
                    batch = batches[1 + round_index * args.steps + i]
                    start = time.perf_counter()
                    step(batch)
                    times[name].append(time.perf_counter() - start)
                peaks[name] = max(peaks[name], _status_mib("VmHWM") - baseline)
        recipe = statistics.median(times["recipe"])
        for name in steps:
            median = statistics.median(times[name])
            rows.append((precision, name, median, args.batch_size / median, peaks[name], recipe / median))
        del models, steps

    cells = ["precision", "loss     ", " s/step", "sentences/s", "peak +RSS MiB", "speed-up vs recipe"]
    header = "| " + " | ".join(cells) + " |"
    print(header)
    print("|" + "|".join("-" * (len(cell) + 0) for cell in header.split("|")[1:-1]) + "|")
    for precision, name, median, rate, peak, ratio in rows:
        print(f"| {precision:9} | {name:9} | {median:7.3f} | {rate:11.1f} | {peak:13.0f} | {ratio:17.2f}× |")
    fp32_recipe = (
        next(r[2] for r in rows if r[0] == "fp32" and r[1] == "recipe") if "fp32" in args.precisions else None
    )
    if fp32_recipe is not None:
        for precision, name, median, *_ in rows:
            if name == "simcse-st":
                print(f"simcse-st {precision} vs recipe fp32: {fp32_recipe / median:.2f}×")


if __name__ == "__main__":
    main()
