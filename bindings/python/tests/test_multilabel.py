"""MLPClassifier on a label-indicator y (multilabel), against scikit-learn's MLPClassifier
(the tests that need it skip with a plain message where it is not installed) and a numpy
reference of scikit-learn's loss.

Parity: the mean subset accuracy on the test rows over 3 datasets
(make_multilabel_classification, random_state 0..2) x 3 estimator seeds, trained on 75 % and
scored on 25 % (train_test_split random_state 0), features standardised, within 2 points of
scikit-learn's with the same parameters. scikit-learn's multilabel loss sums the labels'
cross-entropies where the library's averages them; the estimator maps alpha, tol, SGD's rate
and epsilon so that it trains as on scikit-learn's loss (without that, 'sgd' fell 5.5 points
behind with learning_rate_init=0.01).
"""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest

import minibatch_gd as mb
from sklearn_rule import stop_epoch
from test_numpy_step import numpy_cost_and_grad


def _need_sklearn():
    return pytest.importorskip("sklearn", reason="scikit-learn is not installed")


def _labels(m=400, n_labels=4, seed=0):
    """Standardised features (m, 6) and a label-indicator y (m, n_labels) of int64, each label
    a noisy linear rule, some rows with no label, some with several."""
    rs = np.random.RandomState(seed)
    X = rs.randn(m, 6)
    W = rs.randn(6, n_labels)
    Y = (X @ W + 0.5 * rs.randn(m, n_labels) > 0.3).astype(np.int64)
    return X, Y


def _subset_accuracy(Y, P, w=None):
    return float(np.average(np.all(Y == P, axis=1), weights=w))


# -- against scikit-learn ---------------------------------------------------------------


@pytest.mark.parametrize("params", [
    {},  # scikit-learn's defaults: Adam, (100,), 200 epochs
    {"solver": "sgd", "learning_rate_init": 0.01, "max_iter": 50},  # the rate's mapping
])
def test_subset_accuracy_matches_scikit_learn(params):
    _need_sklearn()
    from sklearn.datasets import make_multilabel_classification
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter, both libraries
        for data_seed in range(3):
            X, Y = make_multilabel_classification(n_samples=1000, n_features=20, n_classes=5,
                                                  random_state=data_seed)
            Xtr, Xte, ytr, yte = train_test_split(X, Y, test_size=0.25, random_state=0)
            scaler = StandardScaler().fit(Xtr)
            Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
            for seed in range(3):
                ours.append(mb.MLPClassifier(random_state=seed, **params).fit(Xtr, ytr).score(Xte, yte))
                theirs.append(MLPClassifier(random_state=seed, **params).fit(Xtr, ytr).score(Xte, yte))
    print(f"{params}: minibatch {np.mean(ours):.4f}, scikit-learn {np.mean(theirs):.4f}")
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.02


