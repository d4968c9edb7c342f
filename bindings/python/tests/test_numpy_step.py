"""A training step through the library matches a plain numpy implementation of the same
forward pass, cost, backward pass and update, for every loss (Poisson's as scikit-learn's
poisson_loss writes it) and hidden activation.

Tolerances: the numpy reference runs in float64 from the library's float32 parameters;
the library computes in float32. Costs agree to rtol 1e-5; gradients to rtol 2e-4 plus
atol 1e-6 x the largest gradient entry; updated parameters to rtol 1e-5 / atol 1e-6.
The update itself (params - lr * the library's own gradient) is checked to within 2 ulp.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minibatch_gd as mb

_erf = np.vectorize(math.erf)


def _Phi(z):
    """The standard normal distribution function."""
    return 0.5 * (1 + _erf(z / math.sqrt(2)))


ACTS = {
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(z.dtype)),  # g'(0) = 0
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: (1 / (1 + np.exp(-z))) * (1 - 1 / (1 + np.exp(-z)))),
    # PyTorch's LeakyReLU() (slope 0.01, g'(0) = 0.01), ELU() (alpha 1) and SELU()
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))), lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0)))),
    # PyTorch's GELU() (exact, erf) and SiLU()
    "gelu": (lambda z: z * _Phi(z), lambda z: _Phi(z) + z * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)),
    "silu": (lambda z: z / (1 + np.exp(-z)),
             lambda z: (1 / (1 + np.exp(-z))) * (1 + z * (1 - 1 / (1 + np.exp(-z))))),
    "selu": (lambda z: 1.0507009873554804934193349852946 * np.where(z > 0, z, 1.6732632423543772848170429916717 * np.expm1(np.minimum(z, 0))),
             lambda z: 1.0507009873554804934193349852946 * np.where(z > 0, 1.0, 1.6732632423543772848170429916717 * np.exp(np.minimum(z, 0)))),
}


def numpy_cost_and_grad(net: mb.Network, X, Y, hidden_acts):
    """Forward, cost and backward in float64; Y is float (m, n_out)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    m = X.shape[0]
    params = net.get_parameters().astype(np.float64)
    layers = net.layers
    loss = net.loss
    Ws = [params[la.weight_offset:la.weight_offset + la.n_out * la.n_in].reshape(la.n_out, la.n_in) for la in layers]
    bs = [params[la.bias_offset:la.bias_offset + la.n_out] for la in layers]
    A = [X]
    Z = []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        z = A[-1] @ W.T + b
        Z.append(z)
        if i < len(Ws) - 1:
            A.append(ACTS[hidden_acts[i]][0](z))
        elif loss == mb.Loss.MSE:
            A.append(z)
        elif loss == mb.Loss.BINARY_CROSS_ENTROPY:
            A.append(1 / (1 + np.exp(-z)))
        elif loss == mb.Loss.POISSON:
            A.append(np.exp(z))
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            A.append(e / e.sum(axis=1, keepdims=True))
    out = A[-1]
    n_out = out.shape[1]
    if loss == mb.Loss.MSE:
        cost = np.mean((out - Y) ** 2)
        dZ = 2 * (out - Y) / (m * n_out)
    elif loss == mb.Loss.BINARY_CROSS_ENTROPY:
        cost = np.mean(-(Y * np.log(out) + (1 - Y) * np.log(1 - out)))
        dZ = (out - Y) / (m * n_out)
    elif loss == mb.Loss.POISSON:
        # half the Poisson deviance, y log(y / a) - y + a (y log y = 0 at y = 0), as
        # scikit-learn's poisson_loss writes it
        cost = np.mean(np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1) / out), 0) - Y + out)
        dZ = (out - Y) / (m * n_out)
    else:
        cost = np.mean(-np.sum(Y * np.log(out), axis=1))
        dZ = (out - Y) / m
    grad = np.zeros_like(params)
    for i in range(len(Ws) - 1, -1, -1):
        la = layers[i]
        dW = dZ.T @ A[i]
        db = dZ.sum(axis=0)
        grad[la.weight_offset:la.weight_offset + dW.size] = dW.ravel()
        grad[la.bias_offset:la.bias_offset + db.size] = db
        if i > 0:
            dZ = (dZ @ Ws[i]) * ACTS[hidden_acts[i - 1]][1](Z[i - 1])
    return cost, grad


def _problem(loss, n_out, m=23, n=4, seed=0):
    rs = np.random.RandomState(seed)
    X = rs.randn(m, n).astype(np.float32)
    if loss == "mse":
        Yf = rs.randn(m, n_out).astype(np.float32)
        return X, Yf, Yf
    if loss == "poisson":
        Yf = rs.poisson(1.5, size=(m, n_out)).astype(np.float32)
        return X, Yf, None
    if loss == "binary_cross_entropy":
        Yf = (rs.rand(m, n_out) > 0.5).astype(np.float32)
        y_idx = Yf[:, 0].astype(np.int32) if n_out == 1 else None
        return X, Yf, y_idx
    y_idx = rs.randint(0, n_out, size=m).astype(np.int32)
    return X, np.eye(n_out, dtype=np.float32)[y_idx], y_idx


