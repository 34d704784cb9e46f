"""``EmbeddingIndex`` kinds side by side, with the official SimCSE tool's brute-force search as a peer: retrieval
quality on paraphrases with a known answer (A), and cost at a million rows (B).

A. Quality. The STS-B pairs (train, dev and test) and the SICK pairs (train, trial and test) with a gold score >= 4
(STS-B 0-5, SICK relatedness 1-5), minus the pairs whose two sentences are identical. The first sentence of a pair is
a query; its partners (every second sentence it is paired with) are its answers. The corpus holds every partner once,
hidden among ``--distractors`` Wikipedia sentences of the data directory (the wiki1m head first, then WikiSplit's
and WikiQA's sentences, as far as they go: ~82k distinct in all), none equal to an STS-B or SICK sentence. A query
whose text is also in the corpus (it is another query's partner) never counts its own row: every ranking drops it.
all-MiniLM-L6-v2 encodes the corpus and the queries once; every kind is built from those same embeddings. Scores:
recall@1 and recall@10 (a gold partner among the first 1 / 10 hits), MRR@10, and the mean overlap of each kind's
top-10 rows with exact float32's. The SimCSE tool runs on the first ``--peer-queries`` queries only (it takes about
0.3 s a query over 100k rows on 2 cores); its search time is scaled to all of them.

B. Scale. ``--scale-rows`` unit vectors of dimension 384 (``--scale-source random``: Gaussian, normalised; ``model``:
Wikipedia sentences, cycled with a counter, encoded with ``--scale-model``, by default a random 2-layer, 384-wide
BERT). Each kind is built, saved, loaded and queried in its own process (this script with ``--worker``), so its peak
memory is its own: the peak RSS at the end of the build, and at the end of the worker, above the RSS once the model
and the input embeddings are loaded and a 2,000-row index of the kind was built and dropped (first-use costs: a first
forward pass, lazy imports, thread pools). The peak is reset there through ``/proc/self/clear_refs`` (loading the
model peaks above what it leaves resident); where that cannot be done, ``ru_maxrss`` counts from the start. Latency:
``search_embeddings`` on the loaded index with precomputed query embeddings, top 10, for 1 query and for a batch of
``--scale-queries``, p50 and p99 over ``--repeats`` calls after a warm-up call (fewer when they would take more than
``--max-seconds``).

The SimCSE peer is ``SimCSE.search`` of princeton-nlp/SimCSE ``simcse/tool.py`` without faiss, on the same vectors:
per query, in a Python loop, sklearn's ``cosine_similarity`` against the whole corpus (which normalises the query and
a copy of the corpus on every call), then a full argsort, then the top k. (The tool sorts a Python list of the scores
above its threshold instead of an argsort, and its list-of-queries path forgets ``top_k`` and ``threshold``; the
argsort is the faster and the correct choice, so the row flatters the tool a little.) Its quality equals exact
float32 by construction: it is a timing peer. It has no build, no file and no load.

Every index is built with ``EmbeddingIndex.from_embeddings`` from embeddings computed once, so build times leave the
encoding out (A and B report it separately).

    python benchmarks/search.py --data ../shared/data --output search.json
    python benchmarks/search.py --data ../shared/data --distractors 2000 --scale-rows 20000 --output /tmp/search.json
    python benchmarks/search.py --data ../shared/data --parts scale --scale-source model --output search-model.json
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sentence_transformers import SentenceTransformer

from simcse_st.data.data_dir import WIKI_CORPUS, require_data_dir
from simcse_st.evaluation.sts_data import normalize_whitespace, read_sick_split, read_stsb_split
from simcse_st.inference.model_loading import offline_minilm_path
from simcse_st.search import EmbeddingIndex, IndexConfig

KINDS: dict[str, IndexConfig] = {
    "exact float32": IndexConfig(),
    "exact int8": IndexConfig(precision="int8"),
    "exact binary": IndexConfig(precision="binary"),
    "hnsw": IndexConfig(kind="hnsw"),
    "ivf": IndexConfig(kind="ivf"),
}
EXACT = "exact float32"
PEER = "SimCSE tool brute force"
APPROXIMATE = ("exact int8", "exact binary", "hnsw", "ivf")
TOP_K = 10
CHUNK_ROWS = 10_000  # sentences encoded at a time (B, --scale-source model)
MIB = 1 << 20

# The goals, printed as PASS / FAIL.
INT8_MIN_OVERLAP, INT8_MAX_MEMORY = 0.99, 0.25  # top-10 overlap with exact; in-memory bytes / exact's
FAST_BATCH_SECONDS = 0.5  # "well under a second" for a batch of 100 queries over 1M rows (p50)
BUILD_PEAK_FACTOR, BUILD_PEAK_SLACK = 1.5, 64 * MIB  # build peak above its input <= factor × index bytes + slack


def normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


# --- the peer: SimCSE's tool.py brute-force search --------------------------------------------------------------


def simcse_tool_search(corpus: np.ndarray, queries: np.ndarray, top_k: int) -> np.ndarray:
    """The rows [q, top_k] that ``SimCSE.search`` (no faiss) ranks first: a Python loop over the queries, each one
    sklearn's ``cosine_similarity`` against the whole corpus, then a full argsort."""
    from sklearn.metrics.pairwise import cosine_similarity

    rows = []
    for query in queries:
        scores = cosine_similarity(query[None, :], corpus)[0]
        rows.append(np.argsort(-scores, kind="stable")[:top_k])
    return np.stack(rows)


