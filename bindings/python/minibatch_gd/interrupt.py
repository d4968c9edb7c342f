"""Stopping a training from outside: :class:`Interrupt` (``mb_interrupt``), and Ctrl-C.

An :class:`Interrupt` given to :meth:`Network.train` (``interrupt=``) is checked after every
mini-batch's update: :meth:`Interrupt.request_stop`, from any thread, stops the training
after the current mini-batch (the header's ``mb_interrupt`` says how the interrupted epoch
is counted). Its counts (:attr:`Interrupt.batches_done`, ...) may be read from another
thread while training runs, e.g. for a progress display within a long epoch.

Ctrl-C during a training call on the main thread makes the same request (``_CtrlC``), so
that the call stops after the current mini-batch and raises ``KeyboardInterrupt``, the
model keeping that batch's weights.
"""
from __future__ import annotations

import ctypes
import os
import signal
import threading
from typing import Any, Optional

from . import _lib
from .errors import check_status
from ._handle import _Handle

__all__ = ["Interrupt"]


class Interrupt(_Handle):
    """A stop request for training (``mb_interrupt``), which any thread may make.

    Give it to :meth:`Network.train` or :meth:`Network.train_dataset` (``interrupt=``);
    one interrupt may serve several calls, at once or in turn. The request stays set until
    :meth:`clear`: a call started while it is set stops after its first mini-batch.

    >>> stop = Interrupt()
    >>> threading.Timer(60, stop.request_stop).start()   # at most a minute of training
    >>> net.train(X, y, epochs=1000, interrupt=stop)      # raises CancelledError if stopped
    """

    _free_name = "mb_interrupt_free"

    def __init__(self) -> None:
        handle = _lib.mb_interrupt_p()
        check_status(_lib.lib().mb_interrupt_create(ctypes.byref(handle)), "mb_interrupt_create")
        super().__init__(handle.value)

    def request_stop(self) -> None:
        """Stops every training given this interrupt after its current mini-batch
        (mb_interrupt_request_stop). Returns at once."""
        _lib.lib().mb_interrupt_request_stop(self._h())

    def clear(self) -> None:
        """Withdraws the request, so that the next training runs normally."""
        _lib.lib().mb_interrupt_clear(self._h())

    @property
    def is_requested(self) -> bool:
        """Whether a stop has been requested and not cleared."""
        return bool(_lib.lib().mb_interrupt_is_requested(self._h()))

    def _counts(self) -> tuple[int, int, int]:
        b, e, p = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        check_status(
            _lib.lib().mb_interrupt_counts(self._h(), ctypes.byref(b), ctypes.byref(e), ctypes.byref(p)),
            "mb_interrupt_counts",
        )
        return int(b.value), int(e.value), int(p.value)

    @property
    def batches_done(self) -> int:
        """Mini-batches whose update has been applied, over every call given this interrupt."""
        return self._counts()[0]

    @property
    def examples_done(self) -> int:
        """The rows of those mini-batches."""
        return self._counts()[1]

    @property
    def batches_per_epoch(self) -> int:
        """Mini-batches per epoch of the call running (or the last one to run); 0 before any."""
        return self._counts()[2]


class _Watcher:
    """The process's Ctrl-C watcher: one thread, started by the first training call on the
    main thread and kept (a thread per call cost 0.25 ms of each call, a quarter of a small
    ``partial_fit``). It reads the wakeup fd's pipe and asks every call registered
    (``_CtrlC``) to stop. A forked child, which has no such thread, starts its own."""

    _instance: Optional["_Watcher"] = None
    _creating = threading.Lock()

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.read, self.write = os.pipe()
        os.set_blocking(self.write, False)
        self.lock = threading.Lock()
        self.calls: list[_CtrlC] = []
        self.caught_up = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="minibatch-ctrl-c", daemon=True)
        self.thread.start()

    @classmethod
    def get(cls) -> "_Watcher":
        with cls._creating:
            w = cls._instance
            if w is None or w.pid != os.getpid():
                if w is not None:  # the parent's, in a forked child
                    for fd in (w.read, w.write):
                        try:
                            os.close(fd)
                        except OSError:  # pragma: no cover
                            pass
                w = cls._instance = _Watcher()
            return w

    @classmethod
    def _after_fork_in_child(cls) -> None:
        """A child forked by another thread while the main thread trains inherits the call's
        wakeup fd, the write end of this pipe: its own Ctrl-C went through it to the parent's
        watcher, stopping the parent's training (and, with the call's SIGINT handler, which
        `training._after_fork_in_child` puts back, nothing stopped the child's work). The
        child gets no wakeup fd back where it has this one."""
        w = cls._instance
        if w is None:
            return
        try:
            current = signal.set_wakeup_fd(-1)
            if current != w.write:
                signal.set_wakeup_fd(current)
        except (ValueError, OSError):  # pragma: no cover - not the child's main thread
            pass

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self.read, 64)
            except OSError:  # pragma: no cover
                return
            if not data:  # pragma: no cover - the write end is never closed
                return
            if signal.SIGINT in data:
                with self.lock:
                    for call in self.calls:
                        call.state.interrupted = True
                        call.interrupt.request_stop()
            if 0 in data:  # a call's close: everything written before it has been read
                self.caught_up.set()

    def catch_up(self) -> None:
        """Returns once the thread has read what was written to the pipe before this call."""
        self.caught_up.clear()
        try:
            os.write(self.write, b"\0")
        except OSError:  # pragma: no cover - a full pipe (64 KiB of signals unread)
            return
        self.caught_up.wait(1.0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_Watcher._after_fork_in_child)


class _CtrlC:
    """While a training call runs on the main thread: Ctrl-C asks ``interrupt`` to stop the
    call after its current mini-batch, and marks ``state.interrupted`` (the call then
    raises KeyboardInterrupt).

    Python runs a signal's handler only between bytecodes of the main thread, which is
    inside the C call; its C-level handler writes the signal's number to the wakeup fd
    (``signal.set_wakeup_fd``) at once, so a thread watching that fd (``_Watcher``) makes
    the request. Nothing is installed where a wakeup fd is already in use (asyncio's):
    Ctrl-C then stops the call at the end of the epoch, through the progress callback."""

    def __init__(self, interrupt: Interrupt, state: Any) -> None:
        self.interrupt, self.state = interrupt, state
        self.active = False
        watcher = _Watcher.get()
        try:
            previous = signal.set_wakeup_fd(watcher.write, warn_on_full_buffer=False)
        except (ValueError, OSError):  # pragma: no cover - not the main thread, or embedded
            return
        if previous != -1:
            signal.set_wakeup_fd(previous)
            return
        self.watcher = watcher
        with watcher.lock:
            watcher.calls.append(self)
        self.active = True

    def close(self) -> None:
        """Gives the wakeup fd back (-1) and leaves the watcher, once it has read every
        signal of the call (none is left to stop a later call)."""
        if not self.active:
            return
        self.active = False
        signal.set_wakeup_fd(-1)
        self.watcher.catch_up()
        with self.watcher.lock:
            self.watcher.calls.remove(self)


def interrupt_for(given: Optional[Interrupt]) -> Interrupt:
    """The interrupt of a training call: the one given, else a new one (for Ctrl-C)."""
    if given is None:
        return Interrupt()
    if not isinstance(given, Interrupt):
        raise TypeError(f"interrupt must be a minibatch_gd.Interrupt or None, got {type(given).__name__}")
    return given
