"""Dropout (mb_train_options.dropout) against the header's contract, re-implemented here in
numpy: which units each mini-batch drops (the SplitMix64 keys of seed, epoch, batch, layer,
row and unit), the inverted scaling, and forward, backward and update through the masks.

Tolerances: the reference runs in float64 from the library's float32 parameters (as
test_numpy_step.py); weights after an epoch agree to rtol 1e-4 / atol 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minibatch_gd as mb
from reference_rng import M64, mix

from test_numpy_step import ACTS


def mix_array(v: np.ndarray) -> np.ndarray:
    """SplitMix64's output from each state in v (uint64), element by element."""
    with np.errstate(over="ignore"):
        z = v + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def dropout_mask(seed: int, epoch: int, batch: int, layer: int, rows: int, width: int, p: float) -> np.ndarray:
    """The header's rule: (rows, width) of 0 (dropped) or 1 / (1 - p) in float32."""
    k = mix(mix(mix(mix(seed) ^ ((1 << 63) | epoch)) ^ batch) ^ layer) & M64
    index = np.arange(rows * width, dtype=np.uint64).reshape(rows, width)
    draws = mix_array(np.uint64(k) ^ index) >> np.uint64(40)
    threshold = math.floor(p * 2**24 + 0.5)  # C's round: halves away from zero
    scale = np.float32(1 / (1 - p))
    return np.where(draws < threshold, np.float32(0), scale)


def reference_epoch(net: mb.Network, X, y, *, batch_size, lr, p, seed, epoch, acts):
    """One epoch of plain gradient descent with dropout, in float64, rows in the order of
    mb.permutation(m, seed, epoch); cross-entropy on class indices."""
    params = net.get_parameters().astype(np.float64)
    layers = net.layers
    m = X.shape[0]
    order = mb.permutation(m, seed, epoch)
    for b, start in enumerate(range(0, m, batch_size)):
        rows = order[start:start + batch_size]
        x = X[rows].astype(np.float64)
        r = len(rows)
        Y = np.eye(layers[-1].n_out)[y[rows]]
        Ws = [params[la.weight_offset:la.weight_offset + la.n_out * la.n_in].reshape(la.n_out, la.n_in)
              for la in layers]
        bs = [params[la.bias_offset:la.bias_offset + la.n_out] for la in layers]
        inputs, zs, masks = [x], [], []
        for i, (W, bias) in enumerate(zip(Ws, bs)):
            z = inputs[-1] @ W.T + bias
            zs.append(z)
            if i < len(Ws) - 1:
                mask = dropout_mask(seed, epoch, b, i, r, layers[i].n_out, p).astype(np.float64)
                masks.append(mask)
                inputs.append(ACTS[acts[i]][0](z) * mask)
        z = zs[-1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        dz = (e / e.sum(axis=1, keepdims=True) - Y) / r
        grad = np.zeros_like(params)
        for i in range(len(Ws) - 1, -1, -1):
            la = layers[i]
            grad[la.weight_offset:la.weight_offset + la.n_out * la.n_in] = (dz.T @ inputs[i]).ravel()
            grad[la.bias_offset:la.bias_offset + la.n_out] = dz.sum(axis=0)
            if i > 0:
                dz = (dz @ Ws[i]) * masks[i - 1] * ACTS[acts[i - 1]][1](zs[i - 1])
        params = params - lr * grad
    return params


def _data(m=50, n=6, classes=3, seed=0):
    rs = np.random.RandomState(seed)
    X = rs.randn(m, n).astype(np.float32)
    y = rs.randint(0, classes, m).astype(np.int64)
    return X, y


def test_mask_rate_and_scale():
    """The rule drops about p of the units and scales the rest by 1 / (1 - p)."""
    for p in (0.1, 0.5, 0.9):
        mask = dropout_mask(7, 0, 0, 0, 200, 100, p)
        dropped = np.mean(mask == 0)
        # 20,000 units: 5 standard deviations of a binomial fraction
        assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / mask.size)
        assert np.all(mask[mask != 0] == np.float32(1 / (1 - p)))