def hit_rows(results: list[list[Any]]) -> np.ndarray:
    """``search_embeddings``'s hits as rows [q, k] (ids are rows here), padded with -1."""
    width = max((len(hits) for hits in results), default=0)
    rows = np.full((len(results), width), -1, dtype=np.int64)
    for i, hits in enumerate(results):
        rows[i, : len(hits)] = [hit.id for hit in hits]
    return rows


# --- A. quality --------------------------------------------------------------------------------------------------


def read_pairs(data: Path, min_score: float) -> tuple[list[tuple[str, str]], set[str]]:
    """The (sentence1, sentence2) pairs of STS-B and SICK (all splits) scoring >= ``min_score``, the two sentences
    different; and every sentence of those files (scored or not), which no distractor may equal."""
    scored = []
    for name in ("sts-train.csv", "sts-dev.csv", "sts-test.csv"):
        scored += read_stsb_split(data / "STSB" / name)
    for name in ("SICK_train.txt", "SICK_trial.txt", "SICK_test_annotated.txt"):
        scored += read_sick_split(data / "SICK" / name)
    pairs = [(first, second) for first, second, score in scored if score >= min_score and first != second]
    return pairs, {text for first, second, _ in scored for text in (first, second)}


def wiki_sentences(data: Path) -> Iterator[str]:
    """The Wikipedia sentences of the data directory, in order: the wiki1m head (its last line, cut mid-sentence,
    dropped), WikiSplit's long sentences and their splits, WikiQA's candidate sentences."""
    yield from (data / WIKI_CORPUS).read_text(encoding="utf-8").split("\n")[:-1]
    for name in ("tune", "validation", "test"):
        path = data / "WIKI" / "wikisplit" / f"{name}.tsv"
        for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
            long, _, splits = line.partition("\t")
            yield long
            yield from splits.split("<::::>")
    for name in ("train", "dev", "test"):
        path = data / "WIKI" / "wikiqa" / f"{name}.txt"
        for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
            fields = line.split("\t")
            if len(fields) >= 2:
                yield fields[1]


def read_distractors(data: Path, count: int, excluded: set[str]) -> list[str]:
    """The first ``count`` distinct Wikipedia sentences not in ``excluded`` (fewer, with a warning, if that is all)."""
    chosen: dict[str, None] = {}
    for text in map(normalize_whitespace, wiki_sentences(data)):
        if text and text not in excluded:
            chosen.setdefault(text)
            if len(chosen) == count:
                break
    if len(chosen) < count:
        print(f"WARNING: --distractors {count:,}, but the data directory has only {len(chosen):,}: using those.")
    return list(chosen)


