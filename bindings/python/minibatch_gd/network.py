"""High layer: :class:`Network` and :class:`History`, Python objects that own C handles.

Both free their handle on :meth:`close`, on leaving a ``with`` block, or when garbage
collected (whichever comes first; closing twice is harmless).
"""

from __future__ import annotations

import ctypes
import os
import signal
import tempfile
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import _lib
from ._validation import (
    as_class_indices,
    as_float32_matrix,
    as_positive_int,
    as_nonneg_int,
    as_seed,
    ptr,
)
from .errors import InternalError, check_status, error_for

__all__ = [
    "Network",
    "History",
    "Dataset",
    "Progress",
    "LayerInfo",
    "activation_from",
    "loss_from",
    "init_from",
]

ArrayLike = Any
PathLike = Union[str, "os.PathLike[str]"]

# ------------------------------------------------------------------------------------
# Names <-> enums
# ------------------------------------------------------------------------------------

_ACTIVATIONS = {
    "linear": _lib.Activation.LINEAR,
    "identity": _lib.Activation.LINEAR,
    "relu": _lib.Activation.RELU,
    "tanh": _lib.Activation.TANH,
    "sigmoid": _lib.Activation.SIGMOID,
    "logistic": _lib.Activation.SIGMOID,
}
_LOSSES = {
    "mse": _lib.Loss.MSE,
    "squared_error": _lib.Loss.MSE,
    "binary_cross_entropy": _lib.Loss.BINARY_CROSS_ENTROPY,
    "bce": _lib.Loss.BINARY_CROSS_ENTROPY,
    "cross_entropy": _lib.Loss.CROSS_ENTROPY,
    "softmax": _lib.Loss.CROSS_ENTROPY,
}
_INITS = {
    "auto": _lib.Init.AUTO,
    "he": _lib.Init.HE,
    "xavier": _lib.Init.XAVIER,
    "glorot": _lib.Init.XAVIER,
}
_DISTRIBUTED_MODES = {
    "deterministic": _lib.DistributedMode.DETERMINISTIC,
    "fast": _lib.DistributedMode.FAST,
}


def _enum_from(value: Any, table: dict, enum_cls: type, what: str) -> Any:
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        key = value.lower()
        if key in table:
            return table[key]
        raise ValueError(f"unknown {what} {value!r}; expected one of {sorted(table)}")
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        try:
            return enum_cls(int(value))
        except ValueError:
            pass
    raise ValueError(f"unknown {what} {value!r}; expected one of {sorted(table)}")


def activation_from(value: Any) -> _lib.Activation:
    """'relu', 'tanh', 'sigmoid'/'logistic', 'linear'/'identity' or an Activation."""
    return _enum_from(value, _ACTIVATIONS, _lib.Activation, "activation")


def loss_from(value: Any) -> _lib.Loss:
    """'mse', 'binary_cross_entropy', 'cross_entropy' or a Loss."""
    return _enum_from(value, _LOSSES, _lib.Loss, "loss")


def init_from(value: Any) -> _lib.Init:
    """'auto', 'he', 'xavier' or an Init."""
    return _enum_from(value, _INITS, _lib.Init, "init")


# ------------------------------------------------------------------------------------
# Small records
# ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """What a progress callback is told after every epoch (``mb_progress``)."""

    epoch: int  #: epochs completed in this call, 1 .. epochs
    epochs: int  #: epochs asked for in this call
    epochs_trained: int  #: over the model's life, this epoch included
    batch_size: int  #: the batch size in use (resolved if 'auto')
    batches: int  #: mini-batches in this epoch
    epoch_cost: float  #: mean cost of this epoch's batches, weighted by size
    last_batch_cost: float  #: cost of its last batch
    learning_rate: float = float("nan")  #: the rate this epoch trained with (after the schedule)
    validation_cost: float = float("nan")  #: after this epoch; NaN without a validation set
    validation_score: float = float("nan")  #: accuracy (R^2 for MSE); NaN without one


@dataclass(frozen=True)
class LayerInfo:
    """One layer (``mb_layer_info``): W is (n_out, n_in) at weight_offset, b at bias_offset."""

    n_in: int
    n_out: int
    activation: _lib.Activation
    weight_offset: int
    bias_offset: int


# ------------------------------------------------------------------------------------
# Handles
# ------------------------------------------------------------------------------------


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

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _h(self) -> int:
        h = self._handle
        if h is None:
            raise ValueError(f"this {type(self).__name__} is closed")
        return h


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
        """float64 array, one per epoch: the validation accuracy after it (R^2 for MSE;
        NaN without a validation set)."""
        return self._costs("mb_history_validation_scores")

    @property
    def learning_rates(self) -> np.ndarray:
        """float64 array, one per epoch: the learning rate it trained with."""
        return self._costs("mb_history_learning_rates")

    def clear(self) -> None:
        """Removes all recorded costs."""
        with self._lock:
            check_status(_lib.lib().mb_history_clear(self._h()), "mb_history_clear")

    def __repr__(self) -> str:
        if self.closed:
            return "History(closed)"
        return f"History(batches={len(self.batch_costs)}, epochs={len(self.epoch_costs)})"


TargetArray = tuple  # (array, mb_targets)


def _validation_in_use(validation: Any) -> Any:
    """Holds a validation Dataset for a training call (nothing for arrays or None)."""
    import contextlib

    return validation._in_use() if isinstance(validation, Dataset) else contextlib.nullcontext()


