"""High layer: :class:`Network`, a Python object that owns a C model handle (freed on
:meth:`close`, on leaving a ``with`` block, or when garbage collected). Its training is in
training.py (``_Training``, a base class of Network); :class:`History` is in history.py,
:class:`Dataset` in dataset.py (both exported here too).
"""

from __future__ import annotations

import ctypes
import operator
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _lib
from ._validation import (
    as_class_indices,
    as_float32_matrix,
    as_positive_int,
    as_nonneg_int,
    as_path,
    as_size,
    as_seed,
    object_as_float64,
    ptr,
)
from ._handle import _Handle
from .dataset import Dataset
from .errors import InvalidArgumentError, MinibatchError, check_status
from .history import History
from .training import Progress, _Training

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
    "leaky_relu": _lib.Activation.LEAKY_RELU,
    "elu": _lib.Activation.ELU,
    "selu": _lib.Activation.SELU,
    "gelu": _lib.Activation.GELU,
    "silu": _lib.Activation.SILU,
    "swish": _lib.Activation.SILU,
}
_LOSSES = {
    "mse": _lib.Loss.MSE,
    "squared_error": _lib.Loss.MSE,
    "binary_cross_entropy": _lib.Loss.BINARY_CROSS_ENTROPY,
    "bce": _lib.Loss.BINARY_CROSS_ENTROPY,
    "cross_entropy": _lib.Loss.CROSS_ENTROPY,
    "softmax": _lib.Loss.CROSS_ENTROPY,
    "poisson": _lib.Loss.POISSON,
}
_INITS = {
    "auto": _lib.Init.AUTO,
    "he": _lib.Init.HE,
    "xavier": _lib.Init.XAVIER,
    "glorot": _lib.Init.XAVIER,
    "lecun": _lib.Init.LECUN,
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
    """'relu', 'tanh', 'sigmoid'/'logistic', 'linear'/'identity', 'leaky_relu', 'elu',
    'selu', 'gelu', 'silu'/'swish' or an Activation."""
    return _enum_from(value, _ACTIVATIONS, _lib.Activation, "activation")


def loss_from(value: Any) -> _lib.Loss:
    """'mse', 'binary_cross_entropy', 'cross_entropy', 'poisson' or a Loss."""
    return _enum_from(value, _LOSSES, _lib.Loss, "loss")


def init_from(value: Any) -> _lib.Init:
    """'auto', 'he', 'xavier' ('glorot'), 'lecun' or an Init."""
    return _enum_from(value, _INITS, _lib.Init, "init")


# ------------------------------------------------------------------------------------
# Small records
# ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerInfo:
    """One layer (``mb_layer_info``): W is (n_out, n_in) at weight_offset, b at bias_offset."""

    n_in: int
    n_out: int
    activation: _lib.Activation
    weight_offset: int
    bias_offset: int


# ------------------------------------------------------------------------------------
# The network
# ------------------------------------------------------------------------------------


TargetArray = tuple  # (array, mb_targets)


class Network(_Training, _Handle):
    """A fully connected network (``mb_model``) owning its C handle.

    Parameters
    ----------
    layer_sizes
        ``[n_inputs, hidden..., n_outputs]``, at least two sizes.
    hidden_activation
        Activation of every hidden layer: 'relu' (default), 'tanh', 'sigmoid',
        'linear' (aliases 'logistic', 'identity'), or, as PyTorch's, 'leaky_relu' (slope
        0.01), 'elu' (alpha 1), 'selu', 'gelu' (exact; Phi from erfc), 'silu' (alias 'swish').
    activations
        One activation per hidden layer, instead of ``hidden_activation``.
    loss
        'cross_entropy' (softmax outputs, default), 'binary_cross_entropy' (sigmoid
        outputs), 'mse' (linear outputs) or 'poisson' (outputs e^z, half the Poisson
        deviance, for counts and rates y >= 0).
    init
        'auto' (He before ReLU and leaky ReLU, LeCun before SELU, Xavier otherwise),
        'he' (variance 2 / n_in), 'xavier' (alias 'glorot', 2 / (n_in + n_out)) or
        'lecun' (1 / n_in: PyTorch's ``kaiming_normal_(nonlinearity='linear')``, the
        variance of Keras's ``lecun_normal``; since 0.9.0).
    seed
        Seeds the initial weights (stream ``(seed, MB_STREAM_INIT)``), 0 .. 2**64-1.

    Two sizes and 'mse' is linear regression; with 'binary_cross_entropy' logistic
    regression; with 'cross_entropy' softmax regression; with 'poisson' Poisson regression.
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
            _lib.lib().mb_model_load(as_path(path), ctypes.byref(h)),
            "mb_model_load",
        )
        return cls._from_handle(h.value)

    def save(self, path: PathLike) -> None:
        """Writes the model to ``path`` atomically (a temporary file beside the file
        replaced, fsync, rename). A file of this user's that is replaced keeps its
        permission bits, group and ACL; where ``path`` is a symbolic link, the file it leads
        to is replaced and the link stays, as ``open(path, "wb")`` writes, except that the
        temporary file needs that file's directory to be writable (see mb_model_save)."""
        with self._lock:
            check_status(
                _lib.lib().mb_model_save(self._h(), as_path(path)),
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
        """Inverse of :meth:`to_bytes`. Bytes that are not a model raise the error
        :meth:`load` raises for such a file, naming the bytes (not the temporary file they
        are read from)."""
        with tempfile.TemporaryDirectory(prefix="minibatch-") as d:
            p = os.path.join(d, "model.mbm")
            with open(p, "wb") as f:
                f.write(data)
            try:
                return cls.load(p)
            except MinibatchError as e:
                given = f"the {len(data)} bytes given to from_bytes"
                message = e.message.replace(f"'{p}'", given).replace(p, given)
                raise type(e)(message, status=e.status, function=e.function, status_name=e.status_name) from None

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
        # An integer, and one C's int64_t holds (ctypes would wrap 2**64 to 0); the library
        # checks the range.
        if isinstance(i, (bool, np.bool_)):
            raise TypeError(f"the layer index must be an integer, got {i!r}")
        try:
            i = operator.index(i)  # (numpy integers, 0-d integer arrays, __index__)
        except TypeError:
            raise TypeError(f"the layer index must be an integer, got {i!r}") from None
        if not -(2**63) <= i < 2**63:
            layers = int(self._info().n_layers) - 1
            raise InvalidArgumentError(f"layer must be in [0, {layers}), got {i}", function="mb_model_layer")
        li = _lib.mb_layer_info()
        with self._lock:
            check_status(_lib.lib().mb_model_layer(self._h(), i, ctypes.byref(li)), "mb_model_layer")
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
        classifies = loss in (_lib.Loss.BINARY_CROSS_ENTROPY, _lib.Loss.CROSS_ENTROPY)
        if ya.dtype.kind in "biu" and ya.ndim == 1 and classifies:
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
                ya = object_as_float64(ya, "y")
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
        (softmax rows / sigmoid units), values for MSE, e^z for Poisson.

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
        budget = as_size(memory_budget, "memory_budget")
        with self._lock:
            check_status(
                _lib.lib().mb_predict_npy(
                    self._h(), as_path(x_path, "x_path"), as_path(out_path, "out_path"),
                    1 if classes else 0, budget,
                ),
                "mb_predict_npy",
            )

    def evaluate(self, X: ArrayLike, y: ArrayLike) -> tuple[float, float]:
        """(mean cost, accuracy) over all rows; accuracy is NaN for MSE and Poisson."""
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
        """The batch size 'auto' resolves to for m examples (mb_auto_batch_size) with plain
        gradient descent on one thread; ``train(memory_budget=...)`` also fits what its options
        hold beside the batch (an optimizer's state, further threads' gradients, early
        stopping's best weights) in the budget."""
        m = as_positive_int(m, "m")
        budget = as_size(memory_budget, "memory_budget")
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


    #: the Progress of the last epoch of the last train() call (None before any)
    last_progress: Optional[Progress] = None


