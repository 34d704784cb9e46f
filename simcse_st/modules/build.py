"""``build_simcse_model``: an encoder + a SimCSE pooler, with the hidden states wired through when needed."""

from __future__ import annotations

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules.module import Module
from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Transformer, WeightedLayerPooling
from torch import nn

from simcse_st.inference.model_loading import load_model
from simcse_st.modules.dropout import set_dropout
from simcse_st.modules.names import HIDDEN_STATE_POOLERS, POOLERS, PoolerName
from simcse_st.modules.prompt_transformer import PROMPTBERT_TEMPLATE, PromptTransformer
from simcse_st.modules.simcse_pooling import SimCSEPooling, make_mlp_head


def builtin_pooling_modules(
    embedding_dimension: int, num_hidden_layers: int, pooler: PoolerName, initializer_range: float = 0.02
) -> list[Module]:
    """sentence-transformers' own modules that compute exactly SimCSE's ``pooler`` (see :class:`SimCSEPooling`).

    ``cls_before_pooler`` = ``Pooling("cls")``; ``cls`` = ``Pooling("cls")`` + ``Dense(d, d, Tanh)`` (SimCSE's MLP,
    initialised like it); ``avg`` = ``Pooling("mean")``; ``avg_top2`` / ``avg_first_last`` = a frozen
    ``WeightedLayerPooling`` with weights 1 on layers ``L-1, L`` / ``1, L`` (0 elsewhere) + ``Pooling("mean")``.
    A model of these modules reloads with a plain ``SentenceTransformer(path)``.
    """
    if pooler not in POOLERS:
        raise ValueError(f"pooler must be one of {POOLERS}, got {pooler!r}.")
    if num_hidden_layers < 1:
        raise ValueError(f"num_hidden_layers must be >= 1, got {num_hidden_layers}.")
    if pooler in ("cls", "cls_before_pooler"):
        modules: list[Module] = [Pooling(embedding_dimension, pooling_mode="cls")]
        if pooler == "cls":
            linear = make_mlp_head(embedding_dimension, initializer_range)[0]
            modules.append(
                Dense(
                    embedding_dimension,
                    embedding_dimension,
                    activation_function=nn.Tanh(),
                    init_weight=linear.weight.data,
                    init_bias=linear.bias.data,
                )
            )
        return modules
    if pooler == "avg":
        return [Pooling(embedding_dimension, pooling_mode="mean")]
    # all_layer_embeddings has L + 1 entries (0 = embeddings); the module averages entries layer_start..L.
    layer_start = num_hidden_layers - 1 if pooler == "avg_top2" else 1
    weights = torch.zeros(num_hidden_layers + 1 - layer_start)
    weights[0] = weights[-1] = 1.0
    layer_pooling = WeightedLayerPooling(
        embedding_dimension,
        num_hidden_layers=num_hidden_layers,
        layer_start=layer_start,
        layer_weights=nn.Parameter(weights, requires_grad=False),
    )
    return [layer_pooling, Pooling(embedding_dimension, pooling_mode="mean")]


def build_simcse_model(
    model_name_or_path: str,
    pooler: PoolerName = "cls_before_pooler",
    max_seq_length: int = 32,
    device: str | None = None,
    dropout: float | None = None,
    portable: bool = True,
) -> SentenceTransformer:
    """The encoder of ``model_name_or_path`` followed by :class:`~simcse_st.modules.SimCSEPooling` (``pooler``).

    Any pooling/normalisation of a sentence-transformers checkpoint is dropped: only its ``Transformer`` is kept.
    For ``avg_top2`` and ``avg_first_last`` the encoder's config gets ``output_hidden_states=True``, so that the
    ``Transformer`` module emits ``all_layer_embeddings`` for the pooler in ``model(features)`` and ``model.encode``;
    the flag is saved in ``config.json``, so ``SentenceTransformer(saved_path)`` pools the same way.

    For SimCSE's unsupervised default (train with [CLS] + MLP, evaluate without it) build ``cls_before_pooler`` and
    pass ``mlp_only_train=True`` to :class:`~simcse_st.DropoutContrastiveLoss`: the MLP then lives in the loss and is
    not saved. ``pooler="cls"`` puts the MLP in the model (saved, used at inference: SimCSE's supervised setting).

    Args:
        model_name_or_path: A Hugging Face model folder or hub id, or a sentence-transformers model folder.
        pooler: ``cls``, ``cls_before_pooler``, ``avg``, ``avg_top2`` or ``avg_first_last``.
        max_seq_length: Inputs are truncated to this many tokens (SimCSE: 32).
        device: Where to put the model; ``None`` = sentence-transformers' default.
        dropout: Set the encoder's hidden and attention dropout to this rate (:func:`set_dropout`); ``None`` keeps
            the checkpoint's rate (0.1 for BERT).
        portable: ``True`` (default): pool with sentence-transformers' own modules that compute the same embedding
            (:func:`builtin_pooling_modules`), so the saved model reloads with a plain ``SentenceTransformer(path)``.
            ``False``: one :class:`SimCSEPooling` module; sentence-transformers >= 6.0 then reloads the saved model
            only with ``SentenceTransformer(path, trust_remote_code=True)``, as it refuses to import module classes
            from outside its own package without it.

    Raises:
        OSError: The model is neither a loadable local folder nor reachable on the Hugging Face hub.

    Example:
        ::

            from simcse_st.modules import build_simcse_model

            model = build_simcse_model("bert-base-uncased", pooler="avg_first_last")
            embeddings = model.encode(["A man is playing a guitar."])  # (1, 768)
    """
    if pooler not in POOLERS:
        raise ValueError(f"pooler must be one of {POOLERS}, got {pooler!r}.")
    if max_seq_length < 2:
        raise ValueError(f"max_seq_length must be >= 2, got {max_seq_length}.")
    base = load_model(model_name_or_path, device=device)
    transformer = base[0]
    if not isinstance(transformer, Transformer):
        raise ValueError(
            f"{model_name_or_path!r}: the first module is a {type(transformer).__name__}, not a Transformer encoder."
        )
    transformer.max_seq_length = max_seq_length
    # Transformer.forward only adds `all_layer_embeddings` when the model config asks for the hidden states.
    transformer.model.config.output_hidden_states = pooler in HIDDEN_STATE_POOLERS
    initializer_range = float(getattr(transformer.model.config, "initializer_range", 0.02))
    dimension = transformer.get_embedding_dimension()
    if portable:
        layers = int(getattr(transformer.model.config, "num_hidden_layers", 0) or 0)
        if pooler in HIDDEN_STATE_POOLERS and layers < 1:
            raise ValueError(f"{model_name_or_path!r}: its config has no num_hidden_layers; use portable=False.")
        pooling: list[Module] = builtin_pooling_modules(dimension, max(layers, 1), pooler, initializer_range)
    else:
        pooling = [SimCSEPooling(dimension, pooler, initializer_range=initializer_range)]
    model = SentenceTransformer(modules=[transformer, *pooling], device=device)
    if dropout is not None:
        set_dropout(model, dropout)
    return model


