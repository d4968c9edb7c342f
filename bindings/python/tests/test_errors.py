"""Errors: every non-OK status is an exception carrying mb_last_error(); bad input of every
kind raises (never crashes); callbacks, Ctrl-C, cancellation and divergence stop cleanly."""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import minibatch_gd as mb
from minibatch_gd import _lib, errors

from conftest import PKG_ROOT


def test_exception_hierarchy():
    assert issubclass(mb.InvalidArgumentError, ValueError)
    assert issubclass(mb.MinibatchIOError, OSError)
    assert issubclass(mb.OutOfMemoryError, MemoryError)
    assert issubclass(mb.InternalError, RuntimeError)
    for cls in (mb.InvalidArgumentError, mb.OutOfMemoryError, mb.MinibatchIOError, mb.FormatError,
                mb.DivergenceError, mb.CancelledError, mb.InternalError):
        assert issubclass(cls, mb.MinibatchError)
    assert not issubclass(mb.FormatError, OSError)
    for status in range(1, 8):
        e = errors.error_for(status, "mb_x")
        assert e.status == status and e.status_name == _lib.status_name(status)
        assert isinstance(e, errors._BY_STATUS[status])
    assert isinstance(errors.error_for(42, "mb_x"), mb.InternalError)


def test_status_message_comes_from_mb_last_error():
    with pytest.raises(mb.InvalidArgumentError) as ei:
        errors.check_status(_lib.lib().mb_permutation(-3, 0, 0, None), "mb_permutation")
    assert str(ei.value) == _lib.last_error() != ""
    assert ei.value.function == "mb_permutation"
    assert ei.value.status_name == "MB_ERR_INVALID_ARGUMENT"


# ---------------------------------------------------------------------------------------
# The C library's own argument checks (called directly: the binding would catch these first)
# ---------------------------------------------------------------------------------------


def _i64(n):
    return (ctypes.c_int64 * max(n, 1))()


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.mb_permutation(0, 0, 0, _i64(1)),
        lambda L: L.mb_permutation(-1, 0, 0, _i64(1)),
        lambda L: L.mb_permutation(3, 0, 0, None),
        lambda L: L.mb_random(0, 0, None, 3),
        lambda L: L.mb_random(0, 0, (ctypes.c_uint64 * 1)(), -1),
        lambda L: L.mb_partition(10, 0, 0, None, None, 0, _i64(1)),
        lambda L: L.mb_partition(10, 11, 0, None, None, 0, _i64(1)),
        lambda L: L.mb_partition(10, 3, 0, _i64(2), _i64(2), 2, _i64(1)),  # capacity < 4
        lambda L: L.mb_partition(10, 3, 7, None, None, 0, _i64(1)),  # unknown enum
        lambda L: L.mb_partition(10, 3, 0, _i64(4), None, 4, _i64(1)),  # one of two NULL
        lambda L: L.mb_shuffle(ctypes.c_void_p(1), 0, None, 0, 3, 0, 0),  # row bytes 0
        lambda L: L.mb_shuffle(None, 4, None, 0, 3, 0, 0),
        lambda L: L.mb_shuffle((ctypes.c_float * 3)(), 4, None, 4, 3, 0, 0),  # y NULL, bytes 4
        lambda L: L.mb_shuffle_into((ctypes.c_float * 3)(), 4, (ctypes.c_float * 3)(), 4, 3, 0, 0,
                                    (ctypes.c_float * 3)(), None),  # y_out NULL with y
        lambda L: L.mb_make_moons(1, 0.1, 0, (ctypes.c_float * 2)(), (ctypes.c_int32 * 1)()),
        lambda L: L.mb_make_moons(4, -0.1, 0, (ctypes.c_float * 8)(), (ctypes.c_int32 * 4)()),
        lambda L: L.mb_make_moons(4, float("nan"), 0, (ctypes.c_float * 8)(), (ctypes.c_int32 * 4)()),
        lambda L: L.mb_model_create((ctypes.c_int64 * 1)(3), 1, None, ctypes.byref(ctypes.c_void_p())),
        lambda L: L.mb_model_create((ctypes.c_int64 * 2)(3, 0), 2, None, ctypes.byref(ctypes.c_void_p())),
        lambda L: L.mb_model_create((ctypes.c_int64 * 2)(3, 2**31), 2, None, ctypes.byref(ctypes.c_void_p())),
        lambda L: L.mb_model_create((ctypes.c_int64 * 2)(3, 1), 2, None, ctypes.byref(ctypes.c_void_p())),  # CE, 1 output
        lambda L: L.mb_model_create((ctypes.c_int64 * 2)(3, 2), 2, None, None),
        lambda L: L.mb_model_get_info(None, ctypes.byref(_lib.mb_model_info())),
        lambda L: L.mb_history_create(None),
        lambda L: L.mb_history_clear(None),
        lambda L: L.mb_model_load(None, ctypes.byref(ctypes.c_void_p())),
    ],
)
def test_library_rejects_invalid_arguments(call):
    status = call(_lib.lib())
    assert status == _lib.Status.ERR_INVALID_ARGUMENT, (status, _lib.last_error())
    assert _lib.last_error()


