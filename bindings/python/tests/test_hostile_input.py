"""Hostile or unusual input found by an adversarial review of the binding (0.12.3): each was
a crash, a use of freed memory, a silently wrong value or a bare numpy exception before."""

from __future__ import annotations

import copy
import os
import pickle
import signal
import threading

import numpy as np
import pytest

import minibatch_gd as mb
from minibatch_gd import interrupt as interrupt_module

X, Y = mb.make_moons(200, seed=1)


def _npy_pair(tmp_path):
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y.astype(np.int32))
    return tmp_path / "x.npy", tmp_path / "y.npy"


def test_labels_changed_by_the_callback_raise_and_put_the_model_back():
    # Labels index the outputs: a callback that writes one out of range stops the call
    # before the labels are read again (it was a segfault); the call puts the model back
    # as it was, as for a NaN in X.
    for validation in (False, True):
        y = Y.astype(np.int32)  # (passed without a copy)
        vy = Y.astype(np.int32)
        target = vy if validation else y

        def relabel(progress):
            if progress.epoch == 2:
                target[7] = 10**9

        net = mb.Network([2, 8, 2], seed=0)
        start = net.get_parameters()
        kw = dict(validation=(X, vy)) if validation else {}
        with pytest.raises(mb.InvalidArgumentError, match=r"y\[7\] = 1000000000 .*changed during training"):
            net.train(X, y, epochs=4, batch_size=32, callback=relabel, **kw)
        assert net.epochs_trained == 0
        assert np.array_equal(net.get_parameters(), start)


@pytest.mark.parametrize("make", [mb.History, mb.Interrupt, "dataset"])
def test_handles_cannot_be_copied_or_pickled(make, tmp_path):
    # A copy shared the C object and the finalizer that frees it: closing either left the
    # other reading freed memory.
    obj = mb.Dataset(*_npy_pair(tmp_path)) if make == "dataset" else make()
    with obj:
        for how in (copy.copy, copy.deepcopy):
            with pytest.raises(TypeError, match="cannot be copied"):
                how(obj)
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(obj)
        assert not obj.closed
    net = mb.Network([2, 3, 2], seed=0)  # a model copies through its file format
    assert np.array_equal(copy.copy(net).get_parameters(), net.get_parameters())


def test_paths_with_a_nul_byte_are_refused(tmp_path):
    # C would take the NUL as the path's end: save wrote "model.mbm" for "model.mbm\0.bak".
    net = mb.Network([2, 3, 2], seed=0)
    bad = str(tmp_path / "model.mbm") + "\0.bak"
    x, y = _npy_pair(tmp_path)
    for call in (lambda: net.save(bad), lambda: mb.Network.load(bad),
                 lambda: net.predict_to_file(x, str(tmp_path / "out.npy") + "\0x"),
                 lambda: mb.Dataset(str(x) + "\0", y),
                 lambda: mb.shuffle_files(x, None, str(tmp_path / "s.npy") + "\0", None)):
        with pytest.raises(ValueError, match="embedded null byte"):
            call()
    assert sorted(os.listdir(tmp_path)) == ["x.npy", "y.npy"]


def test_ctrl_c_is_given_back_when_its_watcher_cannot_start(monkeypatch):
    # Out of file descriptors, the watcher's pipe fails: the call still trains (Ctrl-C then
    # stops it at the epoch's end) and the SIGINT handler is put back (it was left
    # installed, and Ctrl-C never raised KeyboardInterrupt again).
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("needs the main thread")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    def no_pipe():
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(interrupt_module._Watcher, "get", staticmethod(no_pipe))
    net = mb.Network([2, 3, 2], seed=0)
    net.train(X, Y, epochs=1)
    assert net.epochs_trained == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_layer_index_is_checked_not_wrapped():
    net = mb.Network([2, 3, 2], seed=0)
    assert net.layer(1).n_out == 2
    for i in (2**64, 2**64 + 1, -(2**64), 2**63):  # ctypes wrapped 2**64 to layer 0
        with pytest.raises(mb.InvalidArgumentError, match=r"layer must be in \[0, 2\)"):
            net.layer(i)
    for i in (1.9, "1", True, None):
        with pytest.raises(TypeError, match="layer index must be an integer"):
            net.layer(i)
    assert net.layer(np.int64(0)).n_in == 2


