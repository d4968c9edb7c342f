"""The base of the binding's objects that own a C handle (a model, a history, a dataset, an
interrupt): each frees it on :meth:`close`, on leaving a ``with`` block, or when garbage
collected (whichever comes first; closing twice is harmless)."""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import Any, Optional

from . import _lib
from .errors import InternalError


class _Handle:
    """Owns one C pointer and frees it exactly once (close, context exit, or GC)."""

    _free_name = ""

    def __init__(self, handle: Optional[int]) -> None:
        if not handle:
            raise InternalError(f"the library returned a NULL {type(self).__name__} handle with MB_OK")
        self._handle: Optional[int] = handle
        free = getattr(_lib.lib(), self._free_name)
        self._finalizer = weakref.finalize(self, free, ctypes.c_void_p(handle))
        self._lock = threading.RLock()

    @property
    def closed(self) -> bool:
        """True once the handle has been freed."""
        return self._handle is None

    def close(self) -> None:
        """Frees the C object now. Safe to call more than once."""
        with self._lock:
            self._handle = None
            self._finalizer()

    # A copy would share the C object and the finalizer that frees it: closing (or
    # collecting) either would leave the other reading freed memory. Refused, with a
    # message, for copy.copy, copy.deepcopy and pickle alike (Network defines its own: a
    # model can be copied through its file format).
    def __copy__(self) -> Any:
        raise TypeError(f"{type(self).__name__} objects cannot be copied: each owns a C object (make a new one)")

    def __deepcopy__(self, memo: Any) -> Any:
        return self.__copy__()

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self).__name__} objects cannot be pickled: each owns a C object (make a new one)")

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _h(self) -> int:
        h = self._handle
        if h is None:
            raise ValueError(f"this {type(self).__name__} is closed")
        return h
