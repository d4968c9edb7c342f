"""Label smoothing (mb_train_options.label_smoothing, Network.train(label_smoothing=)):
against PyTorch's CrossEntropyLoss(label_smoothing=e) (a numpy implementation of the same
formula where PyTorch is absent) for the cross-entropy, class indices and probability rows,
models with and without a hidden layer (the layered and the row-by-row paths); against
Keras's rule, (1 - e) t + e / 2, in numpy for binary cross-entropy; validation and
evaluation unsmoothed; refusals."""

from __future__ import annotations

import numpy as np
import pytest

import minibatch_gd as mb


def _reference_step(net, X, T, e, lr, kind):
    """One full-batch step in float64: the smoothed loss and the updated parameters.
    T: (m, k) one-hot or probability rows (kind 'ce'), or 0/1 labels (m, 1) (kind 'bce')."""
    layers = net.layers
    p = net.get_parameters().astype(np.float64)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and kind == "ce":
        params = torch.tensor(p, requires_grad=True)
        a = torch.tensor(X.astype(np.float64))
        for i, la in enumerate(layers):
            W = params[la.weight_offset:la.weight_offset + la.n_out * la.n_in].reshape(la.n_out, la.n_in)
            a = a @ W.T + params[la.bias_offset:la.bias_offset + la.n_out]
            if i < len(layers) - 1:
                a = torch.relu(a)
        loss = torch.nn.CrossEntropyLoss(label_smoothing=e)(a, torch.tensor(T, dtype=torch.float64))
        loss.backward()
        return loss.item(), p - lr * params.grad.numpy()
    # numpy: forward, the smoothed targets, backward (ReLU hidden layers)
    A, Z = [X.astype(np.float64)], []
    for i, la in enumerate(layers):
        W = p[la.weight_offset:la.weight_offset + la.n_out * la.n_in].reshape(la.n_out, la.n_in)
        z = A[-1] @ W.T + p[la.bias_offset:la.bias_offset + la.n_out]
        Z.append(z)
        A.append(np.maximum(z, 0) if i < len(layers) - 1 else z)
    z, m = Z[-1], len(X)
    if kind == "ce":
        k = z.shape[1]
        t = (1 - e) * T + e / k
        logp = z - z.max(axis=1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
        cost = float(np.mean(-(t * logp).sum(axis=1)))
        dz = (np.exp(logp) * t.sum(axis=1, keepdims=True) - t) / m
    else:
        t = (1 - e) * T + e / 2
        s = 1 / (1 + np.exp(-z))
        cost = float(np.mean(-(t * np.log(s) + (1 - t) * np.log(1 - s))))
        dz = (s - t) / (m * z.shape[1])
    grad = np.zeros_like(p)
    for i in range(len(layers) - 1, -1, -1):
        la = layers[i]
        grad[la.weight_offset:la.weight_offset + la.n_out * la.n_in] = (dz.T @ A[i]).ravel()
        grad[la.bias_offset:la.bias_offset + la.n_out] = dz.sum(axis=0)
        if i > 0:
            W = p[la.weight_offset:la.weight_offset + la.n_out * la.n_in].reshape(la.n_out, la.n_in)
            dz = (dz @ W) * (Z[i - 1] > 0)
    return cost, p - lr * grad


@pytest.mark.parametrize("sizes", [[5, 3], [5, 10], [5, 8, 4]])  # row by row, layered, hidden
@pytest.mark.parametrize("soft", [False, True])
def test_a_step_is_pytorchs(sizes, soft):
    rs = np.random.RandomState(0)
    X = rs.randn(40, 5).astype(np.float32)
    k = sizes[-1]
    y = rs.randint(0, k, 40)
    T = rs.dirichlet(np.ones(k), 40).astype(np.float32) if soft else np.eye(k, dtype=np.float32)[y]
    net = mb.Network(sizes, loss="cross_entropy", seed=2)
    cost, want = _reference_step(net, X, T, 0.2, 0.5, "ce")
    h = net.train(X, T if soft else y, epochs=1, batch_size=40, learning_rate=0.5, label_smoothing=0.2, shuffle=False)
    assert h.batch_costs[0] == pytest.approx(cost, rel=1e-5)
    np.testing.assert_allclose(net.get_parameters(), want, rtol=1e-5, atol=1e-6)


def test_binary_cross_entropy_follows_keras():
    rs = np.random.RandomState(1)
    X = rs.randn(40, 5).astype(np.float32)
    y = rs.randint(0, 2, 40)
    net = mb.Network([5, 6, 1], loss="binary_cross_entropy", seed=3)
    cost, want = _reference_step(net, X, y[:, None].astype(np.float64), 0.1, 0.5, "bce")
    h = net.train(X, y, epochs=1, batch_size=40, learning_rate=0.5, label_smoothing=0.1, shuffle=False)
    assert h.batch_costs[0] == pytest.approx(cost, rel=1e-5)
    np.testing.assert_allclose(net.get_parameters(), want, rtol=1e-5, atol=1e-6)


def test_mini_batches_and_threads():
    """Several epochs of mini-batches equal one step per batch of the reference (float32
    against float64: 1e-4), on one thread and two."""
    rs = np.random.RandomState(2)
    X = rs.randn(96, 5).astype(np.float32)
    y = rs.randint(0, 4, 96)
    for threads in (1, 2):
        net = mb.Network([5, 8, 4], loss="cross_entropy", seed=2)
        ref = mb.Network([5, 8, 4], loss="cross_entropy", seed=2)
        for epoch in range(2):
            order = mb.permutation(96, 3, epoch)
            for start in range(0, 96, 32):
                rows = order[start:start + 32]
                _, want = _reference_step(ref, X[rows], np.eye(4)[y[rows]], 0.1, 0.3, "ce")
                ref.set_parameters(want.astype(np.float32))
        net.train(X, y, epochs=2, batch_size=32, learning_rate=0.3, label_smoothing=0.1, seed=3, threads=threads)
        np.testing.assert_allclose(net.get_parameters(), ref.get_parameters(), rtol=1e-4, atol=1e-5)


def test_validation_and_evaluation_are_unsmoothed():
    rs = np.random.RandomState(3)
    X = rs.randn(60, 5).astype(np.float32)
    y = rs.randint(0, 3, 60)
    net = mb.Network([5, 8, 3], loss="cross_entropy", seed=2)
    h = net.train(X, y, epochs=1, batch_size=60, learning_rate=1e-9, label_smoothing=0.3, validation=(X, y))
    cost, _ = net.evaluate(X, y)
    assert h.validation_costs[-1] == pytest.approx(cost, rel=1e-6)
    assert h.epoch_costs[-1] != pytest.approx(cost, rel=1e-3)  # the smoothed training loss
    assert net.gradient(X, y)[0] == pytest.approx(cost, rel=1e-6)


@pytest.mark.parametrize("e", [-0.1, 1.0, float("nan")])
def test_bad_values_are_refused(e):
    X = np.zeros((10, 5), np.float32)
    with pytest.raises(mb.InvalidArgumentError, match=r"label_smoothing must be in \[0, 1\)"):
        mb.Network([5, 3]).train(X, np.zeros(10, np.int64), label_smoothing=e)


def test_other_losses_are_refused():
    X = np.zeros((10, 5), np.float32)
    with pytest.raises(mb.InvalidArgumentError, match="needs the cross-entropy or binary cross-entropy"):
        mb.Network([5, 1], loss="mse").train(X, np.zeros(10, np.float32), label_smoothing=0.1)


def test_a_rate_that_is_1_in_float_is_refused():
    """The loss computes in float: 1 - 2^-26 would be 1 there, every label lost."""
    X = np.zeros((10, 5), np.float32)
    with pytest.raises(mb.InvalidArgumentError, match="below 1 as a float"):
        mb.Network([5, 3]).train(X, np.zeros(10, np.int64), label_smoothing=1 - 2**-26)
    mb.Network([5, 3]).train(X, np.zeros(10, np.int64), label_smoothing=1 - 2**-23, epochs=1)
