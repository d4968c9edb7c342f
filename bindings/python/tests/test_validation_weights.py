"""Weighted validation (0.7.0): a validation set's sample weights weigh its cost and score
(``Network.train(validation=(X, y, w))``, ``mb_train_options.validation_sample_weight``),
rows held out by ``validation_fraction`` keep their ``sample_weight``, and the estimators'
early stopping scores its held-out rows with their weights, as scikit-learn 1.9's MLP does.
References: numpy's weighted means of each row's loss and hit, and scikit-learn's
``accuracy_score`` / ``r2_score`` with ``sample_weight`` where installed, computed from the
model after each epoch. Tolerances: the library's costs are float32 sums (rtol 1e-5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minibatch_gd as mb


def _probabilities(net, X):
    return net.predict(X).astype(np.float64)


def _weighted_reference(net, X, y, w, loss):
    """(cost, score) of the model on (X, y) weighted by w: the header's losses per row."""
    p = _probabilities(net, X)
    if loss == "cross_entropy":
        rows = -np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None))
        hits = (p.argmax(axis=1) == y).astype(np.float64)
        return np.sum(w * rows) / w.sum(), np.sum(w * hits) / w.sum()
    # squared error: mean over outputs per row; R^2 about the weighted mean, outputs averaged
    rows = np.mean((p - y) ** 2, axis=1)
    mean = np.sum(w[:, None] * y, axis=0) / w.sum()
    r2 = 1 - np.sum(w[:, None] * (p - y) ** 2, axis=0) / np.sum(w[:, None] * (y - mean) ** 2, axis=0)
    return np.sum(w * rows) / w.sum(), float(np.mean(r2))


def _problem(loss, seed=0):
    rs = np.random.default_rng(seed)
    X = rs.normal(size=(240, 4)).astype(np.float32)
    if loss == "cross_entropy":
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int32) + (X[:, 2] > 1).astype(np.int32)
        return X, y, [4, 8, 3]
    y = np.stack([X[:, 0] * 2 + X[:, 1], X[:, 2] - X[:, 3]], axis=1).astype(np.float32)
    return X, y, [4, 8, 2]


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_validation_sample_weight_weighs_cost_and_score(loss):
    X, y, sizes = _problem(loss)
    Xv, yv = X[180:], y[180:]
    wv = np.random.default_rng(1).uniform(0, 3, size=len(Xv)).astype(np.float32)
    wv[::5] = 0  # rows that weigh nothing
    with mb.Network(sizes, loss=loss, seed=2) as net, mb.Network(sizes, loss=loss, seed=2) as plain:
        costs, scores = [], []
        for _ in range(4):
            h = net.train(X[:180], y[:180], epochs=1, batch_size=32, learning_rate=0.05, threads=1,
                          validation=(Xv, yv, wv))
            cost, score = _weighted_reference(net, Xv, yv, wv.astype(np.float64), loss)
            np.testing.assert_allclose(h.validation_costs[-1], cost, rtol=1e-5)
            np.testing.assert_allclose(h.validation_scores[-1], score, rtol=1e-5, atol=1e-9)
            costs.append(h.validation_costs[-1])
            scores.append(h.validation_scores[-1])
        # the same training with unweighted validation: the same weights, other figures
        hp = plain.train(X[:180], y[:180], epochs=4, batch_size=32, learning_rate=0.05, threads=1,
                         validation=(Xv, yv))
        np.testing.assert_array_equal(plain.get_parameters(), net.get_parameters())
        assert hp.validation_costs[-1] != costs[-1]
        # all weights 1: the unweighted figures, bit for bit
        ones = np.ones(len(Xv), np.float32)
        with mb.Network(sizes, loss=loss, seed=2) as a, mb.Network(sizes, loss=loss, seed=2) as b:
            ha = a.train(X[:180], y[:180], epochs=3, batch_size=32, threads=1, validation=(Xv, yv, ones))
            hb = b.train(X[:180], y[:180], epochs=3, batch_size=32, threads=1, validation=(Xv, yv))
            np.testing.assert_array_equal(ha.validation_costs, hb.validation_costs)
            np.testing.assert_array_equal(ha.validation_scores, hb.validation_scores)


