"""SimCSE's five poolers (``simcse/models.py``'s ``Pooler`` + ``MLPLayer``) as a sentence-transformers module."""

from __future__ import annotations

from typing import Any

import torch
from sentence_transformers.base.modules.module import Module
from torch import Tensor, nn

from simcse_st.modules.names import HIDDEN_STATE_POOLERS, POOLERS, PoolerName

try:
    from typing import Self
except ImportError:  # Python < 3.11
    from typing_extensions import Self


def make_mlp_head(dimension: int, initializer_range: float = 0.02) -> nn.Sequential:
    """SimCSE's ``MLPLayer``: ``Tanh(Linear(d, d))`` over the [CLS] vector.

    Initialised as SimCSE's ``cl_init`` leaves it: BERT's ``_init_weights`` (weights ~ N(0, initializer_range),
    bias 0); SimCSE never loads it from the checkpoint.

    Example:
        ::

            head = make_mlp_head(768)  # head(z): (N, 768) -> (N, 768)
    """
    if dimension < 1:
        raise ValueError(f"dimension must be >= 1, got {dimension}.")
    if not initializer_range > 0:
        raise ValueError(f"initializer_range must be > 0, got {initializer_range!r}.")
    linear = nn.Linear(dimension, dimension)
    nn.init.normal_(linear.weight, mean=0.0, std=initializer_range)
    nn.init.zeros_(linear.bias)
    return nn.Sequential(linear, nn.Tanh())


def _masked_mean(hidden: Tensor, attention_mask: Tensor) -> Tensor:
    """Mean over the attended tokens: (B, T, D), (B, T) -> (B, D); accumulated in float32 for half inputs."""
    dtype = torch.float32 if hidden.dtype in (torch.float16, torch.bfloat16) else hidden.dtype
    mask = attention_mask.unsqueeze(-1).to(dtype)  # (B, T, 1)
    summed = (hidden.to(dtype) * mask).sum(dim=1)  # (B, D)
    return (summed / mask.sum(dim=1).clamp(min=1e-9)).to(hidden.dtype)


