"""The torch logistic regression and SentEval's validation schemes, on toy problems."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from simcse_st.evaluation.logistic_regression import LogisticRegression
from simcse_st.evaluation.transfer_validation import (
    ClassifierConfig,
    inner_kfold_accuracy,
    kfold_accuracy,
    split_accuracy,
    stratified_kfold,
)

FAST = ClassifierConfig.for_mode("fast")


def separable(n: int, dim: int = 8, num_classes: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Points around well separated class centres: x [n, dim], y [n]."""
    generator = torch.Generator().manual_seed(seed)
    centres = 4 * torch.eye(num_classes, dim)
    y = torch.arange(n) % num_classes
    return centres[y] + 0.3 * torch.randn(n, dim, generator=generator), y


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
@pytest.mark.parametrize("num_classes", [2, 3])
def test_learns_a_linearly_separable_problem(optimizer: str, num_classes: int) -> None:
    x, y = separable(400, num_classes=num_classes)
    x_test, y_test = separable(60, num_classes=num_classes, seed=1)
    clf = LogisticRegression(8, num_classes, l2=1e-4, optimizer=optimizer)  # type: ignore[arg-type]
    # Early stopping keeps the first model that is best on the validation data: validate on train to reach 100%.
    assert clf.fit(x, y, validation_data=(x, y)) == [1.0]
    assert clf.score(x, y) == [1.0] and clf.score(x_test, y_test) == [1.0]
    assert torch.equal(clf.predict(x_test)[0], y_test)


def test_same_seed_same_model_other_seed_other_model() -> None:
    x, y = separable(200, dim=16)
    x = x + 2 * torch.randn(200, 16, generator=torch.Generator().manual_seed(5))  # overlap, so accuracy < 1

    def fit(seed: int) -> LogisticRegression:
        clf = LogisticRegression(16, 2, l2=1e-3, batch_size=16, seed=seed)
        clf.fit(x, y, validation_split=0.1)
        return clf

    first, second, other = fit(1111), fit(1111), fit(7)
    assert torch.equal(first.weight, second.weight) and torch.equal(first.bias, second.bias)
    assert first.score(x, y) == second.score(x, y)
    assert not torch.equal(first.weight, other.weight)


def test_several_l2_values_train_the_same_models_as_separate_fits() -> None:
    x, y = separable(150, dim=6, num_classes=3)
    x = x + 1.5 * torch.randn(150, 6, generator=torch.Generator().manual_seed(2))
    x_dev, y_dev = separable(45, dim=6, num_classes=3, seed=3)
    l2_values = (1e-5, 1e-2, 1.0)
    joint = LogisticRegression(6, 3, l2=l2_values, batch_size=32, tenacity=2, epoch_size=1)
    best = joint.fit(x, y, validation_data=(x_dev, y_dev))
    assert joint.weight.shape == (3, 6, 3) and joint.bias.shape == (3, 1, 3)
    for r, l2 in enumerate(l2_values):
        alone = LogisticRegression(6, 3, l2=l2, batch_size=32, tenacity=2, epoch_size=1)
        assert alone.fit(x, y, validation_data=(x_dev, y_dev)) == [best[r]]
        assert_close(joint.weight[r], alone.weight[0], atol=1e-5, rtol=1e-4)
        assert_close(joint.bias[r], alone.bias[0], atol=1e-5, rtol=1e-4)
    assert joint.weight[2].norm() < joint.weight[0].norm()  # a strong L2 penalty shrinks the weights


def senteval_fit(
    x: torch.Tensor, y: torch.Tensor, dev: tuple[torch.Tensor, torch.Tensor] | None, l2: float, optimizer: str
) -> tuple[torch.nn.Linear, float, int]:
    """SentEval's PyTorchClassifier.fit for MLP(nhid=0), CPU: nn.Linear, torch.optim, CrossEntropyLoss, np.random."""
    np.random.seed(1111)
    torch.manual_seed(1111)
    model = torch.nn.Linear(x.shape[1], 2)
    optim = (torch.optim.Adam if optimizer == "adam" else torch.optim.RMSprop)(model.parameters(), weight_decay=l2)
    batch_size, tenacity, epoch_size = (64, 5, 4) if optimizer == "adam" else (128, 3, 2)
    if dev is None:
        permutation = np.random.permutation(len(x))
        dev = x[permutation[: int(0.05 * len(x))]], y[permutation[: int(0.05 * len(x))]]
        x, y = x[permutation[int(0.05 * len(x)) :]], y[permutation[int(0.05 * len(x)) :]]
    epochs, best, misses, best_state = 0, -1.0, 0, None
    while epochs <= 200:
        for _ in range(epoch_size):
            permutation = np.random.permutation(len(x))
            for start in range(0, len(x), batch_size):
                index = torch.from_numpy(permutation[start : start + batch_size])
                loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
                optim.zero_grad()
                loss.backward()
                optim.step()
        epochs += epoch_size
        with torch.no_grad():
            accuracy = (model(dev[0]).argmax(1) == dev[1]).float().mean().item()
        if accuracy > best:
            best, best_state = accuracy, {k: v.clone() for k, v in model.state_dict().items()}
        else:
            if misses >= tenacity:
                break
            misses += 1
    model.load_state_dict(best_state)
    return model, best, epochs


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
@pytest.mark.parametrize("split", [False, True])
def test_matches_sentevals_classifier_loop(optimizer: str, split: bool) -> None:
    x, y = separable(300, dim=10)
    x = x + 2.5 * torch.randn(300, 10, generator=torch.Generator().manual_seed(4))
    dev = None if split else separable(80, dim=10, seed=6)
    reference, best, epochs = senteval_fit(x, y, dev, 1e-3, optimizer)
    config = ClassifierConfig.for_mode("full" if optimizer == "adam" else "fast")
    clf = config.classifier(10, 2, l2=(1e-3, 1e-2))
    accuracies = clf.fit(x, y, validation_data=dev) if dev else clf.fit(x, y, validation_split=0.05)
    assert accuracies[0] == best and clf.num_passes >= epochs
    assert_close(clf.weight[0], reference.weight.detach().T, atol=1e-5, rtol=1e-4)
    assert_close(clf.bias[0, 0], reference.bias.detach(), atol=1e-5, rtol=1e-4)