def retrieval_scores(rows: np.ndarray, gold: list[set[int]]) -> dict[str, float]:
    """recall@1, recall@10 (a gold row among the first 1 / 10) and MRR@10 of rankings [q, >=10]."""
    ranks = []
    for ranking, answers in zip(rows, gold, strict=True):
        found = [rank for rank, row in enumerate(ranking[:TOP_K], 1) if row in answers]
        ranks.append(found[0] if found else 0)
    ranks_array = np.asarray(ranks)
    return {
        "recall@1": float(np.mean(ranks_array == 1)),
        "recall@10": float(np.mean(ranks_array > 0)),
        "mrr@10": float(np.mean(np.where(ranks_array > 0, 1.0 / np.maximum(ranks_array, 1), 0.0))),
    }


def without_self(rows: np.ndarray, own_rows: np.ndarray) -> np.ndarray:
    """Rankings [q, k+1] with each query's own row (-2: none) dropped, cut to the top k."""
    kept = np.full((len(rows), TOP_K), -1, dtype=np.int64)
    for i, (ranking, own) in enumerate(zip(rows, own_rows, strict=True)):
        ranking = ranking[(ranking != own) & (ranking >= 0)][:TOP_K]
        kept[i, : len(ranking)] = ranking
    return kept


def top_overlap(rows: np.ndarray, reference: np.ndarray) -> float:
    """Mean share of the reference's top-10 rows that ``rows`` also has in its top 10."""
    shares = [
        len(set(mine[mine >= 0]) & set(theirs[theirs >= 0])) / max(1, int((theirs >= 0).sum()))
        for mine, theirs in zip(rows, reference, strict=True)
    ]
    return float(np.mean(shares))


