"""Training a :class:`Network`: :meth:`~Network.train` and :meth:`~Network.train_dataset`
(``mb_train``, ``mb_train_dataset``), their options, the progress callback, Ctrl-C and the
training's errors. ``_Training`` is a part of :class:`Network` (its base class), kept in
a file of its own."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

import numpy as np

from . import _lib
from ._validation import as_nonneg_int, as_real_array, as_seed, as_size, ptr
from .dataset import Dataset
from .errors import error_for
from .history import History

__all__ = ["Progress"]

ArrayLike = Any


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
    learning_rate: float = float("nan")  #: the rate this epoch trained with (after the schedule; its first batch's with schedule_per_batch)
    validation_cost: float = float("nan")  #: after this epoch; NaN without a validation set
    validation_score: float = float("nan")  #: accuracy (R^2 for MSE and Poisson); NaN without one


def _validation_in_use(validation: Any) -> Any:
    """Holds a validation Dataset for a training call (nothing for arrays or None)."""
    return validation._in_use() if isinstance(validation, Dataset) else contextlib.nullcontext()


def _communicator_pointer(communicator: Any) -> Any:
    """``const mb_communicator *`` of a training call's ``communicator`` argument, or None
    where it is not one (or is closed)."""
    if isinstance(communicator, _lib.mb_communicator):
        return ctypes.pointer(communicator)
    try:
        pointer = getattr(communicator, "_as_parameter_", None)
    except Exception:  # a closed Communicator
        return None
    return pointer if isinstance(pointer, ctypes.POINTER(_lib.mb_communicator)) else None


def _status_of(exc: BaseException) -> int:
    """The ``mb_status`` the other ranks get for this rank's exception (mb_train_fail)."""
    from .errors import MinibatchError

    status = getattr(exc, "status", None) if isinstance(exc, MinibatchError) else None
    if isinstance(status, int) and 1 <= status <= max(_lib.Status):  # mb_train_fail's range
        return int(status)
    if isinstance(exc, MemoryError):
        return int(_lib.Status.ERR_OUT_OF_MEMORY)
    if isinstance(exc, OSError):
        return int(_lib.Status.ERR_IO)
    if isinstance(exc, KeyboardInterrupt):
        return int(_lib.Status.ERR_CANCELLED)
    return int(_lib.Status.ERR_INVALID_ARGUMENT)


#: Set on an exception the other ranks know of: told by mb_train_fail, or raised by a
#: distributed training call the ranks made together. It is never told again (a second
#: telling would be a collective no other rank makes).
_TOLD = "_minibatch_gd_told_the_ranks"


def _after_fork_in_child() -> None:
    """A child forked by another thread while the main thread trains (a process pool started
    from a thread) inherits the call's SIGINT handler (`_TrainState.on_sigint`): the child
    gets Python's handler back (the only one a call replaces), found by what is installed, so
    that neither another call's end nor a fork in the middle of the call's installing can
    leave it behind. (The wakeup fd it inherits too is the watcher's: `interrupt._Watcher`.)"""
    try:
        handler = signal.getsignal(signal.SIGINT)
        if getattr(handler, "__func__", None) is _TrainState.on_sigint:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except (ValueError, OSError):  # pragma: no cover - not the child's main thread
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _mark_told(exc: BaseException) -> None:
    try:
        setattr(exc, _TOLD, True)
    except Exception:  # pragma: no cover - an exception type without attributes
        pass