def test_complex_weights_and_rates_are_refused():
    # numpy's conversion drops the imaginary part with only a ComplexWarning.
    net = mb.Network([2, 8, 2], seed=0)
    w = np.full(len(X), 1 + 5j)
    cases = [
        (dict(sample_weight=w), ValueError, "Complex data not supported: sample_weight"),
        (dict(class_weight=np.array([1 + 1j, 2 - 3j])), ValueError, "Complex data not supported: class_weight"),
        (dict(validation=(X, Y, w)), ValueError, "Complex data not supported: the validation sample_weight"),
        (dict(learning_rate=np.complex128(0.1 + 7j)), TypeError, "learning_rate must be a real number"),
        (dict(l2=np.complex64(1e-3 + 1j)), TypeError, "l2 must be a real number"),
        (dict(learning_rate=0.1 + 7j), TypeError, "learning_rate must be a real number"),
    ]
    for kw, exc, message in cases:
        with pytest.raises(exc, match=message):
            net.train(X, Y, epochs=1, **kw)
    assert net.epochs_trained == 0
    for est in (mb.MLPClassifier(hidden_layer_sizes=(4,), max_iter=1),):
        with pytest.raises(ValueError, match="Complex data not supported: sample_weight"):
            est.fit(X, Y, sample_weight=w)


def test_flags_must_be_bools():
    # 'no' is a true string: it trained with shuffling on.
    net = mb.Network([2, 3, 2], seed=0)
    for kw in (dict(shuffle="no"), dict(drop_last="False"), dict(shuffle=None)):
        with pytest.raises(TypeError, match="must be a bool"):
            net.train(X, Y, epochs=1, **kw)
    with pytest.raises(TypeError, match="drop_last must be a bool"):
        mb.partition(10, 3, drop_last="yes")
    with pytest.raises(TypeError, match="shuffle must be a bool"):
        list(mb.mini_batches(X, Y, 32, shuffle="no"))
    net.train(X, Y, epochs=1, shuffle=np.bool_(False), drop_last=1)  # bools and 0/1 are taken
    for name in ("shuffle", "warm_start", "nesterovs_momentum", "drop_last", "early_stopping"):
        with pytest.raises(ValueError, match=f"{name} must be a bool"):
            mb.MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, **{name: "no"}).fit(X, Y)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
        mb.MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, solver="adam", momentum=5.0).fit(X, Y)


def test_numbers_too_large_for_a_float_name_the_array():
    # numpy's bare OverflowError named nothing.
    net = mb.Network([2, 4, 2], seed=0)
    Xo = X.astype(object)
    Xo[0, 0] = 10**400
    for call in (lambda: net.predict(Xo), lambda: net.train(Xo, Y, epochs=1),
                 lambda: mb.MLPClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(Xo.tolist(), Y)):
        with pytest.raises(ValueError, match="X holds a number too large for a float"):
            call()
    reg = mb.Network([2, 4, 1], loss="mse", seed=0)
    with pytest.raises(ValueError, match="y holds a number too large for a float"):
        reg.train(X, np.array([10**400] + [0] * (len(X) - 1), dtype=object), epochs=1)
    with pytest.raises(ValueError, match="y must be numeric"):
        mb.MLPRegressor(hidden_layer_sizes=(4,), max_iter=1).fit(X, [10**400] + [0] * (len(X) - 1))


def test_memory_budget_takes_every_size_t():
    # The header gives 2**62 and up, SIZE_MAX included, the meaning "no limit".
    net = mb.Network([2, 3, 2], seed=0)
    net.train(X, Y, epochs=1, memory_budget=2**64 - 1)
    with pytest.raises(ValueError, match=r"memory_budget must be an integer in \[0, 2\*\*64\)"):
        net.train(X, Y, epochs=1, memory_budget=2**64)


def test_regressor_score_refuses_nan_targets():
    # R^2 was nan; scikit-learn's r2_score refuses such targets.
    reg = mb.MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, X[:, 0])
    y = X[:, 0].astype(np.float64)
    y[3] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        reg.score(X, y)
    assert np.isfinite(reg.score(X, X[:, 0]))


def test_estimator_limits_name_the_estimators_parameters():
    # max_iter=2**63 said "epochs is out of range" (the library's name).
    for kw, name in ((dict(max_iter=2**63), "max_iter"), (dict(n_iter_no_change=2**63), "n_iter_no_change")):
        with pytest.raises(ValueError, match=f"{name} must be an int in"):
            mb.MLPClassifier(hidden_layer_sizes=(4,), **kw).fit(X, Y)


