"""#16: the estimators as drop-ins for scikit-learn's, with default parameters, on its own
datasets; and the scikit-learn attributes of early stopping and the loss curve.

Accuracy (R^2 for diabetes) is the mean over 5 seeds (random_state 0..4) of each library's
estimator, trained on 75 % and scored on 25 % (train_test_split random_state 0, stratified
for classifiers), features standardised, as a user would; the target of diabetes is
standardised too (unscaled, neither library's default fits it in 200 epochs: R^2 < 0).
The criterion is #16's: within 1 point (0.01) of scikit-learn's.
"""

from __future__ import annotations

import platform
import warnings

import numpy as np
import pytest

import minibatch_gd as mb
from sklearn_rule import stop_epoch

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")
from sklearn import datasets  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

SEEDS = range(5)



def validation_split(clf, X, y):
    """The rows a fitted classifier's early_stopping held out (its seeded split of X, y)."""
    x = np.asarray(X, np.float32)
    _, _, (Xv, yv), _ = clf._split_validation(x, clf._encode(np.asarray(y)))
    return Xv, yv

def _split(X, y, regression):
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0,
                                          stratify=None if regression else y)
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    if regression:
        mean, std = ytr.mean(), ytr.std()
        ytr, yte = (ytr - mean) / std, (yte - mean) / std
    return Xtr, Xte, ytr, yte


@pytest.mark.parametrize("name", ["digits", "iris", "breast_cancer", "diabetes"])
def test_default_parameters_match_scikit_learn(name):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    regression = name == "diabetes"
    Xtr, Xte, ytr, yte = _split(X, y, regression)
    ours_cls, theirs_cls = (mb.MLPRegressor, MLPRegressor) if regression else (mb.MLPClassifier, MLPClassifier)
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at max_iter
        for seed in SEEDS:
            ours.append(ours_cls(random_state=seed).fit(Xtr, ytr).score(Xte, yte))
            theirs.append(theirs_cls(random_state=seed).fit(Xtr, ytr).score(Xte, yte))
    print(f"{name}: minibatch {np.mean(ours):.4f}, scikit-learn {np.mean(theirs):.4f}")
    assert np.mean(ours) >= np.mean(theirs) - 0.01


@pytest.mark.parametrize("name", ["digits", "iris", "breast_cancer", "wine"])
def test_default_parameters_on_raw_features(name):
    """The same comparison without scaling the features, as a user may run it (3 seeds)."""
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(3):
            ours.append(mb.MLPClassifier(random_state=seed).fit(Xtr, ytr).score(Xte, yte))
            theirs.append(MLPClassifier(random_state=seed).fit(Xtr, ytr).score(Xte, yte))
    print(f"{name} (raw features): minibatch {np.mean(ours):.4f}, scikit-learn {np.mean(theirs):.4f}")
    assert np.mean(ours) >= np.mean(theirs) - 0.01


def test_early_stopping_attributes_and_best_weights():
    # Few noisy rows and a wide network: the validation score stops rising while the
    # training loss keeps falling, so early stopping ends well before max_iter.
    rs = np.random.RandomState(0)
    X = rs.randn(300, 20)
    y = (X[:, 0] + 0.8 * rs.randn(300) > 0).astype(int)
    clf = mb.MLPClassifier((256,), learning_rate_init=0.01, early_stopping=True, validation_fraction=0.2,
                           n_iter_no_change=5, max_iter=500, random_state=0).fit(X, y)
    assert clf.n_iter_ < 500
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_loss_ is None
    # scikit-learn's rule on the validation score: an epoch counts as no improvement when
    # its score is below the best so far plus tol, and fit stops when the count exceeds
    # n_iter_no_change; it ends with the weights of the first epoch of the highest score
    # (its own best_validation_score_ and _best_coefs).
    scores = clf.validation_scores_
    stop = stop_epoch(scores, clf.tol, clf.n_iter_no_change, higher_is_better=True)
    assert stop == clf.n_iter_
    best = int(np.argmax(scores))
    Xv, yv = validation_split(clf, X, y)
    cost, accuracy = clf.network_.evaluate(Xv, yv)
    assert cost == pytest.approx(clf.validation_costs_[best], rel=1e-6)
    assert clf.best_validation_score_ == max(scores) == pytest.approx(accuracy, abs=1e-12)
    assert clf.best_validation_score_ == clf.score(Xv, clf.classes_[yv])
    # (the lowest validation cost is another epoch's: a rule on the cost stops elsewhere)
    assert int(np.argmin(clf.validation_costs_)) != best
    # stratified: the validation rows keep the class balance (ceil of 20 % of each class)
    counts = np.bincount(y)
    assert np.array_equal(np.bincount(yv), np.ceil(0.2 * counts).astype(int))


