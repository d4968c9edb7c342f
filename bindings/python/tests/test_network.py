"""Network and History: description, parameters, files, handle lifetime, zero-copy."""

from __future__ import annotations

import copy
import gc
import pickle
import threading
import tracemalloc

import numpy as np
import pytest

import minibatch_gd as mb
from minibatch_gd._validation import as_float32_matrix


def test_description_and_layout():
    with mb.Network([3, 5, 4, 2], hidden_activation="tanh", loss="cross_entropy", seed=1) as net:
        assert net.layer_sizes == [3, 5, 4, 2]
        assert net.n_inputs == 3 and net.n_outputs == 2
        assert net.n_parameters == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2
        assert net.epochs_trained == 0 and net.loss == mb.Loss.CROSS_ENTROPY
        la = net.layers
        assert [(x.n_in, x.n_out) for x in la] == [(3, 5), (5, 4), (4, 2)]
        assert [x.activation for x in la] == [mb.Activation.TANH, mb.Activation.TANH, mb.Activation.LINEAR]
        # W (n_out, n_in) row-major then b, layer after layer
        assert [(x.weight_offset, x.bias_offset) for x in la] == [(0, 15), (20, 40), (44, 52)]
        assert "layer_sizes=[3, 5, 4, 2]" in repr(net)
    with mb.Network([2, 1], loss="binary_cross_entropy") as lr:
        assert lr.layers[0].activation == mb.Activation.SIGMOID
    with mb.Network([2, 1], loss="mse") as lin:
        assert lin.layers[0].activation == mb.Activation.LINEAR


def test_parameters_and_weights_roundtrip():
    with mb.Network([3, 4, 2], seed=5) as net:
        p = net.get_parameters()
        assert p.dtype == np.float32 and p.shape == (net.n_parameters,)
        w = net.get_weights()
        assert [a.shape for a, _ in w] == [(4, 3), (2, 4)] and [b.shape for _, b in w] == [(4,), (2,)]
        assert np.array_equal(w[0][0].ravel(), p[:12])
        new = np.arange(net.n_parameters, dtype=np.float64) / 100  # float64 is converted
        net.set_parameters(new)
        assert np.array_equal(net.get_parameters(), new.astype(np.float32))
        w = net.get_weights()
        w[1] = (w[1][0] * 2, w[1][1] + 1)
        net.set_weights(w)
        assert np.array_equal(net.get_weights()[1][1], (new[-2:] + 1).astype(np.float32))
        with pytest.raises(ValueError):
            net.set_weights(w[:1])
        with pytest.raises(ValueError):
            net.set_weights([(np.zeros((3, 4)), np.zeros(4)), w[1]])


def test_predict_evaluate_shapes():
    X, y = mb.make_moons(40, 0.1, seed=1)
    with mb.Network([2, 4, 2], seed=0) as net:
        P = net.predict(X)
        assert P.shape == (40, 2) and P.dtype == np.float32
        np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-6)
        c = net.predict_classes(X)
        assert c.dtype == np.int32 and np.array_equal(c, np.argmax(P, axis=1))
        cost, acc = net.evaluate(X, y)
        assert cost > 0 and acc == pytest.approx(np.mean(c == y))
        # lists and float64 work (one copy), results identical
        assert np.array_equal(net.predict(X.astype(np.float64).tolist()), P)
    with mb.Network([2, 3, 1], loss="mse") as reg:
        cost, acc = reg.evaluate(X, X[:, 0])
        assert np.isnan(acc) and cost >= 0
        with pytest.raises(mb.InvalidArgumentError):
            reg.predict_classes(X)  # only for classifiers (C reports it)


def test_binary_predict_classes_threshold():
    with mb.Network([1, 1], loss="binary_cross_entropy") as net:
        net.set_parameters([1.0, 0.0])  # p = sigmoid(x)
        x = np.array([[-1.0], [0.0], [1.0]], dtype=np.float32)
        assert net.predict_classes(x).tolist() == [0, 1, 1]  # output >= 0.5 -> 1


