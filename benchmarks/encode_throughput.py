"""``simcse_st.encode_file`` (streaming, chunked, written to .npy) vs plain ``SentenceTransformer.encode`` on the same
sentences: sentences/s, their ratio, and each one's peak memory.

Every measurement runs in its own process (so its peak RSS is its own), the two methods alternate round by round,
and only the encoding is timed (not the model load). Plain ``encode`` reads the whole file into a list and returns
one array; ``encode_file`` streams ``--chunk-size`` rows at a time.

    python benchmarks/encode_throughput.py --data ../shared/data --lines 50000 --rounds 2 --markdown encode.md
    python benchmarks/encode_throughput.py --data ../shared/data --lines 1000000 --rounds 1 --architecture small-random

``--backends`` instead measures every backend / precision of :class:`simcse_st.backends.InferenceConfig` side by
side, each in its own process: sentences/s on ``--lines`` Wikipedia sentences (ratio to torch fp32, which is plain
``SentenceTransformer.encode``: nothing wraps the model), peak RSS, and the 7-task STS test average through the real
``simcse-st evaluate --tasks sts`` command (its wall time, its peak RSS, its change from fp32):

    python benchmarks/encode_throughput.py --data ../shared/data --backends --lines 20000 --markdown backends.md

``--architecture small-random`` encodes with a randomly initialised 2-layer, 128-wide BERT (bert-base-uncased's
vocabulary, mean pooling, max_seq_length 64): a 1,000,000-line comparison then takes minutes instead of hours, and
the per-sentence overheads that streaming adds (reading, chunking, writing) weigh more than with a larger model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(method: str, input_path: str, model_path: str, batch_size: int, chunk_size: int) -> None:
    from sentence_transformers import SentenceTransformer

    from simcse_st import encode_file

    model = SentenceTransformer(model_path, device="cpu")
    before = peak_rss_mib()
    start = time.perf_counter()
    if method == "plain":
        sentences = Path(input_path).read_text(encoding="utf-8").splitlines()
        rows = len(model.encode(sentences, batch_size=batch_size))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = encode_file(
                input_path,
                Path(tmp) / "out.npy",
                model,
                batch_size=batch_size,
                chunk_size=chunk_size,
                show_progress_bar=False,
            )
    seconds = time.perf_counter() - start
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mib": peak_rss_mib(), "model_mib": before}))


SETTINGS = [
    ("torch", "fp32"),
    ("torch", "bf16"),
    ("onnx", "fp32"),
    ("onnx", "int8"),
    ("openvino", "fp32"),
    ("openvino", "int8"),
]


def backend_worker(setting: str, input_path: str, model_path: str, batch_size: int) -> None:
    """Load the model as ``setting`` says and encode ``input_path``: rows, seconds, peak RSS (one JSON line)."""
    from simcse_st.backends import InferenceConfig
    from simcse_st.inference import load_model

    backend, precision = setting.split("-")
    sentences = Path(input_path).read_text(encoding="utf-8").splitlines()
    start = time.perf_counter()
    model = load_model(model_path, device="cpu", inference=InferenceConfig(backend=backend, precision=precision))
    load_seconds = time.perf_counter() - start
    model.encode(sentences[:batch_size], batch_size=batch_size)  # warm-up: first-call graph compilation
    start = time.perf_counter()
    embeddings = model.encode(sentences, batch_size=batch_size)
    seconds = time.perf_counter() - start
    out = Path(input_path).with_name(f"{setting}.npy")
    np.save(out, embeddings)
    print(json.dumps({"rows": len(sentences), "seconds": seconds, "load_seconds": load_seconds,
                      "peak_mib": peak_rss_mib(), "ran": model.backend_description}))  # fmt: skip


def run_measured(command: list[str]) -> tuple[float, float, str]:
    """Run ``command``; its wall seconds, its own peak RSS (MiB, from wait4) and its stdout."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        stdout.seek(0)
        text = stdout.read()
    if process.returncode != 0:
        raise RuntimeError(f"{command} failed ({process.returncode}): {text[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, text


def compare_backends(args: argparse.Namespace, sentences: list[str], data: Path, model: str) -> str:
    """Every setting of SETTINGS: throughput on ``args.lines`` sentences, then ``simcse-st evaluate --tasks sts``."""
    from simcse_st.backends import ExportConfig, export_model

    settings = [s for s in SETTINGS if f"{s[0]}-{s[1]}" in args.settings.split(",")]
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folders = {"torch": model}
        started = time.perf_counter()
        folders["onnx"] = str(export_model(model, work / "onnx", ExportConfig(backend="onnx", quantize="int8")))
        calibration = sentences[args.lines : args.lines + 300]  # not among the measured sentences
        folders["openvino"] = str(export_model(
            model, work / "openvino", ExportConfig(backend="openvino", quantize="int8"), calibration=calibration
        ))  # fmt: skip
        print(f"exports written in {time.perf_counter() - started:.0f} s", flush=True)
        path = work / "input.txt"
        for backend, precision in settings:
            setting = f"{backend}-{precision}"
            lines = args.lines if (backend, precision) != ("torch", "bf16") else args.bf16_lines
            path.write_text("\n".join(sentences[:lines]) + "\n", encoding="utf-8")
            command = [sys.executable, __file__, "--worker", "backend", "--setting", setting, "--input", str(path),
                       "--model", folders[backend], "--batch-size", str(args.batch_size)]  # fmt: skip
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            rows[setting] = json.loads(output.strip().splitlines()[-1])
            reference = np.load(work / "torch-fp32.npy")[:lines]
            got = np.load(work / f"{setting}.npy")
            cos = (got * reference).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(reference, axis=1)
            rows[setting].update(cos_mean=float(cos.mean()), cos_min=float(cos.min()))
            print(setting, f"{rows[setting]['rows'] / rows[setting]['seconds']:.1f} sentences/s", flush=True)
        for backend, precision in settings if not args.throughput_only else ():
            setting = f"{backend}-{precision}"
            result = work / f"{setting}.json"
            command = [str(Path(sys.executable).with_name("simcse-st")), "evaluate", "--model", folders[backend],
                       "--data", str(data), "--tasks", "sts", "--mode", "test", "--backend", backend,
                       "--precision", precision, "--batch-size", str(args.batch_size),
                       "--json", str(result), "-q"]  # fmt: skip
            seconds, peak, _ = run_measured(command)
            metrics = json.loads(result.read_text())
            average = 100 * metrics["metrics"]["avg_spearman"]
            rows[setting].update(sts_wall=seconds, sts_peak_mib=peak, sts_eval_seconds=metrics["seconds"],
                                 sts_avg=average, ran=metrics["inference"])  # fmt: skip
            print(setting, f"STS avg {rows[setting]['sts_avg']:.2f}, evaluate {seconds:.0f} s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return backends_table(args, rows)


def backends_table(args: argparse.Namespace, rows: dict[str, dict]) -> str:
    base = rows["torch-fp32"]
    base_rate, base_avg = base["rows"] / base["seconds"], base.get("sts_avg", 0.0)
    lines = [
        f"all-MiniLM-L6-v2 (or --model), batch {args.batch_size}, one process per measurement, this machine's CPU. "
        f"Throughput on {args.lines:,} Wikipedia sentences (torch bf16: {args.bf16_lines:,}); STS: "
        "`simcse-st evaluate --tasks sts --mode test` (STS12-16, STS-B, SICK-R test; 27,952 distinct sentences).",
        "",
        "| setting | ran | sentences/s | vs torch fp32 | peak RSS MiB | cosine to fp32 mean / min "
        "| STS avg | Δ vs fp32 | evaluate wall s | evaluate sentences/s | evaluate peak RSS MiB |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    if args.throughput_only:
        lines[-2:] = ["| setting | ran | sentences/s | vs torch fp32 | peak RSS MiB | cosine to fp32 mean / min |",
                      "|---|---|---:|---:|---:|---|"]  # fmt: skip
    for setting, row in rows.items():
        rate = row["rows"] / row["seconds"]
        if args.throughput_only:
            lines.append(f"| {setting} | {row['ran']} | {rate:.1f} | {rate / base_rate:.2f}× | {row['peak_mib']:.0f} "
                         f"| {row['cos_mean']:.5f} / {row['cos_min']:.4f} |")  # fmt: skip
            continue
        sts_rate = 27_952 / row["sts_eval_seconds"]
        lines.append(
            f"| {setting} | {row['ran']} | {rate:.1f} | {rate / base_rate:.2f}× | {row['peak_mib']:.0f} "
            f"| {row['cos_mean']:.5f} / {row['cos_min']:.4f} | {row['sts_avg']:.2f} "
            f"| {row['sts_avg'] - base_avg:+.2f} "
            f"| {row['sts_wall']:.0f} | {sts_rate:.1f} | {row['sts_peak_mib']:.0f} |"
        )
    return "\n".join(lines)


def small_random_model(directory: Path) -> str:
    """A random 2 × 128 BERT + mean pooling with bert-base-uncased's tokenizer, saved as a sentence-transformers
    folder in ``directory``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    from simcse_st.inference.model_loading import offline_minilm_path

    encoder = directory / "encoder"
    AutoTokenizer.from_pretrained(offline_minilm_path()).save_pretrained(encoder)
    torch.manual_seed(0)
    config = BertConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
    BertModel(config).save_pretrained(encoder)
    transformer = Transformer(str(encoder), max_seq_length=64)
    model = SentenceTransformer(modules=[transformer, Pooling(128, pooling_mode="mean")], device="cpu")
    model.save(str(directory / "model"))
    return str(directory / "model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="data directory (default: $SIMCSE_ST_DATA)")
    parser.add_argument("--model", default=None, help="model path (default: the offline all-MiniLM-L6-v2)")
    parser.add_argument("--lines", type=int, default=50_000, help="lines in the input file (wiki sentences, cycled)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--markdown", default=None)
    parser.add_argument("--architecture", choices=("minilm", "small-random"), default="minilm")
    parser.add_argument("--backends", action="store_true", help="compare the backends / precisions (see above)")
    parser.add_argument("--settings", default=",".join(f"{b}-{p}" for b, p in SETTINGS), help="with --backends")
    parser.add_argument("--bf16-lines", type=int, default=2_000, help="--backends: torch bf16's sentences")
    parser.add_argument("--json", default=None, help="--backends: also write the raw rows here")
    parser.add_argument("--throughput-only", action="store_true", help="--backends: skip the STS evaluations")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--setting", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--input", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "backend":
        return backend_worker(args.setting, args.input, args.model, args.batch_size)
    if args.worker:
        return worker(args.worker, args.input, args.model, args.batch_size, args.chunk_size)

    from simcse_st import read_sentences, resolve_data_dir
    from simcse_st.data.data_dir import WIKI_CORPUS
    from simcse_st.inference.model_loading import offline_minilm_path

    data = resolve_data_dir(args.data)
    if data is None:
        raise SystemExit("pass --data DIR or set SIMCSE_ST_DATA")
    sentences = read_sentences(data / WIKI_CORPUS)
    if args.backends:  # distinct real sentences: the wiki1m head has 11,914, WikiSplit and WikiQA add the rest
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from search import wiki_sentences

        wiki = list(dict.fromkeys(text.strip() for text in wiki_sentences(data) if text.strip()))
        table = compare_backends(args, wiki, data, args.model or offline_minilm_path())
        print("\n" + table)
        if args.markdown:
            Path(args.markdown).write_text(table + "\n")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or (
            small_random_model(Path(tmp)) if args.architecture == "small-random" else offline_minilm_path()
        )
        path = Path(tmp) / "input.txt"
        with path.open("w", encoding="utf-8") as out:
            for i in range(args.lines):  # cycled with a counter so every line is distinct
                out.write(f"{sentences[i % len(sentences)]} ({i // len(sentences)})\n")
        results: dict[str, list[dict]] = {"plain": [], "encode_file": []}
        for round_index in range(args.rounds):
            for method in results:
                command = [
                    sys.executable,
                    __file__,
                    "--worker",
                    method,
                    "--input",
                    str(path),
                    "--model",
                    model,
                    "--batch-size",
                    str(args.batch_size),
                    "--chunk-size",
                    str(args.chunk_size),
                ]
                output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                results[method].append(json.loads(output.strip().splitlines()[-1]))
                last = results[method][-1]
                print(f"round {round_index} {method}: {last['rows'] / last['seconds']:.0f} sentences/s", flush=True)
    rate = {m: statistics.median(r["rows"] / r["seconds"] for r in runs) for m, runs in results.items()}
    lines = [
        f"{args.architecture if not args.model else args.model}: "
        f"{args.lines:,} lines, batch {args.batch_size}, chunk {args.chunk_size:,}, {args.rounds} rounds "
        "(median), one process per measurement.",
        "",
        "| method | sentences/s | vs plain encode | peak RSS MiB | peak RSS above the loaded model MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for method, runs in results.items():
        peak = max(r["peak_mib"] for r in runs)
        above = max(r["peak_mib"] - r["model_mib"] for r in runs)
        lines.append(
            f"| {method} | {rate[method]:.0f} | {rate[method] / rate['plain']:.3f}× | {peak:.0f} | {above:.0f} |"
        )
    table = "\n".join(lines)
    print("\n" + table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
