"""Training throughput, side by side in one process: the sentence-transformers SimCSE recipe vs simcse-st.

Configurations (every one trains a fresh copy of the same initial model with fused AdamW, lr 3e-5: the Trainer's
default optimizer, ``adamw_torch_fused``):

- ``recipe``: ``MultipleNegativesRankingLoss`` on (s, s) pairs, as the sentence-transformers docs train unsupervised
  SimCSE: the collator tokenizes both columns, the loss embeds them in two forward passes of N rows. Random batches;
  fp32 is the recipe's default (``bf16`` is off unless asked for).
- ``simcse-st``: ``DropoutContrastiveLoss`` on one column: one tokenization, one forward pass of 2N rows.
- ``+length``: ``LengthGroupedBatchSampler`` batches by token count (``token_length_fn``), what
  ``SimCSEConfig(batching="length")`` (the default) uses.
- ``+fast dropout``: ``enable_fast_dropout`` (16-bit dropout masks), what ``SimCSEConfig(fast_dropout=True)`` (the
  default) uses;
  ``simcse-st +length +fast dropout`` in bf16 is ``train_simcse``'s default.
- ``cached(64)``: ``DropoutContrastiveLoss(mini_batch_size=64)`` (GradCache), for the large batches.

Each config runs in fp32 and/or bf16 autocast. Every config trains on the same sentences (a pool of rounds × steps
batches): cut in corpus order (random with respect to length) or length-grouped by token count (the whole pool one
group, which pads more than the sampler's 16-batch groups: conservative). The configs alternate round by round, so
machine noise hits all alike; s/step is the mean over the pool. A step is timed from raw strings to the optimizer
update (tokenize, forward, loss, backward, step). FLOPs are counted with ``torch.utils.flop_counter`` on a warm-up
batch per config and scaled by the padded token positions of the pool; the machine's matmul peak is measured in the
same run: square ``torch.matmul`` of 1024², 2048² and 4096², best of several calls (with AMX the bf16 rate depends
on the shape; the % columns refer to 4096², the benchmarks' peak, and to 1024²). Peak memory is measured in a
separate process per config (``--memory``): the peak RSS during two steps above the RSS after a warm-up step (model,
gradients and optimizer states allocated), with ``MALLOC_MMAP_THRESHOLD_=65536`` so freed activations go back to
the OS and each step's peak is its own.

    python benchmarks/train_throughput.py --data ../shared/data                                  # batch 64
    python benchmarks/train_throughput.py --data ../shared/data --batch-sizes 64,128,512 --markdown perf.md
    python benchmarks/train_throughput.py --data ../shared/data --architecture bert-base   # the paper's encoder size

``--architecture bert-base`` times a randomly initialised BERT-base (12 layers, 768 wide, bert-base-uncased's
vocabulary from the all-MiniLM folder): no BERT-base weights can be had offline, and speed does not depend on them.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext, suppress
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoTokenizer, BertConfig, BertModel

from simcse_st import DropoutContrastiveLoss, read_sentences, resolve_data_dir
from simcse_st.data import LengthGroupedBatchSampler, token_length_fn
from simcse_st.data.data_dir import WIKI_CORPUS
from simcse_st.inference.model_loading import offline_minilm_path
from simcse_st.modules import build_simcse_model, enable_fast_dropout


@dataclass(frozen=True)
class Config:
    name: str
    precision: str  # "fp32" | "bf16"
    loss: str = "simcse-st"  # "recipe" | "simcse-st"
    length_grouped: bool = False
    mini_batch_size: int | None = None
    fast_dropout: bool = False

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
        configs.append(Config("simcse-st +length +fast dropout", precision, length_grouped=True, fast_dropout=True))
        if batch_size > 64:
            configs.append(
                Config(
                    "simcse-st +length +fast dropout cached(64)",
                    precision,
                    length_grouped=True,
                    mini_batch_size=64,
                    fast_dropout=True,
                )
            )
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


def emit_table(lines: list[str], markdown: str | None) -> None:
    """Print the table and, with ``--markdown FILE``, write it there too (every benchmark script ends so)."""
    table = "\n".join(lines)
    print("\n" + table)
    if markdown:
        Path(markdown).write_text(table + "\n")


def best_seconds(call: Callable[[], object], reps: int) -> float:
    """The fastest of ``reps`` timed calls, after one warm-up call."""
    call()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_sweep(dtype: torch.dtype) -> dict[str, float]:
    """GFLOP/s of square matmuls of three sizes: with AMX the bf16 rate depends on the shape (here 2048² runs faster
    than 4096², 1024² slower), so the tables say which peak a percentage refers to."""
    rates = {}
    for n in (1024, 2048, 4096):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        rates[f"{n}²"] = 2 * n**3 / best_seconds(partial(torch.matmul, a, b), reps=20 if n < 4096 else 5) / 1e9
    return rates


def random_bert_base(directory: Path) -> str:
    """A randomly initialised BERT-base with bert-base-uncased's tokenizer (the all-MiniLM folder's), saved to
    ``directory``; the memory workers load it from there."""
    AutoTokenizer.from_pretrained(offline_minilm_path()).save_pretrained(directory)
    torch.manual_seed(0)
    BertModel(BertConfig()).save_pretrained(directory)  # BertConfig() is bert-base: 12 × 768, 12 heads, 3072 FFN
    return str(directory)


def make_step(config: Config, model: SentenceTransformer) -> Callable[[list[str]], float]:
    if config.fast_dropout:
        enable_fast_dropout(model)
    if config.loss == "recipe":
        loss_fn: torch.nn.Module = MultipleNegativesRankingLoss(model, scale=20.0)
    else:
        loss_fn = DropoutContrastiveLoss(model, mini_batch_size=config.mini_batch_size)
    columns = 2 if config.loss == "recipe" else 1
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, fused=True)  # the Trainer's adamw_torch_fused
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


def pool_batches(
    model: SentenceTransformer, pool: list[str], batch_size: int, length_grouped: bool
) -> list[list[str]]:
    """The pool's sentences as batches: consecutive (random: the corpus order is unrelated to length) or
    length-grouped by token count, the whole pool being one group. Both configs train on the same sentences."""
    count = len(pool) // batch_size
    if not length_grouped:
        return [pool[i * batch_size : (i + 1) * batch_size] for i in range(count)]
    lengths = token_length_fn(model.tokenizer, model.max_seq_length)
    dataset = Dataset.from_dict({"text": pool})
    sampler = LengthGroupedBatchSampler(dataset, batch_size, drop_last=True, group_size=count, length_fn=lengths)
    return [[pool[i] for i in batch] for batch in sampler]


def slots(model: SentenceTransformer, batch: list[str]) -> int:
    """Token positions (real + padding) of one tokenized column of ``batch``."""
    return model.preprocess(batch)["attention_mask"].numel()


def memory_worker(config: Config, base: SentenceTransformer, sentences: list[str], batch_size: int) -> float:
    """Peak RSS (MiB) of two steps above the RSS after a warm-up step; run in its own process."""
    batches = pool_batches(base, sentences[: 3 * batch_size], batch_size, config.length_grouped)
    step = make_step(config, base.train())
    step(batches[0])
    baseline = reset_peak_rss()
    for batch in batches[1:]:
        step(batch)
    return _status_mib("VmHWM") - baseline


def measure_memory(config: Config, batch_size: int, args) -> float:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    command = [
        sys.executable,
        __file__,
        "--memory-worker",
        json.dumps(asdict(config)),
        "--batch-sizes",
        str(batch_size),
        "--max-seq-length",
        str(args.max_seq_length),
    ]
    command += ["--data", str(args.data)] if args.data else []
    command += ["--model", args.model] if args.model else []
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return float(output.strip().splitlines()[-1])


def run_batch_size(base: SentenceTransformer, sentences: list[str], batch_size: int, args) -> list[dict]:
    configs = configs_for(batch_size, args.precisions.split(","))
    warm_up = sentences[:batch_size]
    pool = sentences[batch_size : batch_size * (1 + args.rounds * args.steps)]  # the timed sentences, for every config
    steps, batches, flops_per_slot = {}, {}, {}
    for config in configs:
        steps[config] = make_step(config, copy.deepcopy(base).train())
        batches[config] = pool_batches(base, pool, batch_size, config.length_grouped)
        steps[config](warm_up)  # allocations, oneDNN kernels
        counter = FlopCounterMode(display=False)
        with counter:
            steps[config](warm_up)
        flops_per_slot[config] = counter.get_total_flops() / slots(base, warm_up)  # ~linear in padded length
    times: dict[Config, list[float]] = {config: [] for config in configs}
    for round_index in range(args.rounds):
        for config in configs:
            for batch in batches[config][round_index * args.steps : (round_index + 1) * args.steps]:
                start = time.perf_counter()
                steps[config](batch)
                times[config].append(time.perf_counter() - start)
            print(f"  batch {batch_size} round {round_index}: {config.label} {statistics.mean(times[config]):.3f} s")
    recipe = statistics.mean(times[configs[0]])
    peaks = {config: measure_memory(config, batch_size, args) if args.memory else float("nan") for config in configs}
    rows = []
    for config in configs:
        mean = statistics.mean(times[config])
        padded = sum(slots(base, batch) for batch in batches[config])
        real = sum(int(base.preprocess(batch)["attention_mask"].sum()) for batch in batches[config])
        rows.append(
            {
                "batch": batch_size,
                "config": config.name,
                "precision": config.precision,
                "s_step": mean,
                "sent_s": batch_size / mean,
                "padding": 1 - real / padded,
                "peak_mib": peaks[config],
                "speedup": recipe / mean,
                "gflops": flops_per_slot[config] * padded / sum(times[config]) / 1e9,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="data directory (default: $SIMCSE_ST_DATA)")
    parser.add_argument("--model", default=None, help="model path (default: the offline all-MiniLM-L6-v2)")
    parser.add_argument(
        "--architecture", choices=("minilm", "bert-base"), default="minilm", help="bert-base: random BERT-base weights"
    )
    parser.add_argument("--batch-sizes", default="64")
    parser.add_argument("--max-seq-length", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per config per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True, help="peak memory per config")
    parser.add_argument("--memory-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    data = resolve_data_dir(args.data)
    if data is None:
        raise SystemExit("pass --data DIR or set SIMCSE_ST_DATA")
    sentences = read_sentences(data / WIKI_CORPUS)
    if args.architecture == "bert-base" and not args.model:
        args.model = random_bert_base(Path(tempfile.mkdtemp(prefix="bert-base-")))
    torch.manual_seed(0)
    base = build_simcse_model(args.model or offline_minilm_path(), "cls", max_seq_length=args.max_seq_length)
    if args.memory_worker:
        config = Config(**json.loads(args.memory_worker))
        print(memory_worker(config, base, sentences, int(args.batch_sizes)))
        return
    sweep = {"fp32": matmul_sweep(torch.float32), "bf16": matmul_sweep(torch.bfloat16)}
    sizes = " / ".join(sweep["bf16"])
    head = (
        f"{'all-MiniLM-L6-v2' if args.architecture == 'minilm' else 'BERT-base (random weights)'}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, max_seq_length {args.max_seq_length}, "
        f"{args.rounds} rounds × {args.steps} steps per config (mean step over the same {args.rounds * args.steps} "
        f"batches' sentences for every config). Matmul GFLOP/s in this run ({sizes}): "
        + ", ".join(f"{p} " + " / ".join(f"{v:.0f}" for v in sweep[p].values()) for p in sweep)
        + "; the % columns refer to 4096² (the peak) and to 1024²."
    )
    print(head)
    lines = [
        head,
        "",
        "| batch | config | precision | s/step | sentences/s | padding | peak step memory MiB | vs recipe fp32 "
        "| GFLOP/s | % of 4096² | % of 1024² |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for batch_size in map(int, args.batch_sizes.split(",")):
        for r in run_batch_size(base, sentences, batch_size, args):
            peaks = sweep[r["precision"]]
            share = f"{100 * r['gflops'] / peaks['4096²']:.0f}% | {100 * r['gflops'] / peaks['1024²']:.0f}%"
            lines.append(
                f"| {r['batch']} | {r['config']} | {r['precision']} | {r['s_step']:.3f} | {r['sent_s']:.1f} | "
                f"{100 * r['padding']:.0f}% | {r['peak_mib']:.0f} | {r['speedup']:.2f}× | {r['gflops']:.0f} | "
                f"{share} |"
            )
        if args.markdown:  # after every batch size: an interrupted run keeps what it measured
            Path(args.markdown).write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
