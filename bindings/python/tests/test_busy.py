"""A network in use by a training call: changing it from that call's progress callback
raises BusyError (MB_ERR_BUSY) instead of corrupting memory; reading it from the callback
works; another thread waits for the call (the C tests, test_limits.c, show MB_ERR_BUSY for
another thread at the C level)."""

import threading

import numpy as np
import pytest

import minibatch_gd as mb


def data():
    X, y = mb.make_moons(256, noise=0.1, seed=3)
    return X, y


def test_training_from_the_callback_raises_busy_and_training_goes_on():
    X, y = data()
    net = mb.Network([2, 8, 2], seed=1)
    seen = []

    def callback(progress):
        try:
            net.train(X, y, epochs=1, batch_size=32)
        except mb.BusyError as e:
            seen.append(("train", str(e)))
        try:
            net.set_parameters(net.get_parameters())
        except mb.BusyError as e:
            seen.append(("set", str(e)))
        seen.append(("predict", net.predict(X[:3]).shape))

    history = net.train(X, y, epochs=2, batch_size=32, callback=callback)
    assert [kind for kind, _ in seen] == ["train", "set", "predict"] * 2
    assert "in use by a training call" in seen[0][1]
    assert len(history.epoch_costs) == 2
    # free again afterwards
    net.train(X, y, epochs=1, batch_size=32)


def test_another_thread_waits_for_the_training_call():
    """The binding serialises the calls on one network with a lock: another thread's call
    waits for the training call to return (the C library would answer it MB_ERR_BUSY)."""
    X, y = data()
    net = mb.Network([2, 8, 2], seed=1)
    training = threading.Event()
    results = {}

    def other():
        assert training.wait(60)
        results["predict"] = net.predict(X[:3])

    t = threading.Thread(target=other)
    t.start()
    net.train(X, y, epochs=3, batch_size=32, callback=lambda p: training.set())
    t.join(60)
    np.testing.assert_array_equal(results["predict"], net.predict(X[:3]))