def test_float_options_beyond_float32_are_refused_as_given():
    # The options' float fields are float32: 1e39 reached the library as inf ("got inf"),
    # 1e-50 as 0 (an l2 of 1e-50 became none at all).
    net = mb.Network([2, 3, 2], seed=0)
    for kw, where in ((dict(learning_rate=1e39), "beyond float32's range"),
                      (dict(learning_rate=1e-50), "below float32's smallest value"),
                      (dict(l2=1e-50), "below float32's smallest value"),
                      (dict(optimizer=mb.Adam(epsilon=1e-60)), "below float32's smallest value")):
        with pytest.raises(mb.InvalidArgumentError, match=where):
            net.train(X, Y, epochs=1, **kw)
    net.train(X, Y, epochs=1, l2=1e-40)  # a float32 subnormal: taken
    with pytest.raises(mb.InvalidArgumentError, match=r"learning_rate_init \(learning_rate\) 1e\+39 is beyond"):
        mb.MLPClassifier(hidden_layer_sizes=(4,), learning_rate_init=1e39, max_iter=1).fit(X, Y)


def test_what_the_stricter_checks_still_take():
    # numpy integers and 0-d arrays for flags and indices, a scalar sample weight (one
    # weight for every row), and the limits they refuse.
    net = mb.Network([2, 3, 2], seed=0)
    for v in (np.int64(1), np.int64(0), np.uint8(1), np.array(True), np.array(1), 1, 0, True):
        net.train(X, Y, epochs=1, shuffle=v, drop_last=v)
    with pytest.raises(ValueError, match=r"shuffle must be a bool \(or 0 or 1\), got 2"):
        net.train(X, Y, epochs=1, shuffle=2)
    assert net.layer(np.array(0)).n_in == 2
    one = mb.Network([2, 3, 2], seed=0)
    one.train(X[:1], Y[:1], epochs=1, sample_weight=2.0)
    a, b = mb.Network([2, 3, 2], seed=0), mb.Network([2, 3, 2], seed=0)
    a.train(X, Y, epochs=1, sample_weight=np.float32(2.0), validation=(X, Y, 3.0))
    b.train(X, Y, epochs=1, sample_weight=np.full(len(X), 2.0), validation=(X, Y, np.full(len(X), 3.0)))
    assert np.array_equal(a.get_parameters(), b.get_parameters())
    for call in (lambda: net.train(X, Y, epochs=1, sample_weight=[10**400] + [1] * (len(X) - 1)),
                 lambda: net.train(X, Y, epochs=1, class_weight=[10**400, 1])):
        with pytest.raises(ValueError, match="holds a number too large for a float"):
            call()
    with pytest.raises(ValueError, match=r"noise must be finite, >= 0 and <= 1e37"):
        mb.make_moons(10, noise=1e38)


def test_paths_that_are_not_utf8_are_refused(tmp_path):
    # The library replaced such bytes by U+FFFD and wrote another file.
    net = mb.Network([2, 3, 2], seed=0)
    bad = os.fsencode(str(tmp_path)) + b"/\xffmodel.mbm"
    with pytest.raises(mb.InvalidArgumentError, match="path is not valid UTF-8"):
        net.save(bad)
    assert os.listdir(tmp_path) == []


def test_messages_name_what_the_caller_gave():
    """0.12.6, from a review: a finite sample weight beyond float32 was reported as the inf
    it becomes; from_bytes named a deleted temporary file; an object X holding pandas' NA
    gave numpy's TypeError naming neither X nor the value."""
    x = np.random.default_rng(0).normal(size=(20, 2))
    y = (x[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=r"sample_weight\[3\] is 1e\+39, beyond float32's range"):
        mb.MLPClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(x, y, sample_weight=[1.0] * 3 + [1e39] + [1.0] * 16)
    with pytest.raises(mb.FormatError, match=r"^the 4 bytes given to from_bytes is not a valid minibatch model file"):
        mb.Network.from_bytes(b"junk")

    class NAType:  # what pandas' pd.NA is, by its type's name
        pass

    xo = x.astype(object)
    xo[2, 1] = NAType()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        mb.MLPClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(xo, y)
    xo[2, 1] = "a string"
    with pytest.raises((TypeError, ValueError), match="X"):
        mb.MLPClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(xo, y)


def test_regressor_score_and_column_y_as_scikit_learns():
    """R^2 of one row is NaN with UndefinedMetricWarning (it was 0.0), and a column-vector y
    warns DataConversionWarning (and is one output), as scikit-learn's."""
    sklearn_exceptions = pytest.importorskip("sklearn.exceptions")
    x = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.warns(sklearn_exceptions.DataConversionWarning, match="column-vector y"):
        reg = mb.MLPRegressor(hidden_layer_sizes=(2,), max_iter=2).fit(x, x[:, :1])
    assert reg.n_outputs_ == 1 and reg.predict(x).shape == (20,)
    with pytest.warns(sklearn_exceptions.UndefinedMetricWarning, match="less than two samples"):
        assert np.isnan(reg.score(x[:1], x[:1, 0]))