def run_quality(args: argparse.Namespace, data: Path) -> dict[str, Any]:
    pairs, sts_sentences = read_pairs(data, args.min_score)
    partners: dict[str, list[str]] = {}
    for first, second in pairs:
        partners.setdefault(first, []).append(second)
    corpus = list(dict.fromkeys(second for _, second in pairs))
    corpus += read_distractors(data, args.distractors, sts_sentences)
    row_of = {text: row for row, text in enumerate(corpus)}
    distractors = len(corpus) - len(dict.fromkeys(second for _, second in pairs))
    queries = list(partners)
    gold = [{row_of[text] for text in partners[query]} for query in queries]
    own_rows = np.asarray([row_of.get(query, -2) for query in queries])
    print(
        f"A. {len(pairs):,} pairs scoring >= {args.min_score}: {len(queries):,} queries, {len(corpus) - distractors:,}"
        f" partners among {len(corpus):,} corpus sentences; {int((own_rows >= 0).sum()):,} queries are also in the"
        " corpus (their own row is dropped from their rankings)",
        flush=True,
    )

    model = SentenceTransformer(args.model or offline_minilm_path(), device="cpu")
    extra = [query for query in queries if query not in row_of]  # the others are encoded once, as corpus rows
    start = time.perf_counter()
    encoded = model.encode(corpus + extra, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    encode_seconds = time.perf_counter() - start
    corpus_embeddings = np.asarray(encoded[: len(corpus)], dtype=np.float32)
    extra_row = {text: len(corpus) + i for i, text in enumerate(extra)}
    query_embeddings = encoded[[row_of[q] if q in row_of else extra_row[q] for q in queries]].astype(np.float32)
    print(f"   encoded {len(encoded):,} sentences in {encode_seconds:.0f} s ({len(encoded) / encode_seconds:.0f}/s)")

    results: dict[str, dict[str, Any]] = {}
    rankings: dict[str, np.ndarray] = {}
    for label, config in KINDS.items():
        start = time.perf_counter()
        index = EmbeddingIndex.from_embeddings(model, corpus, corpus_embeddings, config)
        build_seconds = time.perf_counter() - start
        start = time.perf_counter()
        found = index.search_embeddings(query_embeddings, TOP_K + 1)
        search_seconds = time.perf_counter() - start
        rankings[label] = without_self(hit_rows(found), own_rows)
        results[label] = {"build_s": build_seconds, "search_s": search_seconds, "nbytes": index.nbytes}
        print(f"   {label}: built in {build_seconds:.1f} s, {len(queries):,} queries in {search_seconds:.2f} s")
        del index
    subset = min(len(queries), args.peer_queries)  # the tool takes ~0.3 s a query over 100k rows
    start = time.perf_counter()
    peer = simcse_tool_search(corpus_embeddings, query_embeddings[:subset], TOP_K + 1)
    seconds = time.perf_counter() - start
    print(f"   {PEER}: {subset:,} queries in {seconds:.2f} s")
    for label, rows in rankings.items():
        results[label] |= retrieval_scores(rows, gold)
        results[label]["overlap@10"] = top_overlap(rows, rankings[EXACT])
    peer_rows = without_self(peer, own_rows[:subset])
    results[PEER] = {"build_s": 0.0, "search_s": seconds * len(queries) / subset, "nbytes": corpus_embeddings.nbytes}
    results[PEER] |= retrieval_scores(peer_rows, gold[:subset])
    results[PEER]["overlap@10"] = top_overlap(peer_rows, rankings[EXACT][:subset])
    exact_on_subset = retrieval_scores(rankings[EXACT][:subset], gold[:subset])
    return {
        "peer_queries": subset,
        "exact_on_peer_queries": exact_on_subset,
        "pairs": len(pairs),
        "queries": len(queries),
        "corpus": len(corpus),
        "distractors": distractors,
        "encode_s": encode_seconds,
        "model": args.model or "all-MiniLM-L6-v2",
        "kinds": results,
    }


def quality_table(quality: dict[str, Any]) -> str:
    subset, exact = quality["peer_queries"], quality["exact_on_peer_queries"]
    lines = [
        f"A. Paraphrase retrieval: {quality['queries']:,} queries, {quality['corpus']:,} corpus sentences "
        f"({quality['distractors']:,} Wikipedia distractors), {quality['model']}; search = all queries in one call.",
        f"The SimCSE tool row: its first {subset:,} queries only (search s scaled to all); exact float32 on those: "
        f"recall@1 {exact['recall@1']:.4f}, recall@10 {exact['recall@10']:.4f}, MRR@10 {exact['mrr@10']:.4f}.",
        "",
        "| kind | recall@1 | recall@10 | MRR@10 | top-10 overlap with exact | in memory MiB | build s | search s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, row in quality["kinds"].items():
        if label == PEER and subset < quality["queries"]:
            label = f"{PEER} (first {subset:,} queries)"
        lines.append(
            f"| {label} | {row['recall@1']:.4f} | {row['recall@10']:.4f} | {row['mrr@10']:.4f} | "
            f"{row['overlap@10']:.4f} | {row['nbytes'] / MIB:.1f} | {row['build_s']:.2f} | {row['search_s']:.2f} |"
        )
    return "\n".join(lines)


# --- B. scale ----------------------------------------------------------------------------------------------------


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux VmHWM) to its current RSS; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes(after_reset: bool) -> int:
    """The peak RSS since the reset (VmHWM), else since the process started (``ru_maxrss``)."""
    if after_reset:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def random_bert(directory: Path, hidden_size: int = 384, layers: int = 2) -> str:
    """A randomly initialised BERT (all-MiniLM-L6-v2's vocabulary) with mean pooling, saved in ``directory``."""
    import torch
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    encoder = directory / "encoder"
    AutoTokenizer.from_pretrained(offline_minilm_path()).save_pretrained(encoder)
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=hidden_size, num_hidden_layers=layers, num_attention_heads=6, intermediate_size=4 * hidden_size
    )
    BertModel(config).save_pretrained(encoder)
    transformer = Transformer(str(encoder), max_seq_length=128)
    model = SentenceTransformer(modules=[transformer, Pooling(hidden_size, pooling_mode="mean")], device="cpu")
    model.save(str(directory / "model"))
    return str(directory / "model")