def test_model_create_failure_sets_model_null():
    h = ctypes.c_void_p(12345)
    st = _lib.lib().mb_model_create((ctypes.c_int64 * 2)(3, 0), 2, None, ctypes.byref(h))
    assert st == 1 and h.value is None


def test_model_options_unknown_enums_rejected():
    L = _lib.lib()
    for field, value in (("hidden_activation", 9), ("loss", 4), ("init", 7)):
        o = _lib.mb_model_options()
        L.mb_model_options_init(ctypes.byref(o))
        setattr(o, field, value)
        h = ctypes.c_void_p()
        st = L.mb_model_create((ctypes.c_int64 * 3)(2, 3, 2), 3, ctypes.byref(o), ctypes.byref(h))
        assert st == 1 and h.value is None, field


def test_defaults_match_header():
    L = _lib.lib()
    o = _lib.mb_model_options()
    L.mb_model_options_init(ctypes.byref(o))
    assert (o.hidden_activation, o.loss, o.init, o.seed) == (1, 2, 0, 0)
    assert not o.activations
    t = _lib.mb_train_options()
    L.mb_train_options_init(ctypes.byref(t))
    assert t.epochs == 10 and t.batch_size == -1 and t.seed == 0 and t.shuffle != 0
    assert t.learning_rate == pytest.approx(0.01) and t.last_batch == 0 and t.memory_budget == 0
    assert not t.progress and not t.user_data and t.threads == 0


# ---------------------------------------------------------------------------------------
# Bad input through the binding: checked in Python before C, or reported by C
# ---------------------------------------------------------------------------------------


@pytest.fixture
def net():
    with mb.Network([3, 4, 2], seed=0) as n:
        yield n


X3 = np.ones((5, 3), dtype=np.float32)
Y3 = np.array([0, 1, 0, 1, 1])


@pytest.mark.parametrize(
    "X, exc",
    [
        (np.ones(3), ValueError),  # 1-D
        (np.ones((2, 3, 1)), ValueError),  # 3-D
        (np.ones((5, 4)), ValueError),  # wrong n_features
        (np.ones((0, 3)), ValueError),  # no rows
        (np.ones((5, 3)) * 1j, ValueError),  # complex
        (np.array([["a", "b", "c"]]), TypeError),  # strings
        (np.array([[{}, 1, 2]], dtype=object), TypeError),
        (np.full((5, 3), np.nan), mb.InvalidArgumentError),  # reported by C
        (np.full((5, 3), np.inf, dtype=np.float32), mb.InvalidArgumentError),
        (np.full((5, 3), 1e300), mb.InvalidArgumentError),  # overflows float32 -> inf
        (None, ValueError),
        ("abc", TypeError),
    ],
)
def test_bad_X(net, X, exc):
    with pytest.raises(exc):
        net.predict(X)
    if X is not None and not isinstance(X, str) and np.asarray(X).shape == (5, 3):
        with pytest.raises(exc):
            net.train(X, Y3, epochs=1)


def test_sparse_X_is_rejected_with_a_clear_message(net):
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        net.predict(sp.csr_matrix(X3))