def _add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)`` (Python 3.11), or its ``__notes__`` where there is none."""
    try:
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        else:  # pragma: no cover - Python < 3.11
            exc.__notes__ = [*getattr(exc, "__notes__", ()), note]  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover
        pass


def _train_fail(communicator: Any, pointer: Any, status: int, text: str) -> tuple[int, str, Any]:
    """``mb_train_fail(pointer, status, text)``: (the status and message every rank got, the
    exception a Python communicator's collective raised meanwhile or None)."""
    take = getattr(communicator, "_take_failure", None)
    if take is not None:
        take()  # a failure left from an earlier call is not this one's
    status = int(_lib.lib().mb_train_fail(pointer, status, text.encode("utf-8", "backslashreplace")))
    failure = take() if take is not None else None
    return status, _lib.last_error(), failure[1] if failure else None


def _tell_the_ranks(communicator: Any, exc: BaseException) -> None:
    """This rank will not make the training call (``exc`` was raised while preparing it):
    makes the call the other ranks of ``communicator`` make fail with this rank's error
    (``mb_train_fail``; they raise "rank k: ExceptionType: message"), so that none waits for
    this one. Nothing is told for an exception the ranks know of already (``_TOLD``), or
    where ``communicator`` is not a usable one; a failure to tell is added to ``exc`` as a
    note."""
    if getattr(exc, _TOLD, False):
        return
    pointer = _communicator_pointer(communicator)
    if pointer is None:
        _add_note(exc, "minibatch_gd: the other ranks could not be told of this failure: the communicator"
                       " is not a usable one (closed, or not an mb_communicator)")
        return
    _, message, cause = _train_fail(communicator, pointer, _status_of(exc), f"{type(exc).__name__}: {exc}")
    _mark_told(exc)
    if not message.startswith("rank "):  # what every rank got names the rank that failed
        because = f" ({cause!r})" if cause is not None else ""
        _add_note(exc, f"minibatch_gd: the other ranks could not be told of this failure: {message}{because}")


class _ToldToTheRanks:
    """Around the preparation of a distributed training call: an exception raised there is
    told to the other ranks (``_tell_the_ranks``) before it propagates, since this rank will
    not make the call they make. Not around the C call itself, which tells its own."""

    def __init__(self, communicator: Any) -> None:
        self.communicator = communicator

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Optional[BaseException], tb: Any) -> bool:
        if exc is not None and self.communicator is not None:
            _tell_the_ranks(self.communicator, exc)
        return False


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
        self.in_library = False  # run() has called the C training function
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