class _TrainState:
    """Bridges the C progress callback to Python: user callback, exceptions, Ctrl-C."""

    def __init__(self, callback: Optional[Callable[[Progress], Any]]) -> None:
        self.callback = callback
        self.c_callback: Any = None
        self.exc: Optional[BaseException] = None
        self.interrupted = False
        self.last: Optional[Progress] = None
        self.keep: Any = None
        self.communicator: Any = None
        self.interrupt: Any = None  # the call's mb_interrupt (minibatch_gd.Interrupt)
        self.own_interrupt = True

    def __call__(self, p: Any, user_data: Any) -> int:
        try:
            c = p.contents
            progress = Progress(
                int(c.epoch),
                int(c.epochs),
                int(c.epochs_trained),
                int(c.batch_size),
                int(c.batches),
                float(c.epoch_cost),
                float(c.last_batch_cost),
                float(c.learning_rate),
                float(c.validation_cost),
                float(c.validation_score),
            )
            self.last = progress
            if self.interrupted:
                return 1
            if self.callback is not None:
                stop = self.callback(progress)
                if self.interrupted:
                    return 1
                return 1 if stop else 0
            return 0
        except BaseException as e:  # noqa: BLE001 - includes KeyboardInterrupt
            self.exc = e
            return 1

    def on_sigint(self, signum: int, frame: Any) -> None:
        self.interrupted = True