@pytest.mark.parametrize(
    "y, exc",
    [
        (np.array([0, 1, 2, 0, 1]), ValueError),  # class 2 with 2 outputs
        (np.array([0, 1, -1, 0, 1]), ValueError),
        (np.array([0, 1, 0]), ValueError),  # wrong length
        (np.zeros((5, 3), np.float32), ValueError),  # wrong width
        (np.array([0.0, 1, 0, 1, 1]), ValueError),  # 1-D float with 2 outputs
        (np.array([2**40, 0, 0, 0, 0]), ValueError),  # would wrap around in int32
        (np.full((5, 2), np.nan, np.float32), mb.InvalidArgumentError),  # C
        (np.array(["a"] * 5), TypeError),
        (None, ValueError),
        (np.ones(5) * 1j, ValueError),
    ],
)
def test_bad_y(net, y, exc):
    with pytest.raises(exc):
        net.train(X3, y, epochs=1)
    with pytest.raises(exc):
        net.evaluate(X3, y)
    with pytest.raises(exc):
        net.gradient(X3, y)
    assert net.epochs_trained == 0


@pytest.mark.parametrize(
    "kw, exc",
    [
        (dict(epochs=0), ValueError),
        (dict(epochs=-1), ValueError),
        (dict(epochs=1.5), TypeError),
        (dict(batch_size=0), ValueError),
        (dict(batch_size=6), ValueError),
        (dict(batch_size="big"), ValueError),
        (dict(learning_rate=0), ValueError),
        (dict(learning_rate=-0.1), ValueError),
        (dict(learning_rate=float("nan")), ValueError),
        (dict(learning_rate=float("inf")), ValueError),
        (dict(learning_rate=1e300), ValueError),  # not finite as float32
        (dict(seed=-1), ValueError),
        (dict(seed=2**64), ValueError),
        (dict(seed="1"), TypeError),
        (dict(memory_budget=-5), ValueError),
        (dict(callback=3), TypeError),
        (dict(history="h"), TypeError),
        (dict(memory_budget=1, batch_size="auto"), mb.InvalidArgumentError),  # not even 64 fits (C)
    ],
)
def test_bad_training_options(net, kw, exc):
    X = np.ones((2500, 3), np.float32) if kw.get("memory_budget") == 1 else X3
    y = np.zeros(len(X), np.int32) if len(X) != 5 else Y3
    with pytest.raises(exc):
        net.train(X, y, **kw)
    assert net.epochs_trained == 0


@pytest.mark.parametrize(
    "args, kw, exc",
    [
        (([3],), {}, ValueError),
        (([3, 0, 2],), {}, ValueError),
        (([3, -2],), {}, ValueError),
        (([3, 2**31],), {}, ValueError),
        (([3, 2.5],), {}, TypeError),
        (([3, 1],), dict(loss="cross_entropy"), ValueError),
        (([3, 2],), dict(loss="hinge"), ValueError),
        (([3, 4, 2],), dict(hidden_activation="mish"), ValueError),
        (([3, 4, 2],), dict(activations=["relu", "tanh"]), ValueError),
        (([3, 4, 2],), dict(init="orthogonal"), ValueError),
        (([3, 4, 2],), dict(seed=-1), ValueError),
    ],
)
def test_bad_network_arguments(args, kw, exc):
    with pytest.raises(exc):
        mb.Network(*args, **kw)


def test_huge_network_is_out_of_memory_not_a_crash():
    # header: "Sizes whose parameters cannot be allocated give MB_ERR_OUT_OF_MEMORY"
    with pytest.raises(mb.OutOfMemoryError) as ei:
        mb.Network([2**31 - 1, 2**31 - 1])
    assert isinstance(ei.value, MemoryError) and str(ei.value)
    with pytest.raises(mb.OutOfMemoryError):
        mb.Network([2**20, 2**20, 2**20])


def test_bad_parameters(net):
    n = net.n_parameters
    with pytest.raises(ValueError):
        net.set_parameters(np.zeros(n - 1))
    with pytest.raises(ValueError):
        net.set_parameters(np.zeros((n, 1)))
    bad = np.zeros(n)
    bad[3] = np.nan
    before = net.get_parameters()
    with pytest.raises(mb.InvalidArgumentError):
        net.set_parameters(bad)
    assert np.array_equal(net.get_parameters(), before)  # nothing changed