class _Training:
    """The training methods of :class:`Network` (which provides ``_h``, ``_lock``, ``_x``,
    ``_targets`` and ``n_inputs``)."""

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
        warmup: Any = None,
        schedule_per_batch: bool = False,
        l2: float = 0.0,
        clip_norm: float = 0.0,
        clip_value: float = 0.0,
        dropout: float = 0.0,
        label_smoothing: float = 0.0,
        early_stopping: Any = None,
        validation: Optional[tuple] = None,
        validation_fraction: float = 0.0,
        sample_weight: ArrayLike = None,
        class_weight: Any = None,
        communicator: Any = None,
        distributed_mode: Any = "deterministic",
        shards: int = 0,
        interrupt: Any = None,
        flush_denormals: bool = True,
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
        ``RMSprop``, ``Adam``, ``AdamW``, ``Adagrad``, ``Adamax``, ``NAdam``, ``RAdam``,
        ``Adadelta``) or
        its name; default plain gradient descent.
        ``schedule``: the learning rate per epoch (``Constant``, ``Step``,
        ``Exponential``, ``InverseTime``, ``Cosine``, ``Adaptive``, ``MultiStep``,
        ``CosineRestarts``, ``OneCycle``, ``Cyclic``, ``ReduceLROnPlateau`` or a name).
        ``warmup``: a linear warm-up of the schedule's rate over the model's first epochs,
        :class:`minibatch_gd.optim.Warmup` ``(epochs, start_factor=1/3)`` or a number of
        epochs (PyTorch's ``LinearLR`` chained before the schedule); None: none.
        ``schedule_per_batch``: True gives the schedule and the warm-up a rate for every
        mini-batch, at the fractional epoch e + b / B (batch b of the epoch's B), as
        PyTorch's schedulers stepped every iteration (``CosineAnnealingLR`` with
        ``T_max = the cosine's epochs * B``, ``LinearLR`` with ``total_iters = warm-up epochs * B``,
        ``CosineAnnealingWarmRestarts.step(e + b / B)``; ``OneCycle`` and ``Cyclic`` then
        count mini-batches, ``OneCycleLR`` with ``total_steps = epochs * B``); step's,
        multi-step's, adaptive's and plateau's own rates still change between epochs only. The
        history's learning rates are each epoch's first batch's. Not kept in a saved
        model: pass it again to resume. False (default): one rate an epoch. Since 0.9.0.
        ``l2``: scikit-learn's ``alpha`` (0.5 * l2 * sum(W**2) / batch rows added to each
        batch's cost). ``clip_norm``: clip the gradient by its global norm (0: off).
        ``clip_value``: clip every element of the gradient to [-clip_value, clip_value]
        after that (``torch.nn.utils.clip_grad_value_``, Keras's ``clipvalue``; 0: off).
        ``dropout``: inverted dropout of every hidden layer's output while training, in
        [0, 1) (``torch.nn.Dropout(p)`` after each hidden layer): each unit of each row of
        a mini-batch is zeroed with that probability and the others scaled by 1 / (1 - p);
        predictions, evaluation and validation use the whole network. The units dropped
        follow from ``seed``, the epoch, the batch, the layer, the row's position in its
        batch and the unit (the header's rule), never from the threads (0: none).
        ``label_smoothing``: e in [0, 1) for the cross-entropy losses: training's targets
        become (1 - e) t + e / n_outputs (``torch.nn.CrossEntropyLoss(label_smoothing=e)``),
        for binary cross-entropy (1 - e) t + e / 2 (Keras's); the history's costs are the
        smoothed ones, validation and evaluation the model's own (0: none); with
        ``class_weight`` each row's smoothed loss weighs its class's weight (PyTorch weighs
        each smoothing term by its own class).
        ``early_stopping``: a :class:`minibatch_gd.optim.EarlyStopping` (None: run every
        epoch). ``validation``: ``(X_val, y_val)``, ``(X_val, y_val, sample_weight_val)`` (a
        weighted validation cost and score, as Keras's ``validation_data``) or a
        :class:`Dataset`, evaluated after every epoch (the
        history's ``validation_costs`` and ``validation_scores``), the cost early stopping
        watches. ``validation_fraction``: hold out that fraction of the rows instead (seeded
        by ``seed``, stratified by class; the header's ``mb_train_options`` states the rule).
        The rule's state stays with the network, so a later call (or a file saved and
        loaded) continues the same run. ``sample_weight``: (m,) weights of the rows (a scalar:
        the same for every row), each batch's cost then sum(w * loss) / sum(w) (scikit-learn's
        meaning; arrays only).
        ``class_weight``: the classes' weights, one per class (n_outputs for the
        cross-entropy, 2 for binary cross-entropy with one output), a dict
        ``{class index: weight}`` (1 for the others), or ``'balanced'``
        (n / (n_classes * the class's count in y), scikit-learn's; 1 for a class absent
        from y): row r weighs ``class_weight[y[r]]`` (times ``sample_weight[r]``), as
        ``torch.nn.CrossEntropyLoss(weight=...)``; integer class labels only, arrays only.

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

        ``flush_denormals``: subnormal floats (below 2^-126, about 1.2e-38) read and
        computed as 0 while the mini-batches run (True, the default, as TensorFlow's
        threads; x86-64 only), or IEEE arithmetic's subnormals kept (False, PyTorch's
        default). Intel's cores are many times slower on subnormals, which a momentum or
        Adam state decaying on a gradient of exactly 0 (a dead ReLU unit) otherwise keeps
        forever (mb_train_options.denormals).

        Returns ``history`` (a new :class:`History` if None was given). Raises
        :class:`DivergenceError` (weights: last finite ones) or :class:`CancelledError`,
        each with the history attached as ``.history``.
        """
        with _ToldToTheRanks(communicator):
            if isinstance(X, Dataset):
                if y is not None:
                    raise ValueError("y must be None when X is a Dataset (the targets are in its file)")
                if sample_weight is not None:
                    raise ValueError("sample_weight applies to arrays, not to a Dataset")
                if class_weight is not None:
                    raise ValueError("class_weight applies to arrays, not to a Dataset")
        if isinstance(X, Dataset):
            return self.train_dataset(
                X, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                seed=seed, shuffle=shuffle, drop_last=drop_last, memory_budget=memory_budget,
                callback=callback, history=history, threads=threads, optimizer=optimizer,
                schedule=schedule, warmup=warmup, schedule_per_batch=schedule_per_batch, l2=l2, clip_norm=clip_norm,
                clip_value=clip_value, dropout=dropout,
                label_smoothing=label_smoothing,
                early_stopping=early_stopping,
                validation=validation, validation_fraction=validation_fraction,
                communicator=communicator, distributed_mode=distributed_mode, shards=shards,
                interrupt=interrupt, flush_denormals=flush_denormals,
            )
        with _ToldToTheRanks(communicator):
            x = self._x(X)
            m, n = x.shape
            ya, yt = self._targets(y, m)
            opts, state, history = self._train_options(
                m, epochs, batch_size, learning_rate, seed, shuffle, drop_last, memory_budget,
                callback, history, threads, interrupt,
            )
            self._fill_rule(opts, state, optimizer, schedule, l2, clip_norm, early_stopping, validation,
                            validation_fraction, dropout=dropout, label_smoothing=label_smoothing, warmup=warmup,
                            clip_value=clip_value, schedule_per_batch=schedule_per_batch)
            self._fill_distributed(opts, state, communicator, distributed_mode, shards)
            opts.denormals = self._denormals(flush_denormals)
            if sample_weight is not None:
                sw = as_real_array(sample_weight, "sample_weight")
                if sw.ndim == 0:  # one weight for every row (as scikit-learn's _check_sample_weight)
                    sw = np.full(m, sw, dtype=np.float32)
                if sw.shape != (m,):
                    raise ValueError(f"sample_weight must have shape ({m},), got {sw.shape}")
                state.keep_weights = sw  # alive for the call
                opts.sample_weight = sw.ctypes.data
            if class_weight is not None:
                cw = self._class_weights(class_weight, ya, yt)
                state.keep_class_weights = cw  # alive for the call
                opts.class_weight = cw.ctypes.data
                opts.class_weight_count = cw.size

            def run() -> int:
                with _validation_in_use(validation):
                    model, hist = self._h(), history._h()
                    state.in_library = True
                    return int(_lib.lib().mb_train(
                        model, ptr(x, ctypes.c_float), ptr(ya), yt, m, n, ctypes.byref(opts), hist,
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
        warmup: Any = None,
        schedule_per_batch: bool = False,
        l2: float = 0.0,
        clip_norm: float = 0.0,
        clip_value: float = 0.0,
        dropout: float = 0.0,
        label_smoothing: float = 0.0,
        early_stopping: Any = None,
        validation: Optional[tuple] = None,
        validation_fraction: float = 0.0,
        communicator: Any = None,
        distributed_mode: Any = "deterministic",
        shards: int = 0,
        interrupt: Any = None,
        flush_denormals: bool = True,
    ) -> History:
        """:meth:`train` on a :class:`Dataset` read from .npy files (mb_train_dataset).

        With the dataset's default ``shuffle="exact"`` this gives the same weights and
        costs as :meth:`train` on the same arrays in memory. Bad values met while reading
        raise :class:`InvalidArgumentError`, read errors :class:`MinibatchIOError`; the
        model keeps the weights of the last batch trained. With a ``communicator`` every
        rank opens the same files and reads only its own rows of each batch.
        """
        with _ToldToTheRanks(communicator):
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
                            validation_fraction, dropout=dropout, label_smoothing=label_smoothing, warmup=warmup,
                            clip_value=clip_value, schedule_per_batch=schedule_per_batch)
            self._fill_distributed(opts, state, communicator, distributed_mode, shards)
            opts.denormals = self._denormals(flush_denormals)

            def run() -> int:
                with dataset._in_use(), _validation_in_use(validation):
                    model, data, hist = self._h(), dataset._h(), history._h()
                    state.in_library = True
                    return int(_lib.lib().mb_train_dataset(model, data, ctypes.byref(opts), hist))

        return self._run_training(run, "mb_train_dataset", state, history)

    @staticmethod
    def _denormals(flush_denormals: Any) -> int:
        """mb_train_options.denormals for ``flush_denormals``."""
        from . import optim

        flush = optim._flag(flush_denormals, "flush_denormals")
        return int(_lib.Denormals.FLUSH if flush else _lib.Denormals.KEEP)

    def _class_weights(self, class_weight: Any, ya: np.ndarray, yt: Any) -> np.ndarray:
        """float32 weights of the classes for mb_train_options.class_weight: as given, or
        'balanced' computed from the labels (conversions only: the library checks them)."""
        if isinstance(class_weight, str):
            if class_weight != "balanced":
                raise ValueError(f"class_weight must be 'balanced' or one weight per class, got {class_weight!r}")
            if yt != _lib.Targets.CLASS_INDEX:
                raise ValueError("class_weight='balanced' needs integer class labels")
            k = 2 if self.n_outputs == 1 else self.n_outputs
            counts = np.bincount(np.asarray(ya, dtype=np.int64), minlength=k)
            with np.errstate(divide="ignore"):
                balanced = np.where(counts > 0, len(ya) / (k * np.maximum(counts, 1)), 1.0)
            return np.ascontiguousarray(balanced, dtype=np.float32)
        if isinstance(class_weight, dict):  # {class index: weight}, 1 for the others
            k = 2 if self.n_outputs == 1 else self.n_outputs
            full = np.ones(k)
            for c, w in class_weight.items():
                if not isinstance(c, (int, np.integer)) or isinstance(c, (bool, np.bool_)) or not 0 <= c < k:
                    raise ValueError(f"class_weight's keys must be class indices 0..{k - 1}, got {c!r}")
                full[int(c)] = w
            class_weight = full
        cw = as_real_array(class_weight, "class_weight", np.float64)
        if cw.ndim != 1:
            raise ValueError(f"class_weight must be 'balanced' or one weight per class (1-D), got shape {cw.shape}")
        too_big = np.flatnonzero(np.isfinite(cw) & (np.abs(cw) > np.finfo(np.float32).max))
        if too_big.size:
            raise ValueError(f"class_weight[{too_big[0]}] = {cw[too_big[0]]!r} does not fit in float32")
        return np.ascontiguousarray(cw, dtype=np.float32)

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
        opts.shuffle = 1 if optim._flag(shuffle, "shuffle") else 0
        opts.last_batch = int(_lib.LastBatch.DROP if optim._flag(drop_last, "drop_last") else _lib.LastBatch.KEEP)
        opts.memory_budget = as_size(memory_budget, "memory_budget")  # size_t: no sign
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
        *, dropout: Any = 0.0, label_smoothing: Any = 0.0, warmup: Any = None, clip_value: Any = 0.0,
        schedule_per_batch: Any = False,
    ) -> None:
        """Fills the update rule, schedule, regularisation, early stopping and validation
        fields of ``opts`` (conversions only: the library checks the values)."""
        from . import optim

        optim.optimizer_of(optimizer)._fill(opts)
        optim.schedule_of(schedule)._fill(opts)
        optim.warmup_of(warmup)._fill(opts)
        opts.schedule_per_batch = 1 if optim._flag(schedule_per_batch, "schedule_per_batch") else 0
        opts.l2 = optim._number(l2, "l2")
        opts.clip_norm = optim._number(clip_norm, "clip_norm")
        opts.clip_value = optim._number(clip_value, "clip_value")
        opts.dropout = optim._number(dropout, "dropout")
        opts.label_smoothing = optim._number(label_smoothing, "label_smoothing")
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
            if not isinstance(validation, tuple) or len(validation) not in (2, 3):
                raise TypeError("validation must be a tuple (X_val, y_val) or (X_val, y_val, sample_weight_val), "
                                "or a minibatch_gd.Dataset")
            xv = self._x(validation[0])
            mv = xv.shape[0]
            yv, yvt = self._targets(validation[1], mv)
            wv = None
            if len(validation) == 3 and validation[2] is not None:
                wv = as_real_array(validation[2], "the validation sample_weight")
                if wv.ndim == 0:
                    wv = np.full(mv, wv, dtype=np.float32)
                if wv.shape != (mv,):
                    raise ValueError(f"the validation sample weights must have shape ({mv},), got {wv.shape}")
                opts.validation_sample_weight = wv.ctypes.data
            state.keep = (xv, yv, wv)  # alive for the call
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
        from .network import _DISTRIBUTED_MODES, _enum_from

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

    def _run_training(
        self, run: Callable[[], int], function: str, state: "_TrainState", history: History
    ) -> History:
        """Runs ``run`` (the C training call) with Ctrl-C turned into a clean stop, then
        turns its status, or an exception from the callback, into Python. Distributed, an
        exception raised before ``run`` reached the library (a handle closed meanwhile, Ctrl-C
        before the call) is told to the other ranks (``_tell_the_ranks``); one raised after
        is the call's, which every rank made (``_TOLD``)."""
        try:
            return self._run_training_unguarded(run, function, state, history)
        except BaseException as exc:
            if state.communicator is not None:
                if not state.in_library:
                    _tell_the_ranks(state.communicator[0], exc)
                _mark_told(exc)
            raise

    def _run_training_unguarded(
        self, run: Callable[[], int], function: str, state: "_TrainState", history: History
    ) -> History:
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
                    try:
                        ctrl_c = _CtrlC(state.interrupt, state)
                    except (OSError, RuntimeError):
                        # No watcher (no pipe or thread to be had: out of descriptors):
                        # Ctrl-C then stops the call at the end of the epoch, through the
                        # progress callback, and the handler is put back below as always.
                        ctrl_c = None
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
