"""``simcse_st.encode_file`` (streaming, chunked, written to .npy) vs plain ``SentenceTransformer.encode`` on the same
sentences: sentences/s, their ratio, and each one's peak memory.

Every measurement runs in its own process (so its peak RSS is its own), the two methods alternate round by round,
and only the encoding is timed (not the model load). Plain ``encode`` reads the whole file into a list and returns
one array; ``encode_file`` streams ``--chunk-size`` rows at a time.

    python benchmarks/encode_throughput.py --data ../shared/data --lines 50000 --rounds 2 --markdown encode.md
    python benchmarks/encode_throughput.py --data ../shared/data --lines 1000000 --rounds 1 --architecture small-random

``--architecture small-random`` encodes with a randomly initialised 2-layer, 128-wide BERT (bert-base-uncased's
vocabulary, mean pooling, max_seq_length 64): a 1,000,000-line comparison then takes minutes instead of hours, and
the per-sentence overheads that streaming adds (reading, chunking, writing) weigh more than with a larger model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


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
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--input", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.input, args.model, args.batch_size, args.chunk_size)

    from simcse_st import read_sentences, resolve_data_dir
    from simcse_st.data.data_dir import WIKI_CORPUS
    from simcse_st.inference.model_loading import offline_minilm_path

    data = resolve_data_dir(args.data)
    if data is None:
        raise SystemExit("pass --data DIR or set SIMCSE_ST_DATA")
    sentences = read_sentences(data / WIKI_CORPUS)
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
