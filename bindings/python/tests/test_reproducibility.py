"""Same seed, same results: the generator contract (pure Python re-implementation), and
bit-identical orders, data and trained weights through Python and through a C program
compiled against the same header and .so."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import minibatch_gd as mb
import reference_rng as ref
from conftest import run_c

SEEDS = [0, 1, 2, 42, 12345, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("stream", [0, 1, 7, 2**40, mb.STREAM_INIT])
def test_random_stream_follows_the_contract(seed, stream):
    got = mb.random_stream(seed, stream, 20)
    assert got.dtype == np.uint64
    assert [int(v) for v in got] == ref.random(seed, stream, 20)


def test_random_stream_prefix_and_c(c_reference):
    long = mb.random_stream(99, 3, 1000)
    assert np.array_equal(mb.random_stream(99, 3, 10), long[:10])
    out = run_c(c_reference, "random", 99, 3, 1000).split()
    assert [int(v) for v in out] == [int(v) for v in long]
    assert len(mb.random_stream(1, 1, 0)) == 0


@pytest.mark.parametrize("m", [1, 2, 3, 5, 10, 64, 100, 257, 1000])
@pytest.mark.parametrize("seed", [0, 1, 3, 2**33 + 5, 2**64 - 1])
@pytest.mark.parametrize("epoch", [0, 1, 9, 2**50])
def test_permutation_follows_the_contract(m, seed, epoch):
    got = mb.permutation(m, seed, epoch)
    assert got.dtype == np.int64
    assert got.tolist() == ref.permutation(m, seed, epoch)


def test_below_rejection_path_is_exercised():
    # For n close to 2**64 / 2 ... the rejection branch matters; for small n it is rare.
    # Check a large m where lo < t happens at least once for some draw: compare long
    # permutations (m = 5000, several seeds) against the contract.
    for seed in (5, 6):
        assert mb.permutation(5000, seed, 1).tolist() == ref.permutation(5000, seed, 1)


@pytest.mark.parametrize("m,seed,epoch", [(1, 0, 0), (7, 3, 2), (1000, 2**64 - 1, 5), (4096, 17, 0)])
def test_permutation_matches_c(c_reference, m, seed, epoch):
    out = run_c(c_reference, "perm", m, seed, epoch).split()
    assert mb.permutation(m, seed, epoch).tolist() == [int(v) for v in out]


@pytest.mark.parametrize(
    "sizes, hidden, loss, init",
    [
        ([5, 4, 3], "relu", "cross_entropy", "auto"),
        ([3, 3, 2, 1], "tanh", "binary_cross_entropy", "auto"),  # odd weight counts
        ([3, 5, 5, 2], "relu", "mse", "auto"),
        ([4, 3, 2], "sigmoid", "cross_entropy", "he"),
        ([4, 3, 2], "relu", "cross_entropy", "xavier"),
        ([7, 1], "relu", "mse", "auto"),
        ([6, 5, 4, 2], "selu", "cross_entropy", "auto"),
        ([6, 5, 4, 2], "selu", "cross_entropy", "lecun"),
        ([5, 4, 1], "relu", "mse", "lecun"),
    ],
)
def test_initial_weights_follow_the_contract(sizes, hidden, loss, init):
    # auto: He for layers feeding a ReLU, LeCun (1 / n_in) for those feeding a SELU (0.9.0),
    # Xavier for the others; normal draws from stream (seed, MB_STREAM_INIT) taken in
    # parameter order over all weights; biases 0.
    seed = 11
    with mb.Network(sizes, hidden_activation=hidden, loss=loss, init=init, seed=seed) as net:
        params = net.get_parameters().astype(np.float64)
        layers = net.layers
    n_w = sum(la.n_in * la.n_out for la in layers)
    z = ref.normals(seed, n_w)
    k = 0
    for i, la in enumerate(layers):
        hidden_layer = i < len(layers) - 1
        he = init == "he" or (init == "auto" and hidden_layer and hidden == "relu")
        lecun = init == "lecun" or (init == "auto" and hidden_layer and hidden == "selu")
        var = 2.0 / la.n_in if he else 1.0 / la.n_in if lecun else 2.0 / (la.n_in + la.n_out)
        std = np.sqrt(var)
        count = la.n_in * la.n_out
        w = np.array(z[k:k + count]) * std
        k += count
        got = params[la.weight_offset:la.weight_offset + count]
        np.testing.assert_allclose(got, w, rtol=2e-6, atol=1e-7, err_msg=f"layer {i}")
        assert np.all(params[la.bias_offset:la.bias_offset + la.n_out] == 0)


@pytest.mark.parametrize("seed", [0, 1, 123])
def test_make_moons_matches_c(c_reference, tmp_path, seed):
    out = tmp_path / "moons.bin"
    run_c(c_reference, "moons", 101, "0.25", seed, out)
    raw = out.read_bytes()
    xc = np.frombuffer(raw[: 101 * 2 * 4], dtype=np.float32).reshape(101, 2)
    yc = np.frombuffer(raw[101 * 2 * 4:], dtype=np.int32)
    x, y = mb.make_moons(101, 0.25, seed)
    assert x.tobytes() == xc.tobytes() and y.tobytes() == yc.tobytes()


# ---------------------------------------------------------------------------------------
# Training through C and through Python
# ---------------------------------------------------------------------------------------


def _c_train(c_reference, tmp_path, X, y, sizes, *, hidden="relu", loss="cross_entropy",
             init="auto", model_seed=0, calls=(3,), batch_size=-1, lr=0.05, seed=0,
             shuffle=True, drop_last=False):
    X = np.ascontiguousarray(X, dtype=np.float32)
    if y.dtype.kind in "iu":
        yt, ycols, ybytes = 1, 1, np.ascontiguousarray(y, dtype=np.int32).tobytes()
    else:
        y2 = np.ascontiguousarray(y, dtype=np.float32).reshape(len(X), -1)
        yt, ycols, ybytes = 0, y2.shape[1], y2.tobytes()
    lr_bits = struct.unpack("<I", struct.pack("<f", lr))[0]
    fields = [X.shape[0], X.shape[1], len(sizes), *sizes,
              int(mb.network.activation_from(hidden)), int(mb.network.loss_from(loss)),
              int(mb.network.init_from(init)), model_seed, len(calls), *calls,
              batch_size, lr_bits, seed, int(shuffle), int(drop_last), yt, ycols]
    job = tmp_path / "job.bin"
    job.write_bytes(struct.pack(f"<{len(fields)}q", *[f if f < 2**63 else f - 2**64 for f in fields])
                    + X.tobytes() + ybytes)
    res = tmp_path / "res.bin"
    run_c(c_reference, "train", job, res)
    raw = res.read_bytes()
    status, epochs_trained, n_params = struct.unpack_from("<3q", raw, 0)
    off = 24
    params = np.frombuffer(raw, dtype=np.float32, count=n_params, offset=off)
    off += 4 * n_params
    (nb,) = struct.unpack_from("<q", raw, off)
    off += 8
    bc = np.frombuffer(raw, dtype=np.float64, count=nb, offset=off)
    off += 8 * nb
    (ne,) = struct.unpack_from("<q", raw, off)
    off += 8
    ec = np.frombuffer(raw, dtype=np.float64, count=ne, offset=off)
    return status, epochs_trained, params, bc, ec


def _py_train(X, y, sizes, *, hidden="relu", loss="cross_entropy", init="auto", model_seed=0,
              calls=(3,), batch_size=-1, lr=0.05, seed=0, shuffle=True, drop_last=False):
    with mb.Network(sizes, hidden_activation=hidden, loss=loss, init=init, seed=model_seed) as net:
        h = mb.History()
        for epochs in calls:
            net.train(X, y, epochs=epochs, batch_size="auto" if batch_size == -1 else batch_size,
                      learning_rate=lr, seed=seed, shuffle=shuffle, drop_last=drop_last, history=h)
        return net.epochs_trained, net.get_parameters(), h.batch_costs, h.epoch_costs


CASES = {
    "softmax-class-index": dict(sizes=[2, 8, 3], loss="cross_entropy", batch_size=16, calls=(2, 3)),
    "softmax-auto-batch": dict(sizes=[2, 6, 3], loss="cross_entropy", batch_size=-1, calls=(4,)),
    "logistic-drop-last": dict(sizes=[2, 5, 1], loss="binary_cross_entropy", hidden="tanh",
                               batch_size=7, drop_last=True, calls=(3,)),
    "mse-no-shuffle": dict(sizes=[2, 4, 4, 2], loss="mse", hidden="sigmoid", batch_size=10,
                           shuffle=False, calls=(2,)),
    "linear-regression-xavier": dict(sizes=[2, 1], loss="mse", init="xavier", batch_size=1, calls=(1,)),
    "big-seeds": dict(sizes=[2, 3, 3], loss="cross_entropy", model_seed=2**64 - 1, seed=2**63 + 3,
                      batch_size=32, calls=(2,)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_is_bit_identical_to_c(c_reference, tmp_path, case):
    kw = dict(CASES[case])
    X, labels = mb.make_moons(90, 0.2, seed=3)
    sizes = kw["sizes"]
    if kw["loss"] == "mse":
        rng = np.random.RandomState(0)
        y = (X @ rng.randn(2, sizes[-1])).astype(np.float32)
    elif sizes[-1] == 3:
        y = (labels + (X[:, 0] > 1.5)).astype(np.int32)
    else:
        y = labels
    kw.setdefault("model_seed", 7)
    kw.setdefault("seed", 5)
    status, ep_c, p_c, bc_c, ec_c = _c_train(c_reference, tmp_path, X, y, **kw)
    assert status == 0
    ep_p, p_p, bc_p, ec_p = _py_train(X, y, **kw)
    assert ep_c == ep_p == sum(kw["calls"])
    assert p_c.tobytes() == p_p.tobytes()
    assert bc_c.tobytes() == bc_p.tobytes()
    assert ec_c.tobytes() == ec_p.tobytes()


def test_estimator_is_bit_identical_to_c(c_reference, tmp_path):
    X, y = mb.make_moons(120, 0.2, seed=9)
    # Plain gradient descent with the C API's initialisation, no penalty and no stopping:
    # what the C program below runs.
    plain = dict(solver="sgd", momentum=0.0, alpha=0.0, init="auto", n_iter_no_change=10**6)
    clf = mb.MLPClassifier((8, 4), activation="tanh", learning_rate_init=0.05, batch_size=16,
                           max_iter=4, random_state=31, **plain).fit(X, y)
    status, ep, p_c, bc, ec = _c_train(c_reference, tmp_path, X, y, sizes=[2, 8, 4, 1],
                                       hidden="tanh", loss="binary_cross_entropy",
                                       model_seed=31, seed=31, calls=(4,), batch_size=16, lr=0.05)
    assert status == 0 and ep == clf.n_iter_ == 4
    assert clf.network_.get_parameters().tobytes() == p_c.tobytes()
    assert np.array_equal(clf.batch_costs_, bc) and np.array_equal(clf.epoch_costs_, ec)
    # partial_fit, one epoch per call, continues the same stream: identical again
    pf = mb.MLPClassifier((8, 4), activation="tanh", learning_rate_init=0.05, batch_size=16,
                          random_state=31, **plain)
    for _ in range(4):
        pf.partial_fit(X, y, classes=[0, 1])
    assert pf.network_.get_parameters().tobytes() == p_c.tobytes()
    assert np.array_equal(pf.batch_costs_, bc)


def test_two_calls_equal_one_call():
    X, y = mb.make_moons(200, 0.2, seed=1)
    a = _py_train(X, y, [2, 6, 2], calls=(5, 5), batch_size=32, model_seed=2, seed=3)
    b = _py_train(X, y, [2, 6, 2], calls=(10,), batch_size=32, model_seed=2, seed=3)
    assert a[0] == b[0] == 10
    assert a[1].tobytes() == b[1].tobytes()
    assert np.array_equal(a[2], b[2]) and np.array_equal(a[3], b[3])


def test_different_seeds_give_different_weights():
    X, y = mb.make_moons(200, 0.2, seed=1)
    a = _py_train(X, y, [2, 6, 2], calls=(2,), batch_size=32, model_seed=2, seed=3)
    b = _py_train(X, y, [2, 6, 2], calls=(2,), batch_size=32, model_seed=2, seed=4)
    c = _py_train(X, y, [2, 6, 2], calls=(2,), batch_size=32, model_seed=1, seed=3)
    assert a[1].tobytes() != b[1].tobytes() and a[1].tobytes() != c[1].tobytes()
