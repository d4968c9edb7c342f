"""The costs training records (``mb_history``)."""

from __future__ import annotations

import ctypes

import numpy as np

from . import _lib
from ._handle import _Handle
from ._validation import ptr
from .errors import check_status

__all__ = ["History"]


class History(_Handle):
    """The costs training produces (``mb_history``): one per mini-batch and per epoch.

    Pass the same History to several :meth:`Network.train` calls to accumulate.
    """

    _free_name = "mb_history_free"

    def __init__(self) -> None:
        h = ctypes.c_void_p()
        check_status(_lib.lib().mb_history_create(ctypes.byref(h)), "mb_history_create")
        super().__init__(h.value)

    def _costs(self, fn_name: str) -> np.ndarray:
        fn = getattr(_lib.lib(), fn_name)
        with self._lock:
            h = self._h()
            count = ctypes.c_int64()
            check_status(fn(h, None, 0, ctypes.byref(count)), fn_name)
            out = np.empty(count.value, dtype=np.float64)
            if count.value:
                check_status(
                    fn(h, ptr(out, ctypes.c_double), count.value, ctypes.byref(count)),
                    fn_name,
                )
            return out[: count.value]

    @property
    def batch_costs(self) -> np.ndarray:
        """float64 array: the cost of every mini-batch, in order (a copy)."""
        return self._costs("mb_history_batch_costs")

    @property
    def epoch_costs(self) -> np.ndarray:
        """float64 array: the size-weighted mean batch cost of every epoch (a copy)."""
        return self._costs("mb_history_epoch_costs")

    @property
    def validation_costs(self) -> np.ndarray:
        """float64 array, one per epoch: the validation cost after it (NaN without a
        validation set)."""
        return self._costs("mb_history_validation_costs")

    @property
    def validation_scores(self) -> np.ndarray:
        """float64 array, one per epoch: the validation accuracy after it (R^2 for MSE and Poisson;
        NaN without a validation set)."""
        return self._costs("mb_history_validation_scores")

    @property
    def learning_rates(self) -> np.ndarray:
        """float64 array, one per epoch: the learning rate it trained with (its first
        batch's with ``schedule_per_batch``)."""
        return self._costs("mb_history_learning_rates")

    def clear(self) -> None:
        """Removes all recorded costs."""
        with self._lock:
            check_status(_lib.lib().mb_history_clear(self._h()), "mb_history_clear")

    def __repr__(self) -> str:
        if self.closed:
            return "History(closed)"
        return f"History(batches={len(self.batch_costs)}, epochs={len(self.epoch_costs)})"
