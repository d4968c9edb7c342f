"""Exceptions: one Python type per non-OK ``mb_status``.

=========================  ======================================================
C status                   Python exception (all derive from :class:`MinibatchError`)
=========================  ======================================================
MB_ERR_INVALID_ARGUMENT    :class:`InvalidArgumentError` (also a ``ValueError``)
MB_ERR_OUT_OF_MEMORY       :class:`OutOfMemoryError` (also a ``MemoryError``)
MB_ERR_IO                  :class:`MinibatchIOError` (also an ``OSError``)
MB_ERR_FORMAT              :class:`FormatError`
MB_ERR_DIVERGED            :class:`DivergenceError`
MB_ERR_CANCELLED           :class:`CancelledError`
MB_ERR_INTERNAL            :class:`InternalError` (also a ``RuntimeError``)
MB_ERR_BUSY                :class:`BusyError` (also a ``RuntimeError``)
MB_ERR_COMMUNICATION       :class:`CommunicationError`
=========================  ======================================================

Each carries ``status`` (the int), ``status_name`` (``"MB_ERR_IO"``...), ``function``
(the C function that failed) and, as its message, the text of ``mb_last_error()``.

Wrong shapes and dtypes are caught in Python before any C call and raise plain
``ValueError``/``TypeError``. (``NotFittedError`` lives in :mod:`minibatch_gd.estimators`: it
is scikit-learn's own class when scikit-learn is installed.)
"""

from __future__ import annotations

from typing import Any, Optional

from . import _lib

__all__ = [
    "MinibatchError",
    "InvalidArgumentError",
    "OutOfMemoryError",
    "MinibatchIOError",
    "FormatError",
    "DivergenceError",
    "CancelledError",
    "InternalError",
    "BusyError",
    "CommunicationError",
    "DivergenceWarning",
    "check_status",
]


class MinibatchError(Exception):
    """Base class of every error reported by libminibatch."""

    status: int = -1

    def __init__(
        self,
        message: str = "",
        *,
        status: Optional[int] = None,
        function: str = "",
        status_name: str = "",
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = int(status)
        self.function = function
        self.status_name = status_name or _STATUS_NAMES.get(self.status, "")
        self.message = message
        #: for training errors: the :class:`~minibatch_gd.History` with the costs recorded
        self.history: Any = None

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(MinibatchError, ValueError):
    """MB_ERR_INVALID_ARGUMENT: bad size, shape or value, NaN/Inf in the data, ..."""

    status = int(_lib.Status.ERR_INVALID_ARGUMENT)


class OutOfMemoryError(MinibatchError, MemoryError):
    """MB_ERR_OUT_OF_MEMORY: an allocation failed; nothing was changed."""

    status = int(_lib.Status.ERR_OUT_OF_MEMORY)


class MinibatchIOError(MinibatchError, OSError):
    """MB_ERR_IO: a file could not be opened, read, written, synced or renamed."""

    status = int(_lib.Status.ERR_IO)

    def __init__(self, message: str = "", **kw: Any) -> None:
        MinibatchError.__init__(self, message, **kw)

    def __str__(self) -> str:
        return self.message


class FormatError(MinibatchError):
    """MB_ERR_FORMAT: a model file is truncated, corrupted or of another format."""

    status = int(_lib.Status.ERR_FORMAT)


class DivergenceError(MinibatchError, ArithmeticError):
    """MB_ERR_DIVERGED: a cost or an update became NaN or Inf.

    Training stopped; the model keeps the last weights that gave a finite cost and stays
    usable. From a prediction: an output was NaN or Inf (finite inputs that overflow the
    model's weights); the message names the row.
    """

    status = int(_lib.Status.ERR_DIVERGED)


class CancelledError(MinibatchError):
    """MB_ERR_CANCELLED: the progress callback asked training to stop.

    The model keeps the weights reached at the end of the epoch that just finished.
    """

    status = int(_lib.Status.ERR_CANCELLED)


class InternalError(MinibatchError, RuntimeError):
    """MB_ERR_INTERNAL: a bug in minibatch; please report it."""

    status = int(_lib.Status.ERR_INTERNAL)


class BusyError(MinibatchError, RuntimeError):
    """MB_ERR_BUSY: the network or history is in use by a training call: it was trained,
    changed or cleared from that call's progress callback, or used from another thread
    while it trains. Nothing was changed."""

    status = int(_lib.Status.ERR_BUSY)


class CommunicationError(MinibatchError):
    """MB_ERR_COMMUNICATION: distributed training: a communicator function failed on this
    rank. What the other ranks then do is the transport's (MPI's default: abort them all).

    With a :class:`minibatch_gd.mpi.Communicator` the message ends with the Python exception
    its callback caught, which is also this error's ``__cause__``.
    """

    status = int(_lib.Status.ERR_COMMUNICATION)


class DivergenceWarning(RuntimeWarning):
    """Emitted by the estimators (``on_divergence="warn"``) when training diverged."""


_STATUS_NAMES = {
    0: "MB_OK",
    1: "MB_ERR_INVALID_ARGUMENT",
    2: "MB_ERR_OUT_OF_MEMORY",
    3: "MB_ERR_IO",
    4: "MB_ERR_FORMAT",
    5: "MB_ERR_DIVERGED",
    6: "MB_ERR_CANCELLED",
    7: "MB_ERR_INTERNAL",
    8: "MB_ERR_BUSY",
    9: "MB_ERR_COMMUNICATION",
}

_BY_STATUS: dict[int, type[MinibatchError]] = {
    1: InvalidArgumentError,
    2: OutOfMemoryError,
    3: MinibatchIOError,
    4: FormatError,
    5: DivergenceError,
    6: CancelledError,
    7: InternalError,
    8: BusyError,
    9: CommunicationError,
}

def error_for(status: int, function: str = "") -> MinibatchError:
    """Builds (does not raise) the exception for a non-OK status of ``function``."""
    message = _lib.last_error()
    try:
        name = _lib.status_name(status)
    except Exception:  # pragma: no cover
        name = _STATUS_NAMES.get(int(status), "unknown status")
    cls = _BY_STATUS.get(int(status))
    if cls is None:
        cls = InternalError
        message = f"{function} returned an unknown status {int(status)}: {message}"
    if not message:
        message = f"{function} failed with {name}"
    return cls(message, status=int(status), function=function, status_name=name)


def check_status(status: int, function: str) -> None:
    """Raises the matching exception when ``status`` is not MB_OK."""
    if status != 0:
        raise error_for(status, function)