def test_attributes_shapes_and_dtypes_are_scikit_learns():
    _need_sklearn()
    from sklearn.metrics import accuracy_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import LabelBinarizer

    X, Y = _labels(200)
    kw = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = mb.MLPClassifier(**kw).fit(X, Y)
        theirs = MLPClassifier(**kw).fit(X, Y)
    for name in ("classes_", "n_outputs_", "out_activation_", "n_layers_", "n_features_in_"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert np.array_equal(a, b) and np.asarray(a).dtype == np.asarray(b).dtype, name
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    for method in ("predict", "predict_proba", "predict_log_proba"):
        a, b = getattr(ours, method)(X), getattr(theirs, method)(X)
        assert type(a) is type(b) and a.shape == b.shape == Y.shape and a.dtype == b.dtype, method
    P = ours.predict_proba(X)
    assert ((P > 0) & (P < 1)).all()
    np.testing.assert_allclose(ours.predict_log_proba(X), np.log(P))
    # predict is scikit-learn's inverse of its label binarizer on these probabilities
    expected = LabelBinarizer().fit(Y).inverse_transform(P)
    assert np.array_equal(ours.predict(X), expected) and ours.predict(X).dtype == expected.dtype
    assert ours.score(X, Y) == accuracy_score(Y, ours.predict(X))
    w = np.random.RandomState(1).rand(len(X))
    assert ours.score(X, Y, sample_weight=w) == pytest.approx(accuracy_score(Y, ours.predict(X), sample_weight=w))


def test_a_probability_of_exactly_one_half_predicts_no_label():
    """scikit-learn's threshold is > 0.5 (LabelBinarizer.inverse_transform), as the binary
    case, whose argmax takes the first class at exactly 0.5."""
    X, Y = _labels(50)
    clf = mb.MLPClassifier((), max_iter=1, random_state=0).fit(X, Y)
    clf.network_.set_parameters(np.zeros(clf.network_.n_parameters))
    assert (clf.predict_proba(X) == 0.5).all()
    assert not clf.predict(X).any()


def test_every_form_of_a_label_indicator_y_trains_the_same():
    X, Y = _labels(120)
    kw = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    base = mb.MLPClassifier(**kw).fit(X, Y).predict_proba(X)
    for form in (Y.astype(bool), Y.astype(np.float32), Y.astype(np.uint8), Y.tolist(), list(Y), Y.astype(object)):
        np.testing.assert_array_equal(mb.MLPClassifier(**kw).fit(X, form).predict_proba(X), base)


# -- the loss: a numpy reference of scikit-learn's ---------------------------------------


def test_one_step_is_a_gradient_step_on_scikit_learns_loss():
    """One batch, plain SGD: the parameters move by learning_rate_init times the gradient of
    scikit-learn's loss, sum over labels of the mean binary cross-entropy plus
    0.5 * alpha * sum(W**2) / rows, and loss_curve_ holds that loss (scikit-learn's value)."""
    X, Y = _labels(40, n_labels=3)
    k, lr, alpha = 3, 0.5, 0.3
    clf = mb.MLPClassifier((5,), solver="sgd", momentum=0.0, alpha=alpha, batch_size=40, shuffle=False,
                           learning_rate_init=lr, max_iter=1, random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.ConvergenceWarning)
        clf.fit(X, Y)
    # the network the fit started from: the estimator's seed and initialisation
    with mb.Network([6, 5, k], hidden_activation="relu", loss="binary_cross_entropy", init="xavier",
                    seed=7) as start:
        p0 = start.get_parameters().astype(np.float64)
        mean_cost, mean_grad = numpy_cost_and_grad(start, X, Y, ["relu"])  # means over labels
        weights = np.zeros_like(p0, dtype=bool)
        for layer in start.layers:
            weights[layer.weight_offset:layer.weight_offset + layer.n_out * layer.n_in] = True
    loss = k * mean_cost + 0.5 * alpha * np.sum(p0[weights] ** 2) / len(X)
    grad = k * mean_grad + alpha * np.where(weights, p0, 0.0) / len(X)
    np.testing.assert_allclose(clf.network_.get_parameters(), p0 - lr * grad, rtol=1e-5, atol=1e-6)
    assert clf.loss_curve_[0] == pytest.approx(loss, rel=1e-5)
    assert clf.loss_curve_ == pytest.approx(list(k * clf.epoch_costs_), rel=1e-12)


def test_tol_compares_scikit_learns_loss():
    """Without early_stopping fit stops when loss_curve_ (scikit-learn's scale) has not
    fallen below its best minus tol for more than n_iter_no_change epochs: scikit-learn's
    rule replayed on the curve."""
    X, Y = _labels(300)
    tol, n = 0.05, 3
    clf = mb.MLPClassifier((16,), learning_rate_init=0.01, tol=tol, n_iter_no_change=n, max_iter=500,
                           random_state=0).fit(X, Y)
    stop = stop_epoch(clf.loss_curve_, tol, n)
    assert stop == clf.n_iter_ < 500
    assert clf.best_loss_ == min(clf.loss_curve_)


# -- early stopping ----------------------------------------------------------------------


def _held_out(clf, X, Y):
    """The rows a fitted classifier's early_stopping held out (its seeded split)."""
    _, _, (Xv, Yv), keep = clf._split_validation(np.asarray(X, np.float32), clf._encode(np.asarray(Y)))
    return Xv, Yv.astype(np.int64), ~keep


def test_early_stopping_holds_out_unstratified_rows_and_scores_subset_accuracy():
    _need_sklearn()
    from sklearn.metrics import accuracy_score

    X, Y = _labels(300)
    kw = dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, early_stopping=True, validation_fraction=0.2,
              n_iter_no_change=1000, random_state=3)
    clf = mb.MLPClassifier(max_iter=1, **kw).fit(X, Y)
    Xv, Yv, held = _held_out(clf, X, Y)
    # not stratified (as scikit-learn's for multilabel): the header's rule for float targets,
    # the first ceil(fraction * m) rows of the seeded permutation
    order = mb.permutation(300, 3, 2**62)
    assert np.array_equal(np.flatnonzero(held), np.sort(order[:math.ceil(0.2 * 300)]))
    # Every epoch's score is accuracy_score of the model at that epoch on the held-out rows.
    # A warm_start fit trains network_ itself, which the callback may read.
    states, told = [], []

    def callback(progress):
        states.append(clf.network_.get_parameters())
        told.append(progress.validation_score)

    clf.set_params(warm_start=True, max_iter=12, callback=callback)
    clf.fit(X, Y)
    assert len(clf.validation_scores_) == clf.network_.epochs_trained == 13 and clf.n_iter_ == 12
    assert told == clf.validation_scores_[1:]  # the callback is told the same scores
    per_output = []
    with mb.Network([6, 32, 4], loss="binary_cross_entropy") as net:
        for state, score in zip(states, clf.validation_scores_[1:]):
            net.set_parameters(state)
            assert score == accuracy_score(Yv, (net.predict(Xv) > 0.5).astype(int))
            per_output.append(net.evaluate(Xv, Yv.astype(np.float32))[1])
    # (the library's own score, the fraction of outputs that match, is another number)
    assert not np.allclose(clf.validation_scores_[1:], per_output)
    # fit ends with the weights of the lowest validation loss, whose score is best_validation_score_
    best = int(np.argmin(clf.validation_costs_))
    assert clf.best_validation_score_ == clf.validation_scores_[best] == accuracy_score(Yv, clf.predict(Xv))
    assert clf.best_validation_score_ == clf.score(Xv, Yv)


