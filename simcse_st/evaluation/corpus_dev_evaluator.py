"""CorpusDevEvaluator: a label-free dev signal from held-out sentences of the training corpus."""

from __future__ import annotations

import logging
import math
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import torch
import torch.nn.functional as F
from sentence_transformers.base.evaluation.evaluator import BaseEvaluator
from torch import Tensor

from simcse_st.data.hold_out import delete_units, perturbation_units
from simcse_st.evaluation.alignment_uniformity import alignment_loss
from simcse_st.evaluation.tables import append_csv_row

if TYPE_CHECKING:
    from sentence_transformers.sentence_transformer.model import SentenceTransformer

logger = logging.getLogger(__name__)

# What "score", the primary metric, is (each greater-is-better); docs/own-data.md compares them against STS-B dev.
CorpusDevScore = Literal["retrieval_mrr", "retrieval_top1", "alignment", "uniformity", "align_uniform", "contrastive"]
CORPUS_DEV_SCORES: tuple[str, ...] = get_args(CorpusDevScore)
CORPUS_DEV_EVALUATOR_NAME = "corpus-dev"
CONTRASTIVE_TEMPERATURE = 0.05  # the held-out InfoNCE is scored at SimCSE's temperature
BLOCK_ROWS = 1024  # sentences scored at a time: 10,000 held out take 80 MB per block in float64


