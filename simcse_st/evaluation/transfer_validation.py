"""SentEval's validation schemes (``senteval/tools/validation.py``) around the torch logistic regression.

- ``inner_kfold_accuracy`` (MR, CR, SUBJ, MPQA): k-fold test folds; the L2 value picked by an inner k-fold on
  each training part; the final model early-stops on a 5% ``validation_split``.
- ``kfold_accuracy`` (TREC, MRPC): L2 picked by k-fold on train; a model on all of train (5% split) scored on test.
- ``split_accuracy`` (SST2): L2 picked on dev (which is also the early-stopping data), scored on test.

Accuracies come back in [0, 1] but rounded as SentEval rounds them (per fold to 0.01 %, then the mean), so that
``100 * accuracy`` is the number SentEval prints. Folds are scikit-learn's ``StratifiedKFold(shuffle=True,
random_state=seed)``, reimplemented so scikit-learn is not needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from simcse_st.evaluation.logistic_regression import LogisticRegression, Optimizer

TransferMode = Literal["full", "fast"]
SENTEVAL_L2_VALUES: tuple[float, ...] = tuple(10.0**t for t in range(-5, -1))


@dataclass(frozen=True)
class ClassifierConfig:
    """SentEval's ``kfold`` and ``classifier`` parameters, plus the seed and the L2 grid searched."""

    kfold: int = 10
    optimizer: Optimizer = "adam"
    batch_size: int = 64
    tenacity: int = 5
    epoch_size: int = 4
    max_epoch: int = 200
    seed: int = 1111
    l2_values: tuple[float, ...] = SENTEVAL_L2_VALUES
    validation_split: float = 0.05

    @classmethod
    def for_mode(cls, mode: TransferMode, seed: int = 1111) -> ClassifierConfig:
        """SimCSE's ``evaluation.py`` settings: ``"full"`` is its test mode, ``"fast"`` its fasttest mode."""
        if mode == "full":
            return cls(kfold=10, optimizer="adam", batch_size=64, tenacity=5, epoch_size=4, seed=seed)
        if mode == "fast":
            return cls(kfold=5, optimizer="rmsprop", batch_size=128, tenacity=3, epoch_size=2, seed=seed)
        raise ValueError(f"mode must be 'full' or 'fast', got {mode!r}.")

    def classifier(self, input_dim: int, num_classes: int, l2: float | tuple[float, ...]) -> LogisticRegression:
        return LogisticRegression(
            input_dim,
            num_classes,
            l2=l2,
            optimizer=self.optimizer,
            batch_size=self.batch_size,
            tenacity=self.tenacity,
            epoch_size=self.epoch_size,
            max_epoch=self.max_epoch,
            seed=self.seed,
        )