@pytest.mark.parametrize("acts", [("relu", "relu"), ("tanh", "sigmoid"), ("linear", "tanh")])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_an_epoch_matches_the_numpy_reference(acts, p):
    X, y = _data()
    net = mb.Network([6, 9, 7, 3], activations=list(acts), loss="cross_entropy", seed=3)
    start = net.get_parameters()
    for epoch in range(2):
        ref = reference_epoch(net, X, y, batch_size=16, lr=0.5, p=p, seed=11, epoch=epoch, acts=acts)
        net.train(X, y, epochs=1, batch_size=16, learning_rate=0.5, seed=11, dropout=p, threads=1)
        np.testing.assert_allclose(net.get_parameters(), ref, rtol=1e-4, atol=1e-6)
    # and dropout changed the run (against the same epochs without it)
    plain = mb.Network([6, 9, 7, 3], activations=list(acts), loss="cross_entropy", seed=3)
    plain.set_parameters(start)
    plain.train(X, y, epochs=2, batch_size=16, learning_rate=0.5, seed=11, threads=1)
    assert np.max(np.abs(plain.get_parameters() - net.get_parameters())) > 1e-3


@pytest.mark.parametrize("threads", [1, 2])
def test_the_fused_update_matches_the_numpy_reference(threads):
    """A first layer of 2^18 weights or more takes plain gradient descent's fused update
    (dz^T x added into W after the shards' backward): through the same masks."""
    X, y = _data(m=384, n=300)
    net = mb.Network([300, 1024, 3], loss="cross_entropy", seed=3)
    for epoch in range(2):
        ref = reference_epoch(net, X, y, batch_size=128, lr=0.1, p=0.5, seed=4, epoch=epoch, acts=("relu",))
        net.train(X, y, epochs=1, batch_size=128, learning_rate=0.1, seed=4, dropout=0.5, threads=threads)
        np.testing.assert_allclose(net.get_parameters(), ref, rtol=1e-4, atol=1e-6)


def test_the_masks_do_not_depend_on_threads_or_shards():
    """The same shards give bit-identical weights for any threads; other shards differ only
    by the gradient's rounding (the masks follow the rows' positions, not the shards)."""
    rs = np.random.RandomState(1)
    X = rs.randn(4096, 32).astype(np.float32)
    y = rs.randint(0, 4, 4096).astype(np.int64)

    def run(**kw):
        net = mb.Network([32, 256, 64, 4], loss="cross_entropy", seed=2)
        net.train(X, y, epochs=2, batch_size=512, learning_rate=0.05, dropout=0.3, seed=5, **kw)
        return net.get_parameters()

    a = run(threads=1, shards=4)
    b = run(threads=2, shards=4)
    np.testing.assert_array_equal(a, b)
    c = run(threads=1, shards=1)
    np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-5)
    # without the same masks, runs differ far beyond rounding
    d = mb.Network([32, 256, 64, 4], loss="cross_entropy", seed=2)
    d.train(X, y, epochs=2, batch_size=512, learning_rate=0.05, dropout=0.3, seed=6, threads=1, shards=1)
    assert np.max(np.abs(d.get_parameters() - c)) > 1e-2


def test_resume_through_a_file_is_exact(tmp_path):
    """Masks follow the model's epochs trained: 2 + 2 epochs through a saved file equal 4."""
    X, y = _data(m=300)
    whole = mb.Network([6, 16, 16, 3], loss="cross_entropy", seed=4)
    whole.train(X, y, epochs=4, batch_size=32, learning_rate=0.1, dropout=0.4, seed=9, threads=1,
                optimizer="adam")
    part = mb.Network([6, 16, 16, 3], loss="cross_entropy", seed=4)
    part.train(X, y, epochs=2, batch_size=32, learning_rate=0.1, dropout=0.4, seed=9, threads=1,
               optimizer="adam")
    part.save(tmp_path / "m.mbm")
    again = mb.Network.load(tmp_path / "m.mbm")
    again.train(X, y, epochs=2, batch_size=32, learning_rate=0.1, dropout=0.4, seed=9, threads=1,
                optimizer="adam")
    np.testing.assert_array_equal(again.get_parameters(), whole.get_parameters())


