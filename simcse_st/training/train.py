"""``train_simcse``: one SimCSE run (data, model, loss, evaluator, Trainer) from a :class:`SimCSEConfig`.

The path of a run: the corpus is read (:mod:`simcse_st.data.reading`) and, for Table 1's positives, augmented; the
model is built from ``config`` (:func:`build_model`) or taken ready; the loss is built from ``config``
(:func:`build_loss`); the Trainer gets its arguments from ``config`` (:func:`training_arguments`), with the
length-grouped or no-duplicates batch sampler; the best checkpoint by the evaluator is loaded at the end and saved
with ``results.json``, which holds ``config.to_dict()`` so that ``SimCSEConfig.from_json`` repeats the run.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from contextlib import nullcontext
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers.base.evaluation.evaluator import BaseEvaluator
from sentence_transformers.base.training_args import BatchSamplers
from sentence_transformers.sentence_transformer.evaluation import SequentialEvaluator
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments
from transformers import TrainerState, set_seed
from transformers.trainer_utils import TrainOutput

from simcse_st.data.augmentation import augment_dataset
from simcse_st.data.hold_out import DEV_SENTENCES_FILE, hold_out
from simcse_st.data.length_grouped_batch_sampler import LengthGroupedBatchSampler, token_length_fn
from simcse_st.data.names import DecodeErrors
from simcse_st.data.reading import load_pairs, load_sentences
from simcse_st.evaluation.corpus_dev_evaluator import CorpusDevEvaluator
from simcse_st.losses import DropoutContrastiveLoss
from simcse_st.modules.build import build_prompt_model, build_simcse_model, max_positions, reinitialize_encoder
from simcse_st.modules.dropout import set_dropout
from simcse_st.modules.fast_dropout_attention import enable_fast_dropout
from simcse_st.modules.prompt_transformer import prompt_module
from simcse_st.training.checkpoint_check import newest_complete_checkpoint
from simcse_st.training.distributed import is_main_process, world_size
from simcse_st.training.final_save import is_disk_full, save_final
from simcse_st.training.finite_training_callback import FiniteTrainingCallback
from simcse_st.training.loss_state_callback import LOSS_STATE_FILE, LossStateCallback, loss_only_state
from simcse_st.training.output_dir import CHECKPOINTS, OutputDirLock, last_checkpoint, prepare_output_dir
from simcse_st.training.precision import resolve_bf16
from simcse_st.training.simcse_config import SimCSEConfig
from simcse_st.training.training_interrupted import TrainingInterrupted

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "bert-base-uncased"
_TIMING_SUFFIXES = ("_runtime", "_samples_per_second", "_steps_per_second")


def build_model(model_name_or_path: str, config: SimCSEConfig, device: str | None = None) -> SentenceTransformer:
    """The encoder of ``model_name_or_path`` with ``config``'s pooler (:attr:`SimCSEConfig.saved_pooler`: the raw
    [CLS] when the MLP lives in the loss), ``max_seq_length`` and ``dropout``; with ``init="random"`` the encoder's
    weights are re-initialised (seeded by ``config.seed``).

    Raises:
        OSError: The model is neither a local folder nor reachable on the Hugging Face hub; the message says how to
            pass a local model.
    """
    if config.prompt_template is not None:
        model = build_prompt_model(
            model_name_or_path,
            config.prompt_template,
            config.prompt_denoising,
            config.max_seq_length,
            device=device,
            dropout=config.dropout,
            mlp=config.saved_pooler == "cls",
        )
    else:
        model = build_simcse_model(
            model_name_or_path, config.saved_pooler, config.max_seq_length, device=device, dropout=config.dropout
        )
    if config.init == "random":
        reinitialize_encoder(model, config.seed)
    return model


def build_loss(model: SentenceTransformer, config: SimCSEConfig) -> DropoutContrastiveLoss:
    """:class:`DropoutContrastiveLoss` with ``config``'s settings; the negatives are gathered across processes when
    ``gather_across_devices`` is ``None`` and the run is distributed."""
    gather = config.gather_across_devices
    return DropoutContrastiveLoss(
        model,
        temperature=config.temperature,
        hard_negative_weight=config.hard_negative_weight,
        gather_across_devices=world_size() > 1 if gather is None else gather,
        mini_batch_size=config.mini_batch_size,
        mlp_only_train=config.mlp_in_loss,
        mlm_weight=config.mlm_weight,
        mlm_probability=config.mlm_probability,
        same_dropout_mask=config.same_dropout_mask,
        repetition_rate=config.repetition_rate,
        queue_size=config.queue_size,
        momentum=config.momentum,
        off_dropout_negatives=config.off_dropout_negatives,
        dcl_weight=config.dcl_weight,
        dcl_temperature=config.dcl_temperature,
        intermediate_layers=config.intermediate_layers,
        positive_template=config.positive_template,
    )


def training_arguments(
    config: SimCSEConfig,
    output_dir: Path,
    model: SentenceTransformer,
    evaluator: BaseEvaluator | None,
    bf16: bool,
    show_progress_bar: bool = True,
) -> SentenceTransformerTrainingArguments:
    """The Trainer's arguments for ``config``: the paper's schedule (linear decay, no warmup, no weight decay), full
    batches without duplicates, checkpoints in ``output_dir/checkpoints`` and the best one loaded at the end."""
    on_cpu = model.device.type == "cpu"
    if config.batching == "random":
        sampler: Any = BatchSamplers.NO_DUPLICATES
    else:
        sampler = partial(LengthGroupedBatchSampler, length_fn=token_length_fn(model.tokenizer, model.max_seq_length))
    return SentenceTransformerTrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=0,
        weight_decay=0.0,
        seed=config.seed,
        data_seed=config.seed,
        bf16=bf16,
        use_cpu=on_cpu,
        ddp_backend="gloo" if world_size() > 1 and on_cpu else None,
        batch_sampler=sampler,
        dataloader_drop_last=True,
        eval_strategy="steps" if evaluator is not None else "no",
        eval_steps=config.eval_steps,
        save_strategy="steps",
        save_steps=config.effective_save_steps,
        save_total_limit=2,
        load_best_model_at_end=evaluator is not None,
        metric_for_best_model=metric_key(evaluator) if evaluator is not None else None,
        greater_is_better=evaluator.greater_is_better if evaluator is not None else None,
        logging_steps=config.logging_steps,
        report_to="none",
        disable_tqdm=not show_progress_bar,
    )


def metric_key(evaluator: BaseEvaluator) -> str:
    """The Trainer's name for the evaluator's primary metric (``eval_`` + the name-prefixed metric)."""
    metric = evaluator.primary_metric
    name = getattr(evaluator, "name", "")  # BaseEvaluator does not define it; its subclasses usually do
    if name and not metric.startswith(name + "_"):
        metric = f"{name}_{metric}"
    return f"eval_{metric}"


def train_simcse(
    corpus: str | os.PathLike[str] | Dataset,
    output_dir: str | os.PathLike[str],
    config: SimCSEConfig | None = None,
    *,
    model: str | SentenceTransformer | None = None,
    evaluator: BaseEvaluator | None = None,
    overwrite: bool = False,
    resume: bool = False,
    decode_errors: DecodeErrors = "strict",
    show_progress_bar: bool = True,
    **settings: Any,
) -> dict[str, Any]:
    """Train SimCSE with ``config`` and save the model, ``results.json`` and the model card into ``output_dir``.

    Unsupervised by default (one sentence per line in ``corpus``, read with :func:`simcse_st.load_sentences`);
    ``config.supervised`` reads a ``sent0,sent1[,hard_neg]`` CSV (:func:`simcse_st.load_pairs`). Every setting of
    the method is a field of :class:`SimCSEConfig` (its defaults: the paper's unsupervised recipe plus measured
    speed-ups); the keywords here only say where and how to run.

    With an ``evaluator`` (e.g. :func:`simcse_st.sts_dev_evaluator`) it evaluates every ``config.eval_steps`` and the
    saved model is the best checkpoint by the evaluator's primary metric (STS-B dev Spearman), as the paper selects.
    Checkpoints go to ``output_dir/checkpoints`` every ``config.save_steps``; ``resume=True`` continues from the last.
    A run is a function of ``config.seed``: the same config, data and model give the same weights.

    Args:
        corpus: The training file, or a ready ``datasets.Dataset`` (one text column = unsupervised, two or more =
            anchor, positive[, hard negatives]).
        output_dir: Where the final model, ``results.json`` and checkpoints go. Must be empty unless ``overwrite``
            or ``resume``.
        config: The settings; ``None`` = ``SimCSEConfig()``.
        model: A model name/path, built with :func:`build_model` from ``config``, or a ready ``SentenceTransformer``
            (its modules are used as they are; ``config``'s ``max_seq_length`` and ``dropout`` are applied to it).
            ``None``: ``bert-base-uncased``.
        evaluator: Evaluated every ``eval_steps``; selects the saved checkpoint. With ``config.dev_from_corpus``
            the label-free :class:`~simcse_st.evaluation.CorpusDevEvaluator` over the held-out sentences is the
            evaluator when none is given, and is evaluated (logged, not selecting) next to a given one.
        overwrite: Train into a non-empty ``output_dir`` (the checkpoints a previous run wrote there are removed).
        resume: Continue from the last checkpoint in ``output_dir``.
        decode_errors: Lines of ``corpus`` that are not UTF-8: ``"strict"`` (error), ``"skip"``, ``"replace"``.
        show_progress_bar: Show the Trainer's progress bar.
        settings: Deprecated: fields of :class:`SimCSEConfig` as keywords (``batch_size=32``), applied over
            ``config`` with a ``FutureWarning``.

    Under ``torchrun --nproc_per_node N`` each process trains on its own batches of ``batch_size`` (the global batch
    is ``N × batch_size``); only the main process writes the model and results.

    Returns:
        The results written to ``results.json``: ``config``, the ``resolved`` settings, the loss's settings, steps,
        training loss, best metric and checkpoint, and the eval history.

    Raises:
        TrainingInterrupted: Ctrl-C; the last checkpoint is kept (``error.checkpoint``) for ``resume=True``.
    """
    config = with_deprecated_settings(config, settings)
    output_dir = Path(output_dir)
    if not isinstance(corpus, Dataset) and Path(corpus).is_dir():
        raise IsADirectoryError(f"The training corpus {str(corpus)!r} is a directory; name a file.")
    if not isinstance(corpus, Dataset) and not Path(corpus).is_file():
        raise FileNotFoundError(f"Training file not found: {str(corpus)!r}")
    if output_dir.exists() and not output_dir.is_dir():
        raise NotADirectoryError(f"Output path {str(output_dir)!r} exists and is not a directory.")
    with OutputDirLock(output_dir) if is_main_process() else nullcontext():  # one run at a time in output_dir
        return _train(
            corpus, output_dir, config, model, evaluator, overwrite, resume, decode_errors, show_progress_bar
        )


def _train(
    corpus: str | os.PathLike[str] | Dataset,
    output_dir: Path,
    config: SimCSEConfig,
    model: str | SentenceTransformer | None,
    evaluator: BaseEvaluator | None,
    overwrite: bool,
    resume: bool,
    decode_errors: DecodeErrors,
    show_progress_bar: bool,
) -> dict[str, Any]:
    if is_main_process():  # fail fast on a non-empty directory, before any work; under torchrun the main one only
        prepare_output_dir(output_dir, overwrite, resume)

    set_seed(config.seed)  # every random init below (the loss's heads, missing encoder weights) follows the seed
    st_model, model_name = _prepare_model(model, config)
    _check_max_seq_length(st_model, config)
    dataset = _load_corpus(corpus, config, decode_errors, st_model)
    if config.dev_from_corpus:
        dataset, evaluator = _corpus_dev(dataset, config, evaluator, output_dir)
    dataset = _positives(dataset, config, st_model)
    if len(dataset) < config.batch_size:
        raise ValueError(
            f"{corpus}: {len(dataset)} usable rows, fewer than one batch (batch_size={config.batch_size})."
        )
    if config.fast_dropout:
        enable_fast_dropout(st_model)
    loss = build_loss(st_model, config)

    use_bf16 = resolve_bf16(config.bf16, st_model.device)
    args = training_arguments(config, output_dir, st_model, evaluator, use_bf16, show_progress_bar)
    trainer = SentenceTransformerTrainer(
        model=st_model,
        args=args,
        train_dataset=dataset,
        loss=loss,
        evaluator=evaluator,
        callbacks=[
            LossStateCallback(loss),  # the train-only MLP / MLM head go into the checkpoints too
            FiniteTrainingCallback(loss),  # a NaN/inf loss, gradient or weight stops the run before it is saved
        ],
    )
    extra = (LOSS_STATE_FILE,) if loss_only_state(loss) else ()
    checkpoint = newest_complete_checkpoint(output_dir / CHECKPOINTS, extra) if resume else None
    if resume and checkpoint is None and last_checkpoint(output_dir) is None:  # (incomplete ones: warned about)
        logger.warning(f"resume: no checkpoint in {args.output_dir}; starting from scratch.")
    if checkpoint is not None:
        LossStateCallback.restore(loss, checkpoint)
    start = time.perf_counter()
    try:
        if _already_complete(checkpoint, config):  # killed after its last checkpoint: finish, do not train on
            train_output = _finish_from(trainer, Path(checkpoint), evaluator is not None)  # type: ignore[arg-type]
        else:
            train_output = trainer.train(resume_from_checkpoint=checkpoint)
    except KeyboardInterrupt:
        raise TrainingInterrupted(last_checkpoint(output_dir)) from None
    except Exception as error:
        if not is_disk_full(error):
            raise
        raise OSError(
            f"The disk is full: a checkpoint could not be written in {str(output_dir / CHECKPOINTS)!r}. Free space "
            "and run again with resume=True (the newest complete checkpoint is used)."
        ) from error
    results: dict[str, Any] = {
        "model": model_name,
        "corpus": str(corpus) if not isinstance(corpus, Dataset) else f"<Dataset: {', '.join(corpus.column_names)}>",
        "mode": "supervised" if config.supervised else "unsupervised",
        "rows": len(dataset),
        "config": config.to_dict(),
        "resolved": {
            "bf16": use_bf16,
            "mlp_in_loss": config.mlp_in_loss,
            "saved_pooler": config.saved_pooler if not isinstance(model, SentenceTransformer) else None,
            "max_seq_length": st_model.max_seq_length,
            "save_steps": config.effective_save_steps,
        },
        "loss": loss.get_config_dict(),
        "global_step": trainer.state.global_step,
        **_whole_run_loss(
            trainer.state.log_history, train_output.training_loss, checkpoint, trainer.state.global_step
        ),
        "train_seconds": round(time.perf_counter() - start, 2),
        "best_metric_name": args.metric_for_best_model,
        "best_metric": trainer.state.best_metric,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "eval_history": _eval_history(trainer.state.log_history, args.metric_for_best_model),
        "device": str(st_model.device),
        "world_size": world_size(),
        "torch_threads": torch.get_num_threads(),
    }
    if is_main_process():  # under torchrun, one process writes the model and results
        save_final(st_model, results, output_dir)
    return results


def with_deprecated_settings(
    config: SimCSEConfig | None, settings: dict[str, Any], caller: str = "train_simcse"
) -> SimCSEConfig:
    """``config`` (``None``: the defaults) with the old keyword settings applied, with a ``FutureWarning``."""
    if config is not None and not isinstance(config, SimCSEConfig):
        raise TypeError(
            f"config must be a SimCSEConfig, got {type(config).__name__}; pass the model as model=... "
            "(the third positional parameter is the config since 0.2)."
        )
    config = config or SimCSEConfig()
    if settings:
        warnings.warn(
            f"{caller}({', '.join(f'{k}=...' for k in settings)}): pass the settings in the config instead, "
            "e.g. config=SimCSEConfig(batch_size=32); the keywords will be removed in a later release.",
            FutureWarning,
            stacklevel=3,
        )
        config = replace(config, **settings)
    return config


def _load_corpus(
    corpus: str | os.PathLike[str] | Dataset, config: SimCSEConfig, errors: DecodeErrors, model: SentenceTransformer
) -> Dataset:
    if isinstance(corpus, Dataset):
        if config.corpus_filters:
            raise ValueError(
                "min_length, max_length, length_unit and unicode_normalization filter a corpus file; a ready Dataset "
                "is trained on as it is (filter it first, or pass the file)."
            )
        return corpus
    if config.supervised:
        return load_pairs(corpus, errors=errors)
    tokenizer = model.tokenizer
    return load_sentences(
        corpus,
        errors=errors,
        min_words=config.min_length,
        max_words=config.max_length,
        length_unit=config.length_unit,
        normalization=config.unicode_normalization,
        token_length=lambda text: len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]),
    )


def _corpus_dev(
    dataset: Dataset, config: SimCSEConfig, evaluator: BaseEvaluator | None, output_dir: Path
) -> tuple[Dataset, BaseEvaluator]:
    """Hold out ``config.dev_from_corpus`` sentences (written to ``output_dir``) for a :class:`CorpusDevEvaluator`;
    it is the evaluator, or, next to a given one, evaluated first while the given one still selects checkpoints."""
    dataset, held_out = hold_out(dataset, config.dev_from_corpus, config.seed, min_train=config.batch_size)
    if is_main_process():
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / DEV_SENTENCES_FILE).write_text("".join(f"{text}\n" for text in held_out), encoding="utf-8")
    corpus_dev = CorpusDevEvaluator(held_out, seed=config.seed, batch_size=max(config.batch_size, 64))
    if evaluator is None:
        return dataset, corpus_dev
    both = SequentialEvaluator([corpus_dev, evaluator])  # returns both evaluators' metrics, merged
    both.primary_metric = metric_key(evaluator).removeprefix("eval_")  # the given one selects, under its own name
    both.greater_is_better = evaluator.greater_is_better
    return dataset, both


def _prepare_model(model: str | SentenceTransformer | None, config: SimCSEConfig) -> tuple[SentenceTransformer, str]:
    if not isinstance(model, SentenceTransformer):
        name = DEFAULT_MODEL if model is None else os.fspath(model)
        return build_model(name, config), name
    model.max_seq_length = config.max_seq_length
    if config.prompt_template is not None:
        prompt = prompt_module(model)  # a ready model must already be PromptBERT's; its own template is kept
        if prompt.template != config.prompt_template:
            raise ValueError(
                f"prompt_template={config.prompt_template!r} is invalid: the model's PromptTransformer uses "
                f"{prompt.template!r}."
            )
    if config.dropout is not None:
        set_dropout(model, config.dropout)  # how the Table 3 ablation sets p on its ready models
    return model, model_source(model)


def model_source(model: SentenceTransformer) -> str:
    """Where a ready model's encoder came from (its hub id or folder, as ``results.json`` records it so that
    ``--config results.json`` trains the same model again); ``"custom"`` when unknown."""
    base = getattr(model.model_card_data, "base_model", None)
    encoder = getattr(model[0], "auto_model", None) if len(model) else None
    return base or getattr(getattr(encoder, "config", None), "_name_or_path", None) or "custom"


def _check_max_seq_length(model: SentenceTransformer, config: SimCSEConfig) -> None:
    """Refuse a ``max_seq_length`` beyond the encoder's position embeddings before any work (it would fail mid-run)."""
    limit = max_positions(model)
    if limit is not None and config.max_seq_length > limit:
        raise ValueError(
            f"max_seq_length={config.max_seq_length} is invalid: the model has {limit} positions at most."
        )