def test_without_early_stopping_the_training_loss_stops_fit():
    X, y = datasets.load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = mb.MLPClassifier((16,), learning_rate_init=0.05, tol=1e-2, n_iter_no_change=3, max_iter=500,
                           random_state=0).fit(X, y)
    loss = np.array(clf.loss_curve_)
    # scikit-learn's rule: stop when the loss has not fallen below best - tol for more than
    # n_iter_no_change epochs in a row.
    stop = stop_epoch(loss, 1e-2, 3)
    assert stop == clf.n_iter_ < 500
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.validation_scores_ is None


def test_regressor_loss_curve_has_scikit_learns_scale():
    rs = np.random.RandomState(1)
    X = rs.randn(200, 3)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rs.randn(200)
    r = mb.MLPRegressor(hidden_layer_sizes=(), alpha=0.0, max_iter=3, random_state=0).fit(X, y)
    assert np.allclose(r.loss_curve_, 0.5 * r.epoch_costs_)


def test_the_library_split_is_the_estimators_split():
    """validation_fraction in the library (mb_train_options.validation_fraction) holds out
    the rows the estimator's early_stopping holds out (the header's rule): training on the
    rest with those rows as an explicit validation set gives the same history, bit for bit."""
    X, y = mb.make_moons(500, 0.3, seed=5)
    y = y % 2
    clf = mb.MLPClassifier((8,), early_stopping=True, validation_fraction=0.2, max_iter=3, random_state=7)
    clf.fit(X, y)
    Xv, yv = validation_split(clf, X, y)
    held = np.zeros(len(X), bool)
    rows = {tuple(r) for r in np.asarray(Xv, np.float32).tolist()}
    held = np.array([tuple(r) in rows for r in np.asarray(X, np.float32).tolist()])
    assert held.sum() == len(Xv)
    runs = []
    for kwargs in ({"validation_fraction": 0.2}, {"validation": (X[held], y[held])}):
        with mb.Network([2, 8, 2], seed=1) as net:
            data = (X, y) if "validation_fraction" in kwargs else (X[~held], y[~held])
            h = net.train(*data, epochs=3, batch_size=50, seed=7, optimizer="adam", **kwargs)
            runs.append((net.get_parameters().tobytes(), h.validation_costs.tobytes(), h.batch_costs.tobytes()))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("cls", [mb.MLPClassifier, mb.MLPRegressor])