def build_prompt_model(
    model_name_or_path: str,
    template: str = PROMPTBERT_TEMPLATE,
    denoise: bool = True,
    max_seq_length: int = 32,
    device: str | None = None,
    dropout: float | None = None,
    mlp: bool = False,
) -> SentenceTransformer:
    """PromptBERT's encoder: a :class:`~simcse_st.modules.PromptTransformer` over the encoder of
    ``model_name_or_path`` (its pooling is dropped), and with ``mlp`` SimCSE's ``Tanh(Linear)`` head after it (saved,
    used at inference). ``max_seq_length`` limits the sentence; the template's tokens come on top.

    A saved model reloads with ``SentenceTransformer(path, trust_remote_code=True)`` (see the class).

    Example:
        ::

            from simcse_st.modules import build_prompt_model

            model = build_prompt_model("bert-base-uncased")
            model.encode(["A man is playing a guitar."])  # the [MASK] state of 'This sentence of "..." means [MASK] .'
    """
    if max_seq_length < 1:
        raise ValueError(f"max_seq_length must be >= 1, got {max_seq_length}.")
    transformer = load_model(model_name_or_path, device=device)[0]
    if not isinstance(transformer, Transformer):
        raise ValueError(
            f"{model_name_or_path!r}: the first module is a {type(transformer).__name__}, not a Transformer encoder."
        )
    transformer.max_seq_length = max_seq_length
    transformer.model.config.output_hidden_states = False
    modules: list[Module] = [PromptTransformer.from_transformer(transformer, template, denoise)]
    if mlp:
        initializer_range = float(getattr(transformer.model.config, "initializer_range", 0.02))
        modules += builtin_pooling_modules(transformer.get_embedding_dimension(), 1, "cls", initializer_range)[1:]
    model = SentenceTransformer(modules=modules, device=device)
    if dropout is not None:
        set_dropout(model, dropout)
    return model


def reinitialize_encoder(model: SentenceTransformer, seed: int) -> SentenceTransformer:
    """Replace the encoder's weights with a fresh initialisation of the same architecture (the model's own init
    scheme, drawn after ``torch.manual_seed(seed)``); the tokenizer and the pooling stay. For the ``init="random"``
    ablation."""
    encoder = model[0].auto_model
    torch.manual_seed(seed)
    fresh = type(encoder)(encoder.config)
    encoder.load_state_dict(fresh.state_dict())
    return model


def max_positions(model: SentenceTransformer) -> int | None:
    """The most tokens the encoder takes (its position embeddings, the tokenizer's limit; RoBERTa's positions start
    after the padding index); ``None`` when neither is known."""
    encoder_config = getattr(getattr(model[0], "auto_model", None), "config", None)
    limits = [
        getattr(encoder_config, "max_position_embeddings", None),
        getattr(model.tokenizer, "model_max_length", None),
    ]
    usable = [int(limit) for limit in limits if isinstance(limit, int) and 0 < limit < 1_000_000]
    if getattr(encoder_config, "model_type", "") in ("roberta", "xlm-roberta", "camembert") and usable:
        usable[0] -= 2
    return min(usable) if usable else None
