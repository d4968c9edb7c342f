"""minibatch: mini-batch gradient descent for fully connected networks and linear models.

A thin ctypes binding over ``libminibatch`` (a Swift engine with a C ABI). numpy in,
numpy out; X is (n_samples, n_features).

Quick start::

    import minibatch_gd as mb

    X, y = mb.make_moons(4000, noise=0.2, seed=1)
    clf = mb.MLPClassifier((16, 8), learning_rate_init=0.1, batch_size=64,
                           max_iter=30, random_state=0).fit(X, y)
    clf.score(X, y), clf.epoch_costs_[-1]

    for Xb, yb in mb.mini_batches(X, y, batch_size=64, seed=0):  # your own loop
        ...

Layers: :mod:`minibatch_gd._lib` (ctypes declarations), :class:`Network`/:class:`History`
(objects owning C handles), :class:`MLPClassifier`/:class:`MLPRegressor` (scikit-learn
style estimators; scikit-learn optional), :mod:`minibatch_gd.plotting` (matplotlib
optional), ``python -m minibatch_gd.demo``.
"""

from __future__ import annotations

from typing import Any

from ._lib import Activation, FileShuffle, Init, LastBatch, Loss, Monitor, Optimizer, PageCache, Schedule, Status, Targets, library_path
from .core import (
    STREAM_INIT,
    blas_info,
    make_moons,
    mini_batches,
    partition,
    permutation,
    random_stream,
    show_config,
    shuffle,
    shuffle_files,
    version,
    version_number,
)
from .errors import (
    CancelledError,
    DivergenceError,
    DivergenceWarning,
    FormatError,
    InternalError,
    BusyError,
    CommunicationError,
    InvalidArgumentError,
    MinibatchError,
    MinibatchIOError,
    OutOfMemoryError,
)
from .network import Dataset, History, LayerInfo, Network, Progress
from .interrupt import Interrupt
from . import optim
from .optim import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, EarlyStopping, NAdam, RAdam, RMSprop, Warmup

__version__ = "0.12.6"

__all__ = [
    # functions
    "version",
    "version_number",
    "library_path",
    "blas_info",
    "show_config",
    "random_stream",
    "permutation",
    "shuffle",
    "shuffle_files",
    "partition",
    "mini_batches",
    "make_moons",
    "STREAM_INIT",
    # objects
    "Network",
    "History",
    "Interrupt",
    "Dataset",
    "Progress",
    "LayerInfo",
    "optim",
    "SGD",
    "RMSprop",
    "Adam",
    "AdamW",
    "Adagrad",
    "Adamax",
    "NAdam",
    "RAdam",
    "Adadelta",
    "EarlyStopping",
    "Warmup",
    "MLPClassifier",
    "MLPRegressor",
    # enums
    "Activation",
    "Loss",
    "Monitor",
    "Init",
    "LastBatch",
    "Targets",
    "FileShuffle",
    "PageCache",
    "Optimizer",
    "Schedule",
    "Status",
    # errors
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
    "NotFittedError",
    "DataConversionWarning",
    "ConvergenceWarning",
]

_LAZY = {
    "MLPClassifier": "estimators",
    "MLPRegressor": "estimators",
    "NotFittedError": "estimators",
    "DataConversionWarning": "estimators",
    "ConvergenceWarning": "estimators",
}


_SUBMODULES = ("plotting", "demo", "estimators", "mpi")


def __getattr__(name: str) -> Any:
    # Submodules on first use: ``mb.plotting`` imports matplotlib only when asked for.
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    # The estimators import scikit-learn (when installed), which is slow: load on demand.
    if name in _LAZY:
        import importlib

        mod = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(mod, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
