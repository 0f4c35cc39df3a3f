"""core.logistic.LogisticModel: the numbers of sklearn's LogisticRegression, soft and degenerate targets, state."""
import json
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from core.logistic import LogisticModel


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 5)) * [1.0, 10.0, 0.1, 3.0, 1.0] + [0.0, 50.0, -2.0, 0.0, 1.0]
    X[:, 4] = 1.0  # a constant column: scale 1, not 0
    z = 1.5 * X[:, 0] - 0.2 * (X[:, 1] - 50) + 4.0 * (X[:, 2] + 2)
    y = (z + rng.logistic(size=len(z)) > 0).astype(int)
    soft = 1.0 / (1.0 + np.exp(-z))
    return X, y, soft


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_unstandardised_model_is_sklearns(data):
    X, y, _ = data
    model = LogisticModel(C=0.1, standardize=False).fit(X, y)
    reference = LogisticRegression(C=0.1, max_iter=2000).fit(X, y)
    assert np.array_equal(model.coef_, reference.coef_[0])
    assert model.intercept_ == float(reference.intercept_[0])
    assert np.array_equal(model.decision_function(X), X @ reference.coef_[0] + reference.intercept_[0])
    assert np.allclose(model.predict_proba(X), reference.predict_proba(X)[:, 1], rtol=0, atol=1e-12)
    assert not hasattr(model, "mean_")


def test_standardised_model_is_sklearn_on_standardised_features(data):
    X, y, _ = data
    model = LogisticModel(C=0.3).fit(X, y)
    mean, std = X.mean(axis=0), X.std(axis=0)
    assert np.array_equal(model.mean_, mean)
    assert model.scale_[4] == 1.0 and np.array_equal(model.scale_[:4], std[:4])
    Z = (X - model.mean_) / model.scale_
    reference = LogisticRegression(C=0.3, max_iter=2000).fit(Z, y)
    assert np.array_equal(model.coef_, reference.coef_[0]) and model.coef_[4] == 0.0
    expected = sigmoid(Z @ reference.coef_[0] + reference.intercept_[0])
    assert np.array_equal(model.predict_proba(X), expected)


def test_soft_targets_fit_duplicated_weighted_rows(data):
    X, _, soft = data
    model = LogisticModel(C=1.0, soft_targets=True).fit(X, soft)
    Z = (X - model.mean_) / model.scale_
    reference = LogisticRegression(C=1.0, max_iter=2000).fit(
        np.vstack([Z, Z]), np.r_[np.ones(len(soft)), np.zeros(len(soft))], sample_weight=np.r_[soft, 1 - soft]
    )
    assert np.array_equal(model.coef_, reference.coef_[0])
    assert model.intercept_ == float(reference.intercept_[0])
    # The intercept is not penalised: the fitted probabilities average the targets.
    assert abs(model.predict_proba(X).mean() - soft.mean()) < 1e-4


def test_soft_targets_that_are_all_zero_or_one_give_the_binary_fit(data):
    X, y, _ = data
    binary = LogisticModel(C=1.0).fit(X, y)
    soft = LogisticModel(C=1.0, soft_targets=True).fit(X, y.astype(float))
    assert np.allclose(soft.coef_, binary.coef_, atol=1e-4) and abs(soft.intercept_ - binary.intercept_) < 1e-4


def test_fractional_targets_need_soft_targets(data):
    X, _, soft = data
    with pytest.raises(ValueError, match="soft_targets=True"):
        LogisticModel().fit(X, soft)


@pytest.mark.parametrize("value", [0.0, 1.0, 0.3])
def test_a_constant_target_gives_zero_coefficients_and_its_log_odds(data, value):
    X, _, _ = data
    y = np.full(len(X), value)
    model = LogisticModel(soft_targets=value not in (0.0, 1.0)).fit(X, y)
    assert np.array_equal(model.coef_, np.zeros(X.shape[1]))
    m = y.mean()
    assert model.intercept_ == float(np.log((m + 1e-6) / (1 - m + 1e-6)))
    assert np.allclose(model.predict_proba(X[:3]), sigmoid(model.intercept_))


def test_no_rows_give_intercept_zero():
    model = LogisticModel().fit(np.zeros((0, 3)), np.zeros(0))
    assert model.intercept_ == 0.0 and model.coef_.tolist() == [0.0, 0.0, 0.0]
    assert model.predict_proba(np.ones((2, 3))).tolist() == [0.5, 0.5]


def test_fit_checks_shapes_and_unfitted_models_say_so():
    with pytest.raises(ValueError, match="X must be"):
        LogisticModel().fit(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="not fitted"):
        LogisticModel().predict_proba(np.zeros((1, 2)))


@pytest.mark.parametrize("standardize", [True, False])
def test_state_round_trips_through_json_to_the_last_bit(data, standardize):
    X, y, _ = data
    model = LogisticModel(C=0.5, standardize=standardize, max_iter=500).fit(X, y)
    state = json.loads(json.dumps(model.to_state()))
    loaded = LogisticModel.from_state(state)
    assert loaded.get_params() == model.get_params()
    assert np.array_equal(loaded.decision_function(X), model.decision_function(X))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert ("mean" in state) == standardize


def test_with_coefficients_scores_raw_features():
    model = LogisticModel.with_coefficients((2.0, -1.0), 0.5)
    assert model.decision_function(np.array([[1.0, 3.0]])).tolist() == [2.0 - 3.0 + 0.5]
    assert math.isclose(model.predict_proba(np.array([[0.0, 0.5]]))[0], 0.5)


@pytest.mark.parametrize(
    "state, message",
    [
        ([1, 2], "must be a mapping"),
        ({"intercept": 0.0}, "needs 'coef' and 'intercept'"),
        ({"standardize": False, "coef": [1, "x"], "intercept": 0.0}, "coef is not a list of numbers"),
        ({"standardize": False, "coef": [[1.0]], "intercept": 0.0}, "coef must be a flat list"),
        ({"standardize": False, "coef": [1.0], "intercept": "high"}, "intercept is not a number"),
        ({"standardize": False, "coef": [float("nan")], "intercept": 0.0}, "coef has a value that is not finite"),
        ({"coef": [1.0, 2.0], "intercept": 0.0}, "needs 'mean' and 'scale'"),
        ({"coef": [1.0, 2.0], "intercept": 0.0, "mean": [0.0], "scale": [1.0, 1.0]}, "coef 2, mean 1, scale 2"),
        ({"coef": [1.0], "intercept": 0.0, "mean": [0.0], "scale": [0.0]}, "scale must be > 0"),
    ],
)
def test_bad_states_are_clear_value_errors(state, message):
    with pytest.raises(ValueError, match=message):
        LogisticModel.from_state(state)