def test_file_errors(tmp_path, net):
    with pytest.raises(mb.MinibatchIOError) as ei:
        mb.Network.load(tmp_path / "missing.mbm")
    assert isinstance(ei.value, OSError) and "missing.mbm" in str(ei.value)
    with pytest.raises(mb.MinibatchIOError):
        net.save(tmp_path / "no" / "such" / "dir" / "m.mbm")
    (tmp_path / "garbage").write_bytes(b"not a model at all" * 4)
    with pytest.raises(mb.FormatError):
        mb.Network.load(tmp_path / "garbage")
    good = tmp_path / "good.mbm"
    net.save(good)
    raw = good.read_bytes()
    (tmp_path / "trunc").write_bytes(raw[:-9])
    with pytest.raises(mb.FormatError):
        mb.Network.load(tmp_path / "trunc")
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0x01
    (tmp_path / "flip").write_bytes(bytes(flipped))
    with pytest.raises(mb.FormatError):
        mb.Network.load(tmp_path / "flip")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(mb.FormatError):
        mb.Network.load(tmp_path / "empty")
    with pytest.raises(mb.MinibatchIOError):
        mb.Network.load(tmp_path)  # a directory
    assert np.array_equal(mb.Network.load(good).get_parameters(), net.get_parameters())


def test_make_moons_bad():
    for kw in (dict(m=1), dict(m=0), dict(noise=-1.0), dict(noise=float("inf")), dict(seed=-1)):
        with pytest.raises(ValueError):
            mb.make_moons(**{"m": 10, **kw})


# ---------------------------------------------------------------------------------------
# Callbacks, cancellation, Ctrl-C, divergence
# ---------------------------------------------------------------------------------------


def _data():
    X, y = mb.make_moons(200, 0.2, seed=1)
    return X, y


def _reference_after(epochs):
    X, y = _data()
    with mb.Network([2, 8, 2], seed=1) as n:
        n.train(X, y, epochs=epochs, batch_size=20, learning_rate=0.1, seed=2)
        return n.get_parameters()


class Boom(Exception):
    pass


def test_exception_in_callback_stops_and_is_reraised():
    X, y = _data()
    seen = []

    def cb(p):
        seen.append(p)
        if p.epoch == 3:
            raise Boom("stop here")

    with mb.Network([2, 8, 2], seed=1) as net, mb.History() as h:
        with pytest.raises(Boom, match="stop here"):
            net.train(X, y, epochs=10, batch_size=20, learning_rate=0.1, seed=2, callback=cb, history=h)
        assert [p.epoch for p in seen] == [1, 2, 3]
        assert all(isinstance(p, mb.Progress) and p.epochs == 10 and p.batches == 10 for p in seen)
        assert net.epochs_trained == 3
        assert np.array_equal(net.get_parameters(), _reference_after(3))  # weights kept
        assert len(h.epoch_costs) == 3 and len(h.batch_costs) == 30
        assert seen[-1].epoch_cost == pytest.approx(h.epoch_costs[-1])
        # still usable
        net.train(X, y, epochs=1, batch_size=20, learning_rate=0.1, seed=2)
        assert net.epochs_trained == 4


def test_truthy_callback_cancels():
    X, y = _data()
    with mb.Network([2, 8, 2], seed=1) as net:
        with pytest.raises(mb.CancelledError) as ei:
            net.train(X, y, epochs=10, batch_size=20, learning_rate=0.1, seed=2,
                      callback=lambda p: p.epoch >= 2)
        assert ei.value.status == _lib.Status.ERR_CANCELLED
        assert len(ei.value.history.epoch_costs) == 2
        assert net.epochs_trained == 2
        assert np.array_equal(net.get_parameters(), _reference_after(2))


def test_keyboard_interrupt_in_callback_stops_cleanly():
    X, y = _data()

    def cb(p):
        if p.epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
        return None

    handler_before = signal.getsignal(signal.SIGINT)
    with mb.Network([2, 8, 2], seed=1) as net:
        with pytest.raises(KeyboardInterrupt):
            net.train(X, y, epochs=50, batch_size=20, learning_rate=0.1, seed=2, callback=cb)
        assert net.epochs_trained == 2
        assert np.array_equal(net.get_parameters(), _reference_after(2))
    assert signal.getsignal(signal.SIGINT) is handler_before


