"""Where a SimCSE training step spends its time: tokenization (incl. padding), collation, forward, loss, backward,
optimizer; the padding share of the batches; and how fast the matrix multiplications themselves run.

One process, the same model and batches for every configuration; phases timed with ``time.perf_counter`` (CPU ops
are synchronous), median over ``--steps`` steps after a warm-up. A ``torch.profiler`` pass over one step splits the
forward+backward time into GEMM kernels (``mm``/``addmm``/``bmm``/``linear``, with their FLOPs) and the rest
(softmax, GELU, layer norm, dropout, copies), against the matmul peak measured in the same run, and lists the ops
that take the most time in the bf16 length-grouped step. The GEMM ceiling replays that step's forward + backward
GEMMs alone, back to back (same shapes, layouts and dtypes, fresh operands): the rate the step would reach if
nothing but its GEMMs took time. Dropout is ``train_simcse``'s default (16-bit masks,
``enable_fast_dropout``) unless ``--native-dropout``.

    python benchmarks/step_profile.py --data ../shared/data --batch-size 64 --markdown profile.md
    python benchmarks/step_profile.py --data ../shared/data --batch-size 64 --native-dropout
    python benchmarks/step_profile.py --data ../shared/data --batch-size 64 --architecture bert-base
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import torch
from datasets import Dataset
from sentence_transformers.base.losses.merged_forward import merge_feature_batches
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode
from train_throughput import (  # benchmarks/ is on sys.path when run as a script
    best_seconds,
    emit_table,
    matmul_sweep,
    random_bert_base,
)

from simcse_st import DropoutContrastiveLoss, read_sentences, resolve_data_dir
from simcse_st.data import LengthGroupedBatchSampler, token_length_fn
from simcse_st.data.data_dir import WIKI_CORPUS
from simcse_st.inference.model_loading import offline_minilm_path
from simcse_st.modules import build_simcse_model, enable_fast_dropout

PHASES = ("tokenize+pad", "collate (2N)", "forward", "loss", "backward", "optimizer")
GEMM_ATEN = tuple(getattr(torch.ops.aten, name).default for name in ("mm", "addmm", "bmm", "baddbmm"))
GEMM_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_mkldnn_matmul", "mkldnn::_linear")


def timed_step(model, loss_fn, optimizer, sentences: list[str], bf16: bool) -> dict[str, float]:
    times = {}
    start = time.perf_counter()
    features = model.preprocess(sentences)
    times["tokenize+pad"] = time.perf_counter() - start
    start = time.perf_counter()
    merged = merge_feature_batches([features, features])
    times["collate (2N)"] = time.perf_counter() - start
    with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
        start = time.perf_counter()
        embeddings = model(merged)["sentence_embedding"]  # (2N, D)
        times["forward"] = time.perf_counter() - start
        start = time.perf_counter()
        loss = loss_fn.compute_loss_from_embeddings(list(embeddings.reshape(2, len(sentences), -1).unbind(0)))
        times["loss"] = time.perf_counter() - start
    start = time.perf_counter()
    loss.backward()
    times["backward"] = time.perf_counter() - start
    start = time.perf_counter()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    times["optimizer"] = time.perf_counter() - start
    return times


def gemm_split(
    model, loss_fn, sentences: list[str], bf16: bool
) -> tuple[float, float, float, list[tuple[str, float]]]:
    """(GEMM seconds, GEMM FLOPs, all-op seconds, [(op, self seconds)] longest first) of the forward + backward of
    one step, from torch.profiler."""
    features = merge_feature_batches([model.preprocess(sentences)] * 2)
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
            embeddings = model(features)["sentence_embedding"]
            loss = loss_fn.compute_loss_from_embeddings(list(embeddings.reshape(2, len(sentences), -1).unbind(0)))
        loss.backward()
    model.zero_grad(set_to_none=True)
    gemm_time = gemm_flops = total = 0.0
    ops = []
    for event in prof.key_averages():
        total += event.self_cpu_time_total / 1e6
        ops.append((event.key, event.self_cpu_time_total / 1e6))
        if event.key in GEMM_OPS:
            gemm_time += event.self_cpu_time_total / 1e6
            gemm_flops += event.flops
    return gemm_time, gemm_flops, total, sorted(ops, key=lambda op: -op[1])


class GemmRecorder(TorchDispatchMode):
    """Records every GEMM call (op and arguments) that reaches the dispatcher, after autocast's casts."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[torch._ops.OpOverload, tuple, dict]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in GEMM_ATEN:
            self.calls.append((func, args, kwargs or {}))
        return func(*args, **(kwargs or {}))


