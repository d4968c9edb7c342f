"""Library behaviour against the header's promises (through ctypes directly where the
binding would otherwise catch the problem first)."""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np
import pytest

import minibatch_gd as mb
from minibatch_gd import _lib

F32P = ctypes.POINTER(ctypes.c_float)


def _c_train(net, X, y, y_type, **opts):
    o = _lib.mb_train_options()
    _lib.lib().mb_train_options_init(ctypes.byref(o))
    for k, v in opts.items():
        setattr(o, k, v)
    st = _lib.lib().mb_train(net._h(), X.ctypes.data_as(F32P), y.ctypes.data, y_type,
                             X.shape[0], X.shape[1], ctypes.byref(o), None)
    return st, _lib.last_error()


@pytest.mark.parametrize(
    "opts",
    [dict(epochs=0), dict(learning_rate=0.0), dict(learning_rate=-1.0), dict(learning_rate=float("nan")),
     dict(learning_rate=float("inf")), dict(batch_size=0), dict(batch_size=-2), dict(batch_size=5),
     dict(last_batch=9)],
)
def test_train_rejects_bad_options_and_changes_nothing(opts):
    X = np.ones((4, 2), np.float32)
    y = np.array([0, 1, 0, 1], np.int32)
    with mb.Network([2, 2]) as net:
        before = net.get_parameters()
        st, msg = _c_train(net, X, y, 1, **opts)
        assert st == _lib.Status.ERR_INVALID_ARGUMENT and msg
        assert net.epochs_trained == 0 and np.array_equal(net.get_parameters(), before)


def test_train_options_null_means_defaults():
    X = np.ones((4, 2), np.float32)
    y = np.array([0, 1, 0, 1], np.int32)
    with mb.Network([2, 2]) as net:
        st = _lib.lib().mb_train(net._h(), X.ctypes.data_as(F32P), y.ctypes.data, 1, 4, 2, None, None)
        assert st == 0 and net.epochs_trained == 10  # default epochs


def test_target_kinds_checked_by_the_library():
    L = _lib.lib()
    X = np.ones((3, 2), np.float32)
    yi = np.array([0, 1, 0], np.int32)
    cost = ctypes.c_double()
    with mb.Network([2, 3], loss="binary_cross_entropy") as bce3, mb.Network([2, 1], loss="mse") as mse:
        for net in (bce3, mse):  # class indices: CE, or BCE with one output only
            st = L.mb_evaluate(net._h(), X.ctypes.data_as(F32P), yi.ctypes.data, 1, 3, 2, ctypes.byref(cost), None)
            assert st == _lib.Status.ERR_INVALID_ARGUMENT
    with mb.Network([2, 1], loss="binary_cross_entropy") as bce:
        for bad in (2.0, -0.5):
            with pytest.raises(mb.InvalidArgumentError, match=r"\[0, 1\]"):
                bce.evaluate(X, np.array([[bad], [0], [1]], np.float32))
    with mb.Network([2, 2]) as ce:
        with pytest.raises(mb.InvalidArgumentError):
            ce.evaluate(X, np.array([[0.5, 0.2]] * 3, np.float32))  # rows must sum to 1
        with pytest.raises(mb.InvalidArgumentError):
            ce.evaluate(X, np.array([[1.5, -0.5]] * 3, np.float32))  # non-negative
        bad = np.array([0, 2, 1], np.int32)  # index out of [0, n_outputs): C must refuse
        st = L.mb_evaluate(ce._h(), X.ctypes.data_as(F32P), bad.ctypes.data, 1, 3, 2, ctypes.byref(cost), None)
        assert st == _lib.Status.ERR_INVALID_ARGUMENT
        bad = np.array([0, -1, 1], np.int32)
        st = L.mb_evaluate(ce._h(), X.ctypes.data_as(F32P), bad.ctypes.data, 1, 3, 2, ctypes.byref(cost), None)
        assert st == _lib.Status.ERR_INVALID_ARGUMENT