LOSSES = [("mse", 2), ("binary_cross_entropy", 1), ("binary_cross_entropy", 3), ("cross_entropy", 3),
          ("poisson", 1), ("poisson", 3)]


@pytest.mark.parametrize("loss,n_out", LOSSES)
@pytest.mark.parametrize("act", sorted(ACTS))
def test_gradient_and_step_match_numpy(loss, n_out, act):
    X, Yf, y_idx = _problem(loss, n_out)
    lr = 0.3
    with mb.Network([4, 6, 5, n_out], hidden_activation=act, loss=loss, seed=3) as net:
        # give the biases non-zero values so that every term of the backward pass matters
        p = net.get_parameters()
        p += np.random.RandomState(1).randn(p.size).astype(np.float32) * 0.1
        net.set_parameters(p)
        cost_np, grad_np = numpy_cost_and_grad(net, X, Yf, [act, act])
        cost, grad = net.gradient(X, Yf)
        assert cost == pytest.approx(cost_np, rel=1e-5)
        scale = np.abs(grad_np).max()
        np.testing.assert_allclose(grad, grad_np, rtol=2e-4, atol=1e-6 * scale)
        if y_idx is not None:  # class indices give the same as one-hot / 0-1 float targets
            cost_i, grad_i = net.gradient(X, y_idx)
            assert cost_i == pytest.approx(cost, rel=1e-6)
            np.testing.assert_allclose(grad_i, grad, rtol=1e-5, atol=1e-7 * scale)
        # evaluate's cost is the same mean cost
        assert net.evaluate(X, Yf)[0] == pytest.approx(cost_np, rel=1e-5)
        # one step of batch gradient descent, rows in order
        p0 = net.get_parameters()
        h = net.train(X, Yf, epochs=1, batch_size=len(X), learning_rate=lr, shuffle=False)
        p1 = net.get_parameters()
        assert h.batch_costs.tolist() == pytest.approx([cost_np], rel=1e-5)
        np.testing.assert_allclose(p1, p0.astype(np.float64) - lr * grad_np, rtol=1e-5, atol=1e-6)
        expected = (p0 - np.float32(lr) * grad).astype(np.float32)
        np.testing.assert_array_max_ulp(p1, expected, maxulp=2)


def test_per_layer_activations():
    X, Yf, y_idx = _problem("cross_entropy", 3)
    with mb.Network([4, 6, 5, 3], activations=["tanh", "sigmoid"], loss="cross_entropy", seed=2) as net:
        assert [la.activation for la in net.layers] == [mb.Activation.TANH, mb.Activation.SIGMOID, mb.Activation.LINEAR]
        cost_np, grad_np = numpy_cost_and_grad(net, X, Yf, ["tanh", "sigmoid"])
        cost, grad = net.gradient(X, y_idx)
        assert cost == pytest.approx(cost_np, rel=1e-5)
        np.testing.assert_allclose(grad, grad_np, rtol=2e-4, atol=1e-6 * np.abs(grad_np).max())


def test_soft_targets_cross_entropy():
    rs = np.random.RandomState(4)
    X = rs.randn(10, 4).astype(np.float32)
    Y = rs.dirichlet(np.ones(3), size=10).astype(np.float32)
    with mb.Network([4, 3], loss="cross_entropy", seed=1) as net:
        cost_np, grad_np = numpy_cost_and_grad(net, X, Y, [])
        cost, grad = net.gradient(X, Y)
        assert cost == pytest.approx(cost_np, rel=1e-5)
        np.testing.assert_allclose(grad, grad_np, rtol=2e-4, atol=1e-6 * np.abs(grad_np).max())


@pytest.mark.parametrize("batch_size,drop_last", [(8, False), (8, True), (1, False), (50, False), (50, True)])
def test_an_epoch_is_gradient_steps_on_mini_batches(batch_size, drop_last):
    """Training == your own loop over mini_batches() with gradient() and the update."""
    X, y = mb.make_moons(50, 0.2, seed=2)
    lr, seed = 0.2, 8
    with mb.Network([2, 5, 1], loss="binary_cross_entropy", seed=4) as net, \
            mb.Network([2, 5, 1], loss="binary_cross_entropy", seed=4) as mine:
        h = net.train(X, y, epochs=2, batch_size=batch_size, learning_rate=lr, seed=seed,
                      drop_last=drop_last)
        costs = []
        for epoch in range(2):
            for Xb, yb in mb.mini_batches(X, y, batch_size, seed, epoch=epoch, drop_last=drop_last):
                c, g = mine.gradient(Xb, yb)
                costs.append(c)
                mine.set_parameters(mine.get_parameters() - np.float32(lr) * g)
        np.testing.assert_allclose(h.batch_costs, costs, rtol=1e-6)
        np.testing.assert_allclose(net.get_parameters(), mine.get_parameters(), rtol=1e-5, atol=1e-6)
        # epoch costs: size-weighted means of their batch costs
        sizes = [s.stop - s.start for s in mb.partition(50, batch_size, drop_last=drop_last)]
        per = len(sizes)
        for e in range(2):
            bc = h.batch_costs[e * per:(e + 1) * per]
            assert h.epoch_costs[e] == pytest.approx(np.average(bc, weights=sizes), rel=1e-12)