def _like(value: object) -> object:
    """A fresh random tensor with ``value``'s size, strides and dtype (non-tensors pass through)."""
    if not isinstance(value, torch.Tensor):
        return value
    storage = 1 + sum((size - 1) * stride for size, stride in zip(value.shape, value.stride(), strict=True))
    return torch.randn(storage).to(value.dtype).as_strided(value.shape, value.stride())


def gemm_ceiling(model, loss_fn, sentences: list[str], reps: int = 5) -> tuple[int, float, float, float]:
    """(GEMM calls, their FLOPs, best seconds of the bf16 forward + backward, best seconds of its GEMMs replayed back
    to back on fresh operands): the second time is the fastest that step's GEMMs run with nothing else in between."""
    features = merge_feature_batches([model.preprocess(sentences)] * 2)

    def forward_backward() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            embeddings = model(features)["sentence_embedding"]  # (2N, D)
            loss = loss_fn.compute_loss_from_embeddings(list(embeddings.reshape(2, len(sentences), -1).unbind(0)))
        loss.backward()
        model.zero_grad(set_to_none=True)

    recorder = GemmRecorder()
    with recorder:
        forward_backward()
    calls = [(func, tuple(map(_like, args)), kwargs) for func, args, kwargs in recorder.calls]
    del recorder

    def replay() -> None:
        for func, args, kwargs in calls:
            func(*args, **kwargs)

    counter = FlopCounterMode(display=False)
    with counter:
        replay()
    return len(calls), counter.get_total_flops(), best_seconds(forward_backward, reps), best_seconds(replay, reps)


def linear_gemm_rates(tokens: int, width: int, ffn: int, reps: int = 10) -> list[tuple[str, str, float]]:
    """bf16 GFLOP/s of the three GEMMs of a Linear as autograd runs them (``F.linear`` forward, then the gradient of
    the input alone and of the weight alone), at ``tokens`` rows, for the encoder's three Linear shapes."""
    rows = []
    for k, n in ((width, width), (width, ffn), (ffn, width)):
        x = torch.randn(tokens, k, dtype=torch.bfloat16, requires_grad=True)
        w = torch.randn(n, k, dtype=torch.bfloat16, requires_grad=True)
        out = torch.nn.functional.linear(x, w)
        grad = torch.randn_like(out)
        calls = {
            "forward": partial(torch.nn.functional.linear, x, w),
            "input gradient": partial(torch.autograd.grad, out, x, grad, retain_graph=True),
            "weight gradient": partial(torch.autograd.grad, out, w, grad, retain_graph=True),
        }
        for name, call in calls.items():
            rows.append((f"{tokens}×{k} → {n}", name, 2 * tokens * k * n / best_seconds(call, reps) / 1e9))
    return rows