def test_buffer_sizes_checked():
    L = _lib.lib()
    with mb.Network([2, 2]) as net, mb.History() as h:
        net.train(np.ones((4, 2), np.float32), np.array([0, 1, 0, 1]), epochs=2, batch_size=2, history=h)
        n = ctypes.c_int64(-1)
        assert L.mb_history_batch_costs(h._h(), None, 0, ctypes.byref(n)) == 0 and n.value == 4
        assert L.mb_history_batch_costs(h._h(), (ctypes.c_double * 2)(), 2, ctypes.byref(n)) == 1
        assert L.mb_history_batch_costs(h._h(), None, 5, ctypes.byref(n)) == 1
        assert L.mb_model_get_parameters(net._h(), (ctypes.c_float * 100)(), 5) == 1
        assert L.mb_model_set_parameters(net._h(), (ctypes.c_float * 100)(), 7) == 1
        assert L.mb_model_layer(net._h(), 1, ctypes.byref(_lib.mb_layer_info())) == 1
        assert L.mb_model_layer(net._h(), -1, ctypes.byref(_lib.mb_layer_info())) == 1
        g = (ctypes.c_float * 6)()
        x = np.ones((4, 2), np.float32)
        y = np.array([0, 1, 0, 1], np.int32)
        assert L.mb_gradient(net._h(), x.ctypes.data_as(F32P), y.ctypes.data, 1, 4, 2, None, g, 5) == 1


def test_last_error_is_per_thread():
    L = _lib.lib()
    L.mb_random(0, 0, None, 1)
    main_msg = _lib.last_error()
    seen = {}

    def other():
        seen["fresh"] = _lib.last_error()
        L.mb_permutation(0, 0, 0, None)
        seen["after"] = _lib.last_error()

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen["fresh"] == ""  # "" if none on this thread
    assert seen["after"] and seen["after"] != main_msg
    assert _lib.last_error() == main_msg


def test_load_failure_sets_model_null(tmp_path):
    h = ctypes.c_void_p(1234)
    st = _lib.lib().mb_model_load(os.fsencode(str(tmp_path / "none")), ctypes.byref(h))
    assert st == _lib.Status.ERR_IO and h.value is None


def test_save_leaves_no_temporary_files(tmp_path):
    with mb.Network([3, 4, 2]) as net:
        for _ in range(3):
            net.save(tmp_path / "model.mbm")
    assert [p.name for p in tmp_path.iterdir()] == ["model.mbm"]


def test_file_format_fields(tmp_path):
    import struct
    import zlib

    X, y = mb.make_moons(40, 0.1, seed=0)
    with mb.Network([2, 5, 3, 1], activations=["tanh", "relu"], loss="binary_cross_entropy") as net:
        history = net.train(X, y, epochs=3, batch_size=10, optimizer="adam")
        path = tmp_path / "m.mbm"
        net.save(path)
        params = net.get_parameters()
        net.reset_training_state()
        net.save(tmp_path / "v1.mbm")
    raw = path.read_bytes()
    assert raw[:8] == b"MBMODEL\0"
    version, loss, epochs, n_layers = struct.unpack_from("<IIQQ", raw, 8)
    # With training state the file is version 2; without, version 1 (the same up to the
    # parameters, with no sections).
    assert (version, loss, epochs, n_layers) == (2, 1, 3, 4)
    v1 = (tmp_path / "v1.mbm").read_bytes()
    assert struct.unpack_from("<I", v1, 8)[0] == 1
    off = 8 + 24
    assert struct.unpack_from("<4Q", raw, off) == (2, 5, 3, 1)
    off += 32
    assert struct.unpack_from("<2I", raw, off) == (2, 1)  # tanh, relu
    off += 8
    (n_params,) = struct.unpack_from("<Q", raw, off)
    off += 8
    assert n_params == params.size
    assert np.array_equal(np.frombuffer(raw, np.float32, n_params, off), params)
    off += 4 * n_params
    assert len(v1) == off + 4 and v1[:8] == raw[:8] and v1[12:off] == raw[12:off]
    assert struct.unpack_from("<I", v1, off)[0] == zlib.crc32(v1[:off])
    # The sections: a 4-byte tag, a u64 length, the body.
    sections = {}
    while off < len(raw) - 4:
        tag, length = raw[off:off + 4].decode(), struct.unpack_from("<Q", raw, off + 4)[0]
        sections[tag] = raw[off + 12: off + 12 + length]
        off += 12 + length
    assert len(raw) == off + 4
    assert struct.unpack_from("<I", raw, off)[0] == zlib.crc32(raw[:off])
    assert sorted(sections) == ["OPTM", "SCHD", "STOP"]
    kind, step, slots = struct.unpack_from("<IQI", sections["OPTM"])
    assert (kind, step, slots) == (3, 3 * 4, 2)  # Adam, 4 batches of 10 a epoch, m and v
    assert len(sections["OPTM"]) == 16 + 2 * 4 * n_params
    v = np.frombuffer(sections["OPTM"], np.float32, n_params, 16 + 4 * n_params)
    assert (v >= 0).all() and (v > 0).any()
    seen, has_rate = struct.unpack_from("<QI", sections["SCHD"])
    assert (seen, has_rate) == (3 * 40, 0)
    best, bad, best_epoch, has_best = struct.unpack_from("<dQQI", sections["STOP"])
    assert best == history.epoch_costs.min() and has_best == 0
    # The rule's kind is checked against its slots: Adamax (6, 0.6.0), NAdam (9, 0.7.0),
    # RAdam (10) and Adadelta (14, 0.11.0) keep two, as Adam; Adagrad (5) keeps one, AdamW
    # with AMSGrad (8) and RMSprop centred with momentum (13) three; 15 is no rule. The file is rewritten with
    # its CRC, so that only the kind differs.
    start = raw.index(b"OPTM") + 12

    def with_kind(kind):
        body = raw[:start] + struct.pack("<I", kind) + raw[start + 4:-4]
        return body + struct.pack("<I", zlib.crc32(body))

    for kind, name in ((6, "adamax"), (9, "nadam"), (10, "radam")):
        (tmp_path / f"{name}.mbm").write_bytes(with_kind(kind))
        with mb.Network.load(tmp_path / f"{name}.mbm") as net, mb.Network.load(tmp_path / "v1.mbm") as fresh:
            assert np.array_equal(net.get_parameters(), params) and np.array_equal(fresh.get_parameters(), params)
            # The rule trains on from the file's state (Adam's moments read as its own, step
            # 12): not what a fresh one does from the same weights
            net.train(X, y, epochs=1, batch_size=10, optimizer=name)
            fresh.train(X, y, epochs=1, batch_size=10, optimizer=name)
            assert np.max(np.abs(net.get_parameters() - fresh.get_parameters())) > 1e-4, name
    # Adadelta's kind loads Adam's m as its squared gradients' average (slot 0), negative in
    # places: the root of a negative is NaN, and training says so and keeps the weights.
    (tmp_path / "adadelta.mbm").write_bytes(with_kind(14))
    with mb.Network.load(tmp_path / "adadelta.mbm") as net:
        with pytest.raises(mb.DivergenceError, match="non-finite weights"):
            net.train(X, y, epochs=1, batch_size=10, optimizer="adadelta")
        assert np.array_equal(net.get_parameters(), params)
    for kind, message in ((5, "bad update rule state"), (8, "bad update rule state"), (13, "bad update rule state"),
                          (15, "unknown update rule")):
        (tmp_path / "bad.mbm").write_bytes(with_kind(kind))
        with pytest.raises(mb.FormatError, match=message):
            mb.Network.load(tmp_path / "bad.mbm")


