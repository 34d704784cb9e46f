"""``simcse-st index`` / ``search`` / ``serve``: thin layers over :mod:`simcse_st.search`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from simcse_st.backends.inference_config import InferenceConfig
from simcse_st.cli.common import BatchSize, ColumnOption, ModelOption, Quiet, cli_errors, setup_logging
from simcse_st.cli.config_options import config_from_options, with_config_options
from simcse_st.search.index_config import IndexConfig

IndexDir = Annotated[Path, typer.Argument(metavar="INDEX", help="An index directory written by `simcse-st index`.")]
QueryModel = Annotated[
    str | None,
    typer.Option("--model", "-m", help="The query model, if not where the index recorded it (it must be the same)."),
]

# `index` takes IndexConfig's precision (how the index stores embeddings) as --precision.
MODEL_PRECISION = {"precision": "model_precision"}


@with_config_options(InferenceConfig(), rename=MODEL_PRECISION)
@with_config_options(IndexConfig())
def index(
    ctx: typer.Context,
    corpus: Annotated[
        Path,
        typer.Argument(
            help="Sentences: .txt (one per line), .csv/.tsv (header row) or .jsonl; .gz ok.", metavar="CORPUS"
        ),
    ],
    model: ModelOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="The index directory to write.")],
    column: ColumnOption = None,
    batch_size: BatchSize = 64,
    chunk_size: Annotated[
        int, typer.Option(help="Sentences encoded and added at a time; bounds the memory.")
    ] = 10_000,
    decode_errors: Annotated[
        Literal["strict", "replace"],
        typer.Option(help="Lines that are not valid UTF-8: strict = stop with an error, replace = U+FFFD."),
    ] = "strict",
    overwrite: Annotated[bool, typer.Option(help="Replace --output if it is an index.")] = False,
    quiet: Quiet = False,
    **settings: Any,
) -> None:
    """Encode a corpus and save a searchable index of it (row i of the corpus gets id i; blank rows are skipped).

    \b
    Example:
      simcse-st index corpus.txt --model runs/simcse --output corpus-index --precision int8
    """
    setup_logging(quiet)
    with cli_errors(ctx):
        from simcse_st.search.build_index import build_index

        built = build_index(
            corpus,
            model,
            output,
            config_from_options(ctx, settings, IndexConfig()),
            column=column,
            batch_size=batch_size,
            chunk_size=chunk_size,
            show_progress_bar=not quiet,
            decode_errors=decode_errors,
            overwrite=overwrite,
            inference=config_from_options(ctx, settings, InferenceConfig(), rename=MODEL_PRECISION),
        )
    typer.echo(f"Indexed {len(built)} sentences into {output} ({built.config.kind}, {built.config.precision}).")


@with_config_options(InferenceConfig())
def search(
    ctx: typer.Context,
    directory: IndexDir,
    queries: Annotated[list[str] | None, typer.Argument(help="One or more queries (quote each one).")] = None,
    queries_file: Annotated[
        Path | None, typer.Option("--queries", help="A file of queries, one per line (blank lines are skipped).")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Hits per query, best first.")] = 5,
    threshold: Annotated[
        float | None, typer.Option(help="Only hits with cosine similarity >= this (between -1 and 1).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: [{query, hits: [{id, sentence, score}]}].")
    ] = False,
    model: QueryModel = None,
    quiet: Quiet = False,
    **settings: Any,
) -> None:
    """Print the indexed sentences most similar to each query, with their cosine similarity and id.

    \b
    Example:
      simcse-st search corpus-index "A man plays the guitar." --top-k 3 --threshold 0.6
    """
    setup_logging(quiet)
    with cli_errors(ctx):
        texts = list(queries or [])
        if queries_file is not None:
            from simcse_st.data.reading import iter_lines

            texts += [line for line in iter_lines(queries_file) if line.strip()]
        if not texts:
            raise ValueError("give a query (an argument) or queries=FILE.")
        from simcse_st.search import EmbeddingIndex, format_hits

        results = EmbeddingIndex.load(
            directory, model=model, inference=config_from_options(ctx, settings, InferenceConfig())
        ).search(texts, top_k=top_k, threshold=threshold)
    if as_json:
        payload = [
            {"query": q, "hits": [hit.to_dict() for hit in hits]} for q, hits in zip(texts, results, strict=True)
        ]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        typer.echo(format_hits(texts, results))


@with_config_options(InferenceConfig())
def serve(
    ctx: typer.Context,
    directory: IndexDir,
    host: Annotated[str, typer.Option(help="Address to listen on (default: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_top_k: Annotated[int, typer.Option(help="The largest top_k a request may ask for.")] = 100,
    model: QueryModel = None,
    quiet: Quiet = False,
    **settings: Any,
) -> None:
    """Serve a search page and a JSON endpoint (/api/search?q=...&top_k=5) over an index.

    \b
    Example:
      simcse-st serve corpus-index --port 8000   # then open http://127.0.0.1:8000/
    """
    setup_logging(quiet)
    with cli_errors(ctx):
        from simcse_st.search import EmbeddingIndex
        from simcse_st.search.index_server import serve_index

        # serve_index logs the address it listens on (an info line: hidden by --quiet) and blocks until Ctrl-C.
        inference = config_from_options(ctx, settings, InferenceConfig())
        serve_index(
            EmbeddingIndex.load(directory, model=model, inference=inference), host=host, port=port, max_top_k=max_top_k
        )
