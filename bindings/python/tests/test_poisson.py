"""MLPRegressor(loss='poisson') and the library's MB_LOSS_POISSON, against scikit-learn's
MLPRegressor(loss='poisson') (1.7+): its loss function on our predictions, its test scores,
its parameter and its refusals. (The training step against a plain numpy implementation of
the half deviance is in test_numpy_step.py, steps equal to scikit-learn's from the same
weights in test_estimator_parity.py.) Parity: mean test R^2 over 3 seeds, trained
on 1,500 rows of counts drawn from a log-linear rate, scored on 500, within 0.02 of
scikit-learn's with the same parameters.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import minibatch_gd as mb

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")
from sklearn.base import clone  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402
from sklearn.neural_network._base import poisson_loss  # noqa: E402


def _counts(m=2000, n=5, outputs=1, seed=0):
    rs = np.random.default_rng(seed)
    X = rs.normal(size=(m, n))
    W = rs.normal(scale=0.3, size=(n, outputs))
    y = rs.poisson(np.exp(X @ W + 0.5)).astype(np.float64)
    return X, (y.ravel() if outputs == 1 else y)


def test_test_scores_match_scikit_learn():
    X, y = _counts()
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter, from both
        for seed in range(3):
            kw = dict(loss="poisson", hidden_layer_sizes=(16,), max_iter=60, random_state=seed)
            ours.append(mb.MLPRegressor(**kw).fit(X[:1500], y[:1500]).score(X[1500:], y[1500:]))
            theirs.append(MLPRegressor(**kw).fit(X[:1500], y[:1500]).score(X[1500:], y[1500:]))
    print(f"Poisson R^2: minibatch {np.mean(ours):.4f}, scikit-learn {np.mean(theirs):.4f}")
    assert np.mean(ours) >= np.mean(theirs) - 0.02
    assert np.mean(ours) > 0.3  # the rate's signal is learnt (a constant scores 0)


@pytest.mark.parametrize("outputs", [1, 3])
def test_loss_curve_is_scikit_learns_loss(outputs):
    # One batch per epoch, rows in order, a learning rate too small to move the weights:
    # loss_curve_[0] is the loss at the weights predict uses, which scikit-learn's own
    # poisson_loss gives from those predictions (summed over outputs, not averaged).
    X, y = _counts(m=300, outputs=outputs, seed=1)
    r = mb.MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), alpha=0.0, batch_size=300, shuffle=False,
                        solver="sgd", momentum=0.0, learning_rate_init=1e-12, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r.fit(X, y)
    pred = r.predict(X)
    assert r.out_activation_ == "exp" and np.all(pred > 0)
    assert r.loss_curve_[0] == pytest.approx(poisson_loss(y, pred), rel=1e-5)
    assert r.loss_curve_[0] == pytest.approx(outputs * r.epoch_costs_[0], rel=1e-12)
    assert np.allclose(pred, np.exp(np.log(pred)))


def test_parameter_is_scikit_learns():
    r = mb.MLPRegressor(loss="poisson")
    assert r.get_params()["loss"] == "poisson"
    assert mb.MLPRegressor().get_params()["loss"] == "squared_error"
    assert clone(r).loss == "poisson"
    # loss comes first, as in scikit-learn 1.7+
    with pytest.raises(ValueError, match=r"loss must be one of .*got \(8,\).*hidden_layer_sizes"):
        mb.MLPRegressor((8,)).fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="loss must be one of"):
        mb.MLPRegressor(loss="huber").fit([[0.0], [1.0]], [0.0, 1.0])
    assert mb.MLPRegressor(loss="poisson").__sklearn_tags__().target_tags.positive_only
    assert not mb.MLPRegressor().__sklearn_tags__().target_tags.positive_only


def test_refusals_and_continuations():
    X, y = _counts(m=200, seed=3)
    bad = y.copy()
    bad[5] = -1
    with pytest.raises(ValueError, match="negative which is not allowed for Poisson"):
        mb.MLPRegressor(loss="poisson", max_iter=1).fit(X, bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = mb.MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), max_iter=2, warm_start=True,
                            random_state=0).fit(X, y)
        before = [c.copy() for c in r.coefs_]
        r.set_params(loss="squared_error")
        with pytest.raises(ValueError, match="made with loss='poisson', but loss is now 'squared_error'"):
            r.fit(X, y)
        with pytest.raises(ValueError, match="partial_fit continues the fitted network, made with loss='poisson'"):
            r.partial_fit(X, y)
        assert all(np.array_equal(a, b) for a, b in zip(before, r.coefs_))
        r.set_params(loss="poisson")
        r.fit(X, y)  # continues
        assert r.n_iter_ == 2 and r.network_.epochs_trained == 4
        # a fresh fit may change the loss
        r.set_params(loss="squared_error", warm_start=False)
        assert r.fit(X, y).out_activation_ == "identity"
        # pickled, it predicts the same
        p = mb.MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    q = pickle.loads(pickle.dumps(p))
    np.testing.assert_array_equal(q.predict(X), p.predict(X))


def test_early_stopping_scores_are_r2_of_the_outputs():
    X, y = _counts(m=1000, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = mb.MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), early_stopping=True, max_iter=15,
                            n_iter_no_change=100, random_state=0).fit(X, y)
    Xv, yv = _validation_rows(r, X, y)
    # fit ends with the weights of the highest score, R^2 of e^z on the held-out rows
    assert r.best_validation_score_ == max(r.validation_scores_)
    assert r.best_validation_score_ == pytest.approx(r.score(Xv, yv), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_validation_r2_averages_the_outputs(loss):
    # Two outputs of very different scales: scikit-learn's score averages each output's R^2
    # (r2_score's uniform_average); pooled sums of squares would follow the large one.
    rs = np.random.default_rng(6)
    X = rs.normal(size=(600, 4))
    rate = np.exp(np.stack([0.3 * X[:, 0], 0.5 * X[:, 1] + 4], axis=1))
    y = rs.poisson(rate).astype(np.float64) if loss == "poisson" else rate + rs.normal(size=rate.shape) * [1, 30]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = mb.MLPRegressor(loss=loss, hidden_layer_sizes=(8,), early_stopping=True, max_iter=20,
                            learning_rate_init=0.01, random_state=0).fit(X, y)
    Xv, yv = _validation_rows(r, X, y)
    yv = yv.reshape(-1, 2)
    from sklearn.metrics import r2_score
    pred = r.predict(Xv)
    assert r.best_validation_score_ == pytest.approx(r2_score(yv, pred), rel=1e-5, abs=1e-6)
    assert r.best_validation_score_ == pytest.approx(r.score(Xv, yv), rel=1e-5, abs=1e-6)
    assert abs(r2_score(yv, pred) - r2_score(yv, pred, multioutput="variance_weighted")) > 1e-3


def _validation_rows(r, X, y):
    x = np.asarray(X, np.float32)
    _, _, (Xv, yv), _ = r._split_validation(x, r._targets(y, len(y)))
    return Xv, yv.ravel()


def test_network_takes_integer_counts():
    X, y = _counts(m=100, seed=5)
    counts = y.astype(np.int64)
    with mb.Network([5, 1], loss="poisson", seed=0) as a, mb.Network([5, 1], loss="poisson", seed=0) as b:
        a.train(X, counts, epochs=2, batch_size=16, learning_rate=0.01)
        b.train(X, counts.astype(np.float32).reshape(-1, 1), epochs=2, batch_size=16, learning_rate=0.01)
        np.testing.assert_array_equal(a.get_parameters(), b.get_parameters())
        cost, accuracy = a.evaluate(X, counts)
        assert np.isfinite(cost) and np.isnan(accuracy)
        with pytest.raises(mb.InvalidArgumentError, match="is negative"):
            a.train(X, -counts - 1, epochs=1)