def _positives(dataset: Dataset, config: SimCSEConfig, model: SentenceTransformer) -> Dataset:
    """The dataset, or with ``config.augmentation`` the (sentence, augmented sentence) pairs of Table 1."""
    if config.augmentation is None:
        return dataset
    fill_model = None
    if config.fill_model is not None:
        from transformers import AutoModelForMaskedLM

        fill_model = AutoModelForMaskedLM.from_pretrained(config.fill_model).eval()
    return augment_dataset(
        dataset,
        config.augmentation,
        config.augmentation_ratio,
        seed=config.seed,
        tokenizer=model.tokenizer,
        fill_model=fill_model,
    )


def _already_complete(checkpoint: str | None, config: SimCSEConfig) -> bool:
    if checkpoint is None or config.max_steps is None:
        return False
    return int(Path(checkpoint).name.rsplit("-", 1)[1]) >= config.max_steps


def _finish_from(trainer: SentenceTransformerTrainer, checkpoint: Path, load_best: bool) -> TrainOutput:
    """A run whose last checkpoint is already at ``max_steps`` (the Trainer would train one step more): take its
    state, load its model (the best checkpoint's with an evaluator, as ``load_best_model_at_end`` would)."""
    logger.info(f"resume: {checkpoint.name} is already at max_steps; finishing the run without training.")
    trainer.state = TrainerState.load_from_json(str(checkpoint / "trainer_state.json"))
    best = trainer.state.best_model_checkpoint
    source = Path(best) if load_best and best and Path(best).is_dir() else checkpoint
    finished = SentenceTransformer(str(source), device=str(trainer.model.device))
    trainer.model.load_state_dict(finished.state_dict())
    return TrainOutput(trainer.state.global_step, float("nan"), {})


