"""scikit-learn style estimators over :class:`~minibatch_gd.Network`.

:class:`MLPClassifier` and :class:`MLPRegressor` follow scikit-learn's conventions
(``fit``/``partial_fit``/``predict``/``predict_proba``/``score``, ``get_params``/
``set_params``, fitted attributes ending in ``_``) and work in ``Pipeline`` and
``GridSearchCV``.  scikit-learn is *not* required: when it is installed the classes derive
from its ``BaseEstimator`` and mixins (so its tags and tools apply); otherwise small
look-alikes provide ``get_params``/``set_params``/``repr``.

They take scikit-learn's parameters with its meanings and defaults (``solver='adam'``,
``learning_rate_init=0.001``, ``batch_size='auto'`` = min(200, n_samples), ``alpha``,
``tol``/``n_iter_no_change``, ``early_stopping``/``validation_fraction``, ...), so that
they are drop-ins for ``sklearn.neural_network.MLPClassifier``/``MLPRegressor``. Training
runs in the library (:mod:`minibatch_gd.optim` names the rules); one epoch per
``partial_fit`` call, up to ``max_iter`` epochs per ``fit``. With ``random_state=s`` (an
int) the initial weights use seed ``s`` and the shuffle order of epoch ``e`` is
``minibatch_gd.permutation(m, s, e)``: exactly what a C program calling ``mb_model_create``
and ``mb_train`` with seed ``s`` gets.
"""

from __future__ import annotations

import inspect
import numbers
import warnings
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import _lib
from .core import label_values
from ._validation import as_float32_matrix, check_all_finite, is_sparse
from .errors import DivergenceError, DivergenceWarning
from .network import Dataset, History, Network, Progress, activation_from, init_from

__all__ = ["MLPClassifier", "MLPRegressor", "NotFittedError", "DataConversionWarning", "HAVE_SKLEARN"]

ArrayLike = Any

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

    HAVE_SKLEARN = True
