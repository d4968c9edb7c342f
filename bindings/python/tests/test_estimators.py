"""MLPClassifier / MLPRegressor: scikit-learn conventions, with and without scikit-learn."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import minibatch_gd as mb
from conftest import PKG_ROOT


#: Plain mini-batch gradient descent with the C API's initialisation and no penalty or
#: stopping: the estimators' machinery without scikit-learn's defaults (Adam, alpha, tol).
PLAIN = dict(solver="sgd", momentum=0.0, alpha=0.0, init="auto", n_iter_no_change=10**6)


@pytest.fixture(scope="module")
def moons():
    return mb.make_moons(600, 0.15, seed=4)


def _three_class(m=300, seed=0):
    rs = np.random.RandomState(seed)
    centers = np.array([[0, 0], [3, 3], [0, 4]])
    y = rs.randint(0, 3, size=m)
    return centers[y] + rs.randn(m, 2) * 0.6, y


@pytest.mark.parametrize("solver", ["adam", "sgd", "rmsprop", "adamw", "adagrad", "adamax", "nadam", "radam"])
def test_every_solver_fits(moons, solver):
    """Each solver the estimators take (scikit-learn's two and the library's others) fits the
    moons to a test accuracy above 0.95 (scikit-learn's Adam, the same settings: 0.99;
    measured 0.97-0.995 for these rules), 150 epochs of batches of 32."""
    X, y = moons
    order = np.random.default_rng(0).permutation(len(X))  # (the rows follow the moons' arcs)
    train, test = order[:400], order[400:]
    clf = mb.MLPClassifier((32,), solver=solver, learning_rate_init=0.05 if solver in ("sgd", "adagrad") else 0.01,
                           batch_size=32, max_iter=150, random_state=0, n_iter_no_change=10**6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (max_iter reached)
        clf.fit(X[train], y[train])
    assert clf.score(X[test], y[test]) > 0.95, solver
    assert len(clf.loss_curve_) == 150


def test_unknown_solver_is_refused(moons):
    X, y = moons
    with pytest.raises(ValueError, match="solver"):
        mb.MLPClassifier(solver="lbfgs").fit(X, y)


def test_classifier_fit_predict_score(moons):
    X, y = moons
    clf = mb.MLPClassifier((16, 8), learning_rate_init=0.1, batch_size=32, max_iter=40, random_state=0, **PLAIN)
    assert clf.fit(X, y) is clf
    assert clf.score(X, y) > 0.95
    P = clf.predict_proba(X)
    assert P.shape == (600, 2) and P.dtype == np.float64
    np.testing.assert_allclose(P.sum(axis=1), 1)
    assert np.array_equal(clf.predict(X), clf.classes_[P.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(P))
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert clf.n_features_in_ == 2 and clf.n_layers_ == 4 and clf.n_iter_ == 40
    assert clf.batch_size_ == 32
    assert len(clf.batch_costs_) == 40 * 19 and len(clf.epoch_costs_) == 40
    assert clf.loss_curve_ == list(clf.epoch_costs_) and clf.loss_ == clf.epoch_costs_[-1]
    assert clf.epoch_costs_[-1] < clf.epoch_costs_[0]
    assert [c.shape for c in clf.coefs_] == [(2, 16), (16, 8), (8, 1)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (8,), (1,)]
    assert clf.diverged_ is False


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 1, 2]),
        np.array([-7, 3, 100], dtype=np.int8),
        np.array([2**40, 2**41, 2**63 - 1], dtype=np.int64),
        np.array([5, 9, 2**64 - 1], dtype=np.uint64),
        np.array(["cat", "dog", "emu"]),
        np.array(["cat", "dog", "emu"], dtype=object),
        np.array([0.0, 1.0, 2.0]),  # integral floats are labels too
    ],
)
def test_arbitrary_labels(labels):
    X, yi = _three_class()
    y = labels[yi]
    clf = mb.MLPClassifier((8,), learning_rate_init=0.1, max_iter=200, random_state=1).fit(X, y)
    assert np.array_equal(clf.classes_, np.unique(y))
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3
    pred = clf.predict(X)
    assert pred.dtype == clf.classes_.dtype
    assert np.mean(pred == y) > 0.9
    assert clf.predict_proba(X).shape == (300, 3)


def test_binary_labels_any_values():
    X, y = mb.make_moons(200, 0.1, seed=1)
    y2 = np.where(y == 1, 7, -3).astype(np.int16)
    a = mb.MLPClassifier((8,), random_state=2, max_iter=20).fit(X, y)
    b = mb.MLPClassifier((8,), random_state=2, max_iter=20).fit(X, y2)
    assert np.array_equal(b.classes_, [-3, 7])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert np.array_equal(np.where(a.predict(X) == 1, 7, -3), b.predict(X))


def test_classifier_label_errors():
    X = np.random.RandomState(0).rand(10, 2)
    clf = mb.MLPClassifier(max_iter=2)
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, 10))
    with pytest.raises(ValueError, match="one class"):
        clf.fit(X, np.ones(10))
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(X, np.r_[np.nan, np.ones(9)])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, np.arange(9) % 2)
    with pytest.raises(ValueError, match="y to be passed"):
        clf.fit(X, None)
    with pytest.raises(ValueError, match="1d array of labels or a 2d label-indicator matrix"):
        clf.fit(X, np.zeros((10, 2, 1)))  # (a 2d y is multilabel: test_multilabel.py)
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.array([1, "a"] * 5, dtype=object))
    with pytest.warns(mb.DataConversionWarning, match="column-vector"):
        clf.fit(X, (np.arange(10) % 2)[:, None])
    with pytest.raises(mb.NotFittedError):
        mb.MLPClassifier().predict(X)
    assert isinstance(mb.NotFittedError("x"), (AttributeError, ValueError))


def test_input_errors_before_any_c_call():
    clf = mb.MLPClassifier(max_iter=2).fit(np.random.RandomState(0).rand(10, 3), np.arange(10) % 2)
    with pytest.raises(ValueError, match="X has 2 features, but MLPClassifier is expecting 3"):
        clf.predict(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="infinity"):
        clf.predict(np.full((4, 3), np.inf))
    with pytest.raises(ValueError, match="Reshape"):
        clf.predict(np.zeros(3))
    with pytest.raises(ValueError, match="Complex"):
        clf.predict(np.zeros((2, 3)) * 1j)


@pytest.mark.parametrize(
    "param, value",
    [
        ("hidden_layer_sizes", (0,)),
        ("hidden_layer_sizes", "abc"),
        ("hidden_layer_sizes", (2.5,)),
        ("activation", "mish"),
        ("learning_rate_init", 0.0),
        ("learning_rate_init", -1),
        ("learning_rate_init", np.inf),
        ("max_iter", 0),
        ("max_iter", 1.5),
        ("batch_size", 0),
        ("batch_size", "big"),
        ("random_state", -1),
        ("random_state", "seed"),
        ("init", "orthogonal"),
        ("memory_budget", -1),
        ("on_divergence", "ignore"),
        ("callback", 3),
    ],
)
def test_bad_parameters_fail_in_fit_not_in_init(param, value):
    est = mb.MLPClassifier(**{param: value})  # no validation in __init__ / set_params
    est.set_params(**{param: value})
    with pytest.raises(ValueError):
        est.fit(np.random.RandomState(0).rand(10, 2), np.arange(10) % 2)
    assert not hasattr(est, "network_")


def test_regressor_single_and_multi_output():
    rs = np.random.RandomState(0)
    X = rs.randn(400, 3)
    W = rs.randn(3, 2)
    Y = X @ W + 0.5
    r = mb.MLPRegressor(hidden_layer_sizes=(), learning_rate_init=0.05, batch_size=32, max_iter=50, random_state=0).fit(X, Y)
    assert r.n_outputs_ == 2 and r.out_activation_ == "identity"
    assert r.predict(X).shape == (400, 2) and r.predict(X).dtype == np.float64
    assert r.score(X, Y) > 0.999
    np.testing.assert_allclose(r.coefs_[0], W, atol=1e-2)  # linear regression recovers W
    np.testing.assert_allclose(r.intercepts_[0], [0.5, 0.5], atol=1e-2)
    r1 = mb.MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.05, batch_size=32, max_iter=50, random_state=0).fit(X, Y[:, 0])
    assert r1.predict(X).shape == (400,)
    assert r1.score(X, Y[:, 0]) > 0.99
    # MSE cost as the library defines it: mean over rows and outputs of (a - y)^2
    mse = np.mean((r1.predict(X) - Y[:, 0]) ** 2)
    assert r1.network_.evaluate(X, Y[:, 0])[0] == pytest.approx(mse, rel=1e-4)
    # R^2 like sklearn's r2_score
    sk = pytest.importorskip("sklearn.metrics")
    assert r.score(X, Y) == pytest.approx(sk.r2_score(Y, r.predict(X)))
    w = rs.rand(400)
    assert r1.score(X, Y[:, 0], sample_weight=w) == pytest.approx(sk.r2_score(Y[:, 0], r1.predict(X), sample_weight=w))


def test_validation_score_on_constant_targets_is_scikit_learns():
    """R^2 of constant targets (a total sum of squares of 0) is r2_score's: 1 for exact
    predictions, 0 otherwise (the library gave NaN in validation_scores_; the CLI's eval, whose
    one-pass sum of squares was not 0, an R^2 of 1.8e14)."""
    sk = pytest.importorskip("sklearn.metrics")
    rs = np.random.RandomState(0)
    X = rs.randn(200, 3).astype(np.float32)
    with mb.Network([3, 1], loss="mse") as net:
        # 0.5: a mean without rounding, so that r2_score's own sum of squares is 0 too (of
        # float32 0.1 it is not: r2_score then gives -4e13, the library 0)
        for value, expected in ((0.0, 1.0), (0.5, 0.0)):
            net.set_parameters(np.zeros(4, np.float32))  # predicts 0: exact for y = 0 (a zero gradient)
            y = np.full(200, value, np.float32)
            h = net.train(X, y, epochs=1, batch_size=200, validation=(X, y))
            assert h.validation_scores[-1] == expected == sk.r2_score(y, net.predict(X).ravel())
        y = np.full(200, 0.1, np.float32)
        assert net.train(X, y, epochs=1, batch_size=200, validation=(X, y)).validation_scores[-1] == 0.0


def test_partial_fit_one_epoch_per_call_equals_fit(moons):
    X, y = moons
    kw = dict(hidden_layer_sizes=(8,), learning_rate_init=0.05, batch_size=50, random_state=3)
    full = mb.MLPClassifier(max_iter=5, **kw).fit(X, y)
    inc = mb.MLPClassifier(**kw)
    with pytest.raises(ValueError, match="classes must be passed"):
        inc.partial_fit(X, y)
    with pytest.raises(ValueError, match="Input classes contains NaN"):  # as scikit-learn's
        inc.partial_fit(X, y, classes=np.array([0, 1, np.nan]))
    assert not hasattr(inc, "classes_")
    for i in range(5):
        inc.partial_fit(X, y, classes=np.array([1, 0]) if i == 0 else None)
        # n_iter_: this call's epochs, as scikit-learn's; the network counts all of them
        assert inc.n_iter_ == 1 and len(inc.epoch_costs_) == inc.network_.epochs_trained == i + 1
    assert np.array_equal(inc.network_.get_parameters(), full.network_.get_parameters())
    assert np.array_equal(inc.batch_costs_, full.batch_costs_)
    with pytest.raises(ValueError, match="X has 3 features"):
        inc.partial_fit(np.zeros((5, 3)), np.zeros(5, int))
    with pytest.raises(ValueError, match="not in classes_"):
        inc.partial_fit(X[:5], np.array([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match="not the same"):
        inc.partial_fit(X, y, classes=[0, 1, 2])
    # regressor
    rs = np.random.RandomState(1)
    Xr, yr = rs.randn(100, 2), rs.randn(100)
    a = mb.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, batch_size=10, random_state=0).fit(Xr, yr)
    b = mb.MLPRegressor(hidden_layer_sizes=(4,), batch_size=10, random_state=0)
    for _ in range(3):
        b.partial_fit(Xr, yr)
    assert np.array_equal(a.predict(Xr), b.predict(Xr))


def test_partial_fit_on_streaming_chunks():
    X, y = mb.make_moons(3000, 0.1, seed=2)
    clf = mb.MLPClassifier((32, 16), learning_rate_init=0.2, batch_size=32, random_state=0, **PLAIN)
    for epoch in range(10):
        for start in range(0, 3000, 1000):
            clf.partial_fit(X[start:start + 1000], y[start:start + 1000], classes=[0, 1])
    assert clf.n_iter_ == 1 and clf.network_.epochs_trained == 30 and clf.score(X, y) > 0.93


def test_partial_fit_appends_costs_in_place(moons):
    """A partial_fit loop over a stream keeps its cost per call: the costs are appended into
    a buffer that grows by doubling (rebuilt each call, a long loop slowed down as it went:
    1.0 ms a call after 5,000 calls, 4.0 ms after 30,000). The result is the same as
    concatenation, also after a pickle or copy (which start a new buffer) and after the
    arrays are replaced by the user."""
    import copy

    X, y = moons
    clf = mb.MLPClassifier((8,), batch_size=100, random_state=0, **PLAIN)
    batches, epochs, losses, moved, last = [], [], [], 0, None
    for i in range(40):
        clf.partial_fit(X, y, classes=[0, 1])
        batches.append(clf.batch_costs_[-6:].copy())
        epochs.append(clf.epoch_costs_[-1])
        losses.append(clf.loss_curve_[-1])
        moved += last is not None and not np.shares_memory(last, clf.batch_costs_)
        last = clf.batch_costs_
        assert clf.best_loss_ == min(clf.loss_curve_) and clf.loss_ == clf.loss_curve_[-1]
    # 40 calls of 6 batches: the buffer moved only when it doubled (64 -> 128 -> 256).
    assert moved == 2
    assert np.array_equal(clf.batch_costs_, np.concatenate(batches))
    assert np.array_equal(clf.epoch_costs_, epochs) and clf.loss_curve_ == losses
    held = clf.batch_costs_
    for other in (pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf), clf):
        before = other.batch_costs_.copy()
        other.partial_fit(X, y)
        assert np.array_equal(other.batch_costs_[:-6], before) and len(other.epoch_costs_) == 41
        assert other.best_loss_ == min(other.loss_curve_)
    assert len(held) == 240  # an array handed out earlier does not change
    clf.batch_costs_ = clf.batch_costs_[:10].copy()  # replaced: appended to as it now is
    clf.partial_fit(X, y)
    assert len(clf.batch_costs_) == 16 and len(clf.epoch_costs_) == 42


def test_fit_is_idempotent_and_random_state(moons):
    X, y = moons
    a = mb.MLPClassifier((8,), max_iter=3, random_state=5).fit(X, y)
    p = a.network_.get_parameters()
    a.fit(X, y)
    assert np.array_equal(a.network_.get_parameters(), p) and a.n_iter_ == 3
    assert len(a.epoch_costs_) == 3
    b = mb.MLPClassifier((8,), max_iter=3, random_state=np.random.RandomState(5)).fit(X, y)
    c = mb.MLPClassifier((8,), max_iter=3, random_state=None).fit(X, y)
    d = mb.MLPClassifier((8,), max_iter=3, random_state=None).fit(X, y)
    assert not np.array_equal(c.network_.get_parameters(), d.network_.get_parameters())
    assert b.n_iter_ == 3


def test_warm_start_continues(moons):
    X, y = moons
    kw = dict(hidden_layer_sizes=(8,), batch_size=64, random_state=1)
    a = mb.MLPClassifier(max_iter=4, **kw).fit(X, y)
    w = mb.MLPClassifier(max_iter=2, warm_start=True, **kw).fit(X, y).fit(X, y)
    assert w.n_iter_ == 2 and len(w.epoch_costs_) == 4 == w.network_.epochs_trained
    assert np.array_equal(a.network_.get_parameters(), w.network_.get_parameters())


def test_warm_start_refuses_data_the_fitted_network_cannot_take(moons):
    """scikit-learn's checks: other classes or another number of features with warm_start
    raise before anything changes (the estimator started afresh without a word)."""
    X, y = moons
    clf = mb.MLPClassifier((8,), max_iter=2, warm_start=True, random_state=1).fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
        clf.fit(X, y + 1)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 2"):
        clf.fit(np.hstack([X, X[:, :1]]), y)
    with pytest.raises(ValueError, match=r"warm_start continues the fitted network, of layers \[2, 8, 1\]"):
        clf.set_params(hidden_layer_sizes=(9,)).fit(X, y)
    assert clf.n_iter_ == 2 and list(clf.classes_) == [0, 1] and clf.n_features_in_ == 2
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    r = mb.MLPRegressor(hidden_layer_sizes=(4,), max_iter=1, warm_start=True, random_state=0).fit(X, y.astype(float))
    with pytest.raises(ValueError, match=r"of layers \[2, 4, 1\], but this fit needs layers \[2, 4, 2\]"):
        r.fit(X, np.c_[y, y].astype(float))
    # without warm_start, fit starts afresh on any data
    clf.set_params(warm_start=False, hidden_layer_sizes=(8,)).fit(X, y + 1)
    assert list(clf.classes_) == [1, 2] and clf.n_iter_ == 2


def test_early_stopping_is_refused_on_a_dataset(tmp_path, moons):
    """fit(Dataset) makes no validation split: early_stopping=True stopped on the training
    loss and left NaN validation scores."""
    X, y = moons
    np.save(tmp_path / "x.npy", X.astype(np.float32))
    np.save(tmp_path / "y.npy", y.astype(np.int32))
    with mb.Dataset(tmp_path / "x.npy", tmp_path / "y.npy") as ds:
        for est in (mb.MLPClassifier((4,), early_stopping=True), mb.MLPRegressor(hidden_layer_sizes=(4,), early_stopping=True)):
            with pytest.raises(ValueError, match="early_stopping=True splits X in memory"):
                est.fit(ds)
            assert not hasattr(est, "n_features_in_")


def test_memory_budget_bounds_the_working_memory(moons):
    """memory_budget, as the estimators' docstring says: 'auto' (min(200, n)) is halved
    until its working memory fits; a batch_size that does not fit is refused."""
    X, y = mb.make_moons(3000, 0.2, seed=1)
    with mb.Network([2, 64, 1], loss="binary_cross_entropy", seed=0) as net:
        need = {b: net.working_memory(b) for b in (200, 100, 50, 25)}
    clf = mb.MLPClassifier((64,), max_iter=1, memory_budget=need[50], random_state=0).fit(X, y)
    assert clf.batch_size_ == 50
    assert mb.MLPClassifier((64,), max_iter=1, memory_budget=need[200], random_state=0).fit(X, y).batch_size_ == 200
    c = mb.MLPClassifier((64,), max_iter=1, batch_size=100, memory_budget=need[50], random_state=0)
    with pytest.raises(ValueError, match=f"memory_budget={need[50]} bytes is less than the {need[100]} bytes"):
        c.fit(X, y)
    assert not hasattr(c, "network_") and not hasattr(c, "n_features_in_")


def test_score_checks_sample_weight():
    X, y = mb.make_moons(200, 0.2, seed=1)
    r = mb.MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, X[:, 0])
    c = mb.MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    for est, target in ((r, X[:, 0]), (c, y)):
        for bad in (np.ones(1) * 2, np.ones(3), np.ones((200, 1))):
            with pytest.raises(ValueError, match=r"sample_weight has shape .*, expected \(200,\)"):
                est.score(X, target, sample_weight=bad)
        for bad in (np.zeros(200), np.r_[np.nan, np.ones(199)], np.inf):
            with pytest.raises(ValueError, match="sample_weight must be finite, and not all 0"):
                est.score(X, target, sample_weight=bad)
        assert est.score(X, target, sample_weight=3.0) == pytest.approx(est.score(X, target))
        w = np.random.RandomState(0).rand(200)
        if est is c:
            assert est.score(X, y, sample_weight=w) == pytest.approx(np.average(est.predict(X) == y, weights=w))
        else:
            res = ((target - est.predict(X)) ** 2 * w).sum()
            tot = ((target - np.average(target, weights=w)) ** 2 * w).sum()
            assert est.score(X, target, sample_weight=w) == pytest.approx(1 - res / tot)


def test_convergence_warning_at_max_iter_as_scikit_learn(moons):
    """fit warns (scikit-learn's ConvergenceWarning, where installed) when it trains max_iter
    epochs without its stopping rule ending it, pointing at the caller; not when it stops
    early, and not in partial_fit (as scikit-learn's)."""
    X, y = moons
    with pytest.warns(mb.ConvergenceWarning, match=r"Maximum iterations \(3\) reached") as caught:
        mb.MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    assert caught[0].filename == __file__
    try:
        from sklearn.exceptions import ConvergenceWarning
        assert mb.ConvergenceWarning is ConvergenceWarning
    except ImportError:
        pass
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stopped = mb.MLPClassifier((8,), max_iter=500, tol=10.0, n_iter_no_change=2, random_state=0).fit(X, y)
        assert stopped.n_iter_ == 4  # stopped early (after n_iter_no_change + 2 epochs): no warning
        mb.MLPClassifier((8,), random_state=0).partial_fit(X, y, classes=[0, 1])


def test_an_early_stopping_fit_keeps_no_copy_of_its_validation_rows():
    X = np.random.RandomState(0).rand(20000, 50).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    sizes = [len(pickle.dumps(mb.MLPClassifier((8,), max_iter=1, early_stopping=stop, random_state=0).fit(X, y)))
             for stop in (False, True)]
    assert sizes[1] < sizes[0] + 20000, sizes  # the split's 2,000 rows are 400 KB


def test_auto_batch_size():
    # scikit-learn's 'auto': min(200, n_samples)
    X, y = mb.make_moons(150, 0.2, seed=1)
    assert mb.MLPClassifier((4,), max_iter=1, random_state=0).fit(X, y).batch_size_ == 150
    X, y = mb.make_moons(3000, 0.2, seed=1)
    clf = mb.MLPClassifier((4,), max_iter=1, random_state=0).fit(X, y)
    assert clf.batch_size_ == 200 and len(clf.batch_costs_) == 15
    with pytest.warns(UserWarning, match="clipped"):
        clf = mb.MLPClassifier((4,), max_iter=1, batch_size=5000, random_state=0).fit(X, y)
    assert clf.batch_size_ == 3000


def test_divergence_warns_or_raises_and_stays_usable():
    rs = np.random.RandomState(0)
    X = rs.rand(50, 2) * 1000
    y = rs.randn(50) * 1000
    r = mb.MLPRegressor(hidden_layer_sizes=(), learning_rate_init=1.0, max_iter=50, random_state=0, **PLAIN)
    with pytest.warns(mb.DivergenceWarning, match="diverged"):
        r.fit(X, y)
    assert r.diverged_ and r.n_iter_ < 50
    assert np.isfinite(r.network_.get_parameters()).all()
    assert r.predict(X).shape == (50,)
    r.set_params(on_divergence="raise")
    with pytest.raises(mb.DivergenceError):
        r.fit(X, y)
    assert r.predict(X).shape == (50,) and r.diverged_


def test_callback_exception_and_cancel_keep_the_model(moons):
    X, y = moons
    seen = []

    def stop_at_3(p):
        seen.append(p.epoch_cost)
        if p.epochs_trained == 3:
            raise RuntimeError("enough")

    clf = mb.MLPClassifier((8,), max_iter=20, batch_size=60, random_state=0, callback=stop_at_3)
    with pytest.raises(RuntimeError, match="enough"):
        clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.epoch_costs_) == 3 and clf.epoch_costs_.tolist() == seen
    ref = mb.MLPClassifier((8,), max_iter=3, batch_size=60, random_state=0).fit(X, y)
    assert np.array_equal(clf.predict_proba(X), ref.predict_proba(X))
    clf.set_params(callback=lambda p: p.epochs_trained >= 2)
    with pytest.raises(mb.CancelledError):
        clf.fit(X, y)
    assert clf.n_iter_ == 2


def test_verbose(capsys, moons):
    X, y = moons
    mb.MLPClassifier((4,), max_iter=2, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "epoch 1, loss" in out and "epoch 2, loss" in out
    # the printed loss is loss_curve_'s, as scikit-learn prints it (the regressor printed the
    # library's cost, twice it, until 0.12.5)
    import re
    r = mb.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, verbose=True, random_state=0).fit(X, y.astype(float))
    printed = [float(v) for v in re.findall(r"epoch \d+, loss (\S+)", capsys.readouterr().out)]
    np.testing.assert_allclose(printed, r.loss_curve_, rtol=1e-7)
    # a warm start's epochs are numbered from 1 in each call, as scikit-learn's iterations
    r.set_params(warm_start=True, max_iter=2).fit(X, y.astype(float))
    assert re.findall(r"epoch (\d+), loss", capsys.readouterr().out) == ["1", "2"]


@pytest.mark.parametrize("features, hidden", [(2, (32,)), (37, (64,)), (64, (64, 33)), (5, (128,)), (100, (16,))])
def test_predictions_of_some_rows_agree_with_the_whole_calls(features, hidden):
    """A row predicted alone, among the first k rows or in another order agrees with the
    whole call's prediction to float32 rounding, not bit for bit: OpenBLAS's kernels sum in
    an order that depends on a row's place in a product (on an AVX2 CPU, rows 6-11 of every
    12 of a 256-row product of 33 or more outputs differ in the last bit from rows 0-5, one
    thread or two), so no padding of the call makes it bit-exact. The classes agree where
    the two largest probabilities are not within rounding of each other."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, features)).astype(np.float32)
    y = rng.integers(0, 5, 1000)
    clf = mb.MLPClassifier(hidden, max_iter=1, random_state=0).fit(X, y)
    full = clf.predict_proba(X)
    top2 = np.sort(full, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-5
    classes = clf.predict(X)
    subsets = [np.arange(k) for k in (1, 3, 16, 255, 257, 513)]
    subsets += [np.array([i]) for i in range(0, 1000, 37)] + [rng.permutation(1000)]
    for idx in subsets:
        np.testing.assert_allclose(clf.predict_proba(X[idx]), full[idx], rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(clf.predict(X[idx])[clear[idx]], classes[idx][clear[idx]])


def test_pickle_and_clone(moons):
    X, y = moons
    clf = mb.MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    clf2 = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(clf2.predict_proba(X), clf.predict_proba(X))
    assert clf2.network_ is not clf.network_ and clf2.n_iter_ == 3
    clf2.partial_fit(X, y)  # continues on its own copy
    assert clf2.network_.epochs_trained == 4 and clf2.n_iter_ == 1 and clf.n_iter_ == 3
    assert clf.network_.epochs_trained == 3
    sk = pytest.importorskip("sklearn.base")
    c = sk.clone(clf)
    assert not hasattr(c, "network_") and c.get_params() == clf.get_params()


def test_get_set_params():
    clf = mb.MLPClassifier((5,), learning_rate_init=0.2)
    p = clf.get_params()
    assert p["hidden_layer_sizes"] == (5,) and p["learning_rate_init"] == 0.2
    sk_names = {"hidden_layer_sizes", "activation", "solver", "alpha", "batch_size", "learning_rate",
                "learning_rate_init", "power_t", "max_iter", "shuffle", "random_state", "tol", "verbose",
                "warm_start", "momentum", "nesterovs_momentum", "early_stopping", "validation_fraction",
                "beta_1", "beta_2", "epsilon", "n_iter_no_change", "max_fun"}
    assert set(p) == sk_names | {"class_weight", "init", "dropout", "drop_last", "memory_budget", "callback",
                                 "on_divergence"}
    sk = pytest.importorskip("sklearn.neural_network")
    theirs = sk.MLPClassifier().get_params()
    # scikit-learn's parameters have its defaults (max_fun, lbfgs's, since 0.12.6: checked and
    # unused, so that scikit-learn's set_params(**params) works), and every one of them is here
    assert {k: theirs[k] for k in sk_names} == {k: mb.MLPClassifier().get_params()[k] for k in sk_names}
    assert set(theirs) <= set(p)
    assert clf.set_params(max_iter=7, batch_size=16) is clf
    assert clf.max_iter == 7 and clf.batch_size == 16
    with pytest.raises(ValueError):
        clf.set_params(nonsense=1)
    assert "MLPClassifier(" in repr(clf)


def test_pipeline_and_grid_search():
    pytest.importorskip("sklearn")
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _three_class(400, seed=3)
    X = X * 50 + 1000  # needs scaling
    pipe = make_pipeline(StandardScaler(), mb.MLPClassifier((8,), max_iter=30, batch_size=32, random_state=0, **PLAIN))
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9
    grid = GridSearchCV(
        pipe,
        {"mlpclassifier__learning_rate_init": [0.001, 0.1], "mlpclassifier__hidden_layer_sizes": [(4,), (16,)]},
        cv=3,
    )
    grid.fit(X, y)
    assert grid.best_params_["mlpclassifier__learning_rate_init"] == 0.1
    assert grid.best_score_ > 0.9
    # parallel workers pickle the estimator (and its network) across processes
    scores = cross_val_score(mb.MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0, batch_size=32,
                                             learning_rate_init=0.02, **PLAIN),
                             StandardScaler().fit_transform(X), X[:, 0] / 50 - 20, cv=3, n_jobs=2)
    assert np.all(scores > 0.9)


def test_without_scikit_learn(tmp_path):
    """The binding works when scikit-learn cannot be imported."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["sklearn"] = None  # import sklearn -> ImportError
        import numpy as np, pickle, minibatch_gd as mb
        from minibatch_gd import estimators
        assert not estimators.HAVE_SKLEARN
        X, y = mb.make_moons(300, 0.1, seed=0)
        clf = mb.MLPClassifier((16, 16), learning_rate_init=0.1, max_iter=60, batch_size=32, random_state=0)
        print("@@", repr(clf))
        assert clf.get_params()["max_iter"] == 60
        clf.set_params(max_iter=80)
        try:
            clf.set_params(bogus=1)
        except ValueError:
            pass
        else:
            raise AssertionError("set_params accepted an unknown parameter")
        try:
            clf.predict(X)
        except mb.NotFittedError as e:
            assert isinstance(e, AttributeError) and isinstance(e, ValueError)
        clf.fit(X, y)
        print("@@", "accuracy", clf.score(X, y))
        clf2 = pickle.loads(pickle.dumps(clf))
        assert (clf2.predict(X) == clf.predict(X)).all()
        r = mb.MLPRegressor(hidden_layer_sizes=(), max_iter=50, learning_rate_init=0.1, random_state=0).fit(X, X[:, 0] * 2)
        print("@@", "r2", r.score(X, X[:, 0] * 2))
        print("@@", "sklearn" in sys.modules and sys.modules["sklearn"] is not None)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(PKG_ROOT))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [ln[3:] for ln in r.stdout.splitlines() if ln.startswith("@@ ")]
    assert "MLPClassifier(" in lines[0] and "max_iter=60" in lines[0]
    assert float(lines[1].split()[1]) > 0.95
    assert float(lines[2].split()[1]) > 0.99
    assert lines[3] == "False"