class SimCSEPooling(Module):
    """Sentence embedding from the encoder's hidden states, exactly as SimCSE's ``Pooler`` computes it.

    ``hidden`` below is the encoder's ``output_hidden_states`` tuple (index 0 = the embedding layer's output,
    index ``i`` = the output of transformer layer ``i``), ``mask`` the attention mask:

    - ``cls``: ``Tanh(Linear(hidden[-1][:, 0]))``, SimCSE's [CLS] + MLP. The MLP is a parameter of this module and
      is saved with the model.
    - ``cls_before_pooler``: ``hidden[-1][:, 0]``, the raw [CLS] vector. With ``mlp_only_train`` (SimCSE's
      unsupervised default) the model uses this pooler and the MLP lives in the loss.
    - ``avg``: masked mean of ``hidden[-1]``.
    - ``avg_top2``: masked mean of ``(hidden[-1] + hidden[-2]) / 2``.
    - ``avg_first_last``: masked mean of ``(hidden[1] + hidden[-1]) / 2``; ``hidden[1]`` is the FIRST TRANSFORMER
      LAYER, not the embeddings (SimCSE's final code; an older version used ``hidden[0]``).

    ``avg_top2`` and ``avg_first_last`` read ``features["all_layer_embeddings"]``, which the sentence-transformers
    ``Transformer`` only emits when its model config has ``output_hidden_states=True``;
    :func:`simcse_st.modules.build_simcse_model` sets it, and it is saved in the model's ``config.json``. The other
    poolers read ``token_embeddings`` (= ``hidden[-1]``). Inputs must be right-padded (BERT/RoBERTa tokenizers are).

    Args:
        embedding_dimension: Hidden size of the encoder (the output dimension too).
        pooler: One of ``cls``, ``cls_before_pooler``, ``avg``, ``avg_top2``, ``avg_first_last``.
        initializer_range: Std of the normal init of a fresh ``cls`` MLP (BERT's ``initializer_range``). Not saved:
            a reloaded ``cls`` pooler gets its trained weights from the checkpoint.

    Example:
        ::

            from sentence_transformers import SentenceTransformer
            from sentence_transformers.sentence_transformer.modules import Transformer
            from simcse_st.modules import SimCSEPooling

            transformer = Transformer("bert-base-uncased", config_kwargs={"output_hidden_states": True})
            pooling = SimCSEPooling(transformer.get_embedding_dimension(), pooler="avg_first_last")
            model = SentenceTransformer(modules=[transformer, pooling])
    """

    config_keys: list[str] = ["embedding_dimension", "pooler"]  # noqa: RUF012 (as in sentence-transformers)

    def __init__(self, embedding_dimension: int, pooler: PoolerName = "cls", initializer_range: float = 0.02) -> None:
        super().__init__()
        if pooler not in POOLERS:
            raise ValueError(f"pooler must be one of {POOLERS}, got {pooler!r}.")
        if not isinstance(embedding_dimension, int) or embedding_dimension < 1:
            raise ValueError(f"embedding_dimension must be a positive integer, got {embedding_dimension!r}.")
        self.embedding_dimension = embedding_dimension
        self.pooler = pooler
        self.mlp = make_mlp_head(embedding_dimension, initializer_range) if pooler == "cls" else None

    def forward(self, features: dict[str, Tensor | Any], **kwargs: Any) -> dict[str, Tensor | Any]:
        if "cu_seq_lens_q" in features:
            raise ValueError("SimCSEPooling needs padded inputs; unpadded (flattened) batches are not supported.")
        last = features["token_embeddings"]  # (B, T, D) = hidden[-1]
        attention_mask = features.get("attention_mask")
        if attention_mask is None or attention_mask.shape != last.shape[:2]:
            attention_mask = torch.ones(last.shape[:2], dtype=torch.long, device=last.device)  # (B, T)
        if self.pooler in ("cls", "cls_before_pooler"):
            embedding = last[:, 0]  # (B, D)
            if self.mlp is not None:
                embedding = self.mlp(embedding)
        elif self.pooler == "avg":
            embedding = _masked_mean(last, attention_mask)
        else:
            hidden = features.get("all_layer_embeddings")
            if hidden is None:
                raise ValueError(
                    f"pooler={self.pooler!r} needs all hidden states, but the Transformer module did not return "
                    "'all_layer_embeddings': build the model with simcse_st.modules.build_simcse_model, or load the "
                    "Transformer with config_kwargs={'output_hidden_states': True}."
                )
            other = hidden[-2] if self.pooler == "avg_top2" else hidden[1]  # (B, T, D)
            embedding = _masked_mean((hidden[-1] + other) / 2.0, attention_mask)
        features["sentence_embedding"] = embedding  # (B, D)
        return features

    @property
    def needs_hidden_states(self) -> bool:
        """Whether this pooler reads ``all_layer_embeddings`` (``avg_top2``, ``avg_first_last``)."""
        return self.pooler in HIDDEN_STATE_POOLERS

    def get_embedding_dimension(self) -> int:
        return self.embedding_dimension

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.save_config(output_path)
        if self.mlp is not None:
            self.save_torch_weights(output_path, safe_serialization=safe_serialization)

    @classmethod
    def load(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        **kwargs: Any,
    ) -> Self:
        hub_kwargs = {
            "subfolder": subfolder,
            "token": token,
            "cache_folder": cache_folder,
            "revision": revision,
            "local_files_only": local_files_only,
        }
        config = cls.load_config(model_name_or_path=model_name_or_path, **hub_kwargs)
        module = cls(**config)
        if module.mlp is not None:
            module = cls.load_torch_weights(model_name_or_path=model_name_or_path, model=module, **hub_kwargs)
        return module