def write_scale_inputs(args: argparse.Namespace, data: Path | None, workdir: Path) -> dict[str, Any]:
    """``workdir``: model/ (the query model), sentences.txt, embeddings.npy [rows, d], queries.npy [queries, d]."""
    model_path = args.scale_model or random_bert(workdir)
    (workdir / "model.txt").write_text(model_path)
    rows, dim = args.scale_rows, 384
    if args.scale_source == "random":
        rng = np.random.default_rng(args.seed)
        with open(workdir / "sentences.txt", "w", encoding="utf-8") as out:
            out.writelines(f"random vector {i}\n" for i in range(rows))
        embeddings = np.lib.format.open_memmap(workdir / "embeddings.npy", "w+", np.float32, (rows, dim))
        for start in range(0, rows, 100_000):
            embeddings[start : start + 100_000] = normalised(rng.standard_normal((min(100_000, rows - start), dim)))
        embeddings.flush()
        np.save(workdir / "queries.npy", normalised(rng.standard_normal((args.scale_queries, dim))))
        return {"source": "random", "model": "random 384-wide BERT (probe embeddings only)", "dimension": dim}

    if data is None:
        raise SystemExit("--scale-source model reads Wikipedia sentences: pass --data DIR or set SIMCSE_ST_DATA")
    pool = list(dict.fromkeys(text for text in map(normalize_whitespace, wiki_sentences(data)) if text))
    sentences = [pool[i % len(pool)] + (f" ({i // len(pool)})" if i >= len(pool) else "") for i in range(rows)]
    (workdir / "sentences.txt").write_text("".join(f"{text}\n" for text in sentences), encoding="utf-8")
    model = SentenceTransformer(model_path, device="cpu")
    dim = model.get_embedding_dimension()
    embeddings = np.lib.format.open_memmap(workdir / "embeddings.npy", "w+", np.float32, (rows, dim))
    start = time.perf_counter()
    for first in range(0, rows, CHUNK_ROWS):
        chunk = sentences[first : first + CHUNK_ROWS]
        embeddings[first : first + len(chunk)] = model.encode(chunk, batch_size=64, normalize_embeddings=True)
        done = first + len(chunk)
        rate = done / (time.perf_counter() - start)
        print(f"   encoded {done:,} / {rows:,} ({rate:.0f}/s, {(rows - done) / rate / 60:.0f} min left)", flush=True)
    encode_seconds = time.perf_counter() - start
    embeddings.flush()
    queries = [f"{pool[i]} (query)" for i in range(args.scale_queries)]
    np.save(workdir / "queries.npy", model.encode(queries, batch_size=64, normalize_embeddings=True))
    projected = encode_seconds / rows * 1_000_000
    print(f"   encoding {rows:,} took {encode_seconds:.0f} s: 1,000,000 would take ~{projected / 60:.0f} min")
    name = args.scale_model or "random 2-layer 384-wide BERT"
    return {"source": "model", "model": name, "dimension": dim, "encode_s": encode_seconds, "distinct": len(pool)}


def time_calls(
    call: Callable[[], np.ndarray], repeats: int, max_seconds: float
) -> tuple[dict[str, float], np.ndarray]:
    """p50 and p99 ms of up to ``repeats`` calls after a warm-up call, stopping once ``max_seconds`` have passed
    (a warm-up call that alone takes that long is the only sample); and the last call's result."""
    seconds: list[float] = []
    start = time.perf_counter()
    while len(seconds) <= repeats and (not seconds or time.perf_counter() - start < max_seconds):
        begin = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - begin)
    measured = np.asarray(seconds[1:] or seconds) * 1000
    stats = {"p50_ms": float(np.percentile(measured, 50)), "p99_ms": float(np.percentile(measured, 99))}
    return stats | {"calls": len(measured)}, result