class Network(_Handle):
    """A fully connected network (``mb_model``) owning its C handle.

    Parameters
    ----------
    layer_sizes
        ``[n_inputs, hidden..., n_outputs]``, at least two sizes.
    hidden_activation
        Activation of every hidden layer: 'relu' (default), 'tanh', 'sigmoid' or
        'linear' (aliases 'logistic', 'identity').
    activations
        One activation per hidden layer, instead of ``hidden_activation``.
    loss
        'cross_entropy' (softmax outputs, default), 'binary_cross_entropy' (sigmoid
        outputs) or 'mse' (linear outputs).
    init
        'auto' (He before ReLU, Xavier otherwise), 'he' or 'xavier'.
    seed
        Seeds the initial weights (stream ``(seed, MB_STREAM_INIT)``), 0 .. 2**64-1.

    Two sizes and 'mse' is linear regression; with 'binary_cross_entropy' logistic
    regression; with 'cross_entropy' softmax regression.
    """

    _free_name = "mb_model_free"

    def __init__(
        self,
        layer_sizes: Sequence[int],
        *,
        hidden_activation: Any = "relu",
        activations: Optional[Sequence[Any]] = None,
        loss: Any = "cross_entropy",
        init: Any = "auto",
        seed: int = 0,
    ) -> None:
        sizes = [as_positive_int(s, "layer size") for s in layer_sizes]
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes needs at least 2 sizes, got {len(sizes)}")
        if any(s > 2**31 - 1 for s in sizes):
            raise ValueError("every layer size must be at most 2**31 - 1")
        loss_e = loss_from(loss)
        if loss_e == _lib.Loss.CROSS_ENTROPY and sizes[-1] < 2:
            raise ValueError("loss 'cross_entropy' (softmax) needs at least 2 outputs")
        opts = _lib.mb_model_options()
        _lib.lib().mb_model_options_init(ctypes.byref(opts))
        opts.hidden_activation = int(activation_from(hidden_activation))
        acts_arr = None
        if activations is not None:
            acts = [int(activation_from(a)) for a in activations]
            if len(acts) != len(sizes) - 2:
                raise ValueError(
                    f"activations needs one entry per hidden layer ({len(sizes) - 2}),"
                    f" got {len(acts)}"
                )
            if acts:
                acts_arr = (ctypes.c_int * len(acts))(*acts)
                opts.activations = ctypes.cast(acts_arr, ctypes.POINTER(ctypes.c_int))
        opts.loss = int(loss_e)
        opts.init = int(init_from(init))
        opts.seed = as_seed(seed)
        c_sizes = (ctypes.c_int64 * len(sizes))(*sizes)
        h = ctypes.c_void_p()
        st = _lib.lib().mb_model_create(c_sizes, len(sizes), ctypes.byref(opts), ctypes.byref(h))
        check_status(st, "mb_model_create")
        super().__init__(h.value)

    @classmethod
    def _from_handle(cls, handle: Optional[int]) -> "Network":
        self = cls.__new__(cls)
        _Handle.__init__(self, handle)
        return self

    # -- files and copies --------------------------------------------------------------

    @classmethod
    def load(cls, path: PathLike) -> "Network":
        """Reads a model written by :meth:`save` (MinibatchIOError, FormatError)."""
        h = ctypes.c_void_p()
        check_status(
            _lib.lib().mb_model_load(os.fsencode(os.fspath(path)), ctypes.byref(h)),
            "mb_model_load",
        )
        return cls._from_handle(h.value)

    def save(self, path: PathLike) -> None:
        """Writes the model to ``path`` atomically (temporary file, fsync, rename)."""
        with self._lock:
            check_status(
                _lib.lib().mb_model_save(self._h(), os.fsencode(os.fspath(path))),
                "mb_model_save",
            )

    def to_bytes(self) -> bytes:
        """The model file (format version 1) as bytes."""
        with tempfile.TemporaryDirectory(prefix="minibatch-") as d:
            p = os.path.join(d, "model.mbm")
            self.save(p)
            with open(p, "rb") as f:
                return f.read()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Network":
        """Inverse of :meth:`to_bytes`."""
        with tempfile.TemporaryDirectory(prefix="minibatch-") as d:
            p = os.path.join(d, "model.mbm")
            with open(p, "wb") as f:
                f.write(data)
            return cls.load(p)

    def __reduce__(self) -> Any:
        return (Network.from_bytes, (self.to_bytes(),))

    def copy(self) -> "Network":
        """An independent copy (same weights, same epochs_trained)."""
        return Network.from_bytes(self.to_bytes())

    __copy__ = copy

    def __deepcopy__(self, memo: Any) -> "Network":
        return self.copy()

    # -- description ----------------------------------------------------------------

    def _info(self) -> _lib.mb_model_info:
        info = _lib.mb_model_info()
        with self._lock:
            check_status(_lib.lib().mb_model_get_info(self._h(), ctypes.byref(info)), "mb_model_get_info")
        return info

    @property
    def n_inputs(self) -> int:
        return int(self._info().n_inputs)

    @property
    def n_outputs(self) -> int:
        return int(self._info().n_outputs)

    @property
    def n_parameters(self) -> int:
        return int(self._info().n_parameters)

    @property
    def epochs_trained(self) -> int:
        """Epochs completed over the model's life (continues the shuffle stream)."""
        return int(self._info().epochs_trained)

    @property
    def loss(self) -> _lib.Loss:
        return _lib.Loss(int(self._info().loss))

    def layer(self, i: int) -> LayerInfo:
        """Layer ``i`` (0 maps inputs to the first hidden layer)."""
        li = _lib.mb_layer_info()
        with self._lock:
            check_status(_lib.lib().mb_model_layer(self._h(), int(i), ctypes.byref(li)), "mb_model_layer")
        return LayerInfo(
            int(li.n_in),
            int(li.n_out),
            _lib.Activation(int(li.activation)),
            int(li.weight_offset),
            int(li.bias_offset),
        )

    @property
    def layers(self) -> list[LayerInfo]:
        n = int(self._info().n_layers)
        return [self.layer(i) for i in range(n - 1)]

    @property
    def layer_sizes(self) -> list[int]:
        ls = self.layers
        return [ls[0].n_in] + [layer.n_out for layer in ls]

    def __repr__(self) -> str:
        if self.closed:
            return "Network(closed)"
        return (
            f"Network(layer_sizes={self.layer_sizes}, loss={self.loss.name.lower()},"
            f" epochs_trained={self.epochs_trained})"
        )

    # -- parameters -----------------------------------------------------------------

    def get_parameters(self) -> np.ndarray:
        """A float32 copy of the flat parameter buffer (per layer: W row-major, then b)."""
        with self._lock:
            n = self.n_parameters
            out = np.empty(n, dtype=np.float32)
            check_status(
                _lib.lib().mb_model_get_parameters(self._h(), ptr(out, ctypes.c_float), n),
                "mb_model_get_parameters",
            )
            return out

    def set_parameters(self, params: ArrayLike) -> None:
        """Replaces all parameters from a flat array of ``n_parameters`` finite values."""
        p = np.asarray(params)
        if p.ndim != 1:
            raise ValueError(f"params must be 1-D, got shape {p.shape}")
        if p.dtype.kind not in "biuf":
            raise TypeError(f"params must be numeric, got dtype {p.dtype}")
        with self._lock:
            n = self.n_parameters
            if p.shape[0] != n:
                raise ValueError(f"params must have n_parameters = {n} values, got {p.shape[0]}")
            p32 = np.ascontiguousarray(p, dtype=np.float32)
            check_status(
                _lib.lib().mb_model_set_parameters(self._h(), ptr(p32, ctypes.c_float), n),
                "mb_model_set_parameters",
            )

    def get_weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(W, b), ...]`` per layer, W of shape (n_out, n_in) (copies)."""
        params = self.get_parameters()
        out = []
        for layer in self.layers:
            w = params[layer.weight_offset : layer.weight_offset + layer.n_out * layer.n_in]
            b = params[layer.bias_offset : layer.bias_offset + layer.n_out]
            out.append((w.reshape(layer.n_out, layer.n_in).copy(), b.copy()))
        return out

    def set_weights(self, weights: Sequence[tuple[ArrayLike, ArrayLike]]) -> None:
        """Inverse of :meth:`get_weights`."""
        layers = self.layers
        if len(weights) != len(layers):
            raise ValueError(f"expected {len(layers)} (W, b) pairs, got {len(weights)}")
        params = self.get_parameters()
        for layer, (w, b) in zip(layers, weights):
            w = np.asarray(w, dtype=np.float32)
            b = np.asarray(b, dtype=np.float32)
            if w.shape != (layer.n_out, layer.n_in) or b.shape != (layer.n_out,):
                raise ValueError(
                    f"layer expects W {(layer.n_out, layer.n_in)} and b {(layer.n_out,)},"
                    f" got {w.shape} and {b.shape}"
                )
            params[layer.weight_offset : layer.weight_offset + w.size] = w.ravel()
            params[layer.bias_offset : layer.bias_offset + b.size] = b
        self.set_parameters(params)

    # -- data ------------------------------------------------------------------------

    def _x(self, X: ArrayLike) -> np.ndarray:
        return as_float32_matrix(X, "X", n_features=self.n_inputs)

    def _targets(self, y: ArrayLike, m: int) -> tuple[np.ndarray, int]:
        """(array, mb_targets) for the model's loss; shape checks in Python."""
        if y is None:
            raise ValueError("y is None; expected targets")
        ya = np.asarray(y)
        if np.iscomplexobj(ya):
            raise ValueError("Complex data not supported in y")
        info = self._info()
        loss = _lib.Loss(int(info.loss))
        n_out = int(info.n_outputs)
        if ya.dtype.kind in "biu" and ya.ndim == 1 and loss != _lib.Loss.MSE:
            if loss == _lib.Loss.BINARY_CROSS_ENTROPY and n_out != 1:
                raise ValueError(
                    "class indices work with binary cross-entropy only for one output;"
                    f" this model has {n_out}: pass float targets of shape (m, {n_out})"
                )
            if ya.shape[0] != m:
                raise ValueError(f"y has {ya.shape[0]} rows but X has {m}")
            n_classes = n_out if loss == _lib.Loss.CROSS_ENTROPY else 2
            return as_class_indices(ya, n_classes), int(_lib.Targets.CLASS_INDEX)
        if ya.dtype.kind not in "biuf":
            if ya.dtype.kind == "O":
                ya = ya.astype(np.float64)
            else:
                raise TypeError(f"y must be numeric, got dtype {ya.dtype}")
        if ya.ndim == 1:
            if n_out != 1:
                raise ValueError(
                    f"y is 1-D but the model has {n_out} outputs: pass integer class"
                    f" indices (cross-entropy) or a float array of shape (m, {n_out})"
                )
            ya = ya.reshape(-1, 1)
        if ya.ndim != 2 or ya.shape != (m, n_out):
            raise ValueError(f"y must have shape ({m}, {n_out}), got {ya.shape}")
        if ya.dtype == np.float32 and ya.flags.c_contiguous and ya.flags.aligned:
            return ya, int(_lib.Targets.FLOAT32)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.ascontiguousarray(ya, dtype=np.float32), int(_lib.Targets.FLOAT32)

    # -- forward ---------------------------------------------------------------------

    def predict(self, X: Union[ArrayLike, "Dataset"]) -> np.ndarray:
        """Outputs (m, n_outputs) float32: probabilities for the cross-entropy losses
        (softmax rows / sigmoid units), values for MSE.

        ``X`` may be a :class:`Dataset`: its X file is then read in order, in chunks within
        the dataset's memory budget, never loaded whole (``mb_predict_dataset``); the result
        is the same, bit for bit, as predicting the rows in memory. An output that is NaN or
        Inf raises :class:`DivergenceError` naming the row (as every prediction does)."""
        if isinstance(X, Dataset):
            return self._predict_dataset(X, classes=False)
        x = self._x(X)
        m, n = x.shape
        with self._lock:
            out = np.empty((m, self.n_outputs), dtype=np.float32)
            check_status(
                _lib.lib().mb_predict(self._h(), ptr(x, ctypes.c_float), m, n, ptr(out, ctypes.c_float)),
                "mb_predict",
            )
        return out

    def predict_classes(self, X: Union[ArrayLike, "Dataset"]) -> np.ndarray:
        """int32 (m,): argmax of the softmax, or sigmoid output >= 0.5 (one output).
        ``X`` may be a :class:`Dataset`, as for :meth:`predict`."""
        if isinstance(X, Dataset):
            return self._predict_dataset(X, classes=True)
        x = self._x(X)
        m, n = x.shape
        out = np.empty(m, dtype=np.int32)
        with self._lock:
            check_status(
                _lib.lib().mb_predict_classes(self._h(), ptr(x, ctypes.c_float), m, n, ptr(out, ctypes.c_int32)),
                "mb_predict_classes",
            )
        return out

    def _predict_dataset(self, dataset: "Dataset", *, classes: bool) -> np.ndarray:
        info = dataset._info()
        if info.n_features != self.n_inputs:
            raise ValueError(
                f"the dataset has {info.n_features} features, but the model is expecting"
                f" {self.n_inputs} features as input"
            )
        m = int(info.m)
        with self._lock, dataset._in_use():
            if classes:
                out = np.empty(m, dtype=np.int32)
                status = _lib.lib().mb_predict_classes_dataset(self._h(), dataset._h(), ptr(out, ctypes.c_int32), m)
                check_status(status, "mb_predict_classes_dataset")
            else:
                out = np.empty((m, self.n_outputs), dtype=np.float32)
                status = _lib.lib().mb_predict_dataset(self._h(), dataset._h(), ptr(out, ctypes.c_float), out.size)
                check_status(status, "mb_predict_dataset")
        return out

    def predict_to_file(self, x_path: PathLike, out_path: PathLike, classes: bool = False,
                        memory_budget: int = 0) -> None:
        """Predicts every row of the ``.npy`` file ``x_path`` (float32 (m, n_inputs)) and
        writes the results to the ``.npy`` file ``out_path``: float32 (m, n_outputs), what
        :meth:`predict` gives, or with ``classes=True`` int32 (m,), what
        :meth:`predict_classes` gives (``mb_predict_npy``).

        X is read in order, in chunks within ``memory_budget`` bytes (0: the library's
        default, a quarter of the memory this process may use, 4 to 256 MiB), so it may be
        larger than memory. The output appears complete, atomically, or not at all."""
        budget = as_nonneg_int(memory_budget, "memory_budget")
        with self._lock:
            check_status(
                _lib.lib().mb_predict_npy(
                    self._h(), os.fsencode(os.fspath(x_path)), os.fsencode(os.fspath(out_path)),
                    1 if classes else 0, budget,
                ),
                "mb_predict_npy",
            )

    def evaluate(self, X: ArrayLike, y: ArrayLike) -> tuple[float, float]:
        """(mean cost, accuracy) over all rows; accuracy is NaN for MSE."""
        x = self._x(X)
        m, n = x.shape
        ya, yt = self._targets(y, m)
        cost = ctypes.c_double()
        acc = ctypes.c_double()
        with self._lock:
            check_status(
                _lib.lib().mb_evaluate(
                    self._h(), ptr(x, ctypes.c_float), ptr(ya), yt, m, n,
                    ctypes.byref(cost), ctypes.byref(acc),
                ),
                "mb_evaluate",
            )
        return float(cost.value), float(acc.value)

    def gradient(self, X: ArrayLike, y: ArrayLike) -> tuple[float, np.ndarray]:
        """(cost, flat float32 gradient) of one batch made of all rows; no update."""
        x = self._x(X)
        m, n = x.shape
        ya, yt = self._targets(y, m)
        cost = ctypes.c_double()
        with self._lock:
            count = self.n_parameters
            grad = np.empty(count, dtype=np.float32)
            check_status(
                _lib.lib().mb_gradient(
                    self._h(), ptr(x, ctypes.c_float), ptr(ya), yt, m, n,
                    ctypes.byref(cost), ptr(grad, ctypes.c_float), count,
                ),
                "mb_gradient",
            )
        return float(cost.value), grad

    # -- training --------------------------------------------------------------------

    def auto_batch_size(self, m: int, memory_budget: int = 0) -> int:
        """The batch size 'auto' resolves to for m examples (mb_auto_batch_size)."""
        m = as_positive_int(m, "m")
        budget = as_nonneg_int(memory_budget, "memory_budget")
        out = ctypes.c_int64()
        with self._lock:
            check_status(
                _lib.lib().mb_auto_batch_size(self._h(), m, budget, ctypes.byref(out)),
                "mb_auto_batch_size",
            )
        return int(out.value)

    def working_memory(self, batch_size: int) -> int:
        """Estimated bytes training allocates for one batch size (mb_working_memory)."""
        b = as_positive_int(batch_size, "batch_size")
        out = ctypes.c_size_t()
        with self._lock:
            check_status(
                _lib.lib().mb_working_memory(self._h(), b, ctypes.byref(out)),
                "mb_working_memory",
            )
        return int(out.value)

    def train(
        self,
        X: Any,
        y: ArrayLike = None,
        *,
        epochs: int = 10,
        batch_size: Union[int, str] = "auto",
        learning_rate: float = 0.01,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
        memory_budget: int = 0,
        callback: Optional[Callable[[Progress], Any]] = None,
        history: Optional[History] = None,
        threads: int = 0,
        optimizer: Any = None,
        schedule: Any = None,
        l2: float = 0.0,
        clip_norm: float = 0.0,
        early_stopping: Any = None,
        validation: Optional[tuple] = None,
        validation_fraction: float = 0.0,
        sample_weight: ArrayLike = None,
        communicator: Any = None,
        distributed_mode: Any = "deterministic",
        shards: int = 0,
        interrupt: Any = None,
    ) -> History:
        """Mini-batch gradient descent (mb_train) for ``epochs`` epochs.

        Epoch ``e`` (counted over the model's life, see :attr:`epochs_trained`) visits
        the rows in ``permutation(m, seed, e)``, so two calls of 5 epochs equal one of 10.

        ``y``: integer class indices (m,) for the cross-entropy losses (0/1 for binary
        cross-entropy with one output), or float targets (m, n_outputs) (1-D allowed
        for one output). ``X`` may also be a :class:`Dataset` (then ``y`` is None).

        With one batch of all m rows (``batch_size=m``, or 'auto' for m < 2000) the rows
        are used in their stored order (the library does not permute a single batch).

        ``threads``: threads that share each mini-batch (0: as many as OpenBLAS uses).
        The same seed gives bit-identical weights for the same thread count.

        ``optimizer``: the update rule, an object of :mod:`minibatch_gd.optim` (``SGD``,
        ``RMSprop``, ``Adam``, ``AdamW``) or its name; default plain gradient descent.
        ``schedule``: the learning rate per epoch (``Constant``, ``Step``,
        ``Exponential``, ``InverseTime``, ``Cosine``, ``Adaptive`` or a name).
        ``l2``: scikit-learn's ``alpha`` (0.5 * l2 * sum(W**2) / batch rows added to each
        batch's cost). ``clip_norm``: clip the gradient by its global norm (0: off).
        ``early_stopping``: a :class:`minibatch_gd.optim.EarlyStopping` (None: run every
        epoch). ``validation``: ``(X_val, y_val)`` or a :class:`Dataset`, evaluated after every epoch (the
        history's ``validation_costs`` and ``validation_scores``), the cost early stopping
        watches. ``validation_fraction``: hold out that fraction of the rows instead (seeded
        by ``seed``, stratified by class; the header's ``mb_train_options`` states the rule).
        The rule's state stays with the network, so a later call (or a file saved and
        loaded) continues the same run. ``sample_weight``: (m,) weights of the rows, each
        batch's cost then sum(w * loss) / sum(w) (scikit-learn's meaning; arrays only).

        Distributed training (data parallelism over processes; the header's "Distributed
        training" block): ``communicator`` is a :class:`minibatch_gd.mpi.Communicator` (or an
        ``mb_communicator`` of another transport); every rank makes the same call with the
        same data, options and model and computes its own shards of each mini-batch.
        ``shards``: a mini-batch is cut into at most this many shards, and the result
        depends on shards, never on threads (also in one process, without a communicator);
        0: threads times the ranks. ``distributed_mode``: 'deterministic' (default) gives
        weights, training state and history bit-identical to one process with the same
        ``shards`` and no communicator, whatever the ranks and their threads; 'fast' adds
        the ranks' gradients with one allreduce per mini-batch, equal to one process up
        to rounding. The ranks' options and models must agree, and an error on one rank
        is raised on every rank (its message prefixed "rank k: ").

        ``callback(progress)`` runs after every epoch; a truthy return value stops
        training (:class:`CancelledError`); an exception raised in it also stops training
        after the current epoch and is re-raised here. ``interrupt``: a
        :class:`minibatch_gd.Interrupt` whose :meth:`~Interrupt.request_stop`, from any
        thread, stops training after the current mini-batch (:class:`CancelledError`; the
        interrupted epoch is not counted in :attr:`epochs_trained`: the header's
        ``mb_interrupt``). Ctrl-C makes that request too (on the main thread), and
        ``KeyboardInterrupt`` is raised here. In every case the model keeps the weights
        reached and ``history`` keeps the costs recorded.

        Returns ``history`` (a new :class:`History` if None was given). Raises
        :class:`DivergenceError` (weights: last finite ones) or :class:`CancelledError`,
        each with the history attached as ``.history``.
        """
        if isinstance(X, Dataset):
            if y is not None:
                raise ValueError("y must be None when X is a Dataset (the targets are in its file)")
            if sample_weight is not None:
                raise ValueError("sample_weight applies to arrays, not to a Dataset")
            return self.train_dataset(
                X, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                seed=seed, shuffle=shuffle, drop_last=drop_last, memory_budget=memory_budget,
                callback=callback, history=history, threads=threads, optimizer=optimizer,
                schedule=schedule, l2=l2, clip_norm=clip_norm, early_stopping=early_stopping,
                validation=validation, validation_fraction=validation_fraction,
                communicator=communicator, distributed_mode=distributed_mode, shards=shards,
                interrupt=interrupt,
            )
        x = self._x(X)
        m, n = x.shape
        ya, yt = self._targets(y, m)
        opts, state, history = self._train_options(
            m, epochs, batch_size, learning_rate, seed, shuffle, drop_last, memory_budget,
            callback, history, threads, interrupt,
        )
        self._fill_rule(opts, state, optimizer, schedule, l2, clip_norm, early_stopping, validation,
                        validation_fraction)
        self._fill_distributed(opts, state, communicator, distributed_mode, shards)
        if sample_weight is not None:
            sw = np.ascontiguousarray(sample_weight, dtype=np.float32)
            if sw.shape != (m,):
                raise ValueError(f"sample_weight must have shape ({m},), got {sw.shape}")
            state.keep_weights = sw  # alive for the call
            opts.sample_weight = sw.ctypes.data

        def run() -> int:
            with _validation_in_use(validation):
                return int(_lib.lib().mb_train(
                    self._h(), ptr(x, ctypes.c_float), ptr(ya), yt, m, n,
                    ctypes.byref(opts), history._h(),
                ))

        return self._run_training(run, "mb_train", state, history)

    def train_dataset(
        self,
        dataset: "Dataset",
        *,
        epochs: int = 10,
        batch_size: Union[int, str] = "auto",
        learning_rate: float = 0.01,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
        memory_budget: int = 0,
        callback: Optional[Callable[[Progress], Any]] = None,
        history: Optional[History] = None,
        threads: int = 0,
        optimizer: Any = None,
        schedule: Any = None,
        l2: float = 0.0,
        clip_norm: float = 0.0,
        early_stopping: Any = None,
        validation: Optional[tuple] = None,
        validation_fraction: float = 0.0,
        communicator: Any = None,
        distributed_mode: Any = "deterministic",
        shards: int = 0,
        interrupt: Any = None,
    ) -> History:
        """:meth:`train` on a :class:`Dataset` read from .npy files (mb_train_dataset).

        With the dataset's default ``shuffle="exact"`` this gives the same weights and
        costs as :meth:`train` on the same arrays in memory. Bad values met while reading
        raise :class:`InvalidArgumentError`, read errors :class:`MinibatchIOError`; the
        model keeps the weights of the last batch trained. With a ``communicator`` every
        rank opens the same files and reads only its own rows of each batch.
        """
        if not isinstance(dataset, Dataset):
            raise TypeError(f"dataset must be a minibatch_gd.Dataset, got {type(dataset).__name__}")
        info = dataset._info()
        n_in = self.n_inputs
        if info.n_features != n_in:
            raise ValueError(
                f"the dataset has {info.n_features} features, but the model is expecting"
                f" {n_in} features as input"
            )
        opts, state, history = self._train_options(
            int(info.m), epochs, batch_size, learning_rate, seed, shuffle, drop_last,
            memory_budget, callback, history, threads, interrupt,
        )
        self._fill_rule(opts, state, optimizer, schedule, l2, clip_norm, early_stopping, validation,
                        validation_fraction)
        self._fill_distributed(opts, state, communicator, distributed_mode, shards)

        def run() -> int:
            with dataset._in_use(), _validation_in_use(validation):
                return int(_lib.lib().mb_train_dataset(
                    self._h(), dataset._h(), ctypes.byref(opts), history._h()
                ))

        return self._run_training(run, "mb_train_dataset", state, history)

    def evaluate_dataset(self, dataset: "Dataset") -> tuple[float, float]:
        """(mean cost, accuracy) over every row of a :class:`Dataset` (mb_evaluate_dataset)."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"dataset must be a minibatch_gd.Dataset, got {type(dataset).__name__}")
        info = dataset._info()
        if info.n_features != self.n_inputs:
            raise ValueError(
                f"the dataset has {info.n_features} features, but the model is expecting"
                f" {self.n_inputs} features as input"
            )
        cost = ctypes.c_double()
        acc = ctypes.c_double()
        with self._lock, dataset._in_use():
            check_status(
                _lib.lib().mb_evaluate_dataset(
                    self._h(), dataset._h(), ctypes.byref(cost), ctypes.byref(acc)
                ),
                "mb_evaluate_dataset",
            )
        return float(cost.value), float(acc.value)

    def _train_options(
        self, m: int, epochs: Any, batch_size: Any, learning_rate: Any, seed: Any,
        shuffle: Any, drop_last: Any, memory_budget: Any, callback: Any, history: Any,
        threads: Any = 0, interrupt: Any = None,
    ) -> tuple[_lib.mb_train_options, "_TrainState", History]:
        """Fills mb_train_options from the training arguments. Conversions only (a type,
        or a value its C type cannot hold, raises here); the library checks every value,
        in one place, and its message becomes an :class:`InvalidArgumentError`."""
        from . import optim
        from .interrupt import interrupt_for

        opts = _lib.mb_train_options()
        _lib.lib().mb_train_options_init(ctypes.byref(opts))
        opts.epochs = optim._integer(epochs, "epochs")
        if isinstance(batch_size, str):
            if batch_size != "auto":
                raise ValueError(f"batch_size must be a positive int or 'auto', got {batch_size!r}")
            opts.batch_size = _lib.MB_BATCH_AUTO
        else:
            b = optim._integer(batch_size, "batch_size")
            if b < 1:  # C reads -1 as MB_BATCH_AUTO: Python says 'auto' for that
                raise ValueError(f"batch_size must be a positive int or 'auto', got {b}")
            opts.batch_size = b
        opts.learning_rate = optim._number(learning_rate, "learning_rate")
        opts.seed = as_seed(seed)
        opts.shuffle = 1 if shuffle else 0
        opts.last_batch = int(_lib.LastBatch.DROP if drop_last else _lib.LastBatch.KEEP)
        opts.memory_budget = as_nonneg_int(memory_budget, "memory_budget")  # size_t: no sign
        n_threads = optim._integer(threads, "threads")
        if not -(2**31) <= n_threads < 2**31:
            raise ValueError(f"threads must be 0 (automatic) or 1..256, got {n_threads}")  # a C int
        opts.threads = n_threads
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        if history is None:
            history = History()
        elif not isinstance(history, History):
            raise TypeError("history must be a minibatch_gd.History")
        state = _TrainState(callback)
        state.c_callback = _lib.mb_progress_fn(state)  # kept alive for the call
        opts.progress = state.c_callback
        opts.user_data = None
        state.interrupt = interrupt_for(interrupt)  # the one given, or one for Ctrl-C
        state.own_interrupt = interrupt is None
        opts.interrupt = state.interrupt._h()
        return opts, state, history

    def _fill_rule(
        self, opts: _lib.mb_train_options, state: "_TrainState", optimizer: Any, schedule: Any,
        l2: Any, clip_norm: Any, early_stopping: Any, validation: Any, validation_fraction: Any = 0.0,
    ) -> None:
        """Fills the update rule, schedule, regularisation, early stopping and validation
        fields of ``opts`` (conversions only: the library checks the values)."""
        from . import optim

        optim.optimizer_of(optimizer)._fill(opts)
        optim.schedule_of(schedule)._fill(opts)
        opts.l2 = optim._number(l2, "l2")
        opts.clip_norm = optim._number(clip_norm, "clip_norm")
        opts.validation_fraction = optim._number(validation_fraction, "validation_fraction")
        if early_stopping is not None:
            if not isinstance(early_stopping, optim.EarlyStopping):
                raise TypeError("early_stopping must be a minibatch_gd.optim.EarlyStopping or None")
            early_stopping._fill(opts)
        if isinstance(validation, Dataset):
            if validation.n_features != self.n_inputs:
                raise ValueError(f"the validation dataset has {validation.n_features} features, but the model"
                                 f" is expecting {self.n_inputs} features as input")
            state.keep = validation
            opts.validation_dataset = validation._h()
        elif validation is not None:
            if not isinstance(validation, tuple) or len(validation) != 2:
                raise TypeError("validation must be a tuple (X_val, y_val) or a minibatch_gd.Dataset")
            xv = self._x(validation[0])
            mv = xv.shape[0]
            yv, yvt = self._targets(validation[1], mv)
            state.keep = (xv, yv)  # alive for the call
            opts.validation_x = xv.ctypes.data
            opts.validation_y = yv.ctypes.data
            opts.validation_y_type = int(yvt)
            opts.validation_m = mv

    def _fill_distributed(
        self, opts: _lib.mb_train_options, state: "_TrainState", communicator: Any,
        distributed_mode: Any, shards: Any,
    ) -> None:
        """Fills ``shards``, ``communicator`` and ``distributed_mode`` (conversions only: the
        library checks the values, and that the ranks agree)."""
        from . import optim

        opts.shards = optim._integer(shards, "shards")
        opts.distributed_mode = int(
            _enum_from(distributed_mode, _DISTRIBUTED_MODES, _lib.DistributedMode, "distributed_mode")
        )
        if communicator is None:
            return
        if isinstance(communicator, _lib.mb_communicator):
            pointer = ctypes.pointer(communicator)
        else:
            pointer = getattr(communicator, "_as_parameter_", None)
            if not isinstance(pointer, ctypes.POINTER(_lib.mb_communicator)):
                raise TypeError(
                    "communicator must be a minibatch_gd.mpi.Communicator or an mb_communicator,"
                    f" got {type(communicator).__name__}"
                )
        take = getattr(communicator, "_take_failure", None)
        if take is not None:
            take()  # a failure left from an earlier call is not this call's
        state.communicator = (communicator, pointer)  # alive for the call
        opts.communicator = pointer

    def restore_best_weights(self) -> int:
        """Sets the weights to the best epoch's (lowest validation cost), kept by early
        stopping with a validation set, and returns that epoch (over the network's life).
        A call that stops early restores them itself; one that runs every epoch keeps its
        last weights so that a next call continues the run
        (mb_model_restore_best_weights)."""
        epoch = ctypes.c_int64()
        with self._lock:
            check_status(_lib.lib().mb_model_restore_best_weights(self._h(), ctypes.byref(epoch)),
                         "mb_model_restore_best_weights")
        return int(epoch.value)

    def reset_training_state(self) -> None:
        """Forgets the update rule's state (moments, step count) and the schedule's and early
        stopping's, so the next :meth:`train` starts as on a new network; the weights and
        :attr:`epochs_trained` stay (mb_model_reset_training_state)."""
        with self._lock:
            check_status(_lib.lib().mb_model_reset_training_state(self._h()), "mb_model_reset_training_state")

    def _run_training(
        self, run: Callable[[], int], function: str, state: "_TrainState", history: History
    ) -> History:
        """Runs ``run`` (the C training call) with Ctrl-C turned into a clean stop, then
        turns its status, or an exception from the callback, into Python."""
        from .interrupt import _CtrlC

        installed = False
        previous: Any = None
        ctrl_c: Optional[_CtrlC] = None
        if threading.current_thread() is threading.main_thread():
            try:
                previous = signal.getsignal(signal.SIGINT)
                if previous is signal.default_int_handler:
                    # Ctrl-C sets a flag, and asks the call's interrupt to stop after the
                    # current mini-batch (`_CtrlC`; where it cannot, the progress callback
                    # asks C to stop at the end of the epoch); KeyboardInterrupt is raised
                    # after the call.
                    signal.signal(signal.SIGINT, state.on_sigint)
                    installed = True
                    ctrl_c = _CtrlC(state.interrupt, state)
            except (ValueError, OSError):  # pragma: no cover - embedded interpreters
                installed = False
        try:
            with self._lock, history._lock:
                status = run()
        finally:
            if ctrl_c is not None:
                ctrl_c.close()
            if installed:
                signal.signal(signal.SIGINT, previous)
            if state.interrupted:
                state.interrupt.clear()  # Ctrl-C's request is served: KeyboardInterrupt
            if state.own_interrupt:
                state.interrupt.close()
        state.c_callback = None
        self.last_progress = state.last
        if state.exc is not None:
            exc = state.exc
            state.exc = None
            if status not in (0, int(_lib.Status.ERR_CANCELLED)):
                err = error_for(status, function)
                err.history = history
                raise exc from err
            raise exc
        if state.interrupted:
            raise KeyboardInterrupt
        if status != 0:
            err = error_for(status, function)
            err.history = history
            cause = _communicator_failure(err, state)
            if cause is not None:
                raise err from cause
            raise err
        return history

    #: the Progress of the last epoch of the last train() call (None before any)
    last_progress: Optional[Progress] = None


def _communicator_failure(err: Any, state: "_TrainState") -> Optional[BaseException]:
    """For MB_ERR_COMMUNICATION: appends to ``err`` the exception a Python communicator's
    collective caught, and returns that exception (None otherwise)."""
    if state.communicator is None:
        return None
    take = getattr(state.communicator[0], "_take_failure", None)
    failure = take() if take is not None else None
    if failure is None or err.status != int(_lib.Status.ERR_COMMUNICATION):
        return None
    what, exc = failure
    err.message = f"{err.message} ({what}: {type(exc).__name__}: {exc})"
    err.args = (err.message,)
    return exc


_FILE_SHUFFLES = {"exact": _lib.FileShuffle.EXACT, "block": _lib.FileShuffle.BLOCK}
_PAGE_CACHES = {"auto": _lib.PageCache.AUTO, "keep": _lib.PageCache.KEEP, "release": _lib.PageCache.RELEASE}


class Dataset(_Handle):
    """X and y in numpy .npy files, read in batches during training (``mb_dataset``).

    Parameters
    ----------
    x_path, y_path
        ``.npy`` files: X (m, n_features) float32 ('<f4', C order); y with m rows, float32
        targets (m) or (m, n_outputs), or integer/bool class labels (m) (class indices).
    shuffle
        'exact' (default): epoch e visits rows in ``permutation(m, seed, e)``, exactly as
        in-memory training (same weights and costs); 'block': blocks of contiguous rows are
        shuffled, then rows within memory-sized pools (sequential reads, bounded memory).
    block_bytes, memory_budget
        Bytes of contiguous rows read at once (default 1 MiB) and bytes the reader may
        hold (default: a quarter of the memory this process may use, physical or its
        cgroup's limit, at least 4 MiB and at most 256 MiB); None keeps the library's default.
        Where the budget holds X whole (the default: up to a quarter of the memory this
        process may use, past its 256 MiB for read buffers; and X is at most half the memory
        this process may use), a shuffled training reads X once into memory and gathers its batches from
        there, in the same order; the dataset keeps it for the next training while the file
        is unchanged (see the C header, "X held in memory"). With a smaller budget the
        exact shuffle holds as many of X's first rows as it can and reads the others.
    page_cache
        What the block shuffle does with the pages it has read: 'keep' leaves them in the
        page cache for the next epoch, 'release' drops them (``posix_fadvise(DONTNEED)``),
        'auto' (default) releases them when X and y together are larger than half the
        memory this process may use (physical memory or its cgroup's limit). The exact
        shuffle always keeps them.

    Use with :meth:`Network.train_dataset` / :meth:`Network.evaluate_dataset` (or pass it
    as ``X`` to :meth:`Network.train`). A dataset may serve several trainings at once.
    """

    _free_name = "mb_dataset_free"

    def __init__(
        self,
        x_path: PathLike,
        y_path: PathLike,
        *,
        shuffle: str = "exact",
        block_bytes: Optional[int] = None,
        memory_budget: Optional[int] = None,
        page_cache: str = "auto",
    ) -> None:
        if shuffle not in _FILE_SHUFFLES:
            raise ValueError(f"shuffle must be 'exact' or 'block', got {shuffle!r}")
        if page_cache not in _PAGE_CACHES:
            raise ValueError(f"page_cache must be 'auto', 'keep' or 'release', got {page_cache!r}")
        opts = _lib.mb_dataset_options()
        _lib.lib().mb_dataset_options_init(ctypes.byref(opts))
        opts.shuffle = int(_FILE_SHUFFLES[shuffle])
        opts.page_cache = int(_PAGE_CACHES[page_cache])
        if block_bytes is not None:
            opts.block_bytes = as_positive_int(block_bytes, "block_bytes")
        if memory_budget is not None:
            opts.memory_budget = as_positive_int(memory_budget, "memory_budget")
        h = ctypes.c_void_p()
        check_status(
            _lib.lib().mb_dataset_open_npy(
                os.fsencode(os.fspath(x_path)), os.fsencode(os.fspath(y_path)),
                ctypes.byref(opts), ctypes.byref(h),
            ),
            "mb_dataset_open_npy",
        )
        self._users = 0
        self._idle = threading.Condition()
        super().__init__(h.value)
        self.shuffle = shuffle
        self.page_cache = page_cache
        self.x_path = os.fspath(x_path)
        self.y_path = os.fspath(y_path)

    def _in_use(self) -> Any:
        ds = self

        class _Use:
            def __enter__(self) -> None:
                with ds._idle:
                    ds._h()
                    ds._users += 1

            def __exit__(self, *exc: Any) -> None:
                with ds._idle:
                    ds._users -= 1
                    ds._idle.notify_all()

        return _Use()

    def close(self) -> None:
        """Closes the files (waits for trainings using the dataset to finish)."""
        with self._idle:
            while self._users:
                self._idle.wait()
            super().close()

    def _info(self) -> _lib.mb_dataset_info:
        info = _lib.mb_dataset_info()
        with self._in_use():
            check_status(
                _lib.lib().mb_dataset_get_info(self._h(), ctypes.byref(info)),
                "mb_dataset_get_info",
            )
        return info

    @property
    def m(self) -> int:
        """Number of rows."""
        return int(self._info().m)

    def __len__(self) -> int:
        return self.m

    @property
    def n_features(self) -> int:
        return int(self._info().n_features)

    @property
    def y_columns(self) -> int:
        """Columns of y (1 for a 1-D y)."""
        return int(self._info().y_columns)

    @property
    def y_type(self) -> _lib.Targets:
        """Targets.CLASS_INDEX for integer labels, else Targets.FLOAT32."""
        return _lib.Targets(int(self._info().y_type))

    @property
    def npy_versions(self) -> tuple[int, int]:
        """The .npy format major versions of the X and y files."""
        info = self._info()
        return int(info.x_version), int(info.y_version)

    def __repr__(self) -> str:
        if self.closed:
            return "Dataset(closed)"
        i = self._info()
        return (
            f"Dataset(m={i.m}, n_features={i.n_features}, y_columns={i.y_columns},"
            f" y_type={_lib.Targets(int(i.y_type)).name.lower()}, shuffle={self.shuffle!r})"
        )