def test_working_memory_formula():
    # batch (b * (n_in + n_out)) + activations of every layer (r per unit of layers 1..)
    # + two gradient buffers of the widest layer (r per unit) + 3 n_parameters (gradient,
    # updated parameters and the parameters at the start of the call), in floats, where r = min(b, 256) are the rows forward and backward take at a time
    with mb.Network([10, 32, 16, 3]) as net:
        sizes = [10, 32, 16, 3]
        for b in (1, 7, 64, 256, 257, 512, 4096):
            r = min(b, 256)
            expected = 4 * (b * (10 + 3) + r * sum(sizes[1:]) + 2 * r * max(sizes) + 3 * net.n_parameters)
            assert net.working_memory(b) == expected
    # from 2^18 first-layer weights the update may be fused, which needs every row's dz
    with mb.Network([512, 512, 2]) as net:
        b = 1024
        assert net.working_memory(b) == 4 * (b * 514 + b * 514 + 2 * b * 512 + 3 * net.n_parameters)


def test_moons_contract():
    X, y = mb.make_moons(1000, 0.0, seed=0)
    assert np.array_equal(y, np.arange(1000) % 2)  # alternate 0, 1, 0, ...
    X2, _ = mb.make_moons(1000, 0.0, seed=99)
    assert np.array_equal(X, X2)  # noise 0: the seed does not matter
    Xn, _ = mb.make_moons(1000, 0.3, seed=5)
    d = (Xn - X).astype(np.float64)
    assert abs(d.std() - 0.3) < 0.03 and abs(d.mean()) < 0.03  # Gaussian noise, std = noise
    _, y5 = mb.make_moons(5, 0.1, seed=0)
    assert y5.tolist() == [0, 1, 0, 1, 0]