def test_importing_minibatch_does_not_import_sklearn(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(PKG_ROOT))
    r = subprocess.run(
        [sys.executable, "-c", "import sys, minibatch_gd; print('sklearn' in sys.modules); minibatch_gd.MLPClassifier; print('sklearn' in sys.modules)"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "False"


def test_failed_first_fit_leaves_the_estimator_unfitted():
    X, y = mb.make_moons(3000, 0.2, seed=0)
    clf = mb.MLPClassifier((8,), max_iter=2, alpha=-1.0, random_state=0)
    with pytest.raises(mb.InvalidArgumentError, match="alpha"):  # refused by the library
        clf.fit(X, y)
    assert not hasattr(clf, "network_") and not hasattr(clf, "n_features_in_")
    with pytest.raises(mb.NotFittedError):
        clf.predict(X)
    clf.set_params(alpha=0.0001).fit(X, y)
    assert clf.n_iter_ == 2


@pytest.mark.parametrize("param, value, message", [
    ("tol", -1.0, r"^tol \(min_delta\) must be finite and >= 0, got -1.0$"),
    ("beta_1", 1.5, r"^beta_1 \(beta1\) must be in \[0, 1\), got 1.5$"),
    ("alpha", -1.0, r"^l2 \(alpha\) must be finite and >= 0, got -1.0$"),
])
def test_a_parameter_the_library_refuses_is_named_as_the_estimator_names_it(param, value, message):
    X, y = mb.make_moons(300, 0.2, seed=0)
    with pytest.raises(mb.InvalidArgumentError, match=message):
        mb.MLPClassifier((4,), max_iter=1, **{param: value}).fit(X, y)


def test_early_stopping_refuses_a_class_it_would_hold_out_whole():
    """A class's rows all held out for validation are never trained on: scikit-learn's
    stratified split refuses a class of one row; a large validation_fraction on a class of
    a few rows is refused alike. The estimator stays unfitted."""
    X, y = mb.make_moons(300, 0.2, seed=0)
    y = y.copy()
    y[0] = 2  # one row of class 2
    clf = mb.MLPClassifier((4,), max_iter=2, early_stopping=True, random_state=0)
    with pytest.raises(ValueError, match="least populated class in y has only 1 member"):
        clf.fit(X, y)
    assert not hasattr(clf, "network_") and not hasattr(clf, "classes_") and not hasattr(clf, "n_features_in_")
    y[1] = 2  # two rows: 0.6 of them is both
    with pytest.raises(ValueError, match=r"validation_fraction=0.6 holds out all 2 rows of class index 2"):
        clf.set_params(validation_fraction=0.6).fit(X, y)
    clf.set_params(validation_fraction=0.1).fit(X, y)  # one of the two is held out
    assert list(clf.classes_) == [0, 1, 2]


class _Frame:
    """A table with column names, as pandas gives one (pandas is not needed)."""

    def __init__(self, values, columns):
        self.values, self.columns = np.asarray(values, np.float32), list(columns)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    def __len__(self):
        return len(self.values)

    @property
    def shape(self):
        return self.values.shape


def test_feature_names_are_checked_as_scikit_learn_checks_them(moons):
    X, y = moons
    clf = mb.MLPClassifier((4,), max_iter=1, random_state=0).fit(_Frame(X, ["a", "b"]), y)
    assert list(clf.feature_names_in_) == ["a", "b"]
    clf.predict(_Frame(X, ["a", "b"]))
    with pytest.raises(ValueError, match="(?s)should match those that were passed during fit.*unseen at fit time:\n- c"):
        clf.predict(_Frame(X, ["a", "c"]))
    with pytest.raises(ValueError, match="same order"):
        clf.predict(_Frame(X, ["b", "a"]))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        clf.predict(X)
    plain = mb.MLPClassifier((4,), max_iter=1, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="X has feature names, but MLPClassifier was fitted without"):
        plain.predict(_Frame(X, ["a", "b"]))


def test_no_convergence_warning_when_the_rule_ends_the_fit_at_max_iter():
    """scikit-learn leaves its loop on the stopping rule before its max_iter check: a fit
    whose rule fires exactly at the last allowed epoch does not warn (it did: all epochs
    ran), with or without early_stopping; one epoch fewer does."""
    import warnings
    X, y = mb.make_moons(300, 0.2, seed=0)
    stops_at = mb.MLPRegressor(hidden_layer_sizes=(5,), tol=1e3, n_iter_no_change=2, max_iter=50, random_state=0).fit(X, y).n_iter_
    assert stops_at == 4  # the first epoch improves on inf, then 3 = n_iter_no_change + 1 do not
    for early in (False, True):
        kw = dict(tol=1e3, n_iter_no_change=2, random_state=0, early_stopping=early)
        with warnings.catch_warnings():
            warnings.simplefilter("error", mb.ConvergenceWarning)
            assert mb.MLPRegressor(hidden_layer_sizes=(5,), max_iter=stops_at, **kw).fit(X, y).n_iter_ == stops_at
        with pytest.warns(mb.ConvergenceWarning):
            mb.MLPRegressor(hidden_layer_sizes=(5,), max_iter=stops_at - 1, **kw).fit(X, y)


def test_a_continued_fit_that_trains_nothing_changes_nothing_and_keeps_its_error():
    """A warm_start fit refused before its first batch (memory_budget, or a value the library
    refuses) raises that error, not 'no best weights were kept' (restore_best_weights ran
    for a network that had trained before), and leaves the fitted attributes as they were."""
    X, y = mb.make_moons(300, 0.2, seed=0)
    r = mb.MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, early_stopping=True, random_state=0).fit(X, y)
    before = {k: (list(v) if isinstance(v, list) else v) for k, v in r.__dict__.items()
              if k.endswith("_") and not k.startswith("_") and k != "network_"}
    params = r.network_.get_parameters().copy()
    with pytest.raises(ValueError, match="memory_budget=100 bytes"):
        r.set_params(warm_start=True, early_stopping=False, memory_budget=100).fit(X, y)
    with pytest.raises(mb.InvalidArgumentError, match=r"^tol \(min_delta\)"):
        r.set_params(early_stopping=True, memory_budget=0, tol=-1.0).fit(X, y)
    after = {k: (list(v) if isinstance(v, list) else v) for k, v in r.__dict__.items()
             if k.endswith("_") and not k.startswith("_") and k != "network_"}
    assert after.keys() == before.keys()
    for k in before:
        if isinstance(before[k], np.ndarray):
            np.testing.assert_array_equal(after[k], before[k], err_msg=k)
        else:
            assert after[k] == before[k] or (after[k] != after[k] and before[k] != before[k]), k
    np.testing.assert_array_equal(r.network_.get_parameters(), params)


def test_partial_fit_refuses_early_stopping_as_scikit_learn():
    X, y = mb.make_moons(100, 0.2, seed=0)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        mb.MLPClassifier((4,), early_stopping=True).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        mb.MLPRegressor(hidden_layer_sizes=(4,), early_stopping=True).partial_fit(X, y.astype(float))
