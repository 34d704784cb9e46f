"""``simcse-st train``: a thin layer over :func:`simcse_st.training.train_simcse`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from simcse_st.cli.common import DecodeErrorsOption, Quiet, cli_errors, setup_logging

if TYPE_CHECKING:
    from simcse_st.evaluation import STSEvaluator

# The library is imported inside the command, so that --help and --version stay fast; these two mirror
# simcse_st.training.DEFAULT_MODEL and POOLINGS (a test checks that they agree).
DEFAULT_MODEL = "bert-base-uncased"
Pooling = Literal["cls", "cls_before_pooler", "avg", "avg_top2", "avg_first_last", "mean"]
EVAL_NAME = "sts-dev"


def train(
    corpus: Annotated[
        Path,
        typer.Argument(
            metavar="CORPUS",
            help="Training file: one sentence per line (.txt; or .csv/.tsv/.jsonl with a text column; .gz ok); "
            "with --supervised a .csv/.tsv with the header sent0,sent1[,hard_neg].",
            show_default=False,
        ),
    ],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Base model: a hub id or a local model folder.")
    ] = DEFAULT_MODEL,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output directory: final model, results.json, checkpoints/.")
    ] = Path("runs/simcse"),
    supervised: Annotated[
        bool, typer.Option(help="Supervised SimCSE on (sent0, sent1[, hard_neg]) rows, like nli_for_simcse.csv.")
    ] = False,
    epochs: Annotated[float, typer.Option(help="Training epochs.")] = 1.0,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps (overrides --epochs).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", help="Sentences per batch (>= 2).")] = 64,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate (linear decay, no warmup).")] = 3e-5,
    max_seq_length: Annotated[int, typer.Option(help="Tokens per sentence; longer ones are truncated.")] = 32,
    temperature: Annotated[float, typer.Option(help="Softmax temperature τ of the contrastive loss.")] = 0.05,
    hard_negative_weight: Annotated[
        float, typer.Option(help="α added to the logit of each anchor's own hard negative (supervised).")
    ] = 0.0,
    pooling: Annotated[
        Pooling,
        typer.Option(
            help="SimCSE pooler: cls = [CLS] + MLP (unsupervised: MLP in training only), cls_before_pooler = raw "
            "[CLS], avg (= mean), avg_top2, avg_first_last."
        ),
    ] = "cls",
    mlp_only_train: Annotated[
        bool | None,
        typer.Option(
            "--mlp-only-train/--no-mlp-only-train",
            help="With --pooling cls: use the MLP in training only, not in the saved model (default: on for "
            "unsupervised, off for --supervised, as in the paper).",
        ),
    ] = None,
    mlm_weight: Annotated[float, typer.Option(help="Weight of the auxiliary MLM loss (paper: 0.1); 0 = off.")] = 0.0,
    dropout: Annotated[
        float | None, typer.Option(help="Encoder dropout rate (default: the checkpoint's, 0.1 for BERT).")
    ] = None,
    batching: Annotated[
        Literal["random", "length"],
        typer.Option(
            help="length = random batches within token-length strata (~5% padding instead of ~34%, faster; the "
            "default) or random batches (the paper)."
        ),
    ] = "length",
    mini_batch_size: Annotated[
        int | None, typer.Option(help="GradCache: compute the loss in mini-batches of N (less memory, slower).")
    ] = None,
    gather: Annotated[
        bool | None,
        typer.Option(
            "--gather/--no-gather",
            help="Under torchrun: use the negatives of all processes (default: on when distributed).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (data order, dropout, initialisation).")] = 42,
    eval_data: Annotated[
        Path | None,
        typer.Option(
            help="SentEval-style data directory: evaluate STS-B dev every --eval-steps and keep the best checkpoint."
        ),
    ] = None,
    eval_steps: Annotated[int, typer.Option(help="Evaluate every N steps (paper: 250, SimCSE scripts: 125).")] = 125,
    save_steps: Annotated[
        int | None, typer.Option(help="Write a checkpoint every N steps (default: --eval-steps).")
    ] = None,
    logging_steps: Annotated[int, typer.Option(help="Log the training loss every N steps.")] = 25,
    bf16: Annotated[
        bool | None,
        typer.Option("--bf16/--no-bf16", help="bf16 autocast (default: on where the hardware runs it natively)."),
    ] = None,
    fast_dropout: Annotated[
        bool,
        typer.Option(
            "--fast-dropout/--native-dropout",
            help="On CPU, draw dropout masks from 16-bit random numbers (same noise, 1.3-1.4x faster bf16 steps; the "
            "default) or use PyTorch's native dropout.",
        ),
    ] = True,
    overwrite: Annotated[bool, typer.Option(help="Train into a non-empty --output directory.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in --output.")] = False,
    decode_errors: DecodeErrorsOption = "strict",
    quiet: Quiet = False,
) -> None:
    """Train a SimCSE model (unsupervised by default, with the paper's settings).

    Writes to --output a model that SentenceTransformer(output) loads, results.json (settings, steps, loss, STS-B
    dev curve) and the model card (README.md). Ctrl-C keeps the last checkpoint; rerun with --resume to continue.

    \b
    Example:
      simcse-st train wiki1m_for_simcse.txt --model bert-base-uncased --output runs/unsup-bert \\
          --eval-data ../shared/data --eval-steps 125
    """
    setup_logging(quiet)
    with cli_errors():
        from transformers.trainer_utils import get_last_checkpoint

        from simcse_st.training import train_simcse

        evaluator = _dev_evaluator(eval_data) if eval_data is not None else None
        try:
            results = train_simcse(
                corpus,
                output,
                model=model,
                supervised=supervised,
                pooling=pooling,
                epochs=epochs,
                max_steps=max_steps,
                batch_size=batch_size,
                learning_rate=lr,
                max_seq_length=max_seq_length,
                temperature=temperature,
                hard_negative_weight=hard_negative_weight,
                gather_across_devices=gather,
                mini_batch_size=mini_batch_size,
                batching=batching,
                mlp_only_train=mlp_only_train,
                mlm_weight=mlm_weight,
                dropout=dropout,
                fast_dropout=fast_dropout,
                seed=seed,
                evaluator=evaluator,
                eval_steps=eval_steps,
                save_steps=save_steps,
                bf16=bf16,
                overwrite=overwrite,
                resume=resume,
                decode_errors=decode_errors,
                logging_steps=logging_steps,
                show_progress_bar=not quiet,
            )
        except KeyboardInterrupt:
            checkpoints = output / "checkpoints"
            last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
            where = f"the last checkpoint is {last}" if last else "no checkpoint was written yet"
            typer.echo(f"Interrupted: {where}. Run the same command with --resume to continue.", err=True)
            raise typer.Exit(130) from None
    if os.environ.get("RANK", "0") == "0":  # under torchrun, the main process reports
        typer.echo(_summary(results, output))


def _dev_evaluator(data_dir: Path) -> STSEvaluator:
    """STS-B dev, the paper's checkpoint selection (SICK-R trial left out: it is not what the paper selects on)."""
    from simcse_st.evaluation import STSEvaluator

    return STSEvaluator(data_dir=data_dir, mode="dev", tasks=["stsb"], batch_size=128, name=EVAL_NAME)


def _summary(results: dict[str, Any], output: Path) -> str:
    lines = [
        f"Saved the model to {output} ({results['global_step']} steps in {results['train_seconds']:.0f} s, "
        f"training loss {results['train_loss']:.4f}); results in {output / 'results.json'}."
    ]
    metric = results.get("best_metric_name")
    if metric and results.get("eval_history"):
        curve = ", ".join(f"{entry['step']}: {100 * entry[metric]:.2f}" for entry in results["eval_history"])
        lines.append(f"STS-B dev Spearman ×100 by step: {curve}")
        best = results.get("best_metric")
        if best is not None:
            lines.append(f"Best: {100 * best:.2f} ({results.get('best_checkpoint')}); the saved model is that one.")
    return "\n".join(lines)
