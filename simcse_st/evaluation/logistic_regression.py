"""A torch logistic regression with SentEval's training loop (``senteval/tools/classifier.py``, ``nhid=0``).

One instance trains one model per L2 value at once, on the same batches: SentEval builds a fresh classifier per
L2 value with the same seed, so those fits share their initial weights and their batch order and differ only in
the weight decay. Training them side by side gives the same models for a fraction of the Python overhead.

The per-step work is tiny (a [B, D] × [D, R·C] product), so the loop is written for overhead: all models' weights
and biases live in one matrix [D + 1, R·C] (inputs get a constant 1 column), the mean cross-entropy's gradient is
computed by hand, and Adam / RMSprop are applied with torch's update formulas (``_single_tensor_adam`` /
``_single_tensor_rmsprop``, default hyperparameters) without ``torch.optim``'s bookkeeping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

Optimizer = Literal["adam", "rmsprop"]
ADAM_LR, ADAM_BETAS, RMSPROP_LR, RMSPROP_ALPHA, EPS = 1e-3, (0.9, 0.999), 1e-2, 0.99, 1e-8  # torch's defaults


class LogisticRegression:
    """Multinomial logistic regression trained with Adam or RMSprop, mini-batches and early stopping.

    Mirrors SentEval's ``PyTorchClassifier`` + ``MLP(nhid=0)``: the weights start as ``nn.Linear``'s
    (``torch.manual_seed(seed)``), the batch order and the ``validation_split`` come from
    ``np.random.RandomState(seed)`` (what SentEval's ``np.random.seed(seed)`` gives), the loss is the mean
    cross-entropy, the L2 value is the optimizer's (coupled) ``weight_decay`` on weights and bias, and the optimizer
    has torch's default learning rate. Every ``epoch_size`` passes the accuracy on the validation data is measured;
    the best model is kept and training stops after the ``tenacity + 1``-th check without improvement (or past
    ``max_epoch`` passes).

    Args:
        input_dim: Feature dimension D.
        num_classes: Number of classes C.
        l2: One weight-decay value, or several: one independent model is trained per value (R models).
        optimizer: ``"adam"`` (SimCSE's full mode) or ``"rmsprop"`` (its fast mode).
        batch_size: Mini-batch size.
        tenacity: Checks without improvement tolerated before stopping.
        epoch_size: Passes over the training data between two checks.
        max_epoch: Training stops once more than this many passes were made.
        seed: Seed of the initial weights and of the batch order.
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        l2: float | Sequence[float] = 0.0,
        optimizer: Optimizer = "adam",
        batch_size: int = 64,
        tenacity: int = 5,
        epoch_size: int = 4,
        max_epoch: int = 200,
        seed: int = 1111,
    ) -> None:
        if optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"optimizer must be 'adam' or 'rmsprop', got {optimizer!r}.")
        self.input_dim = input_dim
        self.num_classes = num_classes
        self.l2: tuple[float, ...] = (float(l2),) if isinstance(l2, (int, float)) else tuple(float(v) for v in l2)
        self.optimizer_name: Optimizer = optimizer
        self.batch_size = batch_size
        self.tenacity = tenacity
        self.epoch_size = epoch_size
        self.max_epoch = max_epoch
        self.seed = seed
        self._rng = np.random.RandomState(seed)
        generator = torch.Generator().manual_seed(seed)
        weight = torch.empty(num_classes, input_dim)  # [C, D], as nn.Linear draws it
        torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(input_dim)
        bias = torch.empty(num_classes).uniform_(-bound, bound, generator=generator)  # [C]
        # Column r·C + c holds class c of model r; the last row is the bias: [D + 1, R·C]
        self.params = torch.cat([weight.T, bias.unsqueeze(0)]).repeat(1, len(self.l2))
        self.num_passes = 0

    @property
    def weight(self) -> torch.Tensor:
        """The weights of every model, [R, D, C]."""
        return self.params[:-1].view(self.input_dim, len(self.l2), self.num_classes).permute(1, 0, 2)

    @property
    def bias(self) -> torch.Tensor:
        """The biases of every model, [R, 1, C]."""
        return self.params[-1].view(len(self.l2), 1, self.num_classes)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores of every model: x [N, D] -> [R, N, C]."""
        scores = torch.addmm(self.params[-1], x.float(), self.params[:-1])  # [N, R·C]
        return scores.view(len(x), len(self.l2), self.num_classes).permute(1, 0, 2)

    @torch.no_grad()
    def fit(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        validation_data: tuple[torch.Tensor, torch.Tensor] | None = None,
        validation_split: float | None = None,
    ) -> list[float]:
        """Train on x [N, D] (float) / y [N] (long); return the best validation accuracy of each model.

        Early stopping uses ``validation_data`` if given, else a random ``validation_split`` fraction of the data.
        Training runs on one CPU thread (restored afterwards): its small matmuls are overhead-bound.
        """
        if validation_data is not None:
            x_train, y_train = x, y
            x_dev, y_dev = validation_data
        elif validation_split:
            permutation = torch.from_numpy(self._rng.permutation(len(x)))
            num_dev = int(validation_split * len(x))
            x_train, y_train = x[permutation[num_dev:]], y[permutation[num_dev:]]
            x_dev, y_dev = x[permutation[:num_dev]], y[permutation[:num_dev]]
        else:
            raise ValueError("fit needs validation_data or a validation_split for early stopping.")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._train(x_train, y_train, x_dev, y_dev)
        finally:
            torch.set_num_threads(threads)

    def _train(
        self, x_train: torch.Tensor, y_train: torch.Tensor, x_dev: torch.Tensor, y_dev: torch.Tensor
    ) -> list[float]:
        """The epochs and early stopping of SentEval's ``PyTorchClassifier.fit``, for all R models at once."""
        num_models, num_classes = len(self.l2), self.num_classes
        inputs = torch.cat([x_train.float(), x_train.new_ones(len(x_train), 1, dtype=torch.float)], dim=1)  # [N, D+1]
        one_hot = F.one_hot(y_train.long(), num_classes).float().unsqueeze(1)  # [N, 1, C]
        params, grad = self.params.clone(), torch.empty_like(self.params)  # [D + 1, R·C]
        decay = torch.tensor(self.l2).repeat_interleave(num_classes)  # [R·C], coupled L2 on weights and bias
        first_moment, second_moment = torch.zeros_like(params), torch.zeros_like(params)
        step = 0

        best, misses, stopped = [-1.0] * num_models, [0] * num_models, [False] * num_models
        best_params = params.clone()
        while not all(stopped) and self.num_passes <= self.max_epoch:
            for _ in range(self.epoch_size):
                order = torch.from_numpy(self._rng.permutation(len(inputs)))
                shuffled_inputs, shuffled_targets = inputs[order], one_hot[order]
                for start in range(0, len(inputs), self.batch_size):
                    x_batch = shuffled_inputs[start : start + self.batch_size]  # [B, D + 1]
                    size = len(x_batch)
                    # d(mean cross-entropy)/d(logits) = (softmax - one_hot) / B, per model: [B, R, C]
                    residual = torch.mm(x_batch, params).view(size, num_models, num_classes).softmax(dim=-1)
                    residual.sub_(shuffled_targets[start : start + self.batch_size])
                    torch.mul(params, decay, out=grad)
                    grad.addmm_(x_batch.T, residual.view(size, -1), alpha=1 / size)  # [D + 1, R·C]
                    step += 1
                    if self.optimizer_name == "adam":
                        first_moment.lerp_(grad, 1 - ADAM_BETAS[0])
                        second_moment.mul_(ADAM_BETAS[1]).addcmul_(grad, grad, value=1 - ADAM_BETAS[1])
                        denominator = second_moment.sqrt().div_(math.sqrt(1 - ADAM_BETAS[1] ** step)).add_(EPS)
                        params.addcdiv_(first_moment, denominator, value=-ADAM_LR / (1 - ADAM_BETAS[0] ** step))
                    else:
                        second_moment.mul_(RMSPROP_ALPHA).addcmul_(grad, grad, value=1 - RMSPROP_ALPHA)
                        params.addcdiv_(grad, second_moment.sqrt().add_(EPS), value=-RMSPROP_LR)
            self.num_passes += self.epoch_size
            accuracies = self._accuracies(params, x_dev, y_dev)
            for r in range(num_models):
                if stopped[r]:
                    continue  # its parameters still move, but only its best state counts
                if accuracies[r] > best[r]:
                    best[r] = accuracies[r]
                    columns = slice(r * num_classes, (r + 1) * num_classes)
                    best_params[:, columns] = params[:, columns]
                else:
                    stopped[r] = misses[r] >= self.tenacity
                    misses[r] += 1
        self.params = best_params
        return best

    def _accuracies(self, params: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> list[float]:
        scores = torch.addmm(params[-1], x.float(), params[:-1]).view(len(x), len(self.l2), self.num_classes)
        return (scores.argmax(-1) == y.long().unsqueeze(1)).float().mean(0).tolist()  # [R]

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted classes of every model: x [N, D] -> [R, N]."""
        return self.logits(x).argmax(-1)

    @torch.no_grad()
    def score(self, x: torch.Tensor, y: torch.Tensor) -> list[float]:
        """Accuracy of every model on x [N, D] / y [N], in [0, 1]."""
        return self._accuracies(self.params, x, y)