def test_early_stopping_stops_on_the_validation_loss():
    X, Y = _labels(300, seed=2)
    clf = mb.MLPClassifier((256,), learning_rate_init=0.01, early_stopping=True, validation_fraction=0.2,
                           n_iter_no_change=5, max_iter=500, random_state=0).fit(X, Y)
    assert clf.n_iter_ < 500
    assert clf.n_iter_ == int(np.argmin(clf.validation_costs_)) + 1 + 5 + 1
    assert len(clf.validation_scores_) == len(clf.loss_curve_) == clf.n_iter_ and clf.best_loss_ is None


# -- partial_fit, warm_start, pickling, sample_weight -----------------------------------


def test_partial_fit_one_epoch_per_call_equals_fit():
    X, Y = _labels(300)
    kw = dict(hidden_layer_sizes=(8,), learning_rate_init=0.05, batch_size=50, random_state=3)
    full = mb.MLPClassifier(max_iter=4, **kw).fit(X, Y)
    inc = mb.MLPClassifier(**kw)
    with pytest.raises(ValueError, match="classes must be passed"):
        inc.partial_fit(X, Y)
    for i in range(4):
        inc.partial_fit(X, Y, classes=np.arange(4) if i == 0 else None)
    assert np.array_equal(inc.network_.get_parameters(), full.network_.get_parameters())
    assert np.array_equal(inc.batch_costs_, full.batch_costs_) and inc.loss_curve_ == full.loss_curve_
    assert np.array_equal(inc.classes_, np.arange(4)) and inc.n_iter_ == 1 and inc.network_.epochs_trained == 4
    inc.partial_fit(X, Y, classes=[3, 2, 1, 0])  # the same classes again, in any order