def test_history_accumulates_and_clears():
    X, y = mb.make_moons(100, 0.2, seed=1)
    with mb.Network([2, 4, 2]) as net, mb.History() as h:
        r = net.train(X, y, epochs=2, batch_size=30, history=h)
        assert r is h
        assert len(h.batch_costs) == 8 and len(h.epoch_costs) == 2
        net.train(X, y, epochs=1, batch_size=30, history=h)
        assert len(h.batch_costs) == 12 and len(h.epoch_costs) == 3
        assert h.batch_costs.dtype == np.float64
        assert "batches=12" in repr(h)
        h.clear()
        assert len(h.batch_costs) == 0 and len(h.epoch_costs) == 0
        assert net.epochs_trained == 3
        p = net.last_progress
        assert p.epochs_trained == 3 and p.batch_size == 30 and p.batches == 4 and p.epoch == p.epochs == 1


def test_auto_batch_size_and_working_memory():
    with mb.Network([10, 32, 3]) as net:
        assert net.auto_batch_size(500) == 500
        assert net.auto_batch_size(1999) == 1999
        assert net.auto_batch_size(2000) == 512
        w512 = net.working_memory(512)
        w64 = net.working_memory(64)
        assert w512 > w64 > 0
        assert net.auto_batch_size(5000, memory_budget=w512) == 512
        assert net.auto_batch_size(5000, memory_budget=w512 - 1) == 256
        assert net.auto_batch_size(5000, memory_budget=w64) == 64
        with pytest.raises(mb.InvalidArgumentError):
            net.auto_batch_size(5000, memory_budget=w64 - 1)
    # 40 inputs: batches of 128 and 64 make two shards on two threads (a shard needs
    # 32,768 + 3 x 1,411 of rows x 1,451 of work: the header's layout)
    with mb.Network([40, 32, 3]) as net:
        X = np.zeros((2500, 40), np.float32)
        y = np.zeros(2500, np.int32)
        net.train(X, y, epochs=1, memory_budget=net.working_memory(128), threads=1)
        assert net.last_progress.batch_size == 128
        # a second shard's workspace comes out of the budget too (0.6.0; 0.5.0 counted only
        # its gradient): its gradient (n_parameters floats) and, for its 64 rows, every
        # layer's outputs and two gradient buffers of the widest layer: 64 x (32 + 3 + 2 x 32)
        second = 4 * (net.n_parameters + 64 * (32 + 3 + 2 * 32))
        net.train(X, y, epochs=1, memory_budget=net.working_memory(128), threads=2)
        assert net.last_progress.batch_size == 64
        net.train(X, y, epochs=1, memory_budget=net.working_memory(128) + second - 1, threads=2)
        assert net.last_progress.batch_size == 64
        net.train(X, y, epochs=1, memory_budget=net.working_memory(128) + second, threads=2)
        assert net.last_progress.batch_size == 128


def test_save_load_bytes_pickle_copy(tmp_path):
    X, y = mb.make_moons(64, 0.2, seed=2)
    with mb.Network([2, 5, 2], hidden_activation="sigmoid", seed=3) as net:
        net.train(X, y, epochs=3, batch_size=16)
        path = tmp_path / "m.mbm"
        net.save(path)
        net.save(str(path))  # overwrite atomically
        loaded = mb.Network.load(path)
        assert loaded.epochs_trained == 3 and loaded.layer_sizes == [2, 5, 2]
        assert [la.activation for la in loaded.layers][0] == mb.Activation.SIGMOID
        assert np.array_equal(loaded.get_parameters(), net.get_parameters())
        for other in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net), net.copy(),
                      mb.Network.from_bytes(net.to_bytes())):
            assert np.array_equal(other.predict(X), net.predict(X))
            assert other.epochs_trained == 3
        # a copy is independent and continues the same shuffle stream
        c = net.copy()
        c.train(X, y, epochs=2, batch_size=16, seed=1)
        net.train(X, y, epochs=2, batch_size=16, seed=1)
        assert np.array_equal(c.get_parameters(), net.get_parameters())
        c.train(X, y, epochs=1, batch_size=16)
        assert not np.array_equal(c.get_parameters(), net.get_parameters())
    # file format: signature, CRC-32 trailer
    raw = path.read_bytes()
    assert raw[:8] == b"MBMODEL\0"
    import zlib
    assert int.from_bytes(raw[-4:], "little") == zlib.crc32(raw[:-4])