def test_sample_weight_is_repetition_and_removal(cls):
    """scikit-learn's meaning: weight 2 is the row twice, weight 0 the row left out. With one
    batch of all rows (fewer than 200: 'auto') the objectives are the same; float32 sums round
    differently, so the predictions agree to 1e-4, not bit for bit."""
    rs = np.random.RandomState(0)
    X = rs.randn(60, 4)
    y = (X[:, 0] > 0).astype(int) if cls is mb.MLPClassifier else X @ np.array([1.0, -1.0, 0.5, 2.0])
    w = rs.randint(0, 3, size=60).astype(float)
    repeated = np.repeat(np.arange(60), w.astype(int))
    kw = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0, shuffle=False, n_iter_no_change=1000)
    weighted = cls(**kw).fit(X, y, sample_weight=w)
    expanded = cls(**kw).fit(X[repeated], y[repeated])
    out = (lambda m: m.predict_proba(X)) if cls is mb.MLPClassifier else (lambda m: m.predict(X))
    np.testing.assert_allclose(out(weighted), out(expanded), rtol=1e-4, atol=1e-5)
    # and sample weights change the fit (a test that could not fail otherwise)
    plain = cls(**kw).fit(X, y)
    assert not np.allclose(out(weighted), out(plain), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("sizes, loss", [([2, 8, 2], "cross_entropy"), ([2, 8, 1], "mse"), ([2, 3], "cross_entropy")])
def test_sample_weight_scale_does_not_matter(sizes, loss):
    """A batch's cost is sum(w * loss) / sum(w): weights times any constant train the same,
    to float32 rounding, at both ends of float's range (a total weight beyond it made
    1 / float(total) 0: MB_OK with the weights unchanged; one below its normal numbers made
    it Inf: MB_ERR_DIVERGED). Through the softmax kernel, the plain loss and the row-by-row
    kernel (no hidden layer); a lone denormal weight is that row alone. So with subnormals
    kept (flush_denormals=False) and flushed (the default since 0.12.0, where the library
    scales rows' weights with a subnormal into float's normal range by a power of two, as
    the batches would read it as 0); weights spanning more than that range are refused when
    flushing."""
    X, y = mb.make_moons(200, 0.2, seed=3)
    target = y if loss == "cross_entropy" else X[:, :1] + X[:, 1:]

    def trained(w, flush=True):
        with mb.Network(sizes, loss=loss, seed=0) as net:
            net.train(X, target, epochs=3, batch_size=50, learning_rate=0.1, seed=1,
                      sample_weight=np.asarray(w, np.float32), flush_denormals=flush)
            return net.get_parameters()

    ones = trained(np.ones(200))
    assert np.array_equal(trained(np.ones(200), flush=False), ones)  # (no subnormal in this run)
    for flush in (True, False):
        for c in (1e-42, 1e-30, 1e30, 1e38, 3e38):
            np.testing.assert_allclose(trained(np.full(200, c), flush), ones, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{c} {flush}")
        alone = np.zeros(200)
        alone[7] = 1
        lone = alone.copy()
        lone[7] = 1e-45
        np.testing.assert_allclose(trained(lone, flush), trained(alone), rtol=1e-6, atol=1e-7)
    # subnormal weights that hold a normal share of the total (2^-130 beside 2^-120): scaled
    # with the others, the caller's own scaling's training (2^4 brings 2^-130 to 2^-126), bit
    # for bit; not that of those rows at 0
    w = np.where(np.arange(200) % 2 == 0, np.float32(2.0 ** -130), np.float32(2.0 ** -120)).astype(np.float32)
    assert np.array_equal(trained(w), trained(w * np.float32(16)))
    assert not np.array_equal(trained(w), trained(np.where(np.arange(200) % 2 == 0, 0, w).astype(np.float32)))
    wide = np.ones(200, np.float32)
    wide[3], wide[4] = np.float32(2.0 ** -149), np.float32(2.0 ** 127)
    if platform.machine() in ("x86_64", "AMD64"):
        with pytest.raises(mb.InvalidArgumentError, match="span more than float's normal range"):
            trained(wide)
    else:
        trained(wide)  # (nothing flushes there)
    trained(wide, flush=False)


def test_sample_weight_partial_fit_and_bad_values():
    X, y = mb.make_moons(100, 0.2, seed=1)
    clf = mb.MLPClassifier((4,), random_state=0)
    clf.partial_fit(X, y, sample_weight=np.ones(100), classes=[0, 1])
    with pytest.raises(mb.InvalidArgumentError, match="sample_weight"):
        mb.MLPClassifier((4,), max_iter=2).fit(X, y, sample_weight=-np.ones(100))
    with pytest.raises(ValueError, match="sample_weight"):
        mb.MLPClassifier((4,), max_iter=2).fit(X, y, sample_weight=np.ones(99))


def test_fit_with_early_stopping_ends_with_the_best_weights():
    """scikit-learn's early_stopping ends fit with the best epoch's weights, also when it
    runs every max_iter epoch without stopping (mb_model_restore_best_weights)."""
    rs = np.random.RandomState(0)
    X = rs.randn(300, 20)
    y = (X[:, 0] + 0.8 * rs.randn(300) > 0).astype(int)
    clf = mb.MLPClassifier((256,), learning_rate_init=0.01, early_stopping=True, n_iter_no_change=1000,
                           max_iter=30, random_state=0).fit(X, y)
    assert clf.n_iter_ == 30
    scores = clf.validation_scores_
    best = int(np.argmax(scores))  # the first epoch of the highest validation score
    assert best < 29  # the problem overfits: the last epoch is not the best
    Xv, yv = validation_split(clf, X, y)
    cost, accuracy = clf.network_.evaluate(Xv, yv)
    assert cost == pytest.approx(clf.validation_costs_[best], rel=1e-6)
    assert accuracy == clf.best_validation_score_ == scores[best]
    with mb.Network([2, 4, 2]) as net, pytest.raises(mb.InvalidArgumentError, match="best weights"):
        net.restore_best_weights()


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("loss,outputs", [("squared_error", 1), ("squared_error", 2), ("poisson", 1), ("poisson", 3)])
def test_regressor_steps_are_scikit_learns(loss, outputs, solver):
    """From the same weights, two steps of MLPRegressor are scikit-learn's: the library's
    cost and gradient differ from scikit-learn's by a factor (2 / n_outputs for the squared
    error, 1 / n_outputs for Poisson), which alpha, SGD's rate and Adam's epsilon absorb.
    (Adam's epsilon is the default: scikit-learn adds it to the root before the bias
    correction, the library, as PyTorch, after it, which shows at epsilon 1e-3.)"""
    rs = np.random.default_rng(outputs)
    X = rs.normal(size=(64, 5))
    rate = np.exp(X[:, :outputs] * 0.3 + 0.5)
    y = rs.poisson(rate).astype(np.float64) if loss == "poisson" else X[:, :outputs] @ np.ones((outputs, outputs)) + 1
    y = y.ravel() if outputs == 1 else y
    kw = dict(loss=loss, hidden_layer_sizes=(4,), alpha=1e-2, batch_size=32, shuffle=False, solver=solver,
              momentum=0.0, learning_rate_init=0.05, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = mb.MLPRegressor(**kw).fit(X, y)  # one epoch: two steps of 32 rows
        start = mb.MLPRegressor(**{**kw, "learning_rate_init": 1e-30}).fit(X, y)
        theirs = MLPRegressor(**{**kw, "warm_start": True}).fit(X, y)  # its weights, replaced by ours:
        theirs.coefs_ = [c.astype(np.float64) for c in start.coefs_]
        theirs.intercepts_ = [b.astype(np.float64) for b in start.intercepts_]
        theirs._optimizer = None
        theirs.t_ = 0
        theirs.n_iter_ = 0
        theirs.loss_curve_ = []
        theirs._no_improvement_count = 0
        theirs.best_loss_ = np.inf
        theirs.fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        # (Adam's first steps are about lr x sign(gradient): a float32 gradient near 0 moves
        # its weight by a few 1e-6 more or less than a float64 one)
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 if solver == "sgd" else 1e-5)
    # The loss matches too, but for the squared error with several outputs: there the
    # penalty's share of loss_curve_ is 1 / n_outputs of scikit-learn's (its gradient is
    # that of the squared error summed over outputs, its reported loss the mean; l2 follows
    # the gradient, so the steps match and the reported penalty cannot; README).
    if loss == "poisson" or outputs == 1:
        assert ours.loss_curve_[0] == pytest.approx(theirs.loss_curve_[0], rel=1e-5)


def _sklearn_gradient(kw, X, y, coefs, intercepts):
    """scikit-learn's gradient of its loss (penalty included) at the given weights: one full
    batch step of its plain SGD at rate 1e-3, (w - w') / 1e-3, in float64."""
    lr = 1e-3
    sk = MLPRegressor(**{**kw, "solver": "sgd", "momentum": 0.0, "learning_rate_init": lr, "max_iter": 1,
                         "warm_start": True})
    sk.fit(X, y)  # (shapes; its weights are replaced below)
    sk.coefs_, sk.intercepts_ = [c.copy() for c in coefs], [b.copy() for b in intercepts]
    sk._optimizer, sk.t_, sk.n_iter_, sk.loss_curve_ = None, 0, 0, []
    sk._no_improvement_count, sk.best_loss_ = 0, np.inf
    sk.fit(X, y)
    return ([(a - b) / lr for a, b in zip(coefs, sk.coefs_)],
            [(a - b) / lr for a, b in zip(intercepts, sk.intercepts_)])


@pytest.mark.parametrize("solver", ["adagrad", "adamax", "nadam"])
@pytest.mark.parametrize("outputs", [1, 3])
def test_regressor_adagrad_adamax_and_nadam_take_their_steps_on_scikit_learns_loss(solver, outputs):
    """The rules beyond scikit-learn's (0.6.0, NAdam 0.7.0) in MLPRegressor: three full-batch steps are
    the rule's formula (the header's, PyTorch's, numpy here in float64) applied to
    scikit-learn's gradient of its own loss, alpha included, at epsilon 1e-3 (large enough
    to show: the estimator passes epsilon times the gradient's scale, 2 / n_outputs, so that
    the steps are those of scikit-learn's loss, as for Adam and RMSprop). (RAdam's first
    steps, momentum's, scale with the gradient: its steps are not scikit-learn's loss's.)"""
    rs = np.random.default_rng(outputs)
    X = rs.normal(size=(48, 5))
    y = X[:, :outputs] @ rs.normal(size=(outputs, outputs)) + 0.5
    y = y.ravel() if outputs == 1 else y
    lr, eps, b1, b2, steps = 0.02, 1e-3, 0.8, 0.9, 3
    kw = dict(loss="squared_error", hidden_layer_sizes=(4,), alpha=1e-2, batch_size=48, shuffle=False,
              random_state=0, n_iter_no_change=10**6, tol=0.0)
    rule = dict(solver=solver, beta_1=b1, beta_2=b2, epsilon=eps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = mb.MLPRegressor(**kw, **rule, learning_rate_init=1e-30, max_iter=1).fit(X, y)
        ours = mb.MLPRegressor(**kw, **rule, learning_rate_init=lr, max_iter=steps).fit(X, y)
        w = [c.astype(np.float64) for c in start.coefs_] + [b.astype(np.float64) for b in start.intercepts_]
        k = len(start.coefs_)
        a, u = [np.zeros_like(p) for p in w], [np.zeros_like(p) for p in w]
        product = 1.0  # NAdam's mu_1 * ... * mu_t (momentum_decay 0.004)
        for t in range(1, steps + 1):
            mu, mu_next = (b1 * (1 - 0.5 * 0.96 ** (s * 0.004)) for s in (t, t + 1))
            product *= mu
            gc, gb = _sklearn_gradient(kw, X, y, w[:k], w[k:])
            for i, g in enumerate(gc + gb):
                if solver == "adagrad":
                    u[i] = u[i] + g ** 2
                    w[i] = w[i] - lr * g / (np.sqrt(u[i]) + eps)
                elif solver == "nadam":
                    a[i] = b1 * a[i] + (1 - b1) * g
                    u[i] = b2 * u[i] + (1 - b2) * g ** 2
                    d = np.sqrt(u[i]) / np.sqrt(1 - b2 ** t) + eps
                    w[i] = w[i] - lr * (1 - mu) / (1 - product) * g / d - lr * mu_next / (1 - product * mu_next) * a[i] / d
                else:
                    a[i] = b1 * a[i] + (1 - b1) * g
                    u[i] = np.maximum(b2 * u[i], np.abs(g) + eps)
                    w[i] = w[i] - (lr / (1 - b1 ** t)) * a[i] / u[i]
    assert ours.n_iter_ == steps
    for got, want in zip(ours.coefs_ + ours.intercepts_, w):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert not np.allclose(ours.coefs_[0], start.coefs_[0], atol=1e-3)  # the weights moved


@pytest.mark.parametrize("loss,outputs", [("squared_error", 1), ("squared_error", 3), ("poisson", 2)])
def test_regressor_tol_compares_scikit_learns_loss(loss, outputs):
    """Without early_stopping fit stops when loss_curve_ (scikit-learn's scale: half the
    library's cost for the squared error, n_outputs times it for Poisson) has not fallen
    below its best minus tol for more than n_iter_no_change epochs: scikit-learn's rule,
    replayed on the curve."""
    rs = np.random.default_rng(7)
    X = rs.normal(size=(300, 4))
    y = rs.poisson(np.exp(X[:, :outputs] * 0.3)) if loss == "poisson" else X[:, :outputs] * 2 + 0.1 * rs.normal(size=(300, outputs))
    y = y.astype(np.float64).ravel() if outputs == 1 else y.astype(np.float64)
    tol, n = 0.02, 3
    r = mb.MLPRegressor(loss=loss, hidden_layer_sizes=(8,), learning_rate_init=0.01, tol=tol, n_iter_no_change=n,
                        max_iter=500, random_state=0).fit(X, y)
    stop = stop_epoch(r.loss_curve_, tol, n)
    assert stop == r.n_iter_ < 500


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_n_iter_counts_the_last_call_as_scikit_learns(name):
    """n_iter_ after warm_start and after partial_fit is scikit-learn's: the epochs of the
    last call (it counted the network's life until 0.12.5: 10 and 3 below, where
    scikit-learn has 5 and 1), and loss_curve_ grows over the calls in both."""
    X, y = datasets.load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if name == "MLPRegressor":
        y = y / 10.0
    got = {}
    for lib, cls in (("mb", getattr(mb, name)), ("sk", {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}[name])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning
            w = cls(hidden_layer_sizes=(16,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
            first = w.n_iter_
            w.fit(X, y)
            p = cls(hidden_layer_sizes=(16,), random_state=0)
            for _ in range(3):
                p.partial_fit(X, y, **({"classes": np.arange(10)} if name == "MLPClassifier" else {}))
        got[lib] = (first, w.n_iter_, len(w.loss_curve_), p.n_iter_, len(p.loss_curve_))
    assert got["mb"] == got["sk"] == (5, 5, 10, 1, 3), got


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_parameter_values_scikit_learn_accepts(name):
    """Values scikit-learn 1.9 takes that were refused until 0.12.6: n_iter_no_change=np.inf
    (never stop for want of improvement: max_iter epochs, with scikit-learn's
    ConvergenceWarning), validation_fraction=0 without early stopping (unused), momentum=1
    ('sgd'), and max_fun (lbfgs's, checked and unused, as scikit-learn ignores it for the
    other solvers); and the ranges scikit-learn checks whatever the solver."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4))
    y = (X[:, 0] > 0).astype(int) if name == "classifier" else X[:, 0] * 2
    ours, theirs = (mb.MLPClassifier, MLPClassifier) if name == "classifier" else (mb.MLPRegressor, MLPRegressor)
    common = dict(hidden_layer_sizes=(4,), max_iter=12, random_state=0)
    for kw in (dict(n_iter_no_change=np.inf, tol=10.0), dict(validation_fraction=0.0),
               dict(solver="sgd", momentum=1.0, learning_rate_init=1e-3), dict(max_fun=7)):
        for cls in (ours, theirs):
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                est = cls(**common, **kw).fit(X, y)
            if "n_iter_no_change" in kw:
                # a tol no epoch can meet: only max_iter stops it
                assert est.n_iter_ == 12, (cls, est.n_iter_)
                assert any("Maximum iterations" in str(w.message) for w in seen), cls
        assert est.get_params()["max_fun"] == common.get("max_fun", est.max_fun)
    for kw, message in ((dict(power_t=-1.0), "power_t"), (dict(beta_1=1.5, solver="sgd"), "beta_1"),
                        (dict(epsilon=-1.0, solver="sgd"), "epsilon"), (dict(alpha=-1.0), "alpha"),
                        (dict(verbose="x"), "verbose"), (dict(activation="RELU"), "activation"),
                        (dict(activation=1), "activation"), (dict(max_fun=0), "max_fun"),
                        (dict(early_stopping=True, validation_fraction=0.0), "validation_fraction"),
                        (dict(n_iter_no_change=0), "n_iter_no_change"), (dict(momentum=1.5), "momentum")):
        with pytest.raises(ValueError, match=message):
            ours(**common, **kw).fit(X, y)
        with pytest.raises(ValueError):
            theirs(**common, **kw).fit(X, y)
