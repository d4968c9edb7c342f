"""The hidden activations against PyTorch's (torch.nn.functional in float64), where PyTorch
is installed: predictions and the whole gradient of a network with the same weights, for
every activation, leaky ReLU, ELU, SELU, GELU and SiLU (0.5.0) included; and the names every binding
takes. Tolerances: the library computes in float32 (predictions rtol 1e-5, gradients rtol
2e-4 plus 1e-6 x the largest entry, as test_numpy_step.py)."""

from __future__ import annotations

import numpy as np
import pytest

import minibatch_gd as mb

torch = pytest.importorskip("torch", reason="PyTorch is not installed: its activations are not compared")
F = torch.nn.functional

TORCH = {
    "linear": lambda z: z,
    "relu": F.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leaky_relu": F.leaky_relu,  # negative_slope=0.01
    "elu": F.elu,  # alpha=1
    "selu": F.selu,
    "gelu": F.gelu,  # approximate='none': erf
    "silu": F.silu,
}


@pytest.mark.parametrize("act", sorted(TORCH))
def test_predictions_and_gradient_match_pytorch(act):
    rs = np.random.RandomState(5)
    X = rs.randn(17, 5).astype(np.float32)
    y = rs.randint(0, 3, 17)
    net = mb.Network([5, 8, 6, 3], hidden_activation=act, loss="cross_entropy", seed=2)
    p = net.get_parameters()
    p += rs.randn(p.size).astype(np.float32) * 0.3  # biases away from 0, weights varied
    net.set_parameters(p)
    layers = net.layers
    params = torch.tensor(p.astype(np.float64), requires_grad=True)
    a = torch.tensor(X.astype(np.float64))
    for i, la in enumerate(layers):
        W = params[la.weight_offset:la.weight_offset + la.n_out * la.n_in].reshape(la.n_out, la.n_in)
        b = params[la.bias_offset:la.bias_offset + la.n_out]
        a = a @ W.T + b
        if i < len(layers) - 1:
            a = TORCH[act](a)
    cost = F.cross_entropy(a, torch.tensor(y))
    cost.backward()
    np.testing.assert_allclose(net.predict(X), torch.softmax(a, 1).detach().numpy(), rtol=1e-5, atol=1e-7)
    got_cost, grad = net.gradient(X, y)
    assert got_cost == pytest.approx(cost.item(), rel=1e-5)
    want = params.grad.numpy()
    np.testing.assert_allclose(grad, want, rtol=2e-4, atol=1e-6 * np.abs(want).max())


def test_names():
    for name, value in [("leaky_relu", mb.Activation.LEAKY_RELU), ("elu", mb.Activation.ELU),
                        ("selu", mb.Activation.SELU), ("gelu", mb.Activation.GELU), ("silu", mb.Activation.SILU),
                        ("swish", mb.Activation.SILU)]:
        net = mb.Network([3, 4, 2], hidden_activation=name)
        assert net.layers[0].activation == value
        clf = mb.MLPClassifier((4,), activation=name, max_iter=2).fit(np.eye(3, dtype=np.float32), [0, 1, 0])
        assert clf.network_.layers[0].activation == value
    with pytest.raises(ValueError, match="unknown activation 'mish'"):
        mb.Network([3, 4, 2], hidden_activation="mish")


@pytest.mark.parametrize("act", ["gelu", "silu"])
def test_training_with_the_activations_that_keep_z_matches_pytorch(act):
    """GELU and SiLU take their derivative from z, which training keeps: two epochs of
    mini-batches (plain SGD; batches of 240 rows, two shards on two threads) against
    PyTorch's on the same batches."""
    rs = np.random.RandomState(2)
    X = rs.randn(480, 6).astype(np.float32)
    y = rs.randint(0, 3, 480)
    net = mb.Network([6, 16, 8, 3], hidden_activation=act, loss="cross_entropy", seed=4)
    layers = net.layers
    p0 = net.get_parameters().astype(np.float64)
    params = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.SGD([params], lr=0.1)
    Xt, yt = torch.tensor(X.astype(np.float64)), torch.tensor(y)
    for epoch in range(2):
        order = mb.permutation(480, 7, epoch)
        for start in range(0, 480, 240):
            rows = torch.tensor(order[start:start + 240])
            a = Xt[rows]
            for i, la in enumerate(layers):
                W = params[la.weight_offset:la.weight_offset + la.n_out * la.n_in].reshape(la.n_out, la.n_in)
                a = a @ W.T + params[la.bias_offset:la.bias_offset + la.n_out]
                if i < len(layers) - 1:
                    a = TORCH[act](a)
            opt.zero_grad()
            F.cross_entropy(a, yt[rows]).backward()
            opt.step()
    net.train(X, y, epochs=2, batch_size=240, learning_rate=0.1, seed=7, threads=2)
    np.testing.assert_allclose(net.get_parameters(), params.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_mixed_activations_keep_z_where_needed():
    """z kept for the GELU and SiLU layers between a ReLU and a tanh one: the whole gradient
    against PyTorch's, and the working memory counts the kept z (a GELU model's exceeds a
    ReLU model's by one float per GELU/SiLU unit and row)."""
    acts = ["gelu", "relu", "silu", "tanh"]
    rs = np.random.RandomState(6)
    X = rs.randn(23, 5).astype(np.float32)
    y = rs.randint(0, 3, 23)
    net = mb.Network([5, 7, 9, 4, 6, 3], activations=acts, loss="cross_entropy", seed=1)
    p = net.get_parameters()
    params = torch.tensor(p.astype(np.float64), requires_grad=True)
    a = torch.tensor(X.astype(np.float64))
    for i, la in enumerate(net.layers):
        W = params[la.weight_offset:la.weight_offset + la.n_out * la.n_in].reshape(la.n_out, la.n_in)
        a = a @ W.T + params[la.bias_offset:la.bias_offset + la.n_out]
        if i < len(acts):
            a = TORCH[acts[i]](a)
    F.cross_entropy(a, torch.tensor(y)).backward()
    _, grad = net.gradient(X, y)
    want = params.grad.numpy()
    np.testing.assert_allclose(grad, want, rtol=2e-4, atol=1e-6 * np.abs(want).max())
    relu = mb.Network([5, 7, 9, 4, 6, 3], hidden_activation="relu", loss="cross_entropy")
    assert net.working_memory(64) - relu.working_memory(64) == 4 * 64 * (7 + 4)
