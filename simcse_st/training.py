"""``train_simcse``: the whole SimCSE run (model, data, loss, evaluator, Trainer) behind one function and the CLI."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any, Literal

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers.base.evaluation.evaluator import BaseEvaluator
from sentence_transformers.base.training_args import BatchSamplers
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments
from transformers import set_seed
from transformers.trainer_utils import get_last_checkpoint

from simcse_st.data.length_grouped_batch_sampler import LengthGroupedBatchSampler, token_length_fn
from simcse_st.data.reading import DecodeErrors, load_pairs, load_sentences
from simcse_st.hardware import resolve_bf16
from simcse_st.loss_state import LossStateCallback
from simcse_st.losses import DropoutContrastiveLoss
from simcse_st.modules import build_simcse_model, enable_fast_dropout, set_dropout

logger = logging.getLogger(__name__)

PoolingName = Literal["cls", "cls_before_pooler", "avg", "avg_top2", "avg_first_last", "mean"]
POOLINGS: tuple[str, ...] = ("cls", "cls_before_pooler", "avg", "avg_top2", "avg_first_last", "mean")
Batching = Literal["random", "length"]
DEFAULT_MODEL = "bert-base-uncased"


def build_model(
    model_name_or_path: str = DEFAULT_MODEL,
    pooling: PoolingName = "cls",
    max_seq_length: int = 32,
    device: str | None = None,
    mlp_only_train: bool = False,
    dropout: float | None = None,
) -> SentenceTransformer:
    """Encoder of ``model_name_or_path`` (a hub id, a HF model folder or a sentence-transformers folder) + a SimCSE
    pooler (:func:`simcse_st.modules.build_simcse_model`); ``"mean"`` is an alias of ``"avg"``.

    ``pooling="cls"`` is SimCSE's [CLS] + MLP: with ``mlp_only_train`` the model gets the raw [CLS] vector
    (``cls_before_pooler``) and the MLP lives in the loss (train only, not saved); without it the MLP is part of
    the model.

    Raises:
        OSError: The model is neither a local folder nor reachable on the Hugging Face hub; the message says how to
            pass a local model.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
    pooler = "avg" if pooling == "mean" else "cls_before_pooler" if pooling == "cls" and mlp_only_train else pooling
    return build_simcse_model(model_name_or_path, pooler, max_seq_length, device=device, dropout=dropout)


def _metric_key(evaluator: BaseEvaluator) -> str:
    """The Trainer's name for the evaluator's primary metric (``eval_`` + the name-prefixed metric)."""
    metric = evaluator.primary_metric
    if evaluator.name and not metric.startswith(evaluator.name + "_"):
        metric = f"{evaluator.name}_{metric}"
    return f"eval_{metric}"


def _prepare_output_dir(output_dir: Path, overwrite: bool, resume: bool) -> None:
    if output_dir.exists() and not output_dir.is_dir():
        raise NotADirectoryError(f"Output path {str(output_dir)!r} exists and is not a directory.")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not (overwrite or resume):
        raise FileExistsError(
            f"Output directory {str(output_dir)!r} is not empty; pass overwrite=True (CLI: --overwrite) to train into "
            "it anyway, or resume=True (CLI: --resume) to continue from its last checkpoint."
        )
    if overwrite and not resume and (output_dir / "checkpoints").is_dir():
        shutil.rmtree(output_dir / "checkpoints")  # stale checkpoints would be rotated into or resumed from
    output_dir.mkdir(parents=True, exist_ok=True)