def test_scikit_learn_scores_agree():
    sk = pytest.importorskip("sklearn.metrics")
    for loss in ("cross_entropy", "mse"):
        X, y, sizes = _problem(loss, seed=3)
        w = np.random.default_rng(4).uniform(0.1, 2, size=60).astype(np.float32)
        with mb.Network(sizes, loss=loss, seed=1) as net:
            h = net.train(X[:180], y[:180], epochs=2, batch_size=60, threads=1, validation=(X[180:], y[180:], w))
            p = net.predict(X[180:])
            want = (sk.accuracy_score(y[180:], p.argmax(axis=1), sample_weight=w) if loss == "cross_entropy"
                    else sk.r2_score(y[180:], p, sample_weight=w))
            np.testing.assert_allclose(h.validation_scores[-1], want, rtol=1e-5)


def _held_rows(y, fraction, seed, classes):
    """The header's validation_fraction rule for class targets: the permutation of epoch
    2^62, the first ceil(fraction * count) rows of each class in that order."""
    order = mb.permutation(len(y), seed, 2**62)
    quota = {c: math.ceil(fraction * np.sum(y == c)) for c in range(classes)}
    taken = {c: 0 for c in range(classes)}
    held = np.zeros(len(y), bool)
    for r in order:
        c = int(y[r])
        if taken[c] < quota[c]:
            taken[c] += 1
            held[r] = True
    return held


def test_validation_fraction_keeps_the_held_out_rows_weights():
    X, y, sizes = _problem("cross_entropy", seed=5)
    w = np.random.default_rng(6).uniform(0, 2, size=len(X)).astype(np.float32)
    held = _held_rows(y, 0.25, 7, 3)
    with mb.Network(sizes, seed=3) as net:
        h = net.train(X, y, epochs=1, batch_size=40, threads=1, seed=7, validation_fraction=0.25, sample_weight=w)
        cost, score = _weighted_reference(net, X[held], y[held], w[held].astype(np.float64), "cross_entropy")
        np.testing.assert_allclose(h.validation_costs[-1], cost, rtol=1e-5)
        np.testing.assert_allclose(h.validation_scores[-1], score, rtol=1e-5)


def test_estimator_early_stopping_scores_with_the_held_out_weights():
    """MLPClassifier(early_stopping=True).fit(X, y, sample_weight): the validation score is
    the weighted accuracy of the model on its held-out rows (scikit-learn 1.9's rule)."""
    X, y, _ = _problem("cross_entropy", seed=8)
    w = np.random.default_rng(9).uniform(0, 3, size=len(X))
    clf = mb.MLPClassifier((8,), early_stopping=True, validation_fraction=0.2, n_iter_no_change=1000,
                           max_iter=5, random_state=0, learning_rate_init=0.01)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y, sample_weight=w)
    _, _, (Xv, yv), keep = clf._split_validation(np.asarray(X, np.float32), clf._encode(np.asarray(y)))
    wv = w[~keep]
    hits = (clf.predict(X[~keep]) == y[~keep]).astype(np.float64)
    # (early stopping leaves the best epoch's weights, as scikit-learn's: their score)
    np.testing.assert_allclose(clf.best_validation_score_, np.sum(wv * hits) / wv.sum(), rtol=1e-6)
    assert clf.best_validation_score_ != np.mean(hits)


def test_bad_validation_weights_are_refused():
    X, y, sizes = _problem("cross_entropy")
    with mb.Network(sizes) as net:
        for bad, match in [(np.full(60, -1.0), "validation_sample_weight\\[0\\]"),
                           (np.zeros(60), "validation_sample_weight: every weight is zero"),
                           (np.full(60, np.nan), "validation_sample_weight\\[0\\]")]:
            with pytest.raises(mb.InvalidArgumentError, match=match):
                net.train(X[:180], y[:180], epochs=1, validation=(X[180:], y[180:], bad))
        with pytest.raises(ValueError, match="shape"):
            net.train(X[:180], y[:180], epochs=1, validation=(X[180:], y[180:], np.ones(59)))
        assert net.epochs_trained == 0


