"""Interrupt (mb_interrupt) and Ctrl-C: a stop request checked after every mini-batch, from
another thread or from SIGINT, stops training within the epoch; the model keeps the last
batch's weights (checked against a step on that batch's rows alone), the interrupted epoch
is not counted, and the process's signal settings are left as they were."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import minibatch_gd as mb


def _data(m: int = 120):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((m, 3)).astype(np.float32)
    y = rng.integers(0, 3, m).astype(np.int32)
    return X, y


def _when(stop: mb.Interrupt, batches: int, action) -> threading.Thread:
    """Runs ``action()`` on a thread once ``stop`` counts ``batches`` batches done."""
    def watch() -> None:
        deadline = time.monotonic() + 60
        while stop.batches_done < batches and time.monotonic() < deadline:
            time.sleep(0.0005)
        action()

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def test_a_request_before_training_stops_it_after_the_first_batch():
    X, y = _data()
    stop = mb.Interrupt()
    assert not stop.is_requested and stop.batches_done == 0 and stop.batches_per_epoch == 0
    stop.request_stop()
    with mb.Network([3, 6, 3], hidden_activation="tanh", seed=7) as net:
        with pytest.raises(mb.CancelledError, match="interrupted after batch 1 of 12 of epoch 1 of 5") as ei:
            net.train(X, y, epochs=5, batch_size=10, learning_rate=0.2, seed=3, threads=1, interrupt=stop)
        assert net.epochs_trained == 0
        assert len(ei.value.history.batch_costs) == 1 and len(ei.value.history.epoch_costs) == 0
        assert (stop.batches_done, stop.examples_done, stop.batches_per_epoch) == (1, 10, 12)
        assert stop.is_requested  # until cleared
        # The reference: one step on epoch 0's first 10 rows, in that order.
        first = mb.permutation(120, 3, 0)[:10]
        with mb.Network([3, 6, 3], hidden_activation="tanh", seed=7) as ref:
            ref.train(X[first], y[first], epochs=1, batch_size=10, learning_rate=0.2, shuffle=False, threads=1)
            assert np.array_equal(net.get_parameters(), ref.get_parameters())
        stop.clear()
        net.train(X, y, epochs=2, batch_size=10, learning_rate=0.2, seed=3, interrupt=stop)
        assert net.epochs_trained == 2 and stop.batches_done == 25


def test_another_thread_stops_training_within_the_epoch():
    X, y = _data(200_000)
    with mb.Network([3, 16, 3], seed=1) as net, mb.Interrupt() as stop:
        watcher = _when(stop, 20, stop.request_stop)
        with pytest.raises(mb.CancelledError, match="interrupted after batch"):
            net.train(X, y, epochs=3, batch_size=8, learning_rate=0.01, interrupt=stop)
        watcher.join()
        assert net.epochs_trained == 0
        assert 20 <= stop.batches_done < stop.batches_per_epoch == 25_000


def test_ctrl_c_stops_training_after_the_current_batch():
    """SIGINT while one long epoch runs: KeyboardInterrupt within the epoch (the progress
    callback alone would stop only at its end), the epoch not counted, the weights those of
    the last batch (finite, usable), and SIGINT's handler and the wakeup fd as before."""
    X, y = _data(1_000_000)
    handler_before = signal.getsignal(signal.SIGINT)
    with mb.Network([3, 16, 3], seed=1) as net, mb.Interrupt() as stop:
        watcher = _when(stop, 20, lambda: os.kill(os.getpid(), signal.SIGINT))
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            net.train(X, y, epochs=1, batch_size=4, learning_rate=0.01, interrupt=stop)
        watcher.join()
        assert net.epochs_trained == 0
        assert 20 <= stop.batches_done < stop.batches_per_epoch == 250_000
        assert not stop.is_requested  # Ctrl-C's request is served by KeyboardInterrupt
        assert np.isfinite(net.get_parameters()).all() and net.predict(X[:2]).shape == (2, 3)
        assert time.monotonic() - start < 30
    assert signal.getsignal(signal.SIGINT) is handler_before
    assert signal.set_wakeup_fd(-1) == -1


def _stopped_by_ctrl_c() -> None:
    """SIGINT after 20 batches of a long epoch: KeyboardInterrupt within the epoch."""
    X, y = _data(1_000_000)
    with mb.Network([3, 16, 3], seed=1) as net, mb.Interrupt() as stop:
        watcher = _when(stop, 20, lambda: os.kill(os.getpid(), signal.SIGINT))
        with pytest.raises(KeyboardInterrupt):
            net.train(X, y, epochs=1, batch_size=4, learning_rate=0.01, interrupt=stop)
        watcher.join()
        assert 20 <= stop.batches_done < stop.batches_per_epoch == 250_000


