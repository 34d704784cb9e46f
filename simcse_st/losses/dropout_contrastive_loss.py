from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F
from sentence_transformers.base.losses.gradcache import CachedLossMixin, RandContext, _get_batch_size
from sentence_transformers.base.losses.merged_forward import embed_columns, merge_feature_batches
from sentence_transformers.sentence_transformer.model import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense
from sentence_transformers.util import all_gather, all_gather_with_grad, cos_sim, get_rank
from torch import Tensor, nn

from simcse_st.losses.contrastive_logits import contrastive_logits
from simcse_st.losses.dimension_contrastive import dimension_contrastive_loss
from simcse_st.losses.method_settings import MethodSettings, _BatchState
from simcse_st.losses.mlm_auxiliary import MLMAuxiliary
from simcse_st.losses.momentum_queue import MomentumQueue
from simcse_st.losses.token_repetition import repeat_tokens
from simcse_st.losses.view_encoding import dropout_off, encode_views, intermediate_embeddings
from simcse_st.modules.build import max_positions
from simcse_st.modules.prompt_transformer import prompt_module
from simcse_st.modules.simcse_pooling import SimCSEPooling, make_mlp_head

logger = logging.getLogger(__name__)

SIMCSE_CITATION = """
@inproceedings{gao2021simcse,
    title = "{S}im{CSE}: Simple Contrastive Learning of Sentence Embeddings",
    author = "Gao, Tianyu and Yao, Xingcheng and Chen, Danqi",
    booktitle = "Proceedings of the 2021 Conference on Empirical Methods in Natural Language Processing",
    year = "2021",
    publisher = "Association for Computational Linguistics",
    url = "https://arxiv.org/abs/2104.08821",
    pages = "6894--6910",
}
"""