def worker(args: argparse.Namespace) -> None:
    """One kind in this fresh process: build, save, load, query; the measurements as JSON on the last line."""
    workdir = Path(args.workdir)
    model = SentenceTransformer((workdir / "model.txt").read_text(), device="cpu")
    embeddings = np.load(workdir / "embeddings.npy")
    queries = np.load(workdir / "queries.npy")
    sentences = (workdir / "sentences.txt").read_text(encoding="utf-8").splitlines()
    if args.worker != PEER:  # first-use costs (a first forward pass, lazy imports, thread pools) are not the build's
        EmbeddingIndex.from_embeddings(model, sentences[:2000], embeddings[:2000], KINDS[args.worker])
    gc.collect()
    # Loading the model peaks above what it leaves resident: without the reset that peak would hide the build's.
    reset = reset_peak_rss()
    baseline = peak_rss_bytes(reset)
    result: dict[str, Any] = {"baseline_mib": baseline / MIB, "peak_from": "VmHWM reset" if reset else "ru_maxrss"}
    if args.worker == PEER:  # the tool's index is the embedding matrix itself
        corpus = embeddings
        result |= {"build_s": 0.0, "nbytes": int(corpus.nbytes), "build_peak": peak_rss_bytes(reset) - baseline}

        def search(batch: np.ndarray) -> np.ndarray:
            return simcse_tool_search(corpus, batch, TOP_K)
    else:
        start = time.perf_counter()
        index = EmbeddingIndex.from_embeddings(model, sentences, embeddings, KINDS[args.worker])
        result |= {"build_s": time.perf_counter() - start, "build_peak": peak_rss_bytes(reset) - baseline}
        result["nbytes"] = index.nbytes
        saved = index.save(workdir / "index")
        result["disk_bytes"] = sum(path.stat().st_size for path in saved.rglob("*") if path.is_file())
        del index
        gc.collect()
        start = time.perf_counter()
        loaded = EmbeddingIndex.load(saved)
        result["load_s"] = time.perf_counter() - start

        def search(batch: np.ndarray) -> np.ndarray:
            return hit_rows(loaded.search_embeddings(batch, TOP_K))

    result["one"], _ = time_calls(lambda: search(queries[:1]), args.repeats, args.max_seconds)
    result["batch"], rows = time_calls(lambda: search(queries), args.repeats, args.max_seconds)
    result["rows"] = rows.tolist()
    result["peak"] = peak_rss_bytes(reset) - baseline
    print(json.dumps(result))


def run_scale(args: argparse.Namespace, data: Path | None) -> dict[str, Any]:
    print(f"B. {args.scale_rows:,} rows ({args.scale_source}), {args.scale_queries} queries", flush=True)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="search-benchmark-") as tmp:
        workdir = Path(tmp)
        inputs = write_scale_inputs(args, data, workdir)
        for label in [*KINDS, PEER]:
            command = [sys.executable, __file__, "--worker", label, "--workdir", tmp]
            command += ["--repeats", str(args.repeats), "--max-seconds", str(args.max_seconds)]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"the {label} worker failed:\n{done.stderr[-4000:]}")
            results[label] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"   {label}: done in {time.perf_counter() - start:.0f} s", flush=True)
            shutil.rmtree(workdir / "index", ignore_errors=True)
    exact_rows = np.asarray(results[EXACT]["rows"])
    for row in results.values():
        row["overlap@10"] = top_overlap(np.asarray(row.pop("rows")), exact_rows)
    return {"rows": args.scale_rows, "queries": args.scale_queries, **inputs, "kinds": results}


