"""``SimCSEConfig``: every setting of a SimCSE run, declared once, validated once.

The Python API (:func:`simcse_st.training.train_simcse`), the command line (``simcse-st train`` reads each option's
type, default and help from these fields) and the ablation runner (each row is ``dataclasses.replace`` of one
baseline) all read their settings from here. Importing this module imports no torch.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

from simcse_st.data.names import (
    AUGMENTATION_METHODS,
    BATCHINGS,
    LENGTH_UNITS,
    RATIO_METHODS,
    UNICODE_NORMALIZATIONS,
    AugmentationMethod,
    Batching,
    LengthUnit,
    UnicodeNormalization,
)
from simcse_st.modules.names import POOLINGS, PoolerName, PoolingName

Init = Literal["pretrained", "random"]
INITS: tuple[str, ...] = get_args(Init)
MAX_SEED = 2**32 - 1  # numpy's seed range, which transformers.set_seed also seeds


@dataclass(frozen=True)
class SimCSEConfig:
    """The settings of one SimCSE run; the defaults are the paper's unsupervised BERT-base recipe plus three speed-ups.

    Every field has a type, a default and a help line (``dataclasses.fields(SimCSEConfig)[i].metadata["help"]``).
    ``__post_init__`` checks each field and each combination and raises a ``ValueError`` of the form
    ``"name=value is invalid: what is allowed."``. The rules that follow from several fields (does the MLP live in
    the loss or in the saved model?) are the properties :attr:`mlp_in_loss` and :attr:`saved_pooler`, derived in one
    place. The config is frozen: derive variants with ``dataclasses.replace(config, batch_size=128)``.

    The speed-ups (``batching="length"``, ``bf16=None`` = on where native, ``fast_dropout=True``) were each measured
    within 0.2 STS-B dev points of the paper's exact setting (``batching="random"``, ``bf16=False``,
    ``fast_dropout=False``); see docs/performance.md.

    Example:
        ::

            from dataclasses import replace
            from simcse_st.training import SimCSEConfig, train_simcse

            config = SimCSEConfig(batch_size=128, learning_rate=5e-5)
            train_simcse("corpus.txt", "runs/simcse", config, model="bert-base-uncased")
            again = SimCSEConfig.from_json("runs/simcse/results.json")  # the same run, exactly
            assert again == config and replace(config, seed=1).seed == 1
    """

    # --- the method -------------------------------------------------------------------------------------------
    supervised: bool = field(
        default=False,
        metadata={
            "help": "Supervised SimCSE on (sent0, sent1[, hard_neg]) rows, like nli_for_simcse.csv; default: "
            "unsupervised (one sentence per row, the positive is its second dropout view)."
        },
    )
    pooling: PoolingName = field(
        default="cls",
        metadata={
            "help": "SimCSE pooler: cls = [CLS] + MLP (unsupervised: the MLP in training only), cls_before_pooler = "
            "raw [CLS], avg (= mean), avg_top2, avg_first_last."
        },
    )
    mlp_only_train: bool | None = field(
        default=None,
        metadata={
            "help": "With pooling cls: use the MLP in training only, not in the saved model; None = on for "
            "unsupervised, off for supervised runs (the paper's defaults)."
        },
    )
    temperature: float = field(
        default=0.05, metadata={"help": "Softmax temperature τ of the contrastive loss (paper: 0.05)."}
    )
    hard_negative_weight: float = field(
        default=0.0,
        metadata={"help": "α added to the logit of each anchor's own hard negative (supervised; paper: 0)."},
    )
    mlm_weight: float = field(
        default=0.0, metadata={"help": "Weight λ of the auxiliary MLM loss (paper: 0.1 when used); 0 = off."}
    )
    mlm_probability: float = field(
        default=0.15, metadata={"help": "Share of the tokens masked for the MLM loss (BERT, SimCSE: 0.15)."}
    )
    dropout: float | None = field(
        default=None,
        metadata={
            "help": "Encoder dropout rate, hidden and attention (None: the checkpoint's, 0.1 for BERT; Table 3 varies "
            "it)."
        },
    )
    same_dropout_mask: bool = field(
        default=False,
        metadata={
            "help": "Give both views of a sentence the same dropout mask (Table 3's 'fixed 0.1' row; learns little)."
        },
    )
    augmentation: AugmentationMethod | None = field(
        default=None,
        metadata={
            "help": "Positive = a discrete augmentation of the sentence instead of its second dropout view (Table 1): "
            "crop, word_deletion, delete_one_word, synonym_replacement, mlm. None = dropout only (SimCSE)."
        },
    )
    augmentation_ratio: float | None = field(
        default=None,
        metadata={
            "help": "Share of the words changed by the augmentation (crop and word_deletion need it; mlm: default "
            "0.15)."
        },
    )
    fill_model: str | None = field(
        default=None,
        metadata={
            "help": "Masked LM that predicts the replacements of augmentation mlm (a hub id or folder; None: random "
            "tokens)."
        },
    )
    init: Init = field(
        default="pretrained",
        metadata={
            "help": "Start from the pretrained encoder, or the same architecture randomly initialised (seeded)."
        },
    )
    # --- the follow-up methods (docs/methods.md): each off by default, each combinable unless refused below -----
    repetition_rate: float = field(
        default=0.0,
        metadata={
            "help": "ESimCSE word repetition: the positive view repeats up to this share of its subword tokens, drawn "
            "afresh every step (ESimCSE: 0.32); 0 = off."
        },
    )
    queue_size: int = field(
        default=0,
        metadata={
            "help": "ESimCSE momentum contrast: a queue of this many momentum-encoder embeddings of earlier batches "
            "as extra negatives (ESimCSE: 160); 0 = off."
        },
    )
    momentum: float = field(
        default=0.995,
        metadata={"help": "EMA momentum of the encoder copy that fills the queue (ESimCSE: 0.995)."},
    )
    off_dropout_negatives: bool = field(
        default=False,
        metadata={
            "help": "SimCSE++: the negatives are the sentences encoded with dropout off (a third forward pass, with "
            "gradients); the positive stays the pair of dropout views."
        },
    )
    dcl_weight: float = field(
        default=0.0,
        metadata={
            "help": "SimCSE++: weight λ of the dimension-wise contrastive regulariser (SimCSE++: 0.1); 0 = off."
        },
    )
    dcl_temperature: float = field(
        default=5.0, metadata={"help": "SimCSE++: temperature of the dimension-wise contrastive loss (SimCSE++: 5)."}
    )
    intermediate_layers: int = field(
        default=0,
        metadata={
            "help": "SSCL: the embeddings of this many layers just below the last, of every sentence of the batch, "
            "are extra negatives (SSCL's code: 2); 0 = off."
        },
    )
    prompt_template: str | None = field(
        default=None,
        metadata={
            "help": "PromptBERT: encode each sentence inside this template, the [MASK] state as its embedding, e.g. "
            "'This sentence of \"[X]\" means [MASK] .' (saved with the model); None = off."
        },
    )
    positive_template: str | None = field(
        default=None,
        metadata={
            "help": "PromptBERT: the positive view's template, e.g. 'This sentence : \"[X]\" means [MASK] .'; None = "
            "the prompt_template for both views."
        },
    )
    prompt_denoising: bool = field(
        default=True,
        metadata={
            "help": "PromptBERT template denoising: subtract the template's own [MASK] state (in training and when "
            "encoding)."
        },
    )
    # --- the corpus (docs/own-data.md): what is read, and what is held out ---------------------------------------
    min_length: int = field(
        default=1,
        metadata={"help": "Drop corpus sentences shorter than this, counted in length_unit (default: none dropped)."},
    )
    max_length: int | None = field(
        default=None, metadata={"help": "Drop corpus sentences longer than this, in length_unit (None: no limit)."}
    )
    length_unit: LengthUnit = field(
        default="words",
        metadata={
            "help": "What min_length / max_length count: words (whitespace-separated: a Chinese, Japanese or Thai "
            "sentence is one word), characters (Unicode code points), or tokens (the model's, specials excluded)."
        },
    )
    unicode_normalization: UnicodeNormalization | None = field(
        default=None,
        metadata={
            "help": "Normalise the corpus text before the filters and dedup: NFC, or NFKC (also folds full-width "
            "forms and ligatures). None (default): the text as written; the tokenizer still applies its own."
        },
    )
    dev_from_corpus: int = field(
        default=0,
        metadata={
            "help": "Hold out N corpus sentences (seeded, not trained on, written to OUTPUT/dev_sentences.txt) and "
            "evaluate the label-free CorpusDevEvaluator on them; it selects checkpoints when no other evaluator is "
            "given. 0 = off."
        },
    )
    # --- optimisation ------------------------------------------------------------------------------------------
    epochs: float = field(default=1.0, metadata={"help": "Training epochs (paper: 1 over wiki1m)."})
    max_steps: int | None = field(default=None, metadata={"help": "Stop after this many steps (overrides epochs)."})
    batch_size: int = field(
        default=64,
        metadata={"help": "Sentences per batch and process (>= 2: the others are the negatives; paper: 64)."},
    )
    learning_rate: float = field(
        default=3e-5, metadata={"help": "Peak learning rate of AdamW, linear decay, no warmup (paper: 3e-5)."}
    )
    max_seq_length: int = field(
        default=32, metadata={"help": "Tokens per sentence in training; longer ones are truncated (paper: 32)."}
    )
    seed: int = field(
        default=42,
        metadata={
            "help": "Random seed: the heads' initialisation, the data order, the dropout draws, the augmentations."
        },
    )
    # --- speed (none changes the method; each measured within 0.2 STS-B dev points of the exact setting) ---------
    batching: Batching = field(
        default="length",
        metadata={
            "help": "length = random batches within token-length strata (~5% padding instead of ~34%, 1.3-1.5x "
            "faster; the default) or random batches (the paper)."
        },
    )
    bf16: bool | None = field(
        default=None, metadata={"help": "bf16 autocast; None = on where the hardware runs it natively. Loss in fp32."}
    )
    fast_dropout: bool = field(
        default=True,
        metadata={
            "help": "On CPU, draw dropout masks from 16-bit random numbers (same noise, 1.3-1.4x faster bf16 steps) "
            "instead of PyTorch's native dropout. No effect on CUDA or on the saved model."
        },
    )
    mini_batch_size: int | None = field(
        default=None,
        metadata={
            "help": "GradCache: compute the loss in mini-batches of this size (memory of one, a second forward pass)."
        },
    )
    gather_across_devices: bool | None = field(
        default=None,
        metadata={
            "help": "Under torchrun: score every anchor against the negatives of all processes; None = on when "
            "distributed."
        },
    )
    # --- evaluation and checkpoints -----------------------------------------------------------------------------
    eval_steps: int = field(
        default=125, metadata={"help": "Evaluate every N steps and keep the best checkpoint (SimCSE's scripts: 125)."}
    )
    save_steps: int | None = field(
        default=None, metadata={"help": "Write a checkpoint every N steps (None: every eval_steps)."}
    )
    logging_steps: int = field(default=25, metadata={"help": "Log the training loss every N steps."})

    def __post_init__(self) -> None:
        for check in _CHECKS:
            check(self)

    # --- derived settings: the one place each rule is written ----------------------------------------------------
    @property
    def resolved_mlp_only_train(self) -> bool:
        """``mlp_only_train`` with ``None`` resolved: on for unsupervised, off for supervised runs (the paper)."""
        return (not self.supervised) if self.mlp_only_train is None else self.mlp_only_train

    @property
    def mlp_in_loss(self) -> bool:
        """Whether the [CLS] MLP is owned by the loss (trained, not saved): pooling ``cls`` with the MLP in training
        only. The model is then built with the raw [CLS] pooler (:attr:`saved_pooler`)."""
        return self.pooling == "cls" and self.resolved_mlp_only_train

    @property
    def saved_pooler(self) -> PoolerName:
        """The pooler of the model that is built and saved: ``mean`` → ``avg``; ``cls`` with the MLP in the loss →
        ``cls_before_pooler``; otherwise ``pooling`` itself."""
        if self.pooling == "mean":
            return "avg"
        if self.mlp_in_loss:
            return "cls_before_pooler"
        return self.pooling  # type: ignore[return-value]

    @property
    def active_methods(self) -> list[str]:
        """The follow-up methods' fields that are switched on, in declaration order (empty: plain SimCSE)."""
        names = ("repetition_rate", "queue_size", "off_dropout_negatives", "dcl_weight", "intermediate_layers")
        return [name for name in (*names, "prompt_template") if getattr(self, name)]  # 0 / False / None = off

    @property
    def corpus_filters(self) -> list[str]:
        """The corpus-reading fields (length filters, Unicode normalisation) set away from their defaults."""
        names = ("min_length", "max_length", "length_unit", "unicode_normalization")
        defaults = {item.name: item.default for item in fields(self)}
        return [name for name in names if getattr(self, name) != defaults[name]]

    @property
    def effective_save_steps(self) -> int:
        """``save_steps``, or ``eval_steps`` when it is ``None``."""
        return self.save_steps or self.eval_steps

    # --- serialisation -----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fields as given (``None`` stays ``None``: it means "auto"), JSON-serialisable."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SimCSEConfig:
        """A config from a dict of fields (missing fields take their defaults).

        Raises:
            ValueError: A key that is not a field (a typo would otherwise be ignored), or an invalid value.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"Unknown SimCSEConfig field(s) {unknown}; the fields are {sorted(names)}.")
        return cls(**dict(values))

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> SimCSEConfig:
        """A config from a JSON file: a dict of fields, or the ``results.json`` of an earlier run (its ``config``),
        so that any run can be repeated exactly.

        Raises:
            FileNotFoundError: No such file.
            ValueError: Not JSON, not an object, or invalid fields (the message names the file).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"Config file not found: {str(path)!r}.")
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not a JSON file ({error}).") from None
        if isinstance(values, dict) and isinstance(values.get("config"), dict):
            values = values["config"]  # a results.json written by train_simcse
        if not isinstance(values, dict):
            raise ValueError(f"{path}: expected a JSON object of SimCSEConfig fields.")
        try:
            return cls.from_dict(values)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from None