class DropoutContrastiveLoss(CachedLossMixin, nn.Module):
    def __init__(
        self,
        model: SentenceTransformer,
        temperature: float = 0.05,
        hard_negative_weight: float = 0.0,
        gather_across_devices: bool = False,
        mini_batch_size: int | None = None,
        show_progress_bar: bool = False,
        mlp_only_train: bool = False,
        mlm_weight: float = 0.0,
        mlm_probability: float = 0.15,
        same_dropout_mask: bool = False,
        repetition_rate: float = 0.0,
        queue_size: int = 0,
        momentum: float = 0.995,
        off_dropout_negatives: bool = False,
        dcl_weight: float = 0.0,
        dcl_temperature: float = 5.0,
        intermediate_layers: int = 0,
        positive_template: str | None = None,
    ) -> None:
        """
        The SimCSE objective (Gao, Yao & Chen, 2021): InfoNCE over cosine similarities with in-batch negatives.

        With **one** input column (unsupervised SimCSE, eq. 1) every sentence is encoded twice in ONE forward pass
        of ``2N`` rows: the batch is tokenized once and duplicated, and dropout makes the two copies differ. For
        sentence ``i`` the positive is its other view; the second views of all other sentences are the negatives::

            loss = CE( cos(h_i, h'_j) / temperature over j,  target j = i )

        With **two** columns ``(anchor, positive)`` or **three or more** ``(anchor, positive, hard_negative_1, ...)``
        it is supervised SimCSE (eq. 5): every anchor is scored against all positives and all hard negatives of
        the batch. ``hard_negative_weight`` (the paper's α, a log-weight) is added to the logit of each anchor's
        *own* hard negative(s) only, after the temperature.

        The cosine similarities and the cross-entropy are always computed in float32, also under autocast.

        Args:
            model: The SentenceTransformer to train. It must have active dropout for the unsupervised mode.
            temperature: τ in the paper; the similarities are divided by it. SimCSE uses 0.05. Must be > 0.
            hard_negative_weight: α in the paper, added to the logit of each anchor's own hard negative(s).
                0 (the default) weighs hard negatives like any other negative. Only used with 3+ columns.
            gather_across_devices: All-gather the candidate embeddings (with gradients) from every process before
                computing the loss, so that under DDP each anchor sees the negatives of the whole global batch.
            mini_batch_size: Train large batches in bounded memory with GradCache (Gao et al., 2021): embed the
                batch in mini-batches without gradients, compute the loss and its gradients w.r.t. the embeddings,
                then re-embed each mini-batch with gradients, replaying its RNG state so that dropout draws the same
                masks. Memory is that of one mini-batch; the price is a second forward pass. ``None`` (default):
                one ordinary forward pass. In the unsupervised mode the two views are then two passes over the
                mini-batches rather than one merged pass.
            show_progress_bar: Show a progress bar over the mini-batches (with ``mini_batch_size``).
            mlp_only_train: SimCSE's unsupervised default: apply an MLP head (``Tanh(Linear(d, d))``, initialised
                like SimCSE's ``MLPLayer``) to every embedding before the similarity, in training only. The head is a
                parameter of this loss, so the Trainer optimizes it and ``model.save()`` does not save it: build the
                model with the ``cls_before_pooler`` pooler (:func:`simcse_st.modules.build_simcse_model`) and the
                saved model encodes with the raw [CLS] vector, as the paper evaluates.
            mlm_weight: Weight λ of SimCSE's auxiliary MLM objective (:class:`~simcse_st.losses.MLMAuxiliary`);
                ``0`` (default) = off; the paper uses 0.1. When on, ``forward`` returns
                ``{"contrastive": loss, "mlm": mlm_weight * mlm_cross_entropy}``: the Trainer backpropagates their
                sum and logs both.
            mlm_probability: Share of the maskable tokens selected for the MLM objective (SimCSE: 0.15).
            same_dropout_mask: The paper's "fixed 0.1" row of Table 3: in the one-column mode the two views are
                encoded by two forward passes that replay the same RNG state, so they get the same dropout masks
                (and are identical); the masks still change from step to step. Rates are set with
                :func:`simcse_st.modules.set_dropout`.
            repetition_rate: ESimCSE (Wu et al., 2022): the positive view repeats up to this share of its subword
                tokens (:func:`~simcse_st.losses.token_repetition.repeat_token_list`), drawn afresh for every batch
                from Python's ``random`` state; ESimCSE uses 0.32. ``0`` (default) = off.
            queue_size: ESimCSE's momentum contrast: a :class:`~simcse_st.losses.MomentumQueue` of this many
                embeddings of earlier batches by an EMA copy of the model (dropout off), extra negatives of every
                anchor; ESimCSE uses 160. ``0`` (default) = off.
            momentum: The EMA momentum of that copy (ESimCSE: 0.995).
            off_dropout_negatives: SimCSE++ (Xu et al., 2023): a third forward pass encodes the batch with dropout
                off, with gradients, under the same autocast as the two views; the negatives of anchor ``i`` are
                ``s(z0_i, z0_j)``, ``j ≠ i``, its positive stays ``s(z1_i, z2_i)``
                (:func:`~simcse_st.losses.contrastive_logits.contrastive_logits`).
            dcl_weight: SimCSE++'s dimension-wise contrastive regulariser
                (:func:`~simcse_st.losses.dimension_contrastive.dimension_contrastive_loss`) on the two dropout views,
                with this weight (SimCSE++: 0.1); returned as its own ``"dcl"`` entry. ``0`` (default) = off.
            dcl_temperature: Its temperature (SimCSE++: 5).
            intermediate_layers: SSCL (Chen et al., 2023): the embeddings of this many layers just below the last
                (pooled by the model's own pooler from the same forward pass), of both views of every sentence, are
                extra negatives; SSCL's code uses 2 (layers 11 and 10 of BERT-base), its paper 1. ``0`` = off.
            positive_template: PromptBERT (Jiang et al., 2022): the positive view is the sentence in this second
                template (the model's :class:`~simcse_st.modules.PromptTransformer` holds the first). ``None`` = the
                same template for both views.

        References:
            - SimCSE: Simple Contrastive Learning of Sentence Embeddings: https://arxiv.org/abs/2104.08821
            - Reference implementation: https://github.com/princeton-nlp/SimCSE
            - ESimCSE (Wu et al., COLING 2022): https://arxiv.org/abs/2109.04380, code ``caskcsg/sentemb``
            - SimCSE++ (Xu et al., EMNLP 2023): https://arxiv.org/abs/2305.13192, code ``Jiahao004/SimCSE-plus-plus``
            - SSCL (Chen et al., ACL 2023): https://arxiv.org/abs/2305.06154, code ``nuochenpku/SSCL``
            - PromptBERT (Jiang et al., EMNLP 2022): https://arxiv.org/abs/2201.04337, code ``kongds/Prompt-BERT``

        Requirements:
            1. Unsupervised: single sentences. Use a batch sampler without duplicates (duplicates are false
               negatives), e.g. :class:`simcse_st.UnlabeledSentenceLoader` or ``BatchSamplers.NO_DUPLICATES``.
            2. Supervised: (anchor, positive) pairs or (anchor, positive, hard negative, ...) tuples.
            3. A batch must hold at least 2 sentences (over all processes when gathering).

        Inputs:
            +--------------------------------------------------+--------+
            | Texts                                            | Labels |
            +==================================================+========+
            | (sentence,) single sentences                     | none   |
            +--------------------------------------------------+--------+
            | (anchor, positive) pairs                         | none   |
            +--------------------------------------------------+--------+
            | (anchor, positive, negative_1, ..., negative_n)  | none   |
            +--------------------------------------------------+--------+

        Relations:
            - With two or more columns and ``hard_negative_weight=0`` this equals
              :class:`~sentence_transformers.sentence_transformer.losses.MultipleNegativesRankingLoss` with
              ``scale = 1 / temperature``. The sentence-transformers SimCSE recipe feeds (s, s) pairs to that loss,
              which runs two forward passes and tokenizes every sentence twice; the one-column mode here does one.
            - The noise is the encoder's own dropout. On CPU, :func:`simcse_st.enable_fast_dropout` (what
              :func:`simcse_st.train_simcse` applies by default) draws the same Bernoulli masks ~3× cheaper.
            - The follow-up methods (docs/methods.md) change the one-column mode only and combine: ESimCSE's
              ``repetition_rate`` changes the positive view and ``queue_size`` adds negatives; SimCSE++'s
              ``off_dropout_negatives`` replaces the in-batch negatives and ``dcl_weight`` adds a ``"dcl"`` term;
              SSCL's ``intermediate_layers`` adds negatives from the same forward pass; PromptBERT's
              ``positive_template`` (with a :class:`~simcse_st.modules.PromptTransformer` model) changes the
              positive view. With any of them on, ``mini_batch_size`` and ``same_dropout_mask`` are refused, and
              ``MatryoshkaLoss`` may wrap the loss (the per-batch state is made once per batch).

        Example:
            ::

                from sentence_transformers import SentenceTransformer
                from simcse_st import DropoutContrastiveLoss, UnlabeledSentenceLoader

                model = SentenceTransformer("bert-base-uncased")
                loader = UnlabeledSentenceLoader("corpus.txt", batch_size=64)
                model.fit(train_objectives=[(loader, DropoutContrastiveLoss(model))], epochs=1, warmup_steps=0)
        """
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}.")
        if not isinstance(hard_negative_weight, (int, float)) or hard_negative_weight != hard_negative_weight:
            raise ValueError(f"hard_negative_weight must be a finite number, got {hard_negative_weight!r}.")
        self.model = model
        self.temperature = float(temperature)
        self.hard_negative_weight = float(hard_negative_weight)
        self.gather_across_devices = bool(gather_across_devices)
        if mini_batch_size is not None and (not isinstance(mini_batch_size, int) or mini_batch_size < 1):
            raise ValueError(f"mini_batch_size must be a positive integer or None, got {mini_batch_size!r}.")
        self.mini_batch_size = mini_batch_size  # type: ignore[assignment]
        self.uses_gradient_cache = mini_batch_size is not None
        self.show_progress_bar = show_progress_bar
        self._warned_no_noise = False
        self._autocast_state: tuple[str, torch.dtype, bool] | None = None  # of the forward pass, for the replay
        if not isinstance(mlm_weight, (int, float)) or not mlm_weight >= 0:
            raise ValueError(f"mlm_weight must be a number >= 0, got {mlm_weight!r}.")
        if not 0.0 < mlm_probability < 1.0:
            raise ValueError(f"mlm_probability must be in (0, 1), got {mlm_probability!r}.")
        if mini_batch_size is not None and (mlm_weight > 0 or same_dropout_mask):
            raise ValueError(
                "mini_batch_size (GradCache) cannot be combined with mlm_weight > 0 or same_dropout_mask."
            )
        self.mlp_only_train = bool(mlp_only_train)
        self.mlp = self._build_mlp(model) if self.mlp_only_train else None
        self.mlm_weight = float(mlm_weight)
        self.mlm_probability = float(mlm_probability)
        self.mlm = MLMAuxiliary(model, mlm_probability) if self.mlm_weight > 0 else None
        self.same_dropout_mask = bool(same_dropout_mask)
        self.methods = MethodSettings.checked(
            model,
            repetition_rate=repetition_rate,
            queue_size=queue_size,
            momentum=momentum,
            off_dropout_negatives=off_dropout_negatives,
            dcl_weight=dcl_weight,
            dcl_temperature=dcl_temperature,
            intermediate_layers=intermediate_layers,
            positive_template=positive_template,
        )
        if self.methods.active and (mini_batch_size is not None or same_dropout_mask):
            raise ValueError(
                f"{', '.join(self.methods.active)} cannot be combined with mini_batch_size (GradCache) or "
                "same_dropout_mask: their extra passes and per-batch state are not replayed mini-batch by mini-batch."
            )
        self.momentum_queue = MomentumQueue(model, queue_size, momentum) if queue_size > 0 else None
        self._batch: _BatchState | None = None
        tokenizer = getattr(model, "tokenizer", None)
        self._pad_token_id = int(getattr(tokenizer, "pad_token_id", None) or 0)
        self._special_ids = frozenset(getattr(tokenizer, "all_special_ids", ()) or ())
        self._max_positions = max_positions(model) if repetition_rate > 0 else None

    @staticmethod
    def _build_mlp(model: SentenceTransformer) -> nn.Module:
        """The train-only MLP head (SimCSE's ``MLPLayer``) on the model's device."""
        if any(isinstance(module, SimCSEPooling) and module.pooler == "cls" for module in model.modules()):
            raise ValueError(
                "mlp_only_train=True, but the model's pooler already applies the MLP (pooler='cls'); build the model "
                "with pooler='cls_before_pooler' so the MLP is used in training only."
            )
        if any(isinstance(module, Dense) for module in model.modules()):
            logger.warning(
                "mlp_only_train=True on a model with a Dense module (build_simcse_model's pooler='cls' is one): the "
                "train-only MLP is applied after it. For SimCSE's setting use pooler='cls_before_pooler'."
            )
        config = getattr(model[0], "model", None)
        initializer_range = float(getattr(getattr(config, "config", None), "initializer_range", 0.02))
        return make_mlp_head(model.get_embedding_dimension(), initializer_range).to(model.device)

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None
    ) -> Tensor | dict[str, Tensor]:
        features = list(sentence_features)
        if not features:
            raise ValueError("DropoutContrastiveLoss received no input columns.")
        if self.mini_batch_size is not None:
            device_type = self.model.device.type
            self._autocast_state = (
                device_type,
                torch.get_autocast_dtype(device_type),
                torch.is_autocast_enabled(device_type),
            )
            if len(features) == 1:
                self._check_batch(features[0])
                self._check_dropout()
                features = [features[0], features[0]]  # two views: each column gets its own dropout draws
            return self.forward_cached(features, labels)
        if self.methods.active:
            if len(features) != 1:
                raise ValueError(
                    f"{', '.join(self.methods.active)} apply to the one-column (unsupervised) mode only; got "
                    f"{len(features)} columns."
                )
            return self._forward_methods(features[0])
        if len(features) == 1:
            embeddings = self.embed_two_views(features[0])
        elif self.same_dropout_mask:
            raise ValueError("same_dropout_mask applies to the one-column (unsupervised) mode only.")
        else:
            # All columns are sentences of one kind: one merged forward when they preprocess alike.
            embeddings = embed_columns(self.model, features, separate_first=False)
        loss = self.compute_loss_from_embeddings(embeddings, labels)
        if self.mlm is None:
            return loss
        columns = [features[0], features[0]] if len(features) == 1 else features  # SimCSE masks every view
        return {"contrastive": loss, "mlm": self.mlm_weight * self.mlm(self.model, columns)}

    def _forward_methods(self, features: dict[str, Tensor]) -> Tensor | dict[str, Tensor]:
        """Unsupervised SimCSE with the follow-up methods (ESimCSE, SimCSE++, SSCL, PromptBERT's two templates).

        The per-batch state (the positive view's draw, the EMA step, the momentum embeddings, the queue as it was
        before this batch) is made once per batch: a wrapper that calls this loss several times on the same batch
        (``MatryoshkaLoss``, once per dimension) reuses it, and the queue never holds the batch's own sentences.
        """
        batch_size = self._check_batch(features)
        self._check_dropout()
        state = self._batch_state(features)
        methods = self.methods
        z1, z2, output = encode_views(
            self.model, features, state.positives, self._pad_token_id, keep_hidden=methods.intermediate_layers > 0
        )  # (N, D) each
        z0 = None
        if methods.off_dropout_negatives:  # under the caller's autocast, as the two views: a bf16 pass in bf16 runs
            with dropout_off(self.model):
                z0 = self.model(dict(features))["sentence_embedding"]  # (N, D)
        device_type = z1.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            head = self.mlp if self.mlp is not None else nn.Identity()
            z1, z2 = head(z1.float()), head(z2.float())
            dimension = z1.size(-1)  # smaller than D under MatryoshkaLoss
            extras = []
            if methods.intermediate_layers:
                layers = intermediate_embeddings(self.model, output, methods.intermediate_layers)
                extras += [head(layer.float())[..., :dimension] for layer in layers]  # each (2N, D)
            if state.queue is not None:
                extras.append(state.queue[..., :dimension])  # (K, D), no gradient
            off_dropout = None
            if z0 is not None:
                z0 = head(z0.float())
                off_dropout = (z0, all_gather_with_grad(z0) if self.gather_across_devices else z0)
            positives = all_gather_with_grad(z2) if self.gather_across_devices else z2  # (W·N, D)
            offset = get_rank() * batch_size if self.gather_across_devices else 0
            if positives.size(0) < 2:
                raise ValueError("SimCSE needs at least 2 sentences per batch: the others are the negatives.")
            logits = contrastive_logits(z1, positives, offset, self.temperature, off_dropout, extras)
            targets = torch.arange(offset, offset + batch_size, device=z1.device)
            losses = {"contrastive": F.cross_entropy(logits, targets)}
            if methods.dcl_weight > 0:
                losses["dcl"] = methods.dcl_weight * dimension_contrastive_loss(z1, z2, methods.dcl_temperature)
        if state.momentum is not None and self.momentum_queue is not None and not state.enqueued:
            self.momentum_queue.enqueue(state.momentum)  # after the loss: this batch is a negative of the next ones
            state.enqueued = True
        if self.mlm is not None:
            losses["mlm"] = self.mlm_weight * self.mlm(self.model, [features, features])
        return losses["contrastive"] if len(losses) == 1 else losses

    def _batch_state(self, features: dict[str, Tensor]) -> _BatchState:
        """The state of this batch, made on its first call (see :meth:`_forward_methods`)."""
        if self._batch is not None and self._batch.input_ids is features["input_ids"]:
            return self._batch
        positives = features
        if self.methods.positive_template is not None:
            positives = prompt_module(self.model).retemplate(positives, self.methods.positive_template)
        if self.methods.repetition_rate > 0:
            positives = repeat_tokens(
                positives,
                self.methods.repetition_rate,
                random,  # type: ignore[arg-type]  # the global state: seeded by set_seed, saved in checkpoints
                self._special_ids,
                self._pad_token_id,
                self._max_positions,
            )
        queue = momentum = None
        if self.momentum_queue is not None:
            queue = self.momentum_queue.negatives.clone()  # (≤K, D): before this batch is added
            if self.model.training:  # an evaluation pass must not move the EMA or fill the queue
                self.momentum_queue.update(self.model)
                momentum = self.momentum_queue.encode(features)  # (N, D)
                if self.mlp is not None:
                    with torch.no_grad():
                        momentum = self.mlp(momentum)
                if self.gather_across_devices:
                    momentum = all_gather(momentum)  # (W·N, D): every process holds the same queue
        self._batch = _BatchState(features["input_ids"], positives, queue, momentum)
        return self._batch

    def _check_batch(self, features: dict[str, Tensor]) -> int:
        batch_size = _get_batch_size(features)
        if batch_size < 2 and not self.gather_across_devices:
            raise ValueError(
                f"Unsupervised SimCSE needs at least 2 sentences per batch (got {batch_size}): "
                "the other sentences of the batch are the negatives."
            )
        return batch_size

    def embed_two_views(self, features: dict[str, Tensor]) -> list[Tensor]:
        """Encode a tokenized batch twice in one forward pass of 2N rows; dropout makes the views differ."""
        batch_size = self._check_batch(features)
        self._check_dropout()
        if self.same_dropout_mask:
            return self._embed_with_same_masks(features)
        merged = merge_feature_batches([features, features])
        if merged is None:  # features that cannot be stacked (rare module types): two passes, same math
            return [self.model(features)["sentence_embedding"] for _ in range(2)]
        embeddings = self.model(merged)["sentence_embedding"]  # (2N, D)
        return list(embeddings.reshape(2, batch_size, *embeddings.shape[1:]).unbind(0))  # 2 × (N, D)

    def _embed_with_same_masks(self, features: dict[str, Tensor]) -> list[Tensor]:
        """Two forward passes from the same RNG state: identical dropout masks, identical views (Table 3)."""
        state = RandContext(*(value for value in features.values() if isinstance(value, Tensor)))
        first = self.model(dict(features))["sentence_embedding"]  # (N, D)
        with state:  # replays the RNG state saved before the first pass, then restores the current one
            second = self.model(dict(features))["sentence_embedding"]  # (N, D), equal to `first`
        return [first, second]

    def embed_minibatch(
        self,
        sentence_feature: dict[str, Tensor],
        begin: int,
        end: int,
        with_grad: bool,
        copy_random_state: bool,
        random_state: RandContext | None = None,
    ) -> tuple[Tensor, RandContext | None]:
        """One GradCache mini-batch, under the autocast state of the forward pass. The gradient pass (step 3) runs
        inside ``loss.backward()``, outside the Trainer's autocast: without this it would recompute in float32
        (slower, and embeddings other than the cached ones)."""
        device_type, dtype, enabled = self._autocast_state or (self.model.device.type, torch.float32, False)
        with torch.autocast(device_type, dtype=dtype, enabled=enabled):
            return super().embed_minibatch(sentence_feature, begin, end, with_grad, copy_random_state, random_state)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None = None) -> Tensor:
        """InfoNCE of the first column (anchors) against all others (positive first, then hard negatives)."""
        if len(embeddings) < 2:
            raise ValueError(
                f"Expected the anchor embeddings and at least one candidate column, got {len(embeddings)}."
            )
        device_type = embeddings[0].device.type
        with torch.autocast(device_type=device_type, enabled=False):
            columns = [column.float() for column in embeddings]  # (k + 1) × (N, D)
            if self.mlp is not None:  # train-only MLP head, before any gathering (as SimCSE)
                columns = [self.mlp(column) for column in columns]
            anchors, candidates = columns[0], columns[1:]
            batch_size = anchors.size(0)
            offset = 0
            if self.gather_across_devices:
                candidates = [all_gather_with_grad(column) for column in candidates]  # k × (W·N, D)
                offset = get_rank() * batch_size
            global_size = candidates[0].size(0)
            if global_size < 2:
                raise ValueError(
                    f"SimCSE needs at least 2 sentences per batch (got {global_size}): "
                    "the other sentences of the batch are the negatives."
                )
            scores = cos_sim(anchors, torch.cat(candidates)) / self.temperature  # (N, k·W·N)
            targets = torch.arange(offset, offset + batch_size, device=anchors.device)  # (N,)
            if self.hard_negative_weight != 0.0 and len(candidates) > 1:
                weights = torch.zeros_like(scores)
                rows = torch.arange(batch_size, device=anchors.device)
                for column in range(1, len(candidates)):
                    weights[rows, column * global_size + targets] = self.hard_negative_weight
                scores = scores + weights
            return F.cross_entropy(scores, targets)

    def calculate_loss(
        self, reps: list[list[Tensor]], labels: Tensor | None = None, *, with_backward: bool = False
    ) -> Tensor:
        """GradCache step (2): the loss over the whole batch from the per-mini-batch embeddings."""
        loss = self.compute_loss_from_embeddings([torch.cat(column) for column in reps], labels)
        if with_backward:
            loss.backward()
            loss = loss.detach()
        return loss

    def _check_dropout(self) -> None:
        """Warn (once) when the unsupervised mode would see two identical views: no noise, no signal."""
        if self._warned_no_noise:
            return
        if self.same_dropout_mask:
            self._warned_no_noise = True
            logger.warning(
                "DropoutContrastiveLoss(same_dropout_mask=True): both views of each sentence get the same dropout "
                "masks and are identical (the paper's 'fixed 0.1' ablation, Table 3)."
            )
            return
        if not any(isinstance(m, nn.Dropout) and m.p > 0 for m in self.model.modules()):
            reason = "the model has no dropout with p > 0; enable dropout in the encoder config"
        elif not self.model.training:
            reason = "the model is in eval mode, so dropout is off; call model.train() (the Trainer does)"
        else:
            return
        self._warned_no_noise = True
        logger.warning(
            f"DropoutContrastiveLoss: both views of each sentence are identical because {reason}. "
            "Unsupervised SimCSE then learns nothing useful."
        )

    def get_config_dict(self) -> dict[str, Any]:
        """The settings (for model cards and ``results.json``); the paper options appear only when switched on."""
        config: dict[str, Any] = {
            "temperature": self.temperature,
            "hard_negative_weight": self.hard_negative_weight,
            "gather_across_devices": self.gather_across_devices,
            "mini_batch_size": self.mini_batch_size,
        }
        if self.mlp_only_train:
            config["mlp_only_train"] = True
        if self.mlm_weight > 0:
            config.update(mlm_weight=self.mlm_weight, mlm_probability=self.mlm_probability)
        if self.same_dropout_mask:
            config["same_dropout_mask"] = True
        config.update(self.methods.config_dict())
        return config

    @property
    def citation(self) -> str:
        return SIMCSE_CITATION
