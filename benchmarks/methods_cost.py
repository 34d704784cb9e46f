"""What each follow-up method costs per training step, side by side with plain SimCSE, in one process.

Every configuration gets the same model weights and the same batches of ``--batch-size`` Wikipedia sentences. A step
is the loss's forward and backward passes, plus the optimizer step, under the precision ``train_simcse`` would
choose (bf16 where the CPU runs it natively). The configurations are timed round-robin, one step each per round, so
that a change in the machine's load falls on all of them alike. The table gives the median seconds per step and the
ratio to SimCSE.

    python benchmarks/methods_cost.py --data ../shared/data --batch-size 64 --rounds 10
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

from simcse_st.data.data_dir import WIKI_CORPUS, require_data_dir
from simcse_st.data.reading import read_sentences
from simcse_st.inference.model_loading import offline_minilm_path
from simcse_st.modules import PROMPTBERT_POSITIVE_TEMPLATE, PROMPTBERT_TEMPLATE, enable_fast_dropout
from simcse_st.training import SimCSEConfig, build_loss, build_model
from simcse_st.training.precision import resolve_bf16

CONFIGS = {
    "SimCSE": {},
    "ESimCSE repetition": {"repetition_rate": 0.32},
    "ESimCSE queue (EMA + momentum forward)": {"queue_size": 160},
    "ESimCSE (both)": {"repetition_rate": 0.32, "queue_size": 160},
    "SimCSE++ off-dropout (third pass)": {"off_dropout_negatives": True},
    "SimCSE++ DCL": {"dcl_weight": 0.1},
    "SimCSE++ (both)": {"off_dropout_negatives": True, "dcl_weight": 0.1},
    "SSCL, 2 layers": {"intermediate_layers": 2},
    "PromptBERT (two templates, denoising)": {
        "prompt_template": PROMPTBERT_TEMPLATE,
        "positive_template": PROMPTBERT_POSITIVE_TEMPLATE,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the data directory (its WIKI corpus is read)")
    parser.add_argument("--model", default=None, help="default: the offline all-MiniLM-L6-v2")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--only", default=None, help="comma-separated labels to time (SimCSE is always timed)")
    args = parser.parse_args()
    wanted = {"SimCSE", *(args.only.split(",") if args.only else CONFIGS)}
    corpus = Path(require_data_dir(args.data)) / WIKI_CORPUS
    sentences = read_sentences(corpus)[: args.batch_size * (args.rounds + 2)]
    model_name = args.model or offline_minilm_path()
    runs = {}
    for label, changes in CONFIGS.items():
        if label not in wanted:
            continue
        config = replace(SimCSEConfig(batch_size=args.batch_size), **changes)
        torch.manual_seed(0)
        model = build_model(model_name, config, device="cpu")
        enable_fast_dropout(model)
        model.train()
        loss = build_loss(model, config)
        optimizer = torch.optim.AdamW([p for p in loss.parameters() if p.requires_grad], lr=3e-5)
        runs[label] = (model, loss, optimizer, resolve_bf16(config.bf16, model.device))
    times: dict[str, list[float]] = {label: [] for label in runs}
    for round_index in range(args.rounds + 2):  # two warm-up rounds
        batch = sentences[round_index * args.batch_size : (round_index + 1) * args.batch_size]
        for label, (model, loss, optimizer, bf16) in runs.items():
            features = model.preprocess(batch)
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                value = loss([features], None)
            total = sum(value.values()) if isinstance(value, dict) else value
            total.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if round_index >= 2:
                times[label].append(time.perf_counter() - start)
    base = statistics.median(times["SimCSE"])
    print(f"batch {args.batch_size}, {args.rounds} rounds, threads {torch.get_num_threads()}, model {model_name}\n")
    print("| configuration | s/step (median) | × SimCSE |\n|---|---:|---:|")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"| {label} | {median:.3f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