def _whole_run_loss(
    log_history: list[dict[str, Any]], session_loss: float, checkpoint: str | None, end: int
) -> dict[str, Any]:
    """The mean training loss over every step of the run, also across resumes (the Trainer's own covers only the
    steps since the last resume): the logged window means up to the checkpoint, weighted by their lengths, plus this
    session's mean. When the checkpoint's step is not a logging step the earlier part cannot be recovered exactly;
    ``train_loss_steps`` then says which steps ``train_loss`` covers."""
    start = int(Path(checkpoint).name.rsplit("-", 1)[1]) if checkpoint else 0
    if start == 0:
        return {"train_loss": session_loss, "train_loss_steps": [1, end]}
    logged = [(entry["step"], entry["loss"]) for entry in log_history if "loss" in entry and entry["step"] <= start]
    if not logged or logged[-1][0] != start:  # the steps before the checkpoint are not all in the log
        return {"train_loss": session_loss if start < end else None, "train_loss_steps": [start + 1, end]}
    earlier, previous = 0.0, 0
    for step, loss in logged:
        earlier += loss * (step - previous)
        previous = step
    trained = end - start  # 0 when the checkpoint was already at the end
    total = earlier + (session_loss * trained if trained else 0.0)
    return {"train_loss": total / end, "train_loss_steps": [1, end]}


def _eval_history(log_history: list[dict[str, Any]], metric: str | None) -> list[dict[str, Any]]:
    """Every evaluation: its step and all the evaluator's metrics (STS-B dev Spearman, align_loss, uniform_loss)."""
    return [
        {
            "step": entry["step"],
            **{
                key: value
                for key, value in entry.items()
                if key.startswith("eval_") and not key.endswith(_TIMING_SUFFIXES)
            },
        }
        for entry in log_history
        if metric is not None and metric in entry
    ]