def test_ctrl_c_from_outside_stops_training_without_a_callback(tmp_path):
    script = textwrap.dedent(
        """
        import sys, numpy as np, minibatch_gd as mb
        X, y = mb.make_moons(20000, 0.2, seed=1)
        net = mb.Network([2, 64, 64, 2], seed=0)
        def started(p):
            if p.epoch == 1:
                print("started", flush=True)
        try:
            net.train(X, y, epochs=100000, batch_size=64, learning_rate=0.01, callback=started)
            print("finished")
        except KeyboardInterrupt:
            print("interrupted", net.epochs_trained, np.isfinite(net.get_parameters()).all())
            print(net.predict(X[:2]).shape)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(PKG_ROOT))
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err_file:
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=err_file, text=True, env=env)
        try:
            deadline = time.monotonic() + 120
            lines = []
            while time.monotonic() < deadline:  # wait for the first epoch (skip other output)
                ready, _, _ = select.select([p.stdout], [], [], 1.0)
                if ready:
                    line = p.stdout.readline()
                    if not line:
                        break
                    lines.append(line)
                    if line.strip() == "started":
                        break
            assert lines and lines[-1].strip() == "started", "".join(lines) + err_path.read_text()
            p.send_signal(signal.SIGINT)
            out, _ = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    result = [ln for ln in out.splitlines() if ln.startswith(("interrupted", "finished"))]
    assert result and result[0].startswith("interrupted"), out + err_path.read_text()
    words = result[0].split()
    assert int(words[1]) >= 1 and words[2] == "True"
    assert "(2, 2)" in out


def test_divergence_keeps_last_finite_weights():
    X = np.ones((4, 2), np.float32) * 1e3
    y = np.array([0.0, 1, 0, 1], np.float32)
    with mb.Network([2, 3, 1], loss="mse", seed=0) as net:
        with pytest.raises(mb.DivergenceError) as ei:
            net.train(X, y, learning_rate=10, epochs=100)
        e = ei.value
        assert isinstance(e, ArithmeticError) and e.status == _lib.Status.ERR_DIVERGED
        assert "diverged" in str(e)
        p = net.get_parameters()
        assert np.isfinite(p).all()
        assert net.epochs_trained == len(e.history.epoch_costs) < 100
        assert np.all(np.isfinite(e.history.batch_costs))
        assert net.predict(X).shape == (4, 1)
        # usable: training on with a sane learning rate works
        net.set_parameters(np.zeros(net.n_parameters))
        net.train(X / 1e3, y, learning_rate=0.01, epochs=1)


def test_a_prediction_that_overflows_raises_naming_the_row(tmp_path):
    """#19: finite weights and finite X can overflow (as a diverged training's weights can):
    every prediction raises DivergenceError naming the row, instead of returning Inf."""
    X = np.array([[0, 0], [1e-20, 0], [1e20, 1], [0, 0]], dtype=np.float32)
    xp = tmp_path / "X.npy"
    np.save(xp, X)
    np.save(tmp_path / "y.npy", np.zeros(4, dtype=np.int64))
    with mb.Network([2, 3, 2], hidden_activation="relu", loss="cross_entropy") as net:
        # layer 1: W = 1e20, b = 0; layer 2: W = 1, b = 0
        net.set_parameters(np.r_[np.full(6, 1e20), np.zeros(3), np.ones(6), np.zeros(2)].astype(np.float32))
        assert np.isfinite(net.predict(X[:2])).all()
        calls = [lambda: net.predict(X), lambda: net.predict_classes(X),
                 lambda: net.predict_to_file(xp, tmp_path / "out.npy")]
        y = np.zeros(4, dtype=np.int32)
        calls += [lambda: net.evaluate(X, y)]
        with mb.Dataset(xp, tmp_path / "y.npy") as ds:
            calls += [lambda: net.predict(ds), lambda: net.predict_classes(ds), lambda: net.evaluate_dataset(ds)]
            for call in calls:
                with pytest.raises(mb.DivergenceError, match=r"for row 2 of X.* is inf"):
                    call()
        assert not (tmp_path / "out.npy").exists()  # nothing half-written
        # evaluate and gradient said MB_OK with a cost of inf or NaN; now as every prediction
        assert np.isfinite(net.evaluate(X[:2], y[:2])[0])
        assert np.isfinite(net.gradient(X[:2], y[:2])[1]).all()
        with pytest.raises(mb.DivergenceError, match="overflow"):
            net.gradient(X, y)