def stratified_kfold(labels: torch.Tensor | np.ndarray, k: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(train indices, test indices) of each fold, as scikit-learn's ``StratifiedKFold(k, shuffle=True,
    random_state=seed).split`` gives them: classes are dealt round-robin to the folds, then each class's fold
    assignment is shuffled with ``np.random.RandomState(seed)``."""
    y = np.asarray(labels)
    if len(y) < k:
        raise ValueError(f"Cannot split {len(y)} samples into {k} folds.")
    _, first_index, inverse = np.unique(y, return_index=True, return_inverse=True)
    _, class_order = np.unique(first_index, return_inverse=True)
    encoded = class_order[inverse.reshape(-1)]  # classes numbered in order of first appearance
    num_classes = len(first_index)
    in_order = np.sort(encoded)
    allocation = np.asarray([np.bincount(in_order[i::k], minlength=num_classes) for i in range(k)])  # [k, classes]
    rng = np.random.RandomState(seed)
    test_fold = np.empty(len(y), dtype=np.int64)
    for c in range(num_classes):
        folds_for_class = np.arange(k).repeat(allocation[:, c])
        rng.shuffle(folds_for_class)
        test_fold[encoded == c] = folds_for_class
    indices = np.arange(len(y))
    return [(torch.from_numpy(indices[test_fold != i]), torch.from_numpy(indices[test_fold == i])) for i in range(k)]


def _percent(accuracy: float) -> float:
    return round(100 * float(accuracy), 2)


def _fraction(percent: float) -> float:
    return round(percent / 100, 4)  # 81.18 -> 0.8118, without float noise


def _best_l2(percent_per_l2: list[float]) -> int:
    return int(np.argmax(percent_per_l2))  # the first best, as np.argmax in SentEval


def _cross_validate_l2(
    x: torch.Tensor, y: torch.Tensor, num_classes: int, config: ClassifierConfig
) -> tuple[list[float], float, int]:
    """k-fold on (x, y), every L2 value: (mean accuracy per value in %, rounded; best %, index of the best)."""
    fold_scores = []  # [k][R]
    for train_index, test_index in stratified_kfold(y, config.kfold, config.seed):
        clf = config.classifier(x.shape[1], num_classes, config.l2_values)
        clf.fit(x[train_index], y[train_index], validation_data=(x[test_index], y[test_index]))
        fold_scores.append(clf.score(x[test_index], y[test_index]))
    percents = [_percent(mean) for mean in np.mean(fold_scores, axis=0)]  # per L2 value
    best = _best_l2(percents)
    return percents, percents[best], best


def inner_kfold_accuracy(
    x: torch.Tensor, y: torch.Tensor, num_classes: int, config: ClassifierConfig
) -> tuple[float, float]:
    """SentEval's ``InnerKFoldClassifier`` on x [N, D] / y [N]: (dev accuracy, test accuracy), in [0, 1]."""
    dev_percents, test_percents = [], []
    for train_index, test_index in stratified_kfold(y, config.kfold, config.seed):
        x_train, y_train = x[train_index], y[train_index]
        _, dev_percent, best = _cross_validate_l2(x_train, y_train, num_classes, config)
        dev_percents.append(dev_percent)
        clf = config.classifier(x.shape[1], num_classes, config.l2_values[best])
        clf.fit(x_train, y_train, validation_split=config.validation_split)
        test_percents.append(_percent(clf.score(x[test_index], y[test_index])[0]))
    return _fraction(round(float(np.mean(dev_percents)), 2)), _fraction(round(float(np.mean(test_percents)), 2))


def kfold_accuracy(
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    num_classes: int,
    config: ClassifierConfig,
) -> tuple[float, float, torch.Tensor]:
    """SentEval's ``KFoldClassifier``: (dev accuracy, test accuracy in [0, 1], test predictions [N_test])."""
    (x_train, y_train), (x_test, y_test) = train, test
    _, dev_percent, best = _cross_validate_l2(x_train, y_train, num_classes, config)
    clf = config.classifier(x_train.shape[1], num_classes, config.l2_values[best])
    clf.fit(x_train, y_train, validation_split=config.validation_split)
    test_percent = _percent(clf.score(x_test, y_test)[0])
    return _fraction(dev_percent), _fraction(test_percent), clf.predict(x_test)[0]


def split_accuracy(
    train: tuple[torch.Tensor, torch.Tensor],
    dev: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    num_classes: int,
    config: ClassifierConfig,
) -> tuple[float, float]:
    """SentEval's ``SplitClassifier``: (dev accuracy, test accuracy), in [0, 1].

    SentEval refits the chosen L2 value with the same seed, data and dev set, which reproduces that value's model
    from the search; that model is scored on test directly instead.
    """
    clf = config.classifier(train[0].shape[1], num_classes, config.l2_values)
    clf.fit(*train, validation_data=dev)
    dev_percents = [_percent(accuracy) for accuracy in clf.score(*dev)]
    best = _best_l2(dev_percents)
    return _fraction(dev_percents[best]), _fraction(_percent(clf.score(*test)[best]))