def test_one_watcher_thread_serves_every_call_and_a_forked_child():
    """The Ctrl-C watcher is one thread, kept from call to call (a thread per call cost
    0.25 ms of each); each call's signals are read before it returns, so none stops a later
    call; a forked child, which has no watcher thread, starts its own (the parent's would
    never read the child's signals: Ctrl-C would stop only at the end of the epoch)."""
    X, y = _data()

    def watchers() -> int:
        return sum(t.name == "minibatch-ctrl-c" for t in threading.enumerate())

    with mb.Network([3, 6, 3], seed=7) as net:
        for _ in range(3):
            net.train(X, y, epochs=1, batch_size=10)
    assert watchers() == 1
    _stopped_by_ctrl_c()
    _stopped_by_ctrl_c()
    with mb.Network([3, 6, 3], seed=7) as net:
        net.train(X, y, epochs=2, batch_size=10)
        assert net.epochs_trained == 2
    assert watchers() == 1
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if Ctrl-C stopped it within the epoch
        code = 1
        try:
            _stopped_by_ctrl_c()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert signal.set_wakeup_fd(-1) == -1


@pytest.mark.parametrize("other_call", [False, True])
def test_a_child_forked_by_another_thread_during_training_has_its_own_ctrl_c(other_call):
    """Another thread forks (a process pool started from a thread) while the main thread
    trains: the child inherited the call's SIGINT handler and wakeup fd, the write end of the
    parent's watcher pipe, so its Ctrl-C stopped the parent's training and nothing stopped
    the child (found by an interop review; 0.12.4). Now the child has Python's handler and
    no wakeup fd: SIGINT raises KeyboardInterrupt there, and the parent trains on until it is
    asked to stop (by its Interrupt, not by the child's signal). With `other_call`, a short
    training call on the forking thread ends first (the first fix kept a record of the main
    thread's call, which any call's end cleared)."""
    X, y = _data(1_000_000)
    result = {}

    def fork_and_signal(stop: mb.Interrupt) -> None:
        if other_call:
            with mb.Network([3, 4, 3], seed=2) as other:
                other.train(X[:64], y[:64], epochs=1, batch_size=32)
        ready_read, ready_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: 0 if SIGINT raised KeyboardInterrupt, 1 if it did nothing
            code = 2
            try:
                os.write(ready_write, b"r")
                time.sleep(5)
                code = 1
            except KeyboardInterrupt:
                code = 0
            finally:
                os._exit(code)
        os.close(ready_write)
        os.read(ready_read, 1)
        os.close(ready_read)
        before = stop.batches_done
        os.kill(pid, signal.SIGINT)
        _, status = os.waitpid(pid, 0)
        result["child"] = os.waitstatus_to_exitcode(status)
        time.sleep(0.05)  # the parent's watcher would have read a signal by now
        result["parent batches after the child's signal"] = stop.batches_done - before
        stop.request_stop()

    with mb.Network([3, 16, 3], seed=1) as net, mb.Interrupt() as stop:
        forker = _when(stop, 20, lambda: fork_and_signal(stop))
        parent = "trained on"
        try:
            with pytest.raises(mb.CancelledError):  # stopped by the request, not by Ctrl-C
                # (epochs: more than the fork and the signal take on any machine; stopped then)
                net.train(X, y, epochs=50, batch_size=4, learning_rate=0.01, interrupt=stop)
        except KeyboardInterrupt:  # (not let through: pytest would end the whole run)
            parent = "stopped by the child's SIGINT"
        forker.join()
    assert parent == "trained on" and result["child"] == 0, (parent, result)
    assert result["parent batches after the child's signal"] > 0, result
    assert signal.set_wakeup_fd(-1) == -1


def test_a_wakeup_fd_in_use_is_left_alone():
    """Where the program already uses the wakeup fd (asyncio does), training leaves it set
    (Ctrl-C then stops at the end of the epoch, through the progress callback)."""
    X, y = _data()
    read, write = os.pipe()
    os.set_blocking(write, False)
    try:
        assert signal.set_wakeup_fd(write) == -1
        with mb.Network([3, 6, 3], seed=7) as net:
            net.train(X, y, epochs=2, batch_size=10)
            assert net.epochs_trained == 2
        assert signal.set_wakeup_fd(-1) == write
    finally:
        signal.set_wakeup_fd(-1)
        os.close(read)
        os.close(write)


def test_interrupt_must_be_an_interrupt():
    X, y = _data()
    with mb.Network([3, 6, 3], seed=7) as net:
        with pytest.raises(TypeError, match="interrupt"):
            net.train(X, y, epochs=1, interrupt="stop")
    stop = mb.Interrupt()
    stop.close()
    with pytest.raises(ValueError, match="closed"):
        stop.request_stop()