except Exception:  # ImportError, or a broken scikit-learn install
    HAVE_SKLEARN = False

    class BaseEstimator:  # type: ignore[no-redef]
        """Minimal stand-in for sklearn.base.BaseEstimator (get/set_params, repr)."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            init = cls.__init__
            if init is object.__init__:
                return []
            params = inspect.signature(init).parameters.values()
            return sorted(
                p.name
                for p in params
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            )

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key in self._get_param_names():
                value = getattr(self, key)
                if deep and hasattr(value, "get_params") and not isinstance(value, type):
                    for k, v in value.get_params().items():
                        out[f"{key}__{k}"] = v
                out[key] = value
            return out

        def set_params(self, **params: Any) -> "BaseEstimator":
            if not params:
                return self
            valid = self.get_params(deep=True)
            nested: dict[str, dict[str, Any]] = {}
            for key, value in params.items():
                key, delim, sub = key.partition("__")
                if key not in valid:
                    raise ValueError(
                        f"Invalid parameter {key!r} for estimator {self}. Valid parameters"
                        f" are: {sorted(self._get_param_names())!r}."
                    )
                if delim:
                    nested.setdefault(key, {})[sub] = value
                else:
                    setattr(self, key, value)
                    valid[key] = value
            for key, sub_params in nested.items():
                valid[key].set_params(**sub_params)
            return self

        def __repr__(self) -> str:
            sig = inspect.signature(type(self).__init__).parameters
            parts = []
            for k in self._get_param_names():
                v = getattr(self, k, None)
                d = sig[k].default
                try:
                    same = v is d or (type(v) is type(d) and bool(v == d))
                except Exception:
                    same = False
                if not same:
                    parts.append(f"{k}={v!r}")
            return f"{type(self).__name__}({', '.join(parts)})"

    class ClassifierMixin:  # type: ignore[no-redef]
        _estimator_type = "classifier"

    class RegressorMixin:  # type: ignore[no-redef]
        _estimator_type = "regressor"

# scikit-learn's exception types when it is installed (so that its tools recognise them),
# look-alikes with the same bases otherwise.
try:
    from sklearn.exceptions import DataConversionWarning, NotFittedError
except Exception:

    class NotFittedError(ValueError, AttributeError):  # type: ignore[no-redef]
        """The estimator is used before ``fit``."""

    class DataConversionWarning(UserWarning):  # type: ignore[no-redef]
        """Input data was converted (e.g. a column-vector ``y`` was flattened)."""


def _seed_from_random_state(random_state: Any) -> int:
    """An int seed in [0, 2**63) from sklearn-style random_state."""
    if random_state is None:
        return int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
        s = int(random_state)
        if s < 0 or s >= 2**64:
            raise ValueError(f"random_state must be in [0, 2**64), got {s}")
        return s
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1, dtype=np.int64))
    raise ValueError(
        f"random_state must be None, an int, a numpy RandomState or Generator; got {random_state!r}"
    )


_FITTED_ATTRIBUTES = (
    "network_", "batch_costs_", "epoch_costs_", "loss_curve_", "loss_", "n_iter_",
    "batch_size_", "diverged_", "classes_", "n_outputs_", "out_activation_",
    "n_features_in_", "feature_names_in_", "validation_scores_", "best_validation_score_",
    "best_loss_", "t_", "validation_costs_",
)

_SOLVERS = ("adam", "sgd", "rmsprop", "adamw")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


class _BaseMLP(BaseEstimator):
    """Shared machinery of MLPClassifier and MLPRegressor (not public)."""

    _loss_names = ("",)

    def __init__(
        self,
        hidden_layer_sizes: Union[int, Sequence[int]] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Union[int, str] = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        init: str = "xavier",
        drop_last: bool = False,
        memory_budget: int = 0,
        warm_start: bool = False,
        verbose: bool = False,
        callback: Optional[Callable[[Progress], Any]] = None,
        on_divergence: str = "warn",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.init = init
        self.drop_last = drop_last
        self.memory_budget = memory_budget
        self.warm_start = warm_start
        self.verbose = verbose
        self.callback = callback
        self.on_divergence = on_divergence

    # -- scikit-learn protocol ------------------------------------------------------

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"requires_y": True, "allow_nan": False}

    # -- parameter checks (in fit, never in __init__/set_params) --------------------

    def _checked_params(self) -> dict[str, Any]:
        hls: Any = self.hidden_layer_sizes
        if isinstance(hls, numbers.Integral):
            hls = (hls,)
        try:
            ok = not isinstance(hls, str) and all(
                isinstance(h, numbers.Integral) and not isinstance(h, (bool, np.bool_)) and int(h) >= 1
                for h in hls
            )
            hidden = [int(h) for h in hls] if ok else []
        except TypeError:  # not iterable
            ok = False
        if not ok:
            raise ValueError(
                f"hidden_layer_sizes must be a sequence of positive ints (may be empty), got {self.hidden_layer_sizes!r}"
            )
        lr = self.learning_rate_init
        if (
            isinstance(lr, bool)
            or not isinstance(lr, numbers.Real)
            or not np.isfinite(lr)
            or lr <= 0
        ):
            raise ValueError(f"learning_rate_init must be a finite number > 0, got {lr!r}")
        mi = self.max_iter
        if isinstance(mi, bool) or not isinstance(mi, numbers.Integral) or mi < 1:
            raise ValueError(f"max_iter must be an int >= 1, got {mi!r}")
        bs = self.batch_size
        if not (isinstance(bs, str) and bs == "auto"):
            if isinstance(bs, bool) or not isinstance(bs, numbers.Integral) or bs < 1:
                raise ValueError(f"batch_size must be 'auto' or an int >= 1, got {bs!r}")
        mb = self.memory_budget
        if isinstance(mb, bool) or not isinstance(mb, numbers.Integral) or mb < 0:
            raise ValueError(f"memory_budget must be an int >= 0, got {mb!r}")
        if self.on_divergence not in ("warn", "raise"):
            raise ValueError(f"on_divergence must be 'warn' or 'raise', got {self.on_divergence!r}")
        if self.callback is not None and not callable(self.callback):
            raise ValueError("callback must be None or callable")
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {_SOLVERS} ('lbfgs' is not offered), got {self.solver!r}")
        if self.learning_rate not in _LEARNING_RATES:
            raise ValueError(f"learning_rate must be one of {_LEARNING_RATES}, got {self.learning_rate!r}")
        for name in ("alpha", "tol", "power_t", "momentum", "beta_1", "beta_2", "epsilon", "validation_fraction"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise ValueError(f"early_stopping must be a bool, got {self.early_stopping!r}")
        nc = self.n_iter_no_change
        if isinstance(nc, bool) or not isinstance(nc, numbers.Integral) or nc < 1:
            raise ValueError(f"n_iter_no_change must be an int >= 1, got {nc!r}")
        return {
            "hidden": hidden,
            "activation": activation_from(self.activation),
            "init": init_from(self.init),
            "lr": float(lr),
            "max_iter": int(mi),
            "batch_size": bs,
            "memory_budget": int(mb),
        }

    def _rule(self) -> dict[str, Any]:
        """The library's rule, schedule and L2 for scikit-learn's parameters (their values
        are checked by the library)."""
        from . import optim

        if self.solver == "sgd":
            rule: Any = optim.SGD(float(self.momentum), bool(self.nesterovs_momentum) and self.momentum > 0)
            schedule: Any = {
                "constant": optim.Constant(),
                "invscaling": optim.InverseTime(float(self.power_t)),
                "adaptive": optim.Adaptive(),
            }[self.learning_rate]
        else:
            # scikit-learn applies `learning_rate` to 'sgd' only.
            rule = {
                "adam": optim.Adam(float(self.beta_1), float(self.beta_2), float(self.epsilon)),
                "adamw": optim.AdamW(float(self.beta_1), float(self.beta_2), float(self.epsilon)),
                "rmsprop": optim.RMSprop(epsilon=float(self.epsilon)),
            }[self.solver]
            schedule = optim.Constant()
        return {"optimizer": rule, "schedule": schedule, "l2": self._l2(float(self.alpha))}

    def _l2(self, alpha: float) -> float:
        """The library's l2 for scikit-learn's alpha (the same for cross-entropy)."""
        return alpha

    # -- data -----------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with"
                " appropriate arguments before using this estimator."
            )

    def _validate_X(self, X: ArrayLike, *, reset: bool) -> np.ndarray:
        names = None
        cols = getattr(X, "columns", None)
        if cols is not None and not is_sparse(X):
            try:
                cand = np.asarray(list(cols), dtype=object)
                if len(cand) and all(isinstance(c, str) for c in cand):
                    names = cand
            except Exception:  # pragma: no cover
                names = None
        x = as_float32_matrix(X, "X", check_finite=True)
        if reset:
            self.n_features_in_ = int(x.shape[1])
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif x.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {x.shape[1]} features, but {type(self).__name__} is expecting"
                f" {self.n_features_in_} features as input."
            )
        return x

    def _dataset_features(self, ds: Dataset, y: Any, *, reset: bool) -> int:
        """For ``fit(dataset)``: the dataset's features, recorded (or checked) like X's."""
        if y is not None:
            raise ValueError("y must be None when X is a minibatch_gd.Dataset: the targets are its y file")
        n = ds.n_features
        if reset:
            self.n_features_in_ = int(n)
            self.__dict__.pop("feature_names_in_", None)
        elif n != self.n_features_in_:
            raise ValueError(f"the dataset has {n} features, but {type(self).__name__} is expecting"
                             f" {self.n_features_in_} features as input.")
        return n

    def _fit_network(
        self,
        data: Union[np.ndarray, Dataset],
        targets: Optional[np.ndarray],
        n_features: int,
        n_out: int,
        p: dict[str, Any],
        *,
        out_activation: str,
        same_outputs: bool = True,
        sample_weight: Any = None,
    ) -> None:
        """The end of every ``fit``: continue the current network (``warm_start`` with the
        same shape and outputs) or start a new one, then train ``max_iter`` epochs."""
        continue_ = (
            self.warm_start
            and same_outputs
            and hasattr(self, "network_")
            and self.network_.layer_sizes == [n_features, *p["hidden"], n_out]
        )
        net = self.network_ if continue_ else self._new_network(p, n_features, n_out)
        self.n_outputs_ = n_out
        self.out_activation_ = out_activation
        if sample_weight is not None and isinstance(data, Dataset):
            raise ValueError("sample_weight applies to arrays, not to a minibatch_gd.Dataset")
        sw = None if isinstance(data, Dataset) else self._sample_weight(sample_weight, data.shape[0])
        self._train(net, data, targets, p["max_iter"], p,
                    reset_costs=not continue_ or not hasattr(self, "batch_costs_"), sample_weight=sw)

    def _y_array(self, y: ArrayLike, m: int) -> np.ndarray:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        if is_sparse(y):
            raise TypeError("sparse y is not supported; pass a dense array")
        ya = np.asarray(y)
        if np.iscomplexobj(ya):
            raise ValueError("Complex data not supported in y")
        if ya.ndim == 0:
            raise ValueError(f"y should be a 1d array, got a scalar {ya!r} instead.")
        if ya.shape[0] != m:
            raise ValueError(
                "Found input variables with inconsistent numbers of samples:"
                f" [{m}, {ya.shape[0]}]"
            )
        return ya

    # -- training -------------------------------------------------------------------

    def _seed(self) -> int:
        return int(self._seed_value)

    def _new_network(self, p: dict[str, Any], n_features: int, n_outputs: int) -> Network:
        self._seed_value = _seed_from_random_state(self.random_state)
        sizes = [n_features, *p["hidden"], n_outputs]
        return Network(
            sizes,
            hidden_activation=p["activation"],
            loss=self._loss_for(n_outputs),
            init=p["init"],
            seed=self._seed_value,
        )

    def _loss_for(self, n_outputs: int) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _train(
        self,
        net: Network,
        x: np.ndarray,
        targets: np.ndarray,
        epochs: int,
        p: dict[str, Any],
        *,
        reset_costs: bool,
        incremental: bool = False,
        sample_weight: Optional[np.ndarray] = None,
    ) -> None:
        from . import optim

        m = len(x) if isinstance(x, Dataset) else x.shape[0]
        bs = p["batch_size"]
        validation = None
        if self.early_stopping and not incremental and not isinstance(x, Dataset):
            x, targets, validation, keep = self._split_validation(x, targets)
            sample_weight = None if sample_weight is None else sample_weight[keep]
            m = x.shape[0]
        if isinstance(bs, str):
            # scikit-learn's 'auto' (see the class docstring).
            bs = min(200, m)
        elif bs > m:
            warnings.warn(
                f"Got batch_size={bs} larger than the number of samples {m}; it is clipped"
                f" to {m} (batch gradient descent).",
                UserWarning,
                stacklevel=3,
            )
            bs = m
        user_cb = self.callback
        verbose = bool(self.verbose)
        name = type(self).__name__

        def cb(progress: Progress) -> Any:
            if verbose:
                print(
                    f"{name}: epoch {progress.epochs_trained}, cost {progress.epoch_cost:.6g}"
                    f" ({progress.batches} batches of {progress.batch_size})"
                )
            if user_cb is not None:
                return user_cb(progress)
            return None

        if reset_costs:
            self.batch_costs_ = np.empty(0, dtype=np.float64)
            self.epoch_costs_ = np.empty(0, dtype=np.float64)
            self.validation_scores_ = [] if self.early_stopping else None
            self.t_ = 0
        # scikit-learn stops when the monitored value has not improved by tol for more
        # than n_iter_no_change epochs: patience n_iter_no_change + 1. partial_fit trains
        # its one epoch without it, as scikit-learn's does.
        stopping = None if incremental else optim.EarlyStopping(
            patience=int(self.n_iter_no_change) + 1, min_delta=float(self.tol),
            restore_best=validation is not None)
        rule = self._rule()
        if incremental and isinstance(rule["schedule"], optim.Adaptive):
            rule["schedule"] = optim.Constant()
        history = History()
        diverged: Optional[DivergenceError] = None
        try:
            net.train(
                x,
                targets,
                epochs=epochs,
                batch_size=bs,
                learning_rate=p["lr"],
                seed=self._seed(),
                shuffle=bool(self.shuffle),
                drop_last=bool(self.drop_last),
                memory_budget=p["memory_budget"],
                callback=cb,
                history=history,
                early_stopping=stopping,
                validation=validation,
                sample_weight=sample_weight,
                **rule,
            )
        except DivergenceError as e:
            diverged = e
        finally:
            # whatever happened (divergence, cancellation, an exception in the callback,
            # Ctrl-C), the estimator keeps the weights reached and the costs recorded --
            # unless a fresh network failed before finishing any epoch (e.g. a memory
            # budget too small): then the estimator is left unfitted.
            commit = (
                diverged is not None
                or net.epochs_trained > 0
                or net is self.__dict__.get("network_")
            )
            if commit:
                self.network_ = net
                self.batch_costs_ = np.concatenate([self.batch_costs_, history.batch_costs])
                self.epoch_costs_ = np.concatenate([self.epoch_costs_, history.epoch_costs])
                self.loss_curve_ = [float(c) * self._loss_scale for c in self.epoch_costs_]
                self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else float("nan")
                self.n_iter_ = net.epochs_trained
                self.t_ = int(getattr(self, "t_", 0) or 0) + m * len(history.epoch_costs)
                if validation is not None:
                    self._last_validation = validation  # the split (for tests)
                if validation is not None and diverged is None and net.epochs_trained > 0:
                    # scikit-learn ends fit with the best epoch's weights (a fit that stopped
                    # early has them already).
                    net.restore_best_weights()
                if self.early_stopping and not incremental:
                    self.validation_scores_ = list(self.validation_scores_ or []) + [
                        float(v) for v in history.validation_scores]
                    self.validation_costs_ = np.concatenate([
                        getattr(self, "validation_costs_", None) if reset_costs is False
                        and getattr(self, "validation_costs_", None) is not None else np.empty(0),
                        history.validation_costs])
                    self.best_validation_score_ = (
                        max(self.validation_scores_) if self.validation_scores_ else None)
                    self.best_loss_ = None
                else:
                    self.validation_scores_ = None
                    self.best_validation_score_ = None
                    self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
                if net.last_progress is not None:
                    self.batch_size_ = net.last_progress.batch_size
                self.diverged_ = diverged is not None
            else:
                for attr in _FITTED_ATTRIBUTES:
                    self.__dict__.pop(attr, None)
            history.close()
        if diverged is not None:
            if self.on_divergence == "raise":
                raise diverged
            warnings.warn(
                f"{name}: {diverged} [after {net.epochs_trained} epochs; lower"
                " learning_rate_init or scale the features]",
                DivergenceWarning,
                stacklevel=3,
            )

    #: loss_curve_ = epoch costs times this (scikit-learn's scale for the loss).
    _loss_scale = 1.0

    def _split_validation(
        self, x: np.ndarray, targets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray]:
        """A seeded split of ``validation_fraction`` of the rows (stratified by class for a
        classifier, as scikit-learn's): the rows are taken in the order of
        ``minibatch_gd.permutation(m, seed, 2**62)`` (an epoch no training reaches), class by
        class, ceil(fraction * class rows) of each for validation."""
        from .core import permutation

        m = x.shape[0]
        order = permutation(m, self._seed(), 2**62)
        labels = self._strata(targets)
        take = np.zeros(m, dtype=bool)
        if labels is None:
            take[order[: max(1, int(np.ceil(self.validation_fraction * m)))]] = True
        else:
            ordered = labels[order]
            for c in np.unique(labels):
                rows = order[ordered == c]
                take[rows[: int(np.ceil(self.validation_fraction * len(rows)))]] = True
        if take.all() or not take.any():
            raise ValueError(f"validation_fraction={self.validation_fraction} leaves no training or no validation rows")
        keep = ~take
        return x[keep], targets[keep], (x[take], targets[take]), keep

    @staticmethod
    def _sample_weight(sample_weight: Any, m: int) -> Optional[np.ndarray]:
        """sample_weight as float32 (m,) or None (the library checks the values)."""
        if sample_weight is None:
            return None
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.ndim == 0:
            sw = np.full(m, float(sw))
        if sw.shape != (m,):
            raise ValueError(f"sample_weight.shape == {sw.shape}, expected ({m},)!")
        return sw.astype(np.float32)

    def _strata(self, targets: np.ndarray) -> Optional[np.ndarray]:
        return None

    # -- fitted attributes computed from the network ---------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices in scikit-learn's layout: coefs_[i] is (n_in, n_out) (copies)."""
        self._check_fitted()
        return [w.T.astype(np.float64) for w, _ in self.network_.get_weights()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, intercepts_[i] is (n_out,) (copies)."""
        self._check_fitted()
        return [b.astype(np.float64) for _, b in self.network_.get_weights()]

    @property
    def n_layers_(self) -> int:
        self._check_fitted()
        return len(self.network_.layer_sizes)

    def _forward(self, X: Union[ArrayLike, Dataset]) -> np.ndarray:
        self._check_fitted()
        if isinstance(X, Dataset):
            self._dataset_features(X, None, reset=False)
            return _predict_dataset_row_invariant(self.network_, X).astype(np.float64)
        x = self._validate_X(X, reset=False)
        return _predict_row_invariant(self.network_, x)

    def _dataset_outputs(self, ds: Dataset, y: Any) -> np.ndarray:
        """For ``score(dataset)``: the float32 predictions (m, n_outputs) of every row, X
        streamed from its file (never loaded)."""
        self._check_fitted()
        self._dataset_features(ds, y, reset=False)
        return _predict_dataset_row_invariant(self.network_, ds)

    @staticmethod
    def _score_weights(sample_weight: Any, m: int) -> Optional[np.ndarray]:
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (m,):
            raise ValueError(f"sample_weight has shape {w.shape}, expected ({m},)")
        return w


#: rows per block for _predict_row_invariant (a multiple of every BLAS kernel's unroll)
_ROW_BLOCK = 16


#: rows of y (and of the predictions) compared at a time by ``score(dataset)``
_SCORE_CHUNK = 1 << 16


def _predict_dataset_row_invariant(net: Network, ds: Dataset) -> np.ndarray:
    """``_predict_row_invariant`` of a dataset's X, float32 (m, n_outputs), without loading
    X: the library predicts every row from the file (mb_predict_dataset: what mb_predict
    gives on the whole X, bit for bit), then the rows after the last full block of 16 are
    predicted again padded to a block, as ``_predict_row_invariant`` predicts them (they are
    read alone from the file). So a dataset's predictions equal its X's in memory."""
    out = net.predict(ds)
    m = out.shape[0]
    full = m - m % _ROW_BLOCK
    if full < m:
        x = np.load(ds.x_path, mmap_mode="r")
        tail = np.zeros((_ROW_BLOCK, x.shape[1]), dtype=np.float32)
        tail[: m - full] = x[full:]
        del x
        out[full:] = net.predict(tail)[: m - full]
    return out


def _predict_row_invariant(net: Network, x: np.ndarray) -> np.ndarray:
    """net.predict(x) as float64, computed so that a row's result does not depend on the
    other rows of the call.

    OpenBLAS computes the last (m mod 4) rows of a matrix product with a different kernel
    (another summation order), so mb_predict on a whole X and on a subset of its rows can
    differ in the last bit. The estimators therefore predict the first m - m % 16 rows in
    one call (no copy) and the remaining rows padded to a full block of 16 rows.
    (:meth:`Network.predict` itself stays exactly mb_predict.)
    """
    m = x.shape[0]
    full = m - m % _ROW_BLOCK
    if full == m:
        return net.predict(x).astype(np.float64)
    out = np.empty((m, net.n_outputs), dtype=np.float64)
    if full:
        out[:full] = net.predict(x[:full])
    tail = np.zeros((_ROW_BLOCK, x.shape[1]), dtype=np.float32)
    tail[: m - full] = x[full:]
    out[full:] = net.predict(tail)[: m - full]
    return out


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained by mini-batch gradient descent.

    Binary problems use one sigmoid output (binary cross-entropy), more classes a softmax
    output (cross-entropy). Labels may be of any type ``np.unique`` can sort (ints of any
    dtype, strings, ...): ``classes_ = np.unique(y)``.

    Parameters
    ----------
    The parameters scikit-learn's ``MLPClassifier`` has keep its meaning and default
    (``solver='lbfgs'`` is not offered); the others are minibatch's.

    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units of each hidden layer; ``()`` gives (multinomial) logistic regression.
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Hidden activation ('sigmoid' and 'linear' are accepted too).
    solver : {'adam', 'sgd', 'rmsprop', 'adamw'}, default='adam'
        The update rule (:mod:`minibatch_gd.optim`; formulas in the header, PyTorch's form).
        'sgd' uses ``momentum`` and ``nesterovs_momentum``; with ``learning_rate`` other
        than 'constant', PyTorch's momentum (the rate outside the velocity) differs from
        scikit-learn's (inside) as the rate changes.
    alpha : float, default=0.0001
        L2 penalty: 0.5 * alpha * sum(W**2) / batch rows added to each batch's loss.
    batch_size : int or 'auto', default='auto'
        'auto' is scikit-learn's ``min(200, n_samples)``, not the C API's rule (one batch
        below 2000 rows): a drop-in must train as scikit-learn's does, and Adam's small
        default steps need many updates per epoch on small data. An int larger than the
        number of samples is clipped (with a warning).
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        The schedule, for ``solver='sgd'`` only (as scikit-learn's): 'invscaling' is
        ``learning_rate_init / (t + 1) ** power_t`` with t the samples seen, 'adaptive'
        divides the rate by 5 when the loss stops improving by ``tol`` for
        ``n_iter_no_change`` epochs and stops at 1e-6.
    learning_rate_init : float, default=0.001
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs per ``fit`` at most (``partial_fit`` trains one epoch).
    shuffle : bool, default=True
        Shuffle the rows every epoch (order ``minibatch_gd.permutation(m, seed, epoch)``).
    random_state : None, int, RandomState or Generator, default=None
        Seed of the initial weights, the shuffle order and the validation split. An int
        is used as is.
    tol : float, default=1e-4
        ``fit`` stops when the loss (the validation loss with ``early_stopping``) has not
        improved by ``tol`` for more than ``n_iter_no_change`` epochs in a row.
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (seeded, stratified by class) and stop
        on the validation loss (scikit-learn's watches the validation score); ``fit`` ends
        with the weights of the best epoch, as scikit-learn's does. ``validation_scores_`` holds
        the accuracy after every epoch. Not with a :class:`minibatch_gd.Dataset` or in
        ``partial_fit``.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's (epsilon added to the bias-corrected root, as the Adam paper and PyTorch;
        scikit-learn adds it before the correction).
    n_iter_no_change : int, default=10
    init : {'auto', 'he', 'xavier'}, default='xavier'
        The weights' initialisation: 'xavier' has the variance of scikit-learn's Glorot
        uniform draws ('auto': He for ReLU layers).
    drop_last : bool, default=False
        Drop the last, smaller mini-batch of every epoch.
    memory_budget : int, default=0
        Bytes of working memory the library may use (0: no limit).
    warm_start : bool, default=False
        ``fit`` continues from the current weights, and the rule's state, instead of
        starting afresh.
    verbose : bool, default=False
        Print the cost of every epoch.
    callback : callable or None, default=None
        ``callback(progress)`` after every epoch (a :class:`minibatch_gd.Progress`). A
        truthy return value stops training with :class:`minibatch_gd.CancelledError`; an
        exception raised inside it stops training and propagates. Either way the
        estimator keeps the weights reached.
    on_divergence : {'warn', 'raise'}, default='warn'
        When a cost or update becomes NaN/Inf the model keeps the last weights with a finite cost
        and stays usable; 'warn' emits a :class:`minibatch_gd.DivergenceWarning`, 'raise'
        raises :class:`minibatch_gd.DivergenceError` from ``fit``.

    Attributes
    ----------
    classes_ : ndarray of the class labels.
    network_ : :class:`minibatch_gd.Network`, the trained network.
    batch_costs_ : float64 ndarray, the cost of every mini-batch since the last ``fit``
        (``partial_fit`` appends).
    epoch_costs_ : float64 ndarray, the cost of every epoch (size-weighted batch mean).
    loss_curve_ : list of float, the training loss of every epoch (scikit-learn's name
        and scale: for the regressor, half the library's cost).
    loss_ : float, the last epoch's loss.
    best_loss_ : float, the lowest of ``loss_curve_`` (None with ``early_stopping``).
    validation_scores_ : list of float, the validation accuracy (R^2 for the regressor)
        after every epoch with ``early_stopping`` (None without).
    best_validation_score_ : float, their maximum (None without ``early_stopping``).
    validation_costs_ : float64 ndarray, the validation loss after every epoch with
        ``early_stopping`` (minibatch's; the plotting helper draws it).
    t_ : int, the training samples seen.
    n_iter_ : int, epochs trained over the network's life.
    batch_size_ : int, the batch size used (resolved from 'auto').
    diverged_ : bool, whether the last training call diverged.
    n_features_in_, n_outputs_, out_activation_, coefs_, intercepts_, n_layers_.

    Notes
    -----
    Predictions are float64 and a row's prediction does not depend on the other rows of
    the call (see ``_predict_row_invariant``); ``network_.predict`` gives the raw float32
    outputs of ``mb_predict``.
    """

    def _loss_for(self, n_outputs: int) -> Any:
        return _lib.Loss.BINARY_CROSS_ENTROPY if n_outputs == 1 else _lib.Loss.CROSS_ENTROPY

    def _strata(self, targets: np.ndarray) -> Optional[np.ndarray]:
        return targets

    def _labels(self, y: ArrayLike, m: int) -> np.ndarray:
        ya = self._y_array(y, m)
        if ya.ndim == 2 and ya.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change"
                " the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning,
                stacklevel=4,
            )
            ya = ya.ravel()
        if ya.ndim != 1:
            raise ValueError(
                f"y should be a 1d array, got an array of shape {ya.shape} instead"
                " (multi-output / multi-label targets are not supported)."
            )
        if ya.dtype.kind == "f":
            check_all_finite(ya, "y")
            if np.any(ya != np.floor(ya)):
                raise ValueError(
                    "Unknown label type: continuous. Maybe you are trying to fit a"
                    " classifier, which expects discrete classes on a regression target"
                    " with continuous values."
                )
        elif ya.dtype.kind not in "biuUSO":
            raise ValueError(f"Unknown label type: y has dtype {ya.dtype}")
        if ya.dtype.kind == "O":
            for v in ya:
                if isinstance(v, (float, np.floating)) and (not np.isfinite(v) or v != np.floor(v)):
                    raise ValueError("Unknown label type: continuous or non-finite values in y")
        return ya

    @staticmethod
    def _unique(ya: np.ndarray) -> np.ndarray:
        try:
            return np.unique(ya)
        except TypeError as e:
            raise ValueError(f"Unknown label type: the labels in y cannot be sorted ({e})") from e

    def _encode(self, ya: np.ndarray) -> np.ndarray:
        classes = self.classes_
        idx = np.searchsorted(classes, ya)
        idx_c = np.clip(idx, 0, len(classes) - 1)
        bad = classes[idx_c] != ya
        if np.any(bad):
            unknown = self._unique(ya[np.asarray(bad)])
            raise ValueError(f"y has labels not in classes_ {classes!r}: {unknown!r}")
        return idx_c.astype(np.int32)

    def _check_two_classes(self, classes: np.ndarray) -> None:
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data,"
                f" but the data contains only one class: {classes[0] if len(classes) else None!r}"
            )

    def fit(self, X: Union[ArrayLike, Dataset], y: Optional[ArrayLike] = None,
            sample_weight: Optional[ArrayLike] = None) -> "MLPClassifier":
        """Trains for up to ``max_iter`` epochs from fresh weights (or the current ones with
        ``warm_start=True``). Returns self. ``sample_weight`` (n_samples,): each batch's
        loss is sum(w * loss) / sum(w) over its rows, as scikit-learn's (arrays only).

        ``X`` may be a :class:`minibatch_gd.Dataset` (data in .npy files, read in mini-batches
        without loading it; ``y`` is then None): its y file must hold integer labels
        0, 1, ..., k-1, which are used as the class indices (``classes_`` = 0 .. k-1)."""
        p = self._checked_params()
        if isinstance(X, Dataset):
            data, n_features = X, self._dataset_features(X, y, reset=True)
            classes, ya = self._dataset_classes(X), None
        else:
            data = self._validate_X(X, reset=True)
            n_features = data.shape[1]
            ya = self._labels(y, data.shape[0])
            classes = self._unique(ya)
        self._check_two_classes(classes)
        n_out = 1 if len(classes) == 2 else len(classes)
        same_outputs = np.array_equal(getattr(self, "classes_", np.empty(0)), classes)
        self.classes_ = classes
        targets = None if ya is None else self._encode(ya)
        self._fit_network(data, targets, n_features, n_out, p, same_outputs=same_outputs,
                          out_activation="logistic" if n_out == 1 else "softmax", sample_weight=sample_weight)
        return self

    @staticmethod
    def _dataset_classes(ds: Dataset) -> np.ndarray:
        """A dataset's classes: its y file's labels, which are the class indices 0 .. k-1."""
        if ds.y_type != _lib.Targets.CLASS_INDEX:
            raise ValueError("a classifier's dataset needs integer class labels in its y file, not float targets")
        classes = label_values(ds.y_path)
        if not np.array_equal(classes, np.arange(len(classes))):
            raise ValueError(f"the labels in {ds.y_path} are used as class indices, so they must be"
                             f" 0, 1, ..., k-1; found {classes[:10].tolist()}")
        return classes

    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None,
                    classes: Optional[ArrayLike] = None) -> "MLPClassifier":
        """Trains one epoch on (X, y), continuing the weights, the rule's state and the
        shuffle stream (``sample_weight`` as in :meth:`fit`).

        ``classes`` (every label that will ever appear) is required on the first call.
        """
        p = self._checked_params()
        first = not hasattr(self, "network_")
        x = self._validate_X(X, reset=first)
        ya = self._labels(y, x.shape[0])
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            all_classes = self._unique(np.asarray(classes))
            self._check_two_classes(all_classes)
            self.classes_ = all_classes
            n_out = 1 if len(all_classes) == 2 else len(all_classes)
            self.n_outputs_ = n_out
            self.out_activation_ = "logistic" if n_out == 1 else "softmax"
            targets = self._encode(ya)
            net = self._new_network(p, x.shape[1], n_out)
            self._train(net, x, targets, 1, p, reset_costs=True, incremental=True,
                        sample_weight=self._sample_weight(sample_weight, x.shape[0]))
        else:
            if classes is not None and not np.array_equal(self._unique(np.asarray(classes)), self.classes_):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call to"
                    f" partial_fit ({self.classes_!r})"
                )
            targets = self._encode(ya)
            self._train(self.network_, x, targets, 1, p, reset_costs=False, incremental=True,
                        sample_weight=self._sample_weight(sample_weight, x.shape[0]))
        return self

    def predict_proba(self, X: Union[ArrayLike, Dataset]) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), float64, columns in ``classes_`` order.
        ``X`` may be a :class:`minibatch_gd.Dataset` (its X is read from the file in chunks,
        never loaded; the result equals that of its X in memory)."""
        return self._proba(self._forward(X))

    @staticmethod
    def _proba(out: np.ndarray) -> np.ndarray:
        """Probabilities (n, n_classes), float64, from the network's outputs (n, n_outputs)."""
        out = out.astype(np.float64, copy=False)
        if out.shape[1] == 1:
            p1 = out[:, 0]
            return np.column_stack([1.0 - p1, p1])
        return out

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Union[ArrayLike, Dataset]) -> np.ndarray:
        """The most probable class of every row (lowest class on ties). ``X`` may be a
        :class:`minibatch_gd.Dataset`, as for :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X: Union[ArrayLike, Dataset], y: Optional[ArrayLike] = None,
              sample_weight: Optional[ArrayLike] = None) -> float:
        """Mean accuracy of ``predict(X)`` against y (weighted by sample_weight).

        ``X`` may be a :class:`minibatch_gd.Dataset` (``y`` is then None: the labels are its
        y file): X is never loaded (its rows are predicted from the file, and the predictions
        held, 4 bytes per row and output), and the predictions are compared with the labels a
        chunk at a time, the labels read in order from the file."""
        if isinstance(X, Dataset):
            return self._score_dataset(X, y, sample_weight)
        pred = self.predict(X)
        ya = np.asarray(y)
        if ya.ndim == 2 and ya.shape[1] == 1:
            ya = ya.ravel()
        if ya.shape != pred.shape:
            raise ValueError(f"y has shape {ya.shape}, expected {pred.shape}")
        correct = (pred == ya).astype(np.float64)
        return float(np.average(correct, weights=sample_weight))

    def _score_dataset(self, ds: Dataset, y: Any, sample_weight: Any) -> float:
        out = self._dataset_outputs(ds, y)
        m = out.shape[0]
        w = self._score_weights(sample_weight, m)
        labels = np.load(ds.y_path, mmap_mode="r")
        hits = 0.0
        for start in range(0, m, _SCORE_CHUNK):
            end = min(m, start + _SCORE_CHUNK)
            pred = self.classes_[np.argmax(self._proba(out[start:end]), axis=1)]
            correct = pred == labels[start:end].reshape(end - start)
            hits += float(correct.sum()) if w is None else float(np.dot(correct, w[start:end]))
        del labels
        return hits / (m if w is None else float(w.sum()))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor (linear outputs, mean squared error) trained by
    mini-batch gradient descent. Supports several outputs (y of shape (n, n_outputs)).

    ``hidden_layer_sizes=()`` gives linear regression. The library's cost is
    ``mean((prediction - y)**2)`` over rows and outputs (``epoch_costs_``); ``loss_curve_``
    is half of it, scikit-learn's scale, and ``alpha`` is scaled so that the penalty
    weighs as in scikit-learn (``l2 = 2 * alpha / n_outputs``). Parameters and attributes
    are those of :class:`MLPClassifier` (without ``classes_``; ``validation_scores_``
    are R^2); ``predict`` returns float64, 1-D for one output.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"requires_y": True, "allow_nan": False, "multioutput": True}

    def _loss_for(self, n_outputs: int) -> Any:
        return _lib.Loss.MSE

    # The library's MSE is mean((prediction - y)**2) over rows and outputs; scikit-learn's
    # loss is half the squared error summed over outputs, averaged over rows, and its L2
    # gradient alpha * W / n is added to that. The same minimiser, up to a factor 2 / n_outputs
    # on the data term: so alpha maps to l2 = 2 * alpha / n_outputs, and loss_curve_ is
    # half the library's cost (scikit-learn's value for one output).
    _loss_scale = 0.5

    def _l2(self, alpha: float) -> float:
        return 2.0 * alpha / int(getattr(self, "n_outputs_", 1) or 1)

    def _targets(self, y: ArrayLike, m: int) -> np.ndarray:
        ya = self._y_array(y, m)
        if ya.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {ya.shape}")
        if ya.ndim == 2 and ya.shape[1] < 1:
            raise ValueError(f"y has no outputs: shape {ya.shape}")
        if ya.dtype.kind not in "biuf":
            try:
                ya = ya.astype(np.float64)
            except (TypeError, ValueError) as e:
                raise ValueError(f"y must be numeric, got dtype {ya.dtype}: {e}") from e
        y32 = as_float32_matrix(ya, "y", allow_1d=True, check_finite=True)
        return y32

    def fit(self, X: Union[ArrayLike, Dataset], y: Optional[ArrayLike] = None,
            sample_weight: Optional[ArrayLike] = None) -> "MLPRegressor":
        """Trains for ``max_iter`` epochs from fresh weights (or the current ones with
        ``warm_start=True``). Returns self.

        ``X`` may be a :class:`minibatch_gd.Dataset` (data in .npy files, read in mini-batches
        without loading it; ``y`` is then None) whose y file holds float32 targets."""
        p = self._checked_params()
        if isinstance(X, Dataset):
            data, n_features, targets = X, self._dataset_features(X, y, reset=True), None
            if X.y_type != _lib.Targets.FLOAT32:
                raise ValueError("a regressor's dataset needs float32 targets in its y file, not integer labels")
            n_out = X.y_columns
        else:
            data = self._validate_X(X, reset=True)
            n_features = data.shape[1]
            targets = self._targets(y, data.shape[0])
            n_out = targets.shape[1]
        self._fit_network(data, targets, n_features, n_out, p, out_activation="identity",
                          sample_weight=sample_weight)
        return self

    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> "MLPRegressor":
        """Trains one epoch on (X, y), continuing the weights, the rule's state and the
        shuffle stream (``sample_weight`` as in :meth:`MLPClassifier.fit`)."""
        p = self._checked_params()
        first = not hasattr(self, "network_")
        x = self._validate_X(X, reset=first)
        t = self._targets(y, x.shape[0])
        if first:
            net = self._new_network(p, x.shape[1], t.shape[1])
            self.n_outputs_ = t.shape[1]
            self.out_activation_ = "identity"
            self._train(net, x, t, 1, p, reset_costs=True, incremental=True,
                        sample_weight=self._sample_weight(sample_weight, x.shape[0]))
        else:
            if t.shape[1] != self.n_outputs_:
                raise ValueError(f"y has {t.shape[1]} outputs, but the model has {self.n_outputs_}")
            self._train(self.network_, x, t, 1, p, reset_costs=False, incremental=True,
                        sample_weight=self._sample_weight(sample_weight, x.shape[0]))
        return self

    def predict(self, X: Union[ArrayLike, Dataset]) -> np.ndarray:
        """Predicted values, float64: (n_samples,) for one output, else (n_samples, n_outputs).
        ``X`` may be a :class:`minibatch_gd.Dataset` (its X is read from the file in chunks,
        never loaded; the result equals that of its X in memory)."""
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out

    def score(self, X: Union[ArrayLike, Dataset], y: Optional[ArrayLike] = None,
              sample_weight: Optional[ArrayLike] = None) -> float:
        """Coefficient of determination R^2 (uniform average over outputs).

        ``X`` may be a :class:`minibatch_gd.Dataset` (``y`` is then None: the targets are
        its y file): X is never loaded (its rows are predicted from the file, and the
        predictions held, 4 bytes per row and output), and y is read in order a chunk at a
        time, twice (its weighted mean, then the sums of squares), against the predictions."""
        if isinstance(X, Dataset):
            return self._score_dataset(X, y, sample_weight)
        pred = self.predict(X)
        ya = np.asarray(y, dtype=np.float64)
        if pred.ndim == 1 and ya.ndim == 2 and ya.shape[1] == 1:
            ya = ya.ravel()
        if ya.shape != pred.shape:
            raise ValueError(f"y has shape {ya.shape}, expected {pred.shape}")
        return _r2(ya, pred, sample_weight)

    def _score_dataset(self, ds: Dataset, y: Any, sample_weight: Any) -> float:
        out = self._dataset_outputs(ds, y)
        m, k = out.shape
        w = self._score_weights(sample_weight, m)
        targets = np.load(ds.y_path, mmap_mode="r")
        if targets.reshape(m, -1).shape[1] != k:
            raise ValueError(f"y has shape {targets.shape}, expected ({m}, {k})")

        def chunks():  # (rows, y (rows, k) float64, w (rows, 1))
            for start in range(0, m, _SCORE_CHUNK):
                end = min(m, start + _SCORE_CHUNK)
                wc = np.ones((end - start, 1)) if w is None else w[start:end].reshape(-1, 1)
                yield slice(start, end), np.asarray(targets[start:end], dtype=np.float64).reshape(end - start, k), wc

        total, weighted = np.zeros(k), 0.0
        for _, yc, wc in chunks():
            total += (wc * yc).sum(axis=0)
            weighted += float(wc.sum())
        mean = total / weighted
        num, den = np.zeros(k), np.zeros(k)
        for rows, yc, wc in chunks():
            num += (wc * (yc - out[rows].astype(np.float64)) ** 2).sum(axis=0)
            den += (wc * (yc - mean) ** 2).sum(axis=0)
        del targets
        return _r2_score(num, den)


def _r2(y: np.ndarray, pred: np.ndarray, sample_weight: Optional[ArrayLike]) -> float:
    y2 = y.reshape(len(y), -1)
    p2 = pred.reshape(len(pred), -1)
    w = np.ones(len(y2)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = w.reshape(-1, 1)
    num = (w * (y2 - p2) ** 2).sum(axis=0)
    mean = (w * y2).sum(axis=0) / w.sum()
    den = (w * (y2 - mean) ** 2).sum(axis=0)
    return _r2_score(num, den)


def _r2_score(num: np.ndarray, den: np.ndarray) -> float:
    """R^2 averaged over outputs from each output's residual and total sums of squares."""
    scores = np.ones(len(num))
    nonzero = den != 0
    scores[nonzero] = 1.0 - num[nonzero] / den[nonzero]
    scores[(~nonzero) & (num != 0)] = 0.0
    return float(np.mean(scores))
