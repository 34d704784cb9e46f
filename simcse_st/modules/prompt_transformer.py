"""PromptBERT (Jiang et al., EMNLP 2022): the sentence inside a template, the last hidden state at the template's
[MASK] as its embedding, and template denoising.

A template is a string with ``[X]`` where the sentence goes and ``[MASK]`` where the embedding is read, e.g.
PromptBERT's unsupervised BERT templates ``This sentence of "[X]" means [MASK] .`` (the anchor's, and the one used
at inference) and ``This sentence : "[X]" means [MASK] .`` (the positive's). As in the official code, the text
before and after ``[X]`` is tokenized on its own and the ids are joined: ``[CLS] prefix sentence suffix [SEP]``;
the sentence is truncated to ``max_seq_length`` tokens before it is inserted.

Template denoising subtracts from each embedding the [MASK] state of the template with no sentence in it, the
positions after the gap shifted by the sentence's length (so the template's tokens sit where they sit around the
sentence): ``h = h_[MASK](template(s)) - h_[MASK](template(∅), positions shifted by len(s))``. Computed in the same
forward, with gradients in training, for each sentence length of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from sentence_transformers.base.modules.transformer import Transformer
from torch import Tensor, nn

from simcse_st.modules.names import PROMPTBERT_POSITIVE_TEMPLATE, PROMPTBERT_TEMPLATE

__all__ = ["PROMPTBERT_POSITIVE_TEMPLATE", "PROMPTBERT_TEMPLATE", "PromptTransformer", "prompt_module"]

SENTENCE_SLOT = "[X]"
MASK_SLOT = "[MASK]"


class PromptTransformer(Transformer):
    """A sentence-transformers ``Transformer`` whose sentence embedding is PromptBERT's: it wraps every text in
    ``template``, encodes it, and returns the [MASK] position's last hidden state (minus the template's own, with
    ``denoise``) as ``sentence_embedding``; a model is ``SentenceTransformer(modules=[prompt_transformer])``.

    Build one from a loaded ``Transformer`` with :meth:`from_transformer`. A saved model reloads with
    ``SentenceTransformer(path, trust_remote_code=True)``: sentence-transformers >= 6 imports a module class from
    outside its own package only when trusted, and the template and the [MASK] read-out are code, not weights.

    Args:
        template: The inference template (``[X]`` and one ``[MASK]``).
        denoise: Subtract the template's own [MASK] state (template denoising).
    """

    config_keys: list[str] = [*Transformer.config_keys, "template", "denoise"]  # noqa: RUF012

    def __init__(self, *args: Any, template: str = PROMPTBERT_TEMPLATE, denoise: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_template(template, denoise)

    @classmethod
    def from_transformer(
        cls, transformer: Transformer, template: str = PROMPTBERT_TEMPLATE, denoise: bool = True
    ) -> PromptTransformer:
        """The same encoder and tokenizer (shared, not copied) as a ``PromptTransformer``."""
        module = cls.__new__(cls)
        module.__dict__.update(transformer.__dict__)  # nn.Module keeps its parameters and submodules in __dict__
        module._set_template(template, denoise)
        return module

    def _set_template(self, template: str, denoise: bool) -> None:
        self.template = template
        self.denoise = bool(denoise)
        self._pieces: dict[str, tuple[list[int], list[int], int]] = {}
        self.check_template(template)

    # --- templates ----------------------------------------------------------------------------------------------
    def check_template(self, template: str) -> tuple[list[int], list[int], int]:
        """``(prefix ids, suffix ids, index of [MASK] in the suffix)`` of ``template``; a ``ValueError`` when it has
        not exactly one ``[X]`` and one ``[MASK]`` after it."""
        if template in self._pieces:
            return self._pieces[template]
        if not isinstance(template, str) or template.count(SENTENCE_SLOT) != 1 or template.count(MASK_SLOT) != 1:
            raise ValueError(f"A template needs one {SENTENCE_SLOT} and one {MASK_SLOT}, got {template!r}.")
        prefix, suffix = template.split(SENTENCE_SLOT)
        if MASK_SLOT not in suffix:
            raise ValueError(f"The template's {MASK_SLOT} must come after {SENTENCE_SLOT}, got {template!r}.")
        tokenizer = self.tokenizer
        if tokenizer is None or tokenizer.mask_token_id is None:
            raise ValueError("PromptTransformer needs a tokenizer with a mask token (BERT, RoBERTa, ...).")
        before, after = suffix.split(MASK_SLOT)
        prefix_ids = tokenizer.encode(prefix, add_special_tokens=False) if prefix.strip() else []
        suffix_before = tokenizer.encode(before.strip(), add_special_tokens=False) if before.strip() else []
        suffix_after = tokenizer.encode(after.strip(), add_special_tokens=False) if after.strip() else []
        suffix_ids = [*suffix_before, tokenizer.mask_token_id, *suffix_after]
        self._pieces[template] = (prefix_ids, suffix_ids, len(suffix_before))
        return self._pieces[template]

    def _wrap(self, sentence_ids: Sequence[int], template: str) -> list[int]:
        prefix, suffix, _ = self.check_template(template)
        tokenizer = self.tokenizer
        return [tokenizer.cls_token_id, *prefix, *sentence_ids, *suffix, tokenizer.sep_token_id]

    def _batch(self, rows: list[list[int]], device: torch.device | None = None) -> dict[str, Any]:
        width = max(len(row) for row in rows)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for index, row in enumerate(rows):
            input_ids[index, : len(row)] = torch.tensor(row)
            attention_mask[index, : len(row)] = 1
        features: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.tokenizer.model_input_names:
            features["token_type_ids"] = torch.zeros_like(input_ids)
        if device is not None:
            features = {key: value.to(device) for key, value in features.items()}
        features["modality"] = "text"
        return features

    def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Tokenize each text inside :attr:`template` (a ``prompt`` is prepended to the sentence)."""
        if not inputs:
            return {}
        if not all(isinstance(text, str) for text in inputs):
            raise ValueError("PromptTransformer encodes text only.")
        limit = kwargs.get("max_length") or self.max_seq_length
        tokenizer = self.tokenizer
        rows = []
        for text in inputs:
            ids = tokenizer((prompt or "") + text, add_special_tokens=False, truncation=bool(limit), max_length=limit)
            rows.append(self._wrap(ids["input_ids"], self.template))  # the sentence is cut before it is wrapped
        return self._batch(rows)

    def _sentence_ids(self, row: list[int]) -> tuple[list[int], str]:
        """The sentence's ids in a wrapped row (padding removed) and the row's template."""
        for template, (prefix, suffix, _) in self._pieces.items():
            start, end = 1 + len(prefix), len(row) - 1 - len(suffix)
            if end >= start and row[1:start] == prefix and row[end:-1] == suffix:
                return row[start:end], template
        raise ValueError("a row is not wrapped in any of this PromptTransformer's templates.")

    def retemplate(self, features: dict[str, Tensor], template: str) -> dict[str, Any]:
        """The same sentences wrapped in another ``template`` (PromptBERT's positive view)."""
        self.check_template(template)
        rows = []
        for ids, mask in zip(features["input_ids"].tolist(), features["attention_mask"].tolist(), strict=False):
            sentence, _ = self._sentence_ids(ids[: int(sum(mask))])
            rows.append(self._wrap(sentence, template))
        return self._batch(rows, features["input_ids"].device)

    # --- the embedding ------------------------------------------------------------------------------------------
    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        features = super().forward(features, **kwargs)
        hidden = features["token_embeddings"]  # (B, T, D)
        rows, templates, lengths, positions = [], [], [], []
        for index, (ids, mask) in enumerate(
            zip(features["input_ids"].tolist(), features["attention_mask"].tolist(), strict=False)
        ):
            row = ids[: int(sum(mask))]
            sentence, template = self._sentence_ids(row)
            prefix, _, mask_offset = self._pieces[template]
            rows.append(index)
            templates.append(template)
            lengths.append(len(sentence))
            positions.append(1 + len(prefix) + len(sentence) + mask_offset)
        index = torch.arange(hidden.size(0), device=hidden.device)
        embedding = hidden[index, torch.tensor(positions, device=hidden.device)]  # (B, D)
        if self.denoise:
            embedding = embedding - self._template_states(templates, lengths, hidden.device).to(embedding.dtype)
        features["sentence_embedding"] = embedding
        return features

    def _template_states(self, templates: list[str], lengths: list[int], device: torch.device) -> Tensor:
        """For each row, the [MASK] state of its template with an empty sentence, positions shifted by its length."""
        out: list[Tensor | None] = [None] * len(templates)
        for template in dict.fromkeys(templates):
            prefix, _suffix, mask_offset = self._pieces[template]
            unique = sorted({length for t, length in zip(templates, lengths, strict=False) if t == template})
            ids = torch.tensor([self._wrap([], template)] * len(unique), device=device)  # (U, T0)
            positions = torch.arange(ids.size(1), device=device).repeat(len(unique), 1)  # (U, T0)
            positions[:, 1 + len(prefix) :] += torch.tensor(unique, device=device).unsqueeze(-1)
            extra: dict[str, Tensor] = {}
            if "token_type_ids" in self.tokenizer.model_input_names:
                extra["token_type_ids"] = torch.zeros_like(ids)
            output = self.auto_model(
                input_ids=ids, attention_mask=torch.ones_like(ids), position_ids=positions, **extra
            )
            states = output.last_hidden_state[:, 1 + len(prefix) + mask_offset]  # (U, D)
            by_length = dict(zip(unique, states, strict=False))
            for row, (t, length) in enumerate(zip(templates, lengths, strict=False)):
                if t == template:
                    out[row] = by_length[length]
        return torch.stack(out)  # type: ignore[arg-type]  # (B, D)


def prompt_module(model: nn.Module) -> PromptTransformer:
    """The model's :class:`PromptTransformer` (its first module); a clear error when it has none."""
    first = next(iter(getattr(model, "module", model)), None)
    if not isinstance(first, PromptTransformer):
        raise ValueError(
            "positive_template (PromptBERT) needs a model whose first module is a PromptTransformer; build it with "
            "prompt_template=... (SimCSEConfig) or simcse_st.modules.build_prompt_model."
        )
    return first