def train_simcse(
    corpus: str | os.PathLike[str] | Dataset,
    output_dir: str | os.PathLike[str],
    model: str | SentenceTransformer = DEFAULT_MODEL,
    supervised: bool = False,
    pooling: PoolingName = "cls",
    epochs: float = 1.0,
    max_steps: int | None = None,
    batch_size: int = 64,
    learning_rate: float = 3e-5,
    max_seq_length: int = 32,
    temperature: float = 0.05,
    hard_negative_weight: float = 0.0,
    gather_across_devices: bool | None = None,
    mini_batch_size: int | None = None,
    batching: Batching = "length",
    mlp_only_train: bool | None = None,
    mlm_weight: float = 0.0,
    dropout: float | None = None,
    same_dropout_mask: bool = False,
    fast_dropout: bool = True,
    seed: int = 42,
    evaluator: BaseEvaluator | None = None,
    eval_steps: int = 125,
    save_steps: int | None = None,
    bf16: bool | None = None,
    overwrite: bool = False,
    resume: bool = False,
    decode_errors: DecodeErrors = "strict",
    logging_steps: int = 25,
    show_progress_bar: bool = True,
) -> dict[str, Any]:
    """Train SimCSE and save the model, a ``results.json`` and the model card into ``output_dir``.

    Unsupervised by default (one sentence per line in ``corpus``, read with :func:`simcse_st.load_sentences`);
    ``supervised=True`` reads a ``sent0,sent1[,hard_neg]`` CSV (:func:`simcse_st.data.load_pairs`). The defaults are
    the paper's unsupervised BERT-base settings: batch 64, lr 3e-5, 1 epoch, max_seq_length 32, temperature 0.05,
    linear decay without warmup, [CLS] pooling; for speed, batches are length-grouped, bf16 autocast is on where
    supported and dropout masks are drawn from 16-bit random numbers on CPU (``batching="random"``, ``bf16=False``,
    ``fast_dropout=False``: the paper's exact setting; together 3.3-3.5× the throughput of the sentence-transformers
    fp32 recipe at batch 64-128 on all-MiniLM-L6-v2, docs/performance.md). Batches never repeat a sentence and a last
    partial batch is dropped.

    With an ``evaluator`` (e.g. ``STSEvaluator(data_dir, mode="dev")``) it evaluates every ``eval_steps`` and keeps the
    best checkpoint by the evaluator's primary metric (STS-B dev Spearman), as the paper does. Checkpoints are
    written to ``output_dir/checkpoints`` every ``save_steps`` (default: ``eval_steps``), so an interrupted run loses
    at most that many steps; ``resume=True`` continues from the last one.

    Args:
        corpus: The training file, or a ready ``datasets.Dataset`` (one text column = unsupervised, two or more =
            anchor, positive[, hard negatives]; e.g. from :func:`simcse_st.augment_dataset`).
        output_dir: Where the final model, ``results.json`` and checkpoints go. Must be empty unless ``overwrite`` or
            ``resume``.
        model: A model name/path (built with :func:`build_model` and ``pooling``/``max_seq_length``) or a ready
            ``SentenceTransformer`` (used as is).
        gather_across_devices: All-gather the candidates across processes so every anchor sees the negatives of the
            global batch; ``None`` = on whenever the run is distributed (``torchrun``/``accelerate launch``).
        mini_batch_size: Train with GradCache in mini-batches of this size (memory of one mini-batch, a second
            forward pass); ``None``: plain.
        batching: ``"length"`` (default): random batches within token-length strata
            (:class:`simcse_st.data.LengthGroupedBatchSampler`), ~5% padding instead of ~34% on Wikipedia sentences
            and 1.3-1.5× faster steps; STS-B dev after 100 steps: 84.24 vs 84.40 (mean of 3 seeds, all-MiniLM-L6-v2,
            docs/performance.md). ``"random"``: the paper's random batches.
        pooling: SimCSE's poolers: ``cls`` ([CLS] + MLP), ``cls_before_pooler``, ``avg`` (= ``mean``), ``avg_top2``,
            ``avg_first_last``.
        mlp_only_train: With ``pooling="cls"``: the MLP is used in training only and not saved (the paper's
            unsupervised setting); ``None`` = on for unsupervised, off for supervised runs (the paper's defaults).
        mlm_weight: Weight of the auxiliary MLM loss (paper: 0.1 when used); 0 = off.
        dropout: Encoder dropout rate (hidden and attention); ``None`` keeps the checkpoint's (0.1 for BERT).
        same_dropout_mask: Give both views of a sentence the same dropout mask (the paper's "fixed 0.1" ablation).
        fast_dropout: On CPU, draw dropout masks from 16-bit random numbers (:func:`simcse_st.enable_fast_dropout`:
            the same Bernoulli noise up to 2^-16 in p, ~3× cheaper to draw, 1.3-1.4× faster bf16 steps on
            all-MiniLM-L6-v2); ``False``: PyTorch's native dropout. No effect on CUDA or on the saved model.
        bf16: bf16 autocast; ``None`` = on where the hardware supports it natively. The loss stays float32.

    Under ``torchrun --nproc_per_node N`` (or ``accelerate launch``) each process trains on its own batches of
    ``batch_size`` (the global batch is ``N × batch_size``); only the main process writes the model and results.

    Returns:
        The results written to ``results.json``: settings, steps, training loss, best metric and the eval history.
    """
    output_dir = Path(output_dir)
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (in-batch negatives), got {batch_size}.")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}.")
    if not learning_rate > 0 or not epochs > 0 or eval_steps < 1:
        raise ValueError("learning_rate and epochs must be > 0 and eval_steps >= 1.")
    if not isinstance(corpus, Dataset) and not Path(corpus).is_file():
        raise FileNotFoundError(f"Training file not found: {str(corpus)!r}")
    if int(os.environ.get("RANK", "0")) == 0 and output_dir.is_dir() and any(output_dir.iterdir()):
        _prepare_output_dir(output_dir, overwrite, resume)  # fail fast on a non-empty directory, before any work

    set_seed(seed)  # every random init below (heads of the loss, missing encoder weights) is a function of the seed
    if isinstance(corpus, Dataset):
        dataset = corpus
    else:
        dataset = (
            load_pairs(corpus, errors=decode_errors) if supervised else load_sentences(corpus, errors=decode_errors)
        )
    if len(dataset) < batch_size:
        raise ValueError(f"{corpus}: {len(dataset)} usable rows, fewer than one batch of {batch_size}.")
    if mlp_only_train is None:
        mlp_only_train = not supervised
    mlp_in_loss = mlp_only_train and pooling == "cls"
    if isinstance(model, SentenceTransformer):
        st_model, model_name = model, getattr(model.model_card_data, "base_model", None) or "custom"
        if dropout is not None:
            set_dropout(st_model, dropout)
    else:
        st_model = build_model(model, pooling, max_seq_length, mlp_only_train=mlp_in_loss, dropout=dropout)
        model_name = model
    if fast_dropout:
        enable_fast_dropout(st_model)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if gather_across_devices is None:
        gather_across_devices = world_size > 1
    loss = DropoutContrastiveLoss(
        st_model,
        temperature=temperature,
        hard_negative_weight=hard_negative_weight,
        gather_across_devices=gather_across_devices,
        mini_batch_size=mini_batch_size,
        mlp_only_train=mlp_in_loss,
        mlm_weight=mlm_weight,
        same_dropout_mask=same_dropout_mask,
    )
    if batching not in ("random", "length"):
        raise ValueError(f"batching must be 'random' or 'length', got {batching!r}.")

    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, only the main process prepares it
        _prepare_output_dir(output_dir, overwrite, resume)
    use_bf16 = resolve_bf16(bf16, st_model.device)
    save_steps = save_steps or eval_steps
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        num_train_epochs=epochs,
        max_steps=max_steps or -1,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        learning_rate=learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=0,
        weight_decay=0.0,
        seed=seed,
        data_seed=seed,
        bf16=use_bf16,
        use_cpu=st_model.device.type == "cpu",
        ddp_backend="gloo" if world_size > 1 and st_model.device.type == "cpu" else None,
        batch_sampler=BatchSamplers.NO_DUPLICATES
        if batching == "random"
        else partial(
            LengthGroupedBatchSampler, length_fn=token_length_fn(st_model.tokenizer, st_model.max_seq_length)
        ),
        dataloader_drop_last=True,
        eval_strategy="steps" if evaluator is not None else "no",
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=2,
        load_best_model_at_end=evaluator is not None,
        metric_for_best_model=_metric_key(evaluator) if evaluator is not None else None,
        greater_is_better=evaluator.greater_is_better if evaluator is not None else None,
        logging_steps=logging_steps,
        report_to="none",
        disable_tqdm=not show_progress_bar,
    )
    trainer = SentenceTransformerTrainer(
        model=st_model,
        args=args,
        train_dataset=dataset,
        loss=loss,
        evaluator=evaluator,
        callbacks=[LossStateCallback(loss)],  # the train-only MLP / MLM head go into the checkpoints too
    )
    checkpoint = get_last_checkpoint(args.output_dir) if resume and Path(args.output_dir).is_dir() else None
    if resume and checkpoint is None:
        logger.warning(f"resume: no checkpoint in {args.output_dir}; starting from scratch.")
    if checkpoint is not None:
        LossStateCallback.restore(loss, checkpoint)
    start = time.perf_counter()
    try:
        train_output = trainer.train(resume_from_checkpoint=checkpoint)
    except KeyboardInterrupt:
        last = get_last_checkpoint(args.output_dir) if Path(args.output_dir).is_dir() else None
        logger.warning(
            f"Interrupted. Last checkpoint: {last or 'none yet'}; continue with resume=True (CLI: --resume)."
        )
        raise
    seconds = time.perf_counter() - start

    # every evaluation: the step and all the evaluator's metrics (e.g. STS-B dev Spearman, align_loss, uniform_loss)
    history = [
        {
            "step": entry["step"],
            **{
                key: value
                for key, value in entry.items()
                if key.startswith("eval_")
                and not any(
                    key.endswith(suffix) for suffix in ("_runtime", "_samples_per_second", "_steps_per_second")
                )
            },
        }
        for entry in trainer.state.log_history
        if args.metric_for_best_model is not None and args.metric_for_best_model in entry
    ]
    results: dict[str, Any] = {
        "model": model_name,
        "corpus": str(corpus) if not isinstance(corpus, Dataset) else f"<Dataset: {', '.join(corpus.column_names)}>",
        "mode": "supervised" if supervised else "unsupervised",
        "rows": len(dataset),
        "settings": {
            "pooling": pooling,
            "dropout": dropout,
            "epochs": epochs,
            "max_steps": max_steps,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "max_seq_length": st_model.max_seq_length,
            "seed": seed,
            "bf16": use_bf16,
            "batching": batching,
            "fast_dropout": fast_dropout,
            **loss.get_config_dict(),
        },
        "global_step": trainer.state.global_step,
        "train_loss": train_output.training_loss,
        "train_seconds": round(seconds, 2),
        "best_metric_name": args.metric_for_best_model,
        "best_metric": trainer.state.best_metric,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "eval_history": history,
        "device": str(st_model.device),
        "world_size": world_size,
        "torch_threads": torch.get_num_threads(),
    }
    if trainer.is_world_process_zero():  # under torchrun, one process writes the model and results
        st_model.save(str(output_dir))
        (output_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results