def config_help(name: str) -> str:
    """The help line of the field ``name`` (for the CLI and the docs)."""
    return next(f.metadata["help"] for f in fields(SimCSEConfig) if f.name == name)


# --- validation: one check per field or combination, each naming the field, the value and what is allowed ---------


def _invalid(name: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{name}={value!r} is invalid: {allowed}.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bool(name: str, optional: bool = False) -> Callable[[SimCSEConfig], None]:
    def check(config: SimCSEConfig) -> None:
        value = getattr(config, name)
        if not (isinstance(value, bool) or (optional and value is None)):
            raise _invalid(name, value, "must be True or False" + (" (or None: auto)" if optional else ""))

    return check


def _choice(name: str, choices: tuple[str, ...], optional: bool = False) -> Callable[[SimCSEConfig], None]:
    def check(config: SimCSEConfig) -> None:
        value = getattr(config, name)
        if not (value in choices or (optional and value is None)):
            raise _invalid(name, value, f"must be one of {', '.join(choices)}" + (" or None" if optional else ""))

    return check


def _int(
    name: str, minimum: int, optional: bool = False, maximum: int | None = None
) -> Callable[[SimCSEConfig], None]:
    def check(config: SimCSEConfig) -> None:
        value = getattr(config, name)
        if optional and value is None:
            return
        if not (_is_int(value) and value >= minimum and (maximum is None or value <= maximum)):
            bound = f"an integer >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
            raise _invalid(name, value, f"must be {bound}" + (" (or None)" if optional else ""))

    return check


def _number(
    name: str, low: float | None, high: float | None = None, *, low_open: bool = False, optional: bool = False
) -> Callable[[SimCSEConfig], None]:
    """A finite number in [low, high) (``(low, high)`` with ``low_open``); ``None`` bounds are unbounded."""

    def check(config: SimCSEConfig) -> None:
        value = getattr(config, name)
        if optional and value is None:
            return
        ok = _is_number(value)
        ok = ok and (low is None or (value > low if low_open else value >= low)) and (high is None or value < high)
        if not ok:
            bounds = [f"> {low}" if low_open else f">= {low}"] if low is not None else []
            bounds += [f"< {high}"] if high is not None else []
            rule = "must be a finite number" + (" " + " and ".join(bounds) if bounds else "")
            raise _invalid(name, value, rule + (" (or None)" if optional else ""))

    return check


def _string(name: str) -> Callable[[SimCSEConfig], None]:
    """An optional non-empty string."""

    def check(config: SimCSEConfig) -> None:
        value = getattr(config, name)
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise _invalid(name, value, "must be a non-empty string (or None)")

    return check


def _combinations(config: SimCSEConfig) -> None:
    method, ratio = config.augmentation, config.augmentation_ratio
    if ratio is not None and method not in RATIO_METHODS:
        raise _invalid(
            "augmentation_ratio", ratio, f"only {', '.join(RATIO_METHODS)} take a ratio (augmentation={method!r})"
        )
    if method in ("crop", "word_deletion") and ratio is None:
        raise _invalid(
            "augmentation_ratio", ratio, f"augmentation={method!r} needs a ratio (Table 1: 0.1, 0.2 or 0.3)"
        )
    if config.fill_model is not None and method != "mlm":
        raise _invalid("fill_model", config.fill_model, "it is used by augmentation='mlm' only")
    if method is not None and config.supervised:
        raise _invalid(
            "augmentation", method, "augmentations build the positives of unsupervised runs; supervised=True"
        )
    if config.same_dropout_mask and (config.supervised or method is not None):
        raise _invalid("same_dropout_mask", True, "it applies to unsupervised runs without augmentation")
    if config.mini_batch_size is not None and (config.mlm_weight > 0 or config.same_dropout_mask):
        raise _invalid(
            "mini_batch_size",
            config.mini_batch_size,
            "GradCache cannot be combined with mlm_weight > 0 or same_dropout_mask",
        )
    _method_combinations(config)
    if config.max_length is not None and config.max_length < config.min_length:
        raise _invalid("max_length", config.max_length, f"it must be >= min_length ({config.min_length})")
    for name in config.corpus_filters:
        if config.supervised:
            raise _invalid(name, getattr(config, name), "corpus filters read unsupervised corpora; supervised=True")
    if config.dev_from_corpus and config.supervised:
        raise _invalid(
            "dev_from_corpus", config.dev_from_corpus, "it holds out unsupervised corpus sentences; supervised=True"
        )
    if config.positive_template is not None and config.prompt_template is None:
        raise _invalid("positive_template", config.positive_template, "it needs a prompt_template for the anchor")
    if config.pooling != "cls" and config.mlp_only_train:
        raise _invalid("mlp_only_train", True, f"it applies to pooling='cls' only (pooling={config.pooling!r})")


def _method_combinations(config: SimCSEConfig) -> None:
    """The follow-up methods change unsupervised SimCSE's one-column batches; these combinations are refused."""
    active = config.active_methods
    if not active:
        return
    name = active[0]
    value = getattr(config, name)
    if config.supervised:
        raise _invalid(name, value, "the follow-up methods are unsupervised; supervised=True")
    if config.augmentation is not None:
        raise _invalid(name, value, "it builds its own positive view; it cannot be combined with augmentation")
    if config.mini_batch_size is not None:
        raise _invalid(name, value, "GradCache (mini_batch_size) cannot replay its extra passes and per-batch state")
    if config.same_dropout_mask:
        raise _invalid(name, value, "it cannot be combined with same_dropout_mask")
    if config.prompt_template is not None:
        _prompt_combinations(config)
    if config.intermediate_layers and config.pooling in ("avg_top2", "avg_first_last"):
        raise _invalid(
            "intermediate_layers",
            config.intermediate_layers,
            f"SSCL pools a layer like the last one; pooling={config.pooling!r} already mixes layers",
        )


def _prompt_combinations(config: SimCSEConfig) -> None:
    for template in (config.prompt_template, config.positive_template):
        if template is not None and (template.count("[X]") != 1 or template.count("[MASK]") != 1):
            raise _invalid("prompt_template", template, "a template needs one [X] and one [MASK] after it")
    if config.pooling not in ("cls", "cls_before_pooler"):
        raise _invalid(
            "pooling",
            config.pooling,
            "with prompt_template the embedding is the [MASK] state: pooling cls (the MLP in training, PromptBERT's "
            "setting) or cls_before_pooler (no MLP)",
        )
    if config.repetition_rate > 0:
        raise _invalid("repetition_rate", config.repetition_rate, "it would repeat template tokens (prompt_template)")
    if config.intermediate_layers:
        raise _invalid(
            "intermediate_layers", config.intermediate_layers, "SSCL pools [CLS]/mean, not PromptBERT's [MASK]"
        )


_CHECKS: tuple[Callable[[SimCSEConfig], None], ...] = (
    _bool("supervised"),
    _choice("pooling", POOLINGS),
    _bool("mlp_only_train", optional=True),
    _number("temperature", 0.0, low_open=True),
    _number("hard_negative_weight", None),
    _number("mlm_weight", 0.0),
    _number("mlm_probability", 0.0, 1.0, low_open=True),
    _number("dropout", 0.0, 1.0, optional=True),
    _bool("same_dropout_mask"),
    _choice("augmentation", AUGMENTATION_METHODS, optional=True),
    _number("augmentation_ratio", 0.0, 1.0, low_open=True, optional=True),
    _string("fill_model"),
    _choice("init", INITS),
    _number("repetition_rate", 0.0, 1.0),
    _int("queue_size", 0),
    _number("momentum", 0.0, 1.0),
    _bool("off_dropout_negatives"),
    _number("dcl_weight", 0.0),
    _number("dcl_temperature", 0.0, low_open=True),
    _int("intermediate_layers", 0),
    _string("prompt_template"),
    _string("positive_template"),
    _bool("prompt_denoising"),
    _int("min_length", 0),
    _int("max_length", 1, optional=True),
    _choice("length_unit", LENGTH_UNITS),
    _choice("unicode_normalization", UNICODE_NORMALIZATIONS, optional=True),
    _int("dev_from_corpus", 0),
    _number("epochs", 0.0, low_open=True),
    _int("max_steps", 1, optional=True),
    _int("batch_size", 2),
    _number("learning_rate", 0.0, low_open=True),
    _int("max_seq_length", 2),
    _int("seed", 0, maximum=MAX_SEED),
    _choice("batching", BATCHINGS),
    _bool("bf16", optional=True),
    _bool("fast_dropout"),
    _int("mini_batch_size", 1, optional=True),
    _bool("gather_across_devices", optional=True),
    _int("eval_steps", 1),
    _int("save_steps", 1, optional=True),
    _int("logging_steps", 1),
    _combinations,
)