def scale_table(scale: dict[str, Any]) -> str:
    exact = scale["kinds"][EXACT]
    batch = scale["queries"]
    lines = [
        f"B. Scale: {scale['rows']:,} rows of {scale['dimension']}-d ({scale['source']}: {scale['model']}), "
        f"top {TOP_K}; built from precomputed embeddings; peaks above the input embeddings (build, and the whole "
        "worker: build, save, load, searches); latency on the loaded index."
        + (
            " Random vectors have no neighbourhood structure: the worst case for the approximate kinds' overlap."
            if scale["source"] == "random"
            else ""
        ),
        "",
        f"| kind | build s | build peak MiB | peak MiB | in memory MiB | × exact | on disk MiB | load s | "
        f"1 query p50 / p99 ms | {batch} queries p50 / p99 ms | × exact ({batch}, p50) | top-10 overlap with exact | "
        "calls |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, row in scale["kinds"].items():
        disk = f"{row['disk_bytes'] / MIB:.1f}" if "disk_bytes" in row else "—"
        load = f"{row['load_s']:.2f}" if "load_s" in row else "—"
        lines.append(
            f"| {label} | {row['build_s']:.2f} | {row['build_peak'] / MIB:.0f} | {row['peak'] / MIB:.0f} | "
            f"{row['nbytes'] / MIB:.1f} | "
            f"{row['nbytes'] / exact['nbytes']:.3f} | {disk} | {load} | "
            f"{row['one']['p50_ms']:.1f} / {row['one']['p99_ms']:.1f} | "
            f"{row['batch']['p50_ms']:.1f} / {row['batch']['p99_ms']:.1f} | "
            f"{row['batch']['p50_ms'] / exact['batch']['p50_ms']:.3f} | {row['overlap@10']:.4f} | "
            f"{row['one']['calls']} / {row['batch']['calls']} |"
        )
    return "\n".join(lines)


# --- the goals ---------------------------------------------------------------------------------------------------


def goal_checks(quality: dict[str, Any] | None, scale: dict[str, Any] | None) -> list[dict[str, Any]]:
    checks = []

    def check(name: str, passed: bool, detail: str) -> None:
        checks.append({"check": name, "pass": bool(passed), "detail": detail})

    memory_source = scale or quality
    if quality and memory_source:
        overlap = quality["kinds"]["exact int8"]["overlap@10"]
        share = memory_source["kinds"]["exact int8"]["nbytes"] / memory_source["kinds"][EXACT]["nbytes"]
        check(
            f"int8: top-10 overlap with exact >= {INT8_MIN_OVERLAP} at <= {INT8_MAX_MEMORY:g} of its memory",
            overlap >= INT8_MIN_OVERLAP and share <= INT8_MAX_MEMORY,
            f"overlap {overlap:.4f}, memory {share:.3f} of exact",
        )
    if scale:
        rows = f"{scale['rows']:,} rows" + ("" if scale["rows"] >= 1_000_000 else " (not 1M: rerun at full scale)")
        for label in APPROXIMATE:
            seconds = scale["kinds"][label]["batch"]["p50_ms"] / 1000
            check(
                f"{label}: {scale['queries']} queries over {rows} in < {FAST_BATCH_SECONDS} s (p50)",
                seconds < FAST_BATCH_SECONDS,
                f"{seconds:.3f} s",
            )
        for label in KINDS:
            row = scale["kinds"][label]
            limit = BUILD_PEAK_FACTOR * row["nbytes"] + BUILD_PEAK_SLACK
            check(
                f"{label}: build peak <= {BUILD_PEAK_FACTOR} × its in-memory bytes + {BUILD_PEAK_SLACK // MIB} MiB",
                row["build_peak"] <= limit,
                f"{row['build_peak'] / MIB:.0f} MiB above the input (limit {limit / MIB:.0f} MiB)",
            )
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="data directory (default: $SIMCSE_ST_DATA)")
    parser.add_argument("--output", default=None, help="write the results as JSON here")
    parser.add_argument("--parts", default="quality,scale", help="comma-separated: quality, scale")
    parser.add_argument("--model", default=None, help="A's model (default: the offline all-MiniLM-L6-v2)")
    parser.add_argument("--min-score", type=float, default=4.0, help="A: pairs with a gold score >= this")
    parser.add_argument("--distractors", type=int, default=100_000, help="A: Wikipedia sentences around the partners")
    parser.add_argument("--peer-queries", type=int, default=500, help="A: queries the SimCSE tool's search is run on")
    parser.add_argument("--scale-rows", type=int, default=1_000_000)
    parser.add_argument("--scale-source", choices=("random", "model"), default="random")
    parser.add_argument("--scale-model", default=None, help="B, source model (default: a random 384-wide BERT)")
    parser.add_argument("--scale-queries", type=int, default=100, help="B: the batch of queries timed")
    parser.add_argument("--repeats", type=int, default=50, help="B: timed calls per latency")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="B: at most this long per latency")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    parts = set(args.parts.split(","))
    data = require_data_dir(args.data) if "quality" in parts or args.scale_source == "model" else None
    start = time.perf_counter()
    quality = run_quality(args, data) if "quality" in parts else None
    scale = run_scale(args, data) if "scale" in parts else None
    checks = goal_checks(quality, scale)
    seconds = time.perf_counter() - start

    tables = [table for table in (quality and quality_table(quality), scale and scale_table(scale)) if table]
    lines = ["| goal | result | |", "|---|---|---|"]
    lines += [f"| {c['check']} | {'PASS' if c['pass'] else 'FAIL'} | {c['detail']} |" for c in checks]
    print("\n" + "\n\n".join([*tables, "\n".join(lines)]) + f"\n\n{seconds:.0f} s in all")
    if args.output:
        result = {"args": vars(args), "seconds": seconds, "quality": quality, "scale": scale, "checks": checks}
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
