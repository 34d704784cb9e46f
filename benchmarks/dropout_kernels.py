"""Native dropout vs ``FastDropout`` (16-bit masks), side by side on the activations of a SimCSE step.

The shapes are those of all-MiniLM-L6-v2 at batch 64 (2N = 128 rows), 32 tokens: a hidden activation
(128 × 32 × 384) and an attention-probability tensor (128 × 12 × 32 × 32). Each measurement alternates the two
kernels round by round and reports the median of ``--reps`` calls per round, forward only and forward + backward,
in fp32 and bf16.

    python benchmarks/dropout_kernels.py --markdown dropout.md
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from train_throughput import emit_table  # benchmarks/ is on sys.path when run as a script

from simcse_st.modules import FastDropout

SHAPES = {"hidden 128×32×384": (128, 32, 384), "attention 128×12×32×32": (128, 12, 32, 32)}


def one_call(kernel: nn.Module, x: torch.Tensor, upstream: torch.Tensor | None) -> Callable[[], None]:
    """A dropout call, with its backward when ``upstream`` is given."""

    def call() -> None:
        y = kernel(x)
        if upstream is not None:
            y.backward(upstream)

    return call


def timed(fn: Callable[[], object], reps: int) -> float:
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--p", type=float, default=0.1)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    args = parser.parse_args()
    torch.manual_seed(0)
    kernels = {"native": nn.Dropout(args.p).train(), "fast": FastDropout(args.p).train()}
    lines = [
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, p = {args.p}, median of {args.reps} calls, "
        f"best of {args.rounds} alternating rounds (ms).",
        "",
        "| tensor | dtype | pass | native ms | fast ms | native / fast |",
        "|---|---|---|---:|---:|---:|",
    ]
    for shape_name, shape in SHAPES.items():
        for dtype in (torch.float32, torch.bfloat16):
            x = torch.randn(shape, dtype=dtype, requires_grad=True)
            upstream = torch.randn(shape, dtype=dtype)
            for phase in ("forward", "forward+backward"):
                best = {name: float("inf") for name in kernels}
                for _ in range(args.rounds):
                    for name, kernel in kernels.items():
                        call = one_call(kernel, x, upstream if phase == "forward+backward" else None)
                        call()  # warm-up
                        best[name] = min(best[name], timed(call, args.reps))
                native, fast = 1e3 * best["native"], 1e3 * best["fast"]
                dtype_name = str(dtype).removeprefix("torch.")
                lines.append(
                    f"| {shape_name} | {dtype_name} | {phase} | {native:.2f} | {fast:.2f} | {native / fast:.2f}× |"
                )
                print(lines[-1], flush=True)
    emit_table(lines, args.markdown)


if __name__ == "__main__":
    main()