def test_epoch_cost_is_size_weighted_mean_of_batch_costs():
    X, y = mb.make_moons(70, 0.2, seed=0)
    with mb.Network([2, 3, 2]) as net:
        h = net.train(X, y, epochs=3, batch_size=30)
        sizes = [30, 30, 10]
        bc = h.batch_costs.reshape(3, 3)
        for e in range(3):
            assert h.epoch_costs[e] == pytest.approx(np.average(bc[e], weights=sizes), rel=1e-12)


def test_accuracy_definitions():
    rs = np.random.RandomState(0)
    X = rs.randn(50, 3).astype(np.float32)
    with mb.Network([3, 4], loss="binary_cross_entropy", seed=2) as net:
        Y = (rs.rand(50, 4) > 0.5).astype(np.float32)
        _, acc = net.evaluate(X, Y)
        assert acc == pytest.approx(np.mean((net.predict(X) >= 0.5) == (Y >= 0.5)))
    with mb.Network([3, 4], loss="cross_entropy", seed=2) as net:
        y = rs.randint(0, 4, 50)
        _, acc = net.evaluate(X, y)
        assert acc == pytest.approx(np.mean(net.predict(X).argmax(axis=1) == y))


def test_options_init_null_does_nothing():
    L = _lib.lib()
    L.mb_model_options_init(None)
    L.mb_train_options_init(None)
    L.mb_dataset_options_init(None)
    o = _lib.mb_dataset_options()
    L.mb_dataset_options_init(ctypes.byref(o))
    assert (o.shuffle, o.block_bytes, o.memory_budget, o.page_cache) == (0, 1 << 20, 0, 0)
    for free in (L.mb_model_free, L.mb_history_free, L.mb_dataset_free):
        free(None)  # *_free(NULL) does nothing


def test_divergence_history_and_epoch_count():
    # several batches per epoch: the unfinished epoch is not counted, the history holds the
    # finite batch costs before the failure and no epoch cost for the unfinished epoch
    rs = np.random.RandomState(0)
    X = (rs.rand(40, 2) * 100).astype(np.float32)
    y = (rs.randn(40) * 100).astype(np.float32)
    with mb.Network([2, 1], loss="mse", seed=0) as net, mb.History() as h:
        with pytest.raises(mb.DivergenceError):
            net.train(X, y, epochs=100, batch_size=7, learning_rate=0.05, history=h)
        done = net.epochs_trained
        assert len(h.epoch_costs) == done
        n_batches = len(h.batch_costs)
        assert done * 6 <= n_batches < (done + 1) * 6
        assert np.isfinite(h.batch_costs).all() and np.isfinite(net.get_parameters()).all()


def test_moons_geometry_and_noise_follow_the_header():
    import reference_rng as ref

    for m in (10, 11, 400):
        X0, y = mb.make_moons(m, 0.0, seed=0)
        n0, n1 = (m + 1) // 2, m // 2
        t0 = np.linspace(0, np.pi, n0)
        t1 = np.linspace(0, np.pi, n1)
        np.testing.assert_allclose(X0[0::2], np.c_[np.cos(t0), np.sin(t0)], atol=1e-6)
        np.testing.assert_allclose(X0[1::2], np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)], atol=1e-6)
        noise, seed = 0.25, 9
        Xn, _ = mb.make_moons(m, noise, seed=seed)
        N = np.array(ref.normals(seed, 2 * m)).reshape(m, 2)
        np.testing.assert_allclose(Xn, X0 + np.float32(noise) * N, atol=1e-6)


@pytest.mark.parametrize("acts", [["relu", "tanh"], ["tanh", "relu"], ["sigmoid", "linear"], ["leaky_relu", "selu"],
                                  ["elu", "leaky_relu"]])
def test_auto_init_per_layer_activation(acts):
    import reference_rng as ref

    seed = 4
    with mb.Network([3, 5, 4, 2], activations=acts, loss="cross_entropy", seed=seed) as net:
        params = net.get_parameters().astype(np.float64)
        layers = net.layers
    z = ref.normals(seed, sum(la.n_in * la.n_out for la in layers))
    k = 0
    for i, la in enumerate(layers):
        he = i < len(acts) and acts[i] in ("relu", "leaky_relu")  # He for ReLU and leaky ReLU hidden layers
        lecun = i < len(acts) and acts[i] == "selu"  # LeCun for SELU ones (0.9.0)
        std = np.sqrt(2.0 / la.n_in if he else 1.0 / la.n_in if lecun else 2.0 / (la.n_in + la.n_out))
        count = la.n_in * la.n_out
        np.testing.assert_allclose(params[la.weight_offset:la.weight_offset + count],
                                   np.array(z[k:k + count]) * std, rtol=2e-6, atol=1e-7)
        k += count