def padding_share(model, batches: list[list[str]]) -> float:
    real = slots = 0
    for batch in batches:
        mask = model.preprocess(batch)["attention_mask"]
        real, slots = real + int(mask.sum()), slots + mask.numel()
    return 1 - real / slots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="data directory (default: $SIMCSE_ST_DATA)")
    parser.add_argument("--model", default=None, help="model path (default: the offline all-MiniLM-L6-v2)")
    parser.add_argument(
        "--architecture", choices=("minilm", "bert-base"), default="minilm", help="bert-base: random BERT-base weights"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-seq-length", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--markdown", default=None, help="also write the tables to this file")
    parser.add_argument("--fast-dropout", action=argparse.BooleanOptionalAction, default=True, help="16-bit masks")
    parser.add_argument("--top-ops", type=int, default=12, help="list this many ops of the bf16 length step")
    args = parser.parse_args()
    data = resolve_data_dir(args.data)
    if data is None:
        raise SystemExit("pass --data DIR or set SIMCSE_ST_DATA")
    sentences = read_sentences(data / WIKI_CORPUS)
    if args.architecture == "bert-base" and not args.model:
        args.model = random_bert_base(Path(tempfile.mkdtemp(prefix="bert-base-")))
    torch.manual_seed(0)
    model = build_simcse_model(args.model or offline_minilm_path(), "cls", max_seq_length=args.max_seq_length).train()
    if args.fast_dropout:
        enable_fast_dropout(model)
    loss_fn = DropoutContrastiveLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, fused=True)  # the Trainer's adamw_torch_fused
    n = args.batch_size
    random_batches = [sentences[i * n : (i + 1) * n] for i in range(args.steps + 1)]
    lengths = token_length_fn(model.tokenizer, model.max_seq_length)
    sampler = LengthGroupedBatchSampler(
        Dataset.from_dict({"text": sentences}), n, drop_last=True, seed=0, length_fn=lengths
    )
    length_batches = [[sentences[i] for i in batch] for batch in sampler][: args.steps + 1]
    sweep = {"fp32": matmul_sweep(torch.float32), "bf16": matmul_sweep(torch.bfloat16)}
    peak = {precision: rates["4096²"] for precision, rates in sweep.items()}
    padding = {"random": padding_share(model, random_batches), "length": padding_share(model, length_batches)}

    lines = [
        f"{'BERT-base (random weights)' if args.architecture == 'bert-base' else args.model or 'all-MiniLM-L6-v2'}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {n}, max_seq_length "
        f"{args.max_seq_length}, {'fast (16-bit)' if args.fast_dropout else 'native'} dropout, median of "
        f"{args.steps} steps. Matmul GFLOP/s ({' / '.join(sweep['bf16'])}): "
        + ", ".join(f"{p} " + " / ".join(f"{v:.0f}" for v in sweep[p].values()) for p in sweep)
        + f" (the peak: 4096²). Padding share of the token slots: random batches "
        f"{100 * padding['random']:.1f}%, length-grouped {100 * padding['length']:.1f}%.",
        "",
        "| precision | batches | " + " | ".join(PHASES) + " | step s | GEMM share of fwd+bwd | GEMM GFLOP/s "
        "| GEMM % of peak |",
        "|---|---|" + "---:|" * (len(PHASES) + 4),
    ]
    for precision in ("fp32", "bf16"):
        for name, batches in (("random", random_batches), ("length", length_batches)):
            bf16 = precision == "bf16"
            timed_step(model, loss_fn, optimizer, batches[0], bf16)  # warm-up
            samples = [timed_step(model, loss_fn, optimizer, batch, bf16) for batch in batches[1:]]
            medians = {phase: statistics.median(s[phase] for s in samples) for phase in PHASES}
            gemm_time, gemm_flops, total, ops = gemm_split(model, loss_fn, batches[1], bf16)
            gemm_rate = gemm_flops / gemm_time / 1e9
            cells = " | ".join(f"{medians[p]:.3f}" for p in PHASES)
            lines.append(
                f"| {precision} | {name} | {cells} | {sum(medians.values()):.3f} | {100 * gemm_time / total:.0f}% | "
                f"{gemm_rate:.0f} | {100 * gemm_rate / peak[precision]:.0f}% |"
            )
            print(lines[-1], flush=True)
    lines += ["", "Longest ops of the bf16 length-grouped forward + backward (self time):", "", "| op | ms | share |"]
    lines.append("|---|---:|---:|")
    lines += [f"| `{op}` | {1e3 * t:.1f} | {100 * t / total:.0f}% |" for op, t in ops[: args.top_ops]]
    count, flops, measured, gemms = gemm_ceiling(model, loss_fn, length_batches[1])
    at_goal = flops / (0.6 * peak["bf16"] * 1e9)  # the forward + backward's time at 60% of the 4096² rate

    def rates(seconds: float) -> str:
        rate, small = flops / seconds / 1e9, sweep["bf16"]["1024²"]
        return f"{rate:.0f} GFLOP/s, {100 * rate / peak['bf16']:.0f}% of 4096², {100 * rate / small:.0f}% of 1024²"

    lines += [
        "",
        f"GEMM ceiling of one bf16 length-grouped forward + backward ({count} GEMM calls, {flops / 1e9:.1f} GFLOP; "
        f"best of 5 each): the step takes {1e3 * measured:.0f} ms ({rates(measured)}); its GEMMs alone, replayed "
        f"back to back on fresh operands of the same shapes, layouts and dtypes, take {1e3 * gemms:.0f} ms "
        f"({rates(gemms)}). At 60% of 4096² the step would take {1e3 * at_goal:.0f} ms, "
        + (
            f"leaving {1e3 * (at_goal - gemms):.0f} ms for all that is not a GEMM "
            f"(now {1e3 * (measured - gemms):.0f} ms)."
            if at_goal > gemms
            else "less than its GEMMs alone: out of reach at this shape."
        ),
    ]
    tokens = 2 * n * len(model.preprocess(length_batches[1])["input_ids"][0])  # 2N rows × the padded length
    config = model[0].auto_model.config
    lines += ["", f"bf16 GEMMs of one Linear at this step's {tokens} token rows (best of 10 calls):", ""]
    lines += ["| shape | GEMM | GFLOP/s | % of 4096² |", "|---|---|---:|---:|"]
    for shape, gemm, rate in linear_gemm_rates(tokens, config.hidden_size, config.intermediate_size):
        lines.append(f"| {shape} | {gemm} | {rate:.0f} | {100 * rate / peak['bf16']:.0f}% |")
    emit_table(lines, args.markdown)


if __name__ == "__main__":
    main()