def test_multilabel_early_stopping_scores_weighted_subset_accuracy():
    """A multilabel classifier's score (subset accuracy, computed by the binding) is weighted
    by the held-out rows' sample_weight too."""
    rs = np.random.default_rng(10)
    X = rs.normal(size=(200, 5)).astype(np.float32)
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0.5, X[:, 3] < -0.3], axis=1).astype(np.int64)
    w = rs.uniform(0, 3, size=200)
    clf = mb.MLPClassifier((16,), early_stopping=True, validation_fraction=0.25, n_iter_no_change=1000,
                           max_iter=4, random_state=1, learning_rate_init=0.01)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, Y, sample_weight=w)
    _, _, _, keep = clf._split_validation(X, clf._encode(Y))
    exact = np.all(clf.predict(X[~keep]) == Y[~keep], axis=1).astype(np.float64)
    # fit ends with the weights of the epoch with the lowest validation loss (multilabel);
    # best_validation_score_ is that epoch's score
    want = np.sum(w[~keep] * exact) / w[~keep].sum()
    assert clf.best_validation_score_ == pytest.approx(want, rel=1e-9)
    assert want != pytest.approx(np.mean(exact), rel=1e-9)


def test_long_validation_sets_weigh_every_row():
    """More rows than one evaluation pass takes (256): every row weighs its own weight (the
    rows past the first pass had taken the first pass's weights)."""
    rs = np.random.default_rng(11)
    X = rs.normal(size=(1400, 4)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int32)
    wv = np.ones(1000, np.float32)
    wv[256:] = 0  # only the first pass's rows count
    wv[::7] = 2.5
    with mb.Network([4, 6, 2], seed=4) as net:
        h = net.train(X[:400], y[:400], epochs=1, batch_size=50, threads=1, validation=(X[400:], y[400:], wv))
        cost, score = _weighted_reference(net, X[400:], y[400:], wv.astype(np.float64), "cross_entropy")
        np.testing.assert_allclose(h.validation_costs[-1], cost, rtol=1e-5)
        np.testing.assert_allclose(h.validation_scores[-1], score, rtol=1e-6)
    # and R^2 over 600 rows with uneven weights
    Y = np.stack([X[:, 0] * 2 + X[:, 1], X[:, 2] - X[:, 3]], axis=1).astype(np.float32)
    w = rs.uniform(0, 3, size=1000).astype(np.float32)
    with mb.Network([4, 6, 2], loss="mse", seed=4) as net:
        h = net.train(X[:400], Y[:400], epochs=2, batch_size=50, threads=1, validation=(X[400:], Y[400:], w))
        cost, score = _weighted_reference(net, X[400:], Y[400:], w.astype(np.float64), "mse")
        np.testing.assert_allclose(h.validation_costs[-1], cost, rtol=1e-5)
        np.testing.assert_allclose(h.validation_scores[-1], score, rtol=1e-5)


def test_class_weight_does_not_weigh_the_validation_score():
    """MLPClassifier(class_weight=..., early_stopping=True): the held-out rows weigh their
    sample_weight only (the header's rule; scikit-learn's MLP has no class_weight)."""
    X, y, _ = _problem("cross_entropy", seed=12)
    import warnings
    kw = dict(hidden_layer_sizes=(8,), early_stopping=True, validation_fraction=0.3, n_iter_no_change=1000,
              max_iter=3, random_state=0, learning_rate_init=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = mb.MLPClassifier(class_weight={0: 5.0, 1: 1.0, 2: 0.0}, **kw).fit(X, y)
    _, _, _, keep = clf._split_validation(np.asarray(X, np.float32), clf._encode(np.asarray(y)))
    hits = clf.predict(X[~keep]) == y[~keep]
    assert clf.best_validation_score_ == pytest.approx(np.mean(hits), rel=1e-9)