def test_initial_weights_are_nn_linears_under_the_seed() -> None:
    torch.manual_seed(1111)
    linear = torch.nn.Linear(10, 4)
    clf = LogisticRegression(10, 4, l2=(0.0, 0.1), seed=1111)
    assert torch.equal(clf.weight[1], linear.weight.detach().T) and torch.equal(clf.bias[0, 0], linear.bias.detach())


def test_fit_needs_validation_data_or_split() -> None:
    x, y = separable(20)
    with pytest.raises(ValueError, match="validation"):
        LogisticRegression(8, 2).fit(x, y)
    with pytest.raises(ValueError, match="optimizer"):
        LogisticRegression(8, 2, optimizer="sgd")  # type: ignore[arg-type]


def test_stratified_kfold_partitions_the_data_and_keeps_class_proportions() -> None:
    y = torch.tensor([0] * 23 + [1] * 11 + [2] * 7)
    folds = stratified_kfold(y, 5, seed=1111)
    assert len(folds) == 5
    tests = torch.cat([test for _, test in folds]).sort().values
    assert torch.equal(tests, torch.arange(len(y)))  # every sample in exactly one test fold
    for train, test in folds:
        assert torch.equal(torch.cat([train, test]).sort().values, torch.arange(len(y)))
        counts = torch.bincount(y[test], minlength=3)
        assert all(abs(int(c) - n / 5) < 1 for c, n in zip(counts, (23, 11, 7), strict=True))
    again = stratified_kfold(y, 5, seed=1111)
    assert all(torch.equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    assert not all(torch.equal(a[1], b[1]) for a, b in zip(folds, stratified_kfold(y, 5, seed=1), strict=True))
    with pytest.raises(ValueError, match="folds"):
        stratified_kfold(torch.tensor([0, 1, 0]), 5, seed=0)


def test_stratified_kfold_equals_scikit_learn() -> None:
    model_selection = pytest.importorskip("sklearn.model_selection")
    y = np.random.RandomState(0).randint(0, 4, 103)
    expected = model_selection.StratifiedKFold(n_splits=10, shuffle=True, random_state=1111).split(np.zeros(103), y)
    for (train, test), (train_ref, test_ref) in zip(stratified_kfold(y, 10, 1111), expected, strict=True):
        assert np.array_equal(train.numpy(), train_ref) and np.array_equal(test.numpy(), test_ref)


def test_simcse_modes() -> None:
    full, fast = ClassifierConfig.for_mode("full"), ClassifierConfig.for_mode("fast", seed=3)
    assert (full.kfold, full.optimizer, full.batch_size, full.tenacity, full.epoch_size) == (10, "adam", 64, 5, 4)
    assert (fast.kfold, fast.optimizer, fast.batch_size, fast.tenacity, fast.epoch_size) == (5, "rmsprop", 128, 3, 2)
    assert full.l2_values == (1e-5, 1e-4, 1e-3, 1e-2) and fast.seed == 3 and full.max_epoch == 200
    with pytest.raises(ValueError, match="mode"):
        ClassifierConfig.for_mode("test")  # type: ignore[arg-type]


def test_validation_schemes_reach_full_accuracy_on_separable_data() -> None:
    x, y = separable(300, num_classes=3)
    dev, test = inner_kfold_accuracy(x, y, 3, FAST)
    assert dev == 1.0 and test == 1.0
    x_test, y_test = separable(30, num_classes=3, seed=4)
    dev, test, predictions = kfold_accuracy((x, y), (x_test, y_test), 3, FAST)
    assert (dev, test) == (1.0, 1.0) and torch.equal(predictions, y_test)
    assert split_accuracy((x, y), separable(15, num_classes=3, seed=5), (x_test, y_test), 3, FAST) == (1.0, 1.0)


def test_accuracies_are_rounded_as_senteval_prints_them() -> None:
    x, y = separable(90, dim=4)
    x = x + 3 * torch.randn(90, 4, generator=torch.Generator().manual_seed(9))
    _, test = inner_kfold_accuracy(x, y, 2, FAST)
    assert 0.5 <= test <= 1 and round(100 * test, 2) == pytest.approx(100 * test, abs=1e-9)