def test_a_file_dataset_trains_as_the_arrays(tmp_path):
    X, y = _data(m=200)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    a = mb.Network([6, 12, 3], loss="cross_entropy", seed=1)
    a.train(X, y, epochs=3, batch_size=32, dropout=0.25, seed=2, threads=1, learning_rate=0.1)
    b = mb.Network([6, 12, 3], loss="cross_entropy", seed=1)
    with mb.Dataset(tmp_path / "x.npy", tmp_path / "y.npy") as ds:
        b.train(ds, epochs=3, batch_size=32, dropout=0.25, seed=2, threads=1, learning_rate=0.1)
    np.testing.assert_array_equal(a.get_parameters(), b.get_parameters())


def test_evaluation_and_validation_use_the_whole_network():
    """The history's validation cost is the model's cost without dropout, and the epoch
    cost is the dropped network's (higher on the training rows here)."""
    X, y = _data(m=400)
    net = mb.Network([6, 32, 3], loss="cross_entropy", seed=1)
    h = net.train(X, y, epochs=1, batch_size=400, dropout=0.5, seed=2, threads=1, learning_rate=1e-9,
                  validation=(X, y))
    cost, _ = net.evaluate(X, y)
    assert h.validation_costs[-1] == pytest.approx(cost, rel=1e-6)
    assert h.epoch_costs[-1] > cost * 1.01


@pytest.mark.parametrize("p, message", [
    (-0.1, "dropout must be in [0, 1)"), (1.0, "dropout must be in [0, 1)"),
    (float("nan"), "dropout must be in [0, 1)"), (float("inf"), "dropout must be in [0, 1)"),
])
def test_bad_rates_are_refused(p, message):
    X, y = _data()
    net = mb.Network([6, 4, 3], loss="cross_entropy")
    before = net.get_parameters()
    with pytest.raises(mb.InvalidArgumentError, match=message.replace("[", r"\[").replace(")", r"\)")):
        net.train(X, y, dropout=p)
    np.testing.assert_array_equal(net.get_parameters(), before)


def test_a_model_without_a_hidden_layer_is_refused():
    X, y = _data()
    with pytest.raises(mb.InvalidArgumentError, match="needs a hidden layer"):
        mb.Network([6, 3], loss="cross_entropy").train(X, y, dropout=0.5)


def test_the_estimators_take_dropout():
    """MLPClassifier and MLPRegressor pass ``dropout`` to training: it is a parameter
    (get_params, clone), it changes the fit, the fitted model predicts without it (the same
    predictions twice, and the network's own), and bad values are refused with the
    library's message."""
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16
    common = dict(hidden_layer_sizes=(64,), max_iter=40, random_state=0, batch_size=64)
    clf = mb.MLPClassifier(dropout=0.2, **common)
    assert clf.get_params()["dropout"] == 0.2 and clone(clf).dropout == 0.2
    clf.fit(X[:1400], y[:1400])
    plain = mb.MLPClassifier(**common).fit(X[:1400], y[:1400])
    assert clf.loss_curve_ != plain.loss_curve_
    np.testing.assert_array_equal(clf.predict_proba(X[1400:]), clf.predict_proba(X[1400:]))
    np.testing.assert_array_equal(clf.predict_proba(X[1400:]),
                                  clf.network_.predict(X[1400:].astype(np.float32)))
    assert clf.score(X[1400:], y[1400:]) > 0.88, sklearn.__version__  # 0.90 here, as without
    reg = mb.MLPRegressor(dropout=0.1, hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    reg.fit(X[:200], X[:200, :2].sum(axis=1))
    assert reg.dropout == 0.1
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        mb.MLPClassifier(dropout=1.0, **common).fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="needs a hidden layer"):
        mb.MLPClassifier(dropout=0.5, hidden_layer_sizes=(), max_iter=2).fit(X[:100], y[:100])