@pytest.mark.parametrize("classes", [None, [0, 1, 2], [0, 1, 2, 3, 4], ["a", "b", "c", "d"]])
def test_partial_fit_classes_are_the_column_indices(classes):
    """scikit-learn's first call needs `classes`; for a label-indicator y, the column
    indices. (scikit-learn's also takes a superset, e.g. 0..4 for 4 columns, as classes_,
    whose length then differs from predict_proba's columns: refused here.)"""
    X, Y = _labels(50)
    clf = mb.MLPClassifier((4,))
    with pytest.raises(ValueError, match="classes must be passed" if classes is None else r"np.arange\(4\)"):
        clf.partial_fit(X, Y, classes=classes)
    assert not hasattr(clf, "classes_") and not hasattr(clf, "network_")


def test_warm_start_continues():
    X, Y = _labels(300)
    kw = dict(hidden_layer_sizes=(8,), batch_size=64, random_state=1)
    a = mb.MLPClassifier(max_iter=4, **kw).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.ConvergenceWarning)
        w = mb.MLPClassifier(max_iter=2, warm_start=True, **kw).fit(X, Y).fit(X, Y)
    assert w.n_iter_ == 2 and w.network_.epochs_trained == 4 and w.loss_curve_ == a.loss_curve_
    assert np.array_equal(a.network_.get_parameters(), w.network_.get_parameters())


def test_pickle_clone_and_continue():
    X, Y = _labels(200)
    clf = mb.MLPClassifier((8,), max_iter=3, random_state=0).fit(X, Y)
    clf2 = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(clf2.predict_proba(X), clf.predict_proba(X))
    assert np.array_equal(clf2.predict(X), clf.predict(X)) and np.array_equal(clf2.classes_, clf.classes_)
    assert clf2.score(X, Y) == clf.score(X, Y)
    clf2.partial_fit(X, Y)  # still multilabel, continued on its own copy
    assert clf2.n_iter_ == 1 and clf2.network_.epochs_trained == 4 and clf.n_iter_ == 3 and clf2.predict(X).shape == Y.shape
    with pytest.raises(ValueError, match="fitted on a label-indicator matrix"):
        clf2.partial_fit(X, Y[:, 0])
    sk = pytest.importorskip("sklearn.base", reason="scikit-learn is not installed")
    c = sk.clone(clf)
    assert not hasattr(c, "network_") and c.get_params() == clf.get_params()


def test_sample_weight_is_repetition_and_removal():
    """As for 1d labels (test_estimator_parity.py): weight 2 is the row twice, 0 the row left
    out; one batch of all rows, so the objectives agree to float32 rounding."""
    X, Y = _labels(60)
    w = np.random.RandomState(0).randint(0, 3, size=60).astype(float)
    repeated = np.repeat(np.arange(60), w.astype(int))
    kw = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0, shuffle=False, n_iter_no_change=1000)
    weighted = mb.MLPClassifier(**kw).fit(X, Y, sample_weight=w)
    expanded = mb.MLPClassifier(**kw).fit(X[repeated], Y[repeated])
    np.testing.assert_allclose(weighted.predict_proba(X), expanded.predict_proba(X), rtol=1e-4, atol=1e-5)
    plain = mb.MLPClassifier(**kw).fit(X, Y)
    assert not np.allclose(weighted.predict_proba(X), plain.predict_proba(X), rtol=1e-3, atol=1e-4)
    inc = mb.MLPClassifier(**kw).partial_fit(X, Y, sample_weight=w, classes=np.arange(4))
    assert inc.n_iter_ == 1


