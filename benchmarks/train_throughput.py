"""Training throughput, side by side in one process: the sentence-transformers SimCSE recipe vs simcse-st.

Configurations (every one trains a fresh copy of the same initial model with AdamW, lr 3e-5):

- ``recipe``: ``MultipleNegativesRankingLoss`` on (s, s) pairs, as the sentence-transformers docs train unsupervised
  SimCSE: the collator tokenizes both columns, the loss embeds them in two forward passes of N rows. fp32, random
  batches: the recipe's defaults.
- ``simcse-st``: ``DropoutContrastiveLoss`` on one column: one tokenization, one forward pass of 2N rows.
- ``+length``: batches from ``LengthGroupedBatchSampler`` (group_size 16) instead of random batches.
- ``+fused``: ``torch.optim.AdamW(fused=True)``.
- ``cached``: ``DropoutContrastiveLoss(mini_batch_size=64)`` (GradCache), for the large batches.

Each config runs in fp32 and/or bf16 autocast. The configs alternate round by round, so machine noise hits all
alike. A step is timed from raw strings to the optimizer update (tokenize, forward, loss, backward, step). Peak
memory is the peak RSS (VmHWM) above the RSS at the start of each measured block: what one step adds on top of the
models and optimizer states. FLOPs per step are counted once per config with ``torch.utils.flop_counter``, and the
machine's matmul peak is measured in the same run (a 4096² ``torch.matmul``).

    python benchmarks/train_throughput.py --data ../shared/data                                  # batch 64
    python benchmarks/train_throughput.py --data ../shared/data --batch-sizes 64,128,512 --markdown perf.md
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
from torch.utils.flop_counter import FlopCounterMode

from simcse_st import DropoutContrastiveLoss, read_sentences, resolve_data_dir
from simcse_st.data import LengthGroupedBatchSampler
from simcse_st.quickstart import WIKI_CORPUS, offline_minilm_path
from simcse_st.training import build_model


@dataclass(frozen=True)
class Config:
    name: str
    precision: str  # "fp32" | "bf16"
    loss: str = "simcse-st"  # "recipe" | "simcse-st"
    length_grouped: bool = False
    fused: bool = False
    mini_batch_size: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.precision}"


def configs_for(batch_size: int, precisions: list[str]) -> list[Config]:
    configs = [Config("recipe", "fp32", loss="recipe")]
    for precision in precisions:
        if precision != "fp32":
            configs.append(Config("recipe", precision, loss="recipe"))
        configs.append(Config("simcse-st", precision))
        configs.append(Config("simcse-st +length", precision, length_grouped=True))
        configs.append(Config("simcse-st +length +fused", precision, length_grouped=True, fused=True))
        if batch_size > 64:
            configs.append(Config("simcse-st cached(64)", precision, mini_batch_size=64))
    return configs


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


def matmul_peak_gflops(dtype: torch.dtype, n: int = 4096, reps: int = 5) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.matmul(a, b)
    start = time.perf_counter()
    for _ in range(reps):
        torch.matmul(a, b)
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def make_step(config: Config, model: SentenceTransformer) -> Callable[[list[str]], float]:
    if config.loss == "recipe":
        loss_fn: torch.nn.Module = MultipleNegativesRankingLoss(model, scale=20.0)
    else:
        loss_fn = DropoutContrastiveLoss(model, mini_batch_size=config.mini_batch_size)
    columns = 2 if config.loss == "recipe" else 1
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, fused=config.fused or None)
    autocast = config.precision == "bf16"

    def step(sentences: list[str]) -> float:
        features = [model.preprocess(sentences) for _ in range(columns)]  # the collator tokenizes every column
        with torch.autocast("cpu", dtype=torch.bfloat16) if autocast else nullcontext():
            loss = loss_fn(features, None)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    return step


def batches_for(sentences: list[str], batch_size: int, count: int, length_grouped: bool) -> list[list[str]]:
    if not length_grouped:
        return [sentences[i * batch_size : (i + 1) * batch_size] for i in range(count)]
    sampler = LengthGroupedBatchSampler(Dataset.from_dict({"text": sentences}), batch_size, drop_last=True)
    return [[sentences[i] for i in batch] for batch in sampler][:count]


def run_batch_size(base: SentenceTransformer, sentences: list[str], batch_size: int, args) -> list[dict]:
    configs = configs_for(batch_size, args.precisions.split(","))
    count = args.rounds * args.steps + 1
    steps, batches = {}, {}
    for config in configs:
        steps[config] = make_step(config, copy.deepcopy(base).train())
        batches[config] = batches_for(sentences, batch_size, count, config.length_grouped)
        steps[config](batches[config][0])  # warm-up: allocations, oneDNN kernels
    flops = {}
    for config in configs:
        counter = FlopCounterMode(display=False)
        with counter:
            steps[config](batches[config][1])
        flops[config] = counter.get_total_flops()
    times: dict[Config, list[float]] = {config: [] for config in configs}
    peaks: dict[Config, float] = dict.fromkeys(configs, 0.0)
    for round_index in range(args.rounds):
        for config in configs:
            baseline = reset_peak_rss()
            for i in range(args.steps):
                batch = batches[config][1 + round_index * args.steps + i]
                start = time.perf_counter()
                steps[config](batch)
                times[config].append(time.perf_counter() - start)
            peaks[config] = max(peaks[config], _status_mib("VmHWM") - baseline)
            print(f"  batch {batch_size} round {round_index}: {config.label} {statistics.median(times[config]):.3f} s")
    recipe = statistics.median(times[configs[0]])
    return [
        {
            "batch": batch_size,
            "config": config.name,
            "precision": config.precision,
            "s_step": statistics.median(times[config]),
            "sent_s": batch_size / statistics.median(times[config]),
            "peak_mib": peaks[config],
            "speedup": recipe / statistics.median(times[config]),
            "gflops": flops[config] / statistics.median(times[config]) / 1e9,
        }
        for config in configs
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="data directory (default: $SIMCSE_ST_DATA)")
    parser.add_argument("--model", default=None, help="model path (default: the offline all-MiniLM-L6-v2)")
    parser.add_argument("--batch-sizes", default="64")
    parser.add_argument("--max-seq-length", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per config per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    args = parser.parse_args()

    data = resolve_data_dir(args.data)
    if data is None:
        raise SystemExit("pass --data DIR or set SIMCSE_ST_DATA")
    sentences = read_sentences(data / WIKI_CORPUS)
    torch.manual_seed(0)
    base = build_model(args.model or offline_minilm_path(), pooling="cls", max_seq_length=args.max_seq_length)
    peak = {"fp32": matmul_peak_gflops(torch.float32), "bf16": matmul_peak_gflops(torch.bfloat16)}
    head = (
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, max_seq_length {args.max_seq_length}, "
        f"{args.rounds} rounds × {args.steps} steps per config (median step). Matmul peak (4096²): "
        f"fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s."
    )
    print(head)
    rows = [
        row
        for batch_size in map(int, args.batch_sizes.split(","))
        for row in run_batch_size(base, sentences, batch_size, args)
    ]
    lines = [
        head,
        "",
        "| batch | config | precision | s/step | sentences/s | peak +RSS MiB | vs recipe fp32 | GFLOP/s "
        "| % of matmul peak |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        share = 100 * r["gflops"] / peak[r["precision"]]
        lines.append(
            f"| {r['batch']} | {r['config']} | {r['precision']} | {r['s_step']:.3f} | {r['sent_s']:.1f} | "
            f"{r['peak_mib']:.0f} | {r['speedup']:.2f}× | {r['gflops']:.0f} | {share:.0f}% |"
        )
    table = "\n".join(lines)
    print("\n" + table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