class CorpusDevEvaluator(BaseEvaluator):
    """
    Score a checkpoint without labels, from sentences held out of the training corpus (``dev_from_corpus``).

    Each held-out sentence ``s_i`` gets one perturbed copy ``p_i`` (a share ``deletion_rate`` of its words deleted,
    of its characters for text without spaces; drawn once, seeded, so every checkpoint sees the same copies). With
    L2-normalised embeddings ``e_i = f(s_i)`` and ``q_i = f(p_i)`` it reports:

    - ``retrieval_mrr`` / ``retrieval_top1``: the mean reciprocal rank of ``q_i`` among all ``q_j`` by cosine to
      ``e_i``, and how often it ranks first (greater is better);
    - ``align_loss``: ``mean ||e_i - q_i||²`` (Wang & Isola's alignment on these pairs; lower is better);
    - ``uniform_loss``: ``log mean exp(-2 ||e_i - e_j||²)`` over the held-out sentences (lower is better);
    - ``contrastive_loss``: the InfoNCE of ``e_i`` against ``q_1..q_N`` at τ = 0.05 (lower is better);
    - ``score``, the primary metric (greater is better): the one of the above that ``score`` names, as a
      greater-is-better number (``alignment`` = ``-align_loss``, ``uniformity`` = ``-uniform_loss``,
      ``align_uniform`` = ``-(align_loss + uniform_loss)``, ``contrastive`` = ``-contrastive_loss``).

    It needs nothing but the sentences, so it works for any language and domain. The default score, ``contrastive``
    at ``deletion_rate=0.3``, was chosen on ablation runs scored against STS-B dev, then checked on runs not used
    for the choice (docs/own-data.md, where it fails is said too).

    Args:
        sentences: The held-out sentences (at least 2; they must not be trained on).
        score: What the primary metric ``score`` is (see above).
        deletion_rate: The share of units deleted in each perturbed copy, in (0, 1).
        seed: Seed of the perturbations.
        batch_size: Encoding batch size.
        show_progress_bar: Show a progress bar while encoding.
        name: Prefix of the metric keys (the Trainer logs ``eval_corpus-dev_score``).
        write_csv: Append a row of the metrics to ``corpus_dev_evaluation[_<name>]_results.csv`` in ``output_path``.

    Example:
        ::

            from simcse_st.data.hold_out import hold_out
            from simcse_st.evaluation import CorpusDevEvaluator

            train_rows, held_out = hold_out(load_sentences("corpus.txt"), 1000, seed=42)
            evaluator = CorpusDevEvaluator(held_out)
            evaluator(model)  # {"corpus-dev_score": ..., "corpus-dev_retrieval_mrr": ..., ...}
    """

    def __init__(
        self,
        sentences: Sequence[str],
        score: CorpusDevScore = "contrastive",
        deletion_rate: float = 0.3,
        seed: int = 42,
        batch_size: int = 64,
        show_progress_bar: bool = False,
        name: str = CORPUS_DEV_EVALUATOR_NAME,
        write_csv: bool = True,
    ) -> None:
        super().__init__()
        sentences = [str(sentence) for sentence in sentences]
        if len(sentences) < 2:
            raise ValueError(f"CorpusDevEvaluator needs at least 2 held-out sentences, got {len(sentences)}.")
        if score not in CORPUS_DEV_SCORES:
            raise ValueError(f"score={score!r} is invalid: must be one of {', '.join(CORPUS_DEV_SCORES)}.")
        if isinstance(deletion_rate, bool) or not isinstance(deletion_rate, (int, float)) or not 0 < deletion_rate < 1:
            raise ValueError(f"deletion_rate={deletion_rate!r} is invalid: must be a number in (0, 1).")
        rng = random.Random(seed)
        self.sentences = sentences
        self.perturbed = [delete_units(sentence, deletion_rate, rng) for sentence in sentences]
        unchanged = sum(len(perturbation_units(s)[0]) < 2 for s in sentences)
        if unchanged:
            logger.warning(f"CorpusDevEvaluator: {unchanged} of {len(sentences)} held-out sentences are too short to "
                           "perturb; their copy is the sentence itself.")  # fmt: skip
        self.score = score
        self.deletion_rate = float(deletion_rate)
        self.seed = seed
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.name = name
        self.write_csv = write_csv
        self.greater_is_better = True
        self.primary_metric = f"{name}_score" if name else "score"
        self.csv_file = "corpus_dev_evaluation" + (f"_{name}" if name else "") + "_results.csv"
        self.csv_headers = ["epoch", "steps", *METRIC_KEYS]

    def __call__(
        self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        logger.info(f"CorpusDevEvaluator: {len(self.sentences)} held-out sentences, steps {steps}")
        texts = self.sentences + self.perturbed  # one encode call: the model is in eval mode once
        embeddings = model.encode(
            texts, batch_size=self.batch_size, show_progress_bar=self.show_progress_bar, convert_to_tensor=True
        )
        embeddings = torch.as_tensor(embeddings).detach().to("cpu", torch.float64)
        metrics = self.compute_metrics(embeddings[: len(self.sentences)], embeddings[len(self.sentences) :])
        if output_path is not None and self.write_csv:
            os.makedirs(output_path, exist_ok=True)
            append_csv_row(self.csv_headers, Path(output_path) / self.csv_file, metrics, epoch, steps)
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    def compute_metrics(self, sentences: Tensor, perturbed: Tensor) -> dict[str, float]:
        """The metrics (unprefixed) from the ``(N, dim)`` embeddings of the sentences and of their copies."""
        e = F.normalize(sentences, dim=-1)  # (N, d)
        q = F.normalize(perturbed, dim=-1)  # (N, d)
        n = len(e)
        ranks, nll, pair_terms = [], [], []
        for start in range(0, n, BLOCK_ROWS):  # row blocks: memory O(BLOCK_ROWS × N), not O(N²)
            rows = torch.arange(start, min(start + BLOCK_ROWS, n))
            similarity = e[rows] @ q.T  # (B, N): sentence i against every copy
            target = similarity[torch.arange(len(rows)), rows].unsqueeze(1)  # (B, 1): against its own copy
            ranks.append(1 + (similarity > target).sum(dim=1))  # (B,): 1 = its own copy is the nearest
            nll.append(F.cross_entropy(similarity / CONTRASTIVE_TEMPERATURE, rows, reduction="none"))
            # uniformity over the pairs i < j: ||e_i - e_j||² = 2 - 2 e_i·e_j on the unit sphere
            gram = e[rows] @ e.T  # (B, N)
            upper = torch.arange(n).unsqueeze(0) > rows.unsqueeze(1)  # (B, N): j > i
            pair_terms.append(torch.logsumexp(-2 * (2 - 2 * gram[upper]), dim=0, keepdim=True))
        rank = torch.cat(ranks)  # (N,)
        uniform = torch.logsumexp(torch.cat(pair_terms), dim=0) - math.log(n * (n - 1) / 2)
        metrics = {
            "retrieval_mrr": rank.double().reciprocal().mean().item(),
            "retrieval_top1": (rank == 1).double().mean().item(),
            "align_loss": alignment_loss(e, q).item(),
            "uniform_loss": uniform.item(),
            "contrastive_loss": torch.cat(nll).mean().item(),
        }
        metrics["score"] = _score(metrics, self.score)
        return {key: metrics[key] for key in METRIC_KEYS}

    @property
    def description(self) -> str:
        return "label-free dev (held-out corpus sentences)"

    def get_config_dict(self) -> dict[str, Any]:
        return {"sentences": len(self.sentences), "score": self.score, "deletion_rate": self.deletion_rate}


METRIC_KEYS = ("score", "retrieval_mrr", "retrieval_top1", "align_loss", "uniform_loss", "contrastive_loss")


def _score(metrics: dict[str, float], score: CorpusDevScore) -> float:
    """The greater-is-better number that ``score`` names."""
    if score in ("retrieval_mrr", "retrieval_top1"):
        return metrics[score]
    if score == "alignment":
        return -metrics["align_loss"]
    if score == "uniformity":
        return -metrics["uniform_loss"]
    if score == "align_uniform":
        return -(metrics["align_loss"] + metrics["uniform_loss"])
    return -metrics["contrastive_loss"]