def test_score_on_a_dataset(tmp_path):
    X, Y = _labels(300)
    clf = mb.MLPClassifier((8,), max_iter=5, random_state=0).fit(X, Y)
    np.save(tmp_path / "x.npy", X.astype(np.float32))
    np.save(tmp_path / "y.npy", Y.astype(np.float32))
    w = np.random.RandomState(2).rand(300)
    with mb.Dataset(tmp_path / "x.npy", tmp_path / "y.npy") as ds:
        assert np.array_equal(clf.predict(ds), clf.predict(X))
        assert clf.score(ds) == clf.score(X, Y)
        assert clf.score(ds, sample_weight=w) == pytest.approx(clf.score(X, Y, sample_weight=w), rel=1e-12)
        with pytest.raises(ValueError, match="a multilabel classifier is fitted on arrays"):
            mb.MLPClassifier((8,), max_iter=1).fit(ds)


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize("y, message", [
    (lambda Y: 2 * Y, r"label-indicator matrix \(multilabel\) of 0 and 1; y has the values \[0, 2\]"),
    (lambda Y: 2 * Y - 1, r"the values \[-1, 1\]"),
    (lambda Y: 0.5 * Y, r"the values \[0.0, 0.5\]"),
    (lambda Y: Y.astype(str), "y has dtype <U"),
    (lambda Y: np.where(Y == 1, np.nan, 0.0), "Input y contains NaN"),
    (lambda Y: Y[:, :, None], r"1d array of labels or a 2d label-indicator matrix"),
    (lambda Y: Y[:, :0], "y has no labels"),
])
def test_bad_label_indicator_matrices_are_refused(y, message):
    """scikit-learn refuses the non-integral values and strings; it takes any matrix of two
    integers as 0/1 (every non-zero a label, so that -1 and 1 are both 1): refused here."""
    X, Y = _labels(30)
    clf = mb.MLPClassifier((4,), max_iter=1)
    for fit in (lambda: clf.fit(X, y(Y)), lambda: clf.partial_fit(X, y(Y), classes=np.arange(4))):
        with pytest.raises(ValueError, match=message):
            fit()
        assert not hasattr(clf, "network_")


def test_continued_fits_refuse_another_kind_of_y_and_change_nothing():
    X, Y = _labels(100)
    Y3 = np.c_[Y, Y[:, :1]]
    ml = mb.MLPClassifier((4,), max_iter=2, random_state=0, warm_start=True).fit(X, Y)
    before = ml.predict_proba(X)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes.*"
                                         "y has 5 label columns, but the model was fitted on 4"):
        ml.fit(X, Y3)
    with pytest.raises(ValueError, match=r"warm_start .*: y is 1d, but the model was fitted on a"
                                         r" label-indicator matrix \(multilabel\) of 4 labels"):
        ml.fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="partial_fit continues the model of its first call: y has 3 label columns"):
        ml.partial_fit(X, Y[:, :3])
    with pytest.raises(ValueError, match="y is 1d, but the model was fitted on a label-indicator matrix"):
        ml.partial_fit(X, Y[:, 1])
    with pytest.raises(ValueError, match="y has shape"):
        ml.score(X, Y[:, 0])
    assert ml.n_iter_ == 2 and np.array_equal(ml.predict_proba(X), before)
    # a multiclass model of classes 0..3 has classes_ np.arange(4) too: still another kind of y
    mc = mb.MLPClassifier((4,), max_iter=2, random_state=0, warm_start=True).fit(X, np.arange(100) % 4)
    with pytest.raises(ValueError, match=r"y is a label-indicator matrix \(multilabel\) of 4 labels, but the"
                                         r" model was fitted on 1d labels"):
        mc.fit(X, Y)
    with pytest.raises(ValueError, match="partial_fit continues the model of its first call: y is a label-indicator"):
        mc.partial_fit(X, Y)
    assert mc.n_outputs_ == 4 and mc.out_activation_ == "softmax"
    # without warm_start, fit starts afresh on either kind
    ml.set_params(warm_start=False).fit(X, Y[:, 0])
    assert ml.n_outputs_ == 1 and np.array_equal(ml.classes_, [0, 1])


def test_a_refused_refit_leaves_the_fitted_classifier_as_it_was():
    # fit checks every argument before it sets classes_, n_outputs_ and out_activation_:
    # a refit refused for its sample_weight left a multilabel model with a binary model's
    # classes_ (predict then failed with an IndexError).
    X, Y = _labels(60)
    clf = mb.MLPClassifier((8,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, Y)
    before = clf.predict(X)
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit(X, (Y[:, 0] > 0).astype(int), sample_weight=np.ones(5))
    assert np.array_equal(clf.classes_, np.arange(Y.shape[1])) and clf.n_outputs_ == Y.shape[1]
    assert np.array_equal(clf.predict(X), before)