def test_close_context_and_use_after_close():
    net = mb.Network([2, 2])
    fin = net._finalizer
    assert not net.closed and fin.alive
    net.close()
    net.close()  # twice is fine
    assert net.closed and not fin.alive
    with pytest.raises(ValueError, match="closed"):
        net.predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="closed"):
        net.get_parameters()
    assert repr(net) == "Network(closed)"
    with mb.Network([2, 2]) as n2:
        f2 = n2._finalizer
    assert n2.closed and not f2.alive
    h = mb.History()
    h.close()
    with pytest.raises(ValueError):
        h.batch_costs


def test_handles_are_freed_when_collected():
    net = mb.Network([2, 3, 2])
    h = mb.History()
    fins = [net._finalizer, h._finalizer]
    del net, h
    gc.collect()
    assert not any(f.alive for f in fins)


def test_many_networks_do_not_leak():
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(300):
        n = mb.Network([200, 200, 10])  # 42k parameters each
        n.train(np.zeros((10, 200), np.float32), np.zeros(10, np.int32), epochs=1)
        del n
    gc.collect()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert after - before < 60_000  # KiB; 300 leaked models would be > 50 MB


def test_zero_copy_for_float32_c_contiguous():
    X = np.random.RandomState(0).rand(100, 7).astype(np.float32)
    assert as_float32_matrix(X) is X
    for other in (X.astype(np.float64), np.asfortranarray(X), X[::2], X.tolist(), X.astype(np.int64)):
        conv = as_float32_matrix(other)
        assert conv.dtype == np.float32 and conv.flags.c_contiguous
        assert not np.shares_memory(conv, X)
    # predict on a 40 MB float32 matrix allocates only the outputs
    big = np.ones((200_000, 50), dtype=np.float32)
    with mb.Network([50, 2], seed=0) as net:
        net.predict(big[:10])
        tracemalloc.start()
        try:
            out = net.predict(big)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert out.shape == (200_000, 2)
        assert peak < 200_000 * 2 * 4 + 1_000_000, peak  # outputs (1.6 MB) + slack; X is 40 MB
        tracemalloc.start()
        try:
            net.predict(big.astype(np.float64))
            _, peak64 = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak64 > 40_000_000  # the documented single copy (plus float64 input)


def test_concurrent_predictions_from_threads():
    X, y = mb.make_moons(500, 0.2, seed=1)
    with mb.Network([2, 16, 2], seed=0) as net:
        net.train(X, y, epochs=2, batch_size=50)
        expected = net.predict(X)
        errors = []

        def work():
            try:
                for _ in range(20):
                    assert np.array_equal(net.predict(X), expected)
            except Exception as e:  # pragma: no cover
                errors.append(e)

        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors


def test_callback_may_use_the_network_it_trains():
    """Validation inside the progress callback sees the weights at the end of each epoch."""
    X, y = mb.make_moons(500, 0.2, seed=1)
    with mb.Network([2, 16, 2], seed=0) as net, mb.Network([2, 16, 2], seed=0) as ref:
        inside = []
        net.train(X, y, epochs=4, batch_size=50, learning_rate=0.1,
                  callback=lambda p: inside.append(net.predict(X)))
        for e in range(4):
            ref.train(X, y, epochs=1, batch_size=50, learning_rate=0.1)
            assert np.array_equal(inside[e], ref.predict(X))
