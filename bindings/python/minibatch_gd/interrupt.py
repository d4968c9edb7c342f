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


class _CtrlC:
    """While a training call runs on the main thread: Ctrl-C asks ``interrupt`` to stop the
    call after its current mini-batch, and marks ``state.interrupted`` (the call then
    raises KeyboardInterrupt).

    Python runs a signal's handler only between bytecodes of the main thread, which is
    inside the C call; its C-level handler writes the signal's number to the wakeup fd
    (``signal.set_wakeup_fd``) at once, so a thread watching that fd makes the request.
    Nothing is installed where a wakeup fd is already in use (asyncio's): Ctrl-C then stops
    the call at the end of the epoch, through the progress callback."""

    def __init__(self, interrupt: Interrupt, state: Any) -> None:
        self.interrupt, self.state = interrupt, state
        self.active = False
        self.closing = False
        self.read, self.write = os.pipe()
        os.set_blocking(self.write, False)
        try:
            previous = signal.set_wakeup_fd(self.write, warn_on_full_buffer=False)
        except (ValueError, OSError):  # pragma: no cover - not the main thread, or embedded
            previous = None
        if previous != -1:
            if previous is not None:
                signal.set_wakeup_fd(previous)
            self._close_fds()
            return
        self.active = True
        self.thread = threading.Thread(target=self._watch, name="minibatch-ctrl-c", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self.read, 64)
            except OSError:  # pragma: no cover
                return
            if not data or self.closing:
                return
            if signal.SIGINT in data:
                self.state.interrupted = True
                self.interrupt.request_stop()

    def close(self) -> None:
        """Gives the wakeup fd back (-1) and stops the watcher."""
        if not self.active:
            return
        self.active = False
        signal.set_wakeup_fd(-1)
        self.closing = True
        os.write(self.write, b"\0")
        self.thread.join()
        self._close_fds()

    def _close_fds(self) -> None:
        for fd in (self.read, self.write):
            try:
                os.close(fd)
            except OSError:  # pragma: no cover
                pass


def interrupt_for(given: Optional[Interrupt]) -> Interrupt:
    """The interrupt of a training call: the one given, else a new one (for Ctrl-C)."""
    if given is None:
        return Interrupt()
    if not isinstance(given, Interrupt):
        raise TypeError(f"interrupt must be a minibatch_gd.Interrupt or None, got {type(given).__name__}")
    return given
