"""SimCSE's auxiliary masked-language-modelling objective (``--do_mlm``), owned by :class:`DropoutContrastiveLoss`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
import transformers
from sentence_transformers.base.losses.merged_forward import merge_feature_batches
from sentence_transformers.sentence_transformer.model import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Transformer
from torch import Tensor, nn
from transformers import AutoModelForMaskedLM

logger = logging.getLogger(__name__)

# Attribute holding the MLM head on a *ForMaskedLM model: BERT-style (`cls`) and RoBERTa-style (`lm_head`) models.
HEAD_ATTRIBUTES: tuple[str, ...] = ("cls", "lm_head")


class MLMAuxiliary(nn.Module):
    """Masked-token prediction on a BERT-masked copy of the batch, as SimCSE's ``--do_mlm``.

    Each call masks the input ids (``mask_tokens``: a ``probability`` share of the maskable tokens is selected; of
    those 80% become ``[MASK]``, 10% a random token, 10% stay; special and padding tokens are never selected), runs
    the masked batch through the encoder (with dropout, in train mode) and returns the cross-entropy of the MLM head
    over the selected positions. The logits are computed at the selected positions only (same loss as SimCSE, which
    scores every position and ignores the rest, without the ``(rows, length, vocab)`` tensor).

    The head comes from ``checkpoint`` when it holds MLM weights (e.g. ``bert-base-uncased``'s ``cls.predictions``);
    it is then an independent copy, decoder included, as SimCSE's ``lm_head.load_state_dict(...)``. Otherwise it is
    freshly initialised (BERT's init) with its decoder tied to the encoder's input embeddings, and a warning says so.
    Its parameters belong to this module, so the Trainer optimizes them and ``model.save()`` leaves them out.

    Args:
        model: The SentenceTransformer being trained; its first module must be a ``Transformer`` whose model has a
            masked-LM counterpart (BERT- and RoBERTa-style architectures).
        probability: Share of maskable tokens selected for prediction (SimCSE: 0.15).
        checkpoint: Where to look for MLM head weights; ``None`` = the folder/hub id the encoder was loaded from.

    Example:
        ::

            mlm = MLMAuxiliary(model)  # usually created by DropoutContrastiveLoss(model, mlm_weight=0.1)
            value = mlm(model, [model.preprocess(["a sentence.", "another one."])])  # scalar CE
    """

    def __init__(self, model: SentenceTransformer, probability: float = 0.15, checkpoint: str | None = None) -> None:
        super().__init__()
        if not 0.0 < probability < 1.0:
            raise ValueError(f"mlm_probability must be in (0, 1), got {probability!r}.")
        transformer = model[0]
        if not isinstance(transformer, Transformer):
            raise ValueError(f"The MLM objective needs a Transformer encoder first, got {type(transformer).__name__}.")
        tokenizer = model.tokenizer
        if getattr(tokenizer, "mask_token_id", None) is None:
            raise ValueError("The MLM objective needs a tokenizer with a mask token.")
        self.probability = float(probability)
        self.mask_token_id = int(tokenizer.mask_token_id)
        self.vocab_size = min(len(tokenizer), int(transformer.model.config.vocab_size))
        self.register_buffer("special_ids", torch.tensor(sorted(set(tokenizer.all_special_ids))), persistent=False)
        self.head, self.head_from_checkpoint = self._build_head(transformer, checkpoint)

    @staticmethod
    def _build_head(transformer: Transformer, checkpoint: str | None) -> tuple[nn.Module, bool]:
        encoder = transformer.model
        source = checkpoint or getattr(encoder.config, "name_or_path", "") or ""
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()  # its load report is replaced by the one line below
        try:
            mlm_model, info = AutoModelForMaskedLM.from_pretrained(source, output_loading_info=True)
            reason = ""
        except (OSError, ValueError) as error:
            mlm_model, info = AutoModelForMaskedLM.from_config(encoder.config), None
            reason = f"could not load {source!r} as a masked LM ({type(error).__name__})"
        finally:
            transformers.logging.set_verbosity(verbosity)
        attribute = next(
            (name for name in HEAD_ATTRIBUTES if isinstance(getattr(mlm_model, name, None), nn.Module)), ""
        )
        if not attribute:
            raise ValueError(
                f"{type(mlm_model).__name__} has no MLM head attribute among {HEAD_ATTRIBUTES}; the MLM objective "
                "supports BERT- and RoBERTa-style encoders."
            )
        head = getattr(mlm_model, attribute)
        if info is not None:
            missing = sorted(key for key in info["missing_keys"] if key.startswith(f"{attribute}."))
            reason = f"{source!r} has no MLM head weights (missing: {', '.join(missing)})" if missing else ""
        if reason:
            decoder = mlm_model.get_output_embeddings()
            decoder.weight = encoder.get_input_embeddings().weight  # tie, as BERT does
            logger.warning(f"MLM auxiliary objective: {reason}; the MLM head is freshly initialised.")
        else:
            logger.info(f"MLM auxiliary objective: MLM head loaded from {source!r}.")
        return head.to(encoder.device), not reason

    def mask_tokens(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """BERT masking: ``(masked input ids, labels)``, labels = original id at selected positions, else -100.

        Uses the global torch RNG (so the Trainer's seed governs it). Shapes: (B, T) -> (B, T), (B, T).
        """
        maskable = ~torch.isin(input_ids, self.special_ids.to(input_ids.device))  # (B, T)
        if attention_mask is not None:
            maskable &= attention_mask.bool()
        probabilities = torch.full(input_ids.shape, self.probability, device=input_ids.device)
        selected = torch.bernoulli(probabilities).bool() & maskable  # (B, T)
        labels = torch.where(selected, input_ids, torch.full_like(input_ids, -100))
        masked = input_ids.clone()
        replaced = torch.bernoulli(torch.full(input_ids.shape, 0.8, device=input_ids.device)).bool() & selected
        masked[replaced] = self.mask_token_id
        randomised = torch.bernoulli(torch.full(input_ids.shape, 0.5, device=input_ids.device)).bool()
        randomised &= selected & ~replaced
        random_ids = torch.randint(self.vocab_size, input_ids.shape, device=input_ids.device, dtype=input_ids.dtype)
        masked[randomised] = random_ids[randomised]
        return masked, labels

    def forward(self, model: Callable[[dict[str, Any]], dict[str, Any]], columns: list[dict[str, Tensor]]) -> Tensor:
        """Mean MLM cross-entropy over the selected tokens of all ``columns`` (each row masked independently)."""
        merged = merge_feature_batches(columns) if len(columns) > 1 else columns[0]
        batches = [merged] if merged is not None else columns
        hidden_states, targets = [], []
        for features in batches:
            masked_ids, labels = self.mask_tokens(features["input_ids"], features.get("attention_mask"))
            output = model({**features, "input_ids": masked_ids})
            selected = labels != -100  # (B, T)
            hidden_states.append(output["token_embeddings"][selected])  # (M, D)
            targets.append(labels[selected])  # (M,)
        hidden = torch.cat(hidden_states)
        if hidden.size(0) == 0:  # nothing selected (tiny batch): a zero that keeps the graph
            return output["token_embeddings"].sum() * 0.0
        logits = self.head(hidden)  # (M, V)
        with torch.autocast(device_type=hidden.device.type, enabled=False):
            return F.cross_entropy(logits.float(), torch.cat(targets))
