"""The machinery MLPClassifier and MLPRegressor share (not public): parameter checks, the
data's validation, the fitted attributes computed from the network, and predictions."""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from ._mlp_training import _MLPTraining
from ._sklearn_base import BaseEstimator, NotFittedError
from ._validation import as_float32_matrix, as_real_array, is_sparse
from .network import Dataset, Network, Progress, activation_from, init_from

ArrayLike = Any

_SOLVERS = ("adam", "sgd", "rmsprop", "adamw", "adagrad", "adamax", "nadam", "radam")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


class _BaseMLP(_MLPTraining, BaseEstimator):
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
        n_iter_no_change: Union[int, float] = 10,
        max_fun: int = 15000,
        init: str = "xavier",
        dropout: float = 0.0,
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
        self.max_fun = max_fun
        self.init = init
        self.dropout = dropout
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
        if isinstance(mi, bool) or not isinstance(mi, numbers.Integral) or not 1 <= mi < 2**63:
            raise ValueError(f"max_iter must be an int in [1, 2**63), got {mi!r}")
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
        # scikit-learn's ranges, checked whatever the solver (as scikit-learn checks them):
        # here where the library is not given the value (a solver that does not use it; it
        # names those it refuses itself: test_estimators.py), and power_t (the library's
        # inverse-time schedule takes any power)
        adaptive = self.solver in ("adam", "adamw", "adamax", "nadam", "radam")
        for name, ok, text, library in (
            ("power_t", lambda v: v >= 0, ">= 0", False),
            ("momentum", lambda v: 0 <= v <= 1, "in [0, 1]", False),
            ("beta_1", lambda v: 0 <= v < 1, "in [0, 1)", adaptive),
            ("beta_2", lambda v: 0 <= v < 1, "in [0, 1)", adaptive),
            ("epsilon", lambda v: v > 0, "> 0", self.solver != "sgd"),
            ("validation_fraction", lambda v: 0 <= v < 1, "in [0, 1)", False),
        ):
            if not library and not ok(getattr(self, name)):
                raise ValueError(f"{name} must be {text}, got {getattr(self, name)!r}")
        if self.early_stopping and self.validation_fraction == 0:
            # (scikit-learn's split refuses it alike; without early stopping it is not used)
            raise ValueError("validation_fraction must be in (0, 1) with early_stopping=True, got 0")
        for name in ("early_stopping", "shuffle", "warm_start", "nesterovs_momentum", "drop_last"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        v = self.verbose
        if not isinstance(v, (bool, np.bool_, numbers.Integral)) or v < 0:
            raise ValueError(f"verbose must be a bool or an int >= 0, got {v!r}")
        if not isinstance(self.activation, str) or self.activation != self.activation.lower():
            raise ValueError(f"activation must be one of the names in lower case ('relu', 'tanh', ...), got {self.activation!r}")
        self._patience()
        mf = self.max_fun
        if isinstance(mf, bool) or not isinstance(mf, numbers.Integral) or mf < 1:
            raise ValueError(f"max_fun must be an int >= 1, got {mf!r}")
        return {
            "hidden": hidden,
            "activation": activation_from(self.activation),
            "init": init_from(self.init),
            "lr": float(lr),
            "max_iter": int(mi),
            "batch_size": bs,
            "memory_budget": int(mb),
        }

    def _patience(self) -> int:
        """Training's patience for ``n_iter_no_change`` (an int >= 1, or ``np.inf``: never
        stop, nor divide the 'adaptive' rate): n_iter_no_change + 1, as scikit-learn stops
        when the value has not improved for *more* than n_iter_no_change epochs."""
        nc = self.n_iter_no_change
        if isinstance(nc, numbers.Real) and not isinstance(nc, bool) and nc == np.inf:
            return 2**62  # (more epochs than any training runs)
        if isinstance(nc, bool) or not isinstance(nc, numbers.Integral) or not 1 <= nc < 2**62:
            raise ValueError(f"n_iter_no_change must be an int in [1, 2**62) or np.inf, got {nc!r}")
        return int(nc) + 1

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
                "adagrad": optim.Adagrad(float(self.epsilon)),
                "adamax": optim.Adamax(float(self.beta_1), float(self.beta_2), float(self.epsilon)),
                "nadam": optim.NAdam(float(self.beta_1), float(self.beta_2), float(self.epsilon)),
                "radam": optim.RAdam(float(self.beta_1), float(self.beta_2), float(self.epsilon)),
            }[self.solver]
            schedule = optim.Constant()
            g, epsilon = self._gradient_scale(), rule.epsilon
            if g != 1.0 and epsilon > 0:
                rule = dataclasses.replace(rule, epsilon=epsilon * g)
        return {"optimizer": rule, "schedule": schedule, "l2": self._l2(float(self.alpha))}

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
            return x
        self._check_feature_names(names)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {x.shape[1]} features, but {type(self).__name__} is expecting"
                f" {self.n_features_in_} features as input."
            )
        return x

    def _check_feature_names(self, names: Optional[np.ndarray]) -> None:
        """scikit-learn's rule for X's column names after fit: other names (or the same in
        another order) raise; names on one side only warn."""
        fitted = self.__dict__.get("feature_names_in_")
        kind = type(self).__name__
        if fitted is None and names is not None:
            warnings.warn(f"X has feature names, but {kind} was fitted without feature names", UserWarning,
                          stacklevel=2)
        elif fitted is not None and names is None:
            warnings.warn(f"X does not have valid feature names, but {kind} was fitted with feature names",
                          UserWarning, stacklevel=2)
        elif fitted is not None and (len(names) != len(fitted) or (names != fitted).any()):
            unseen = [n for n in names if n not in set(fitted)]
            missing = [n for n in fitted if n not in set(names)]
            detail = ""
            for title, listed in (("unseen at fit time", unseen), ("seen at fit time, yet now missing", missing)):
                if listed:
                    detail += f"\nFeature names {title}:\n" + "".join(f"- {n}\n" for n in listed[:5])
            if not detail:
                detail = "\nFeature names must be in the same order as they were in fit."
            raise ValueError("The feature names should match those that were passed during fit." + detail)

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

    def _check_incremental(self) -> None:
        """``partial_fit`` trains one epoch with no validation split: it refuses
        ``early_stopping``, as scikit-learn's does."""
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")

    def _check_dataset_fit(self) -> None:
        """``fit(dataset)`` has no validation split: refuses ``early_stopping`` (it stopped on
        the training loss and left NaN validation scores)."""
        if self.early_stopping:
            raise ValueError(
                "early_stopping=True splits X in memory; a minibatch_gd.Dataset is not split:"
                " fit it with early_stopping=False, or train a Network on it with"
                " validation=Dataset(...) and early_stopping=EarlyStopping(...)"
            )

    def _continues(self) -> bool:
        """Whether ``fit`` continues the fitted network (``warm_start``) instead of starting
        afresh; the data are then checked against it (``_check_continued``), as scikit-learn
        checks them, before anything is changed."""
        return bool(self.warm_start) and hasattr(self, "network_")

    def _check_continued(self, p: dict[str, Any], n_features: int, n_out: int) -> None:
        """With ``warm_start``, refuses a fit whose network would not be the fitted one
        (scikit-learn's would fail or train on mismatched weights)."""
        if not self._continues():
            return
        want = [n_features, *p["hidden"], n_out]
        if self.network_.layer_sizes != want:
            raise ValueError(
                f"warm_start continues the fitted network, of layers {self.network_.layer_sizes},"
                f" but this fit needs layers {want} (hidden_layer_sizes or the outputs changed):"
                " set warm_start=False to start afresh"
            )

    def _fit_network(
        self,
        data: Union[np.ndarray, Dataset],
        targets: Optional[np.ndarray],
        n_features: int,
        n_out: int,
        p: dict[str, Any],
        *,
        out_activation: str,
        sample_weight: Any = None,
        validation_weight: Any = ...,
        fitted: Optional[dict[str, Any]] = None,
    ) -> None:
        """The end of every ``fit``: continue the current network (``warm_start``, checked
        by ``_check_continued``) or start a new one, then train ``max_iter`` epochs.
        ``validation_weight``: the rows' weights for early stopping's score where they are
        not ``sample_weight`` (the classifier's, without ``class_weight``; None: none).
        ``fitted``: attributes the fit sets beside ``n_outputs_`` (``classes_``), set with
        them once every argument is checked, so that a refused fit changes none of them."""
        continue_ = self._continues()
        if sample_weight is not None and isinstance(data, Dataset):
            raise ValueError("sample_weight applies to arrays, not to a minibatch_gd.Dataset")
        sw = None if isinstance(data, Dataset) else self._sample_weight(sample_weight, data.shape[0])
        net = self.network_ if continue_ else self._new_network(p, n_features, n_out, out_activation)
        for name, value in (fitted or {}).items():
            setattr(self, name, value)
        self.n_outputs_ = n_out
        self.out_activation_ = out_activation
        self._train(net, data, targets, p["max_iter"], p,
                    reset_costs=not continue_ or not hasattr(self, "batch_costs_"), sample_weight=sw,
                    validation_weight=sw if validation_weight is ... else validation_weight)

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
        """mb_predict's float32 outputs as float64. A dataset's rows are predicted from its
        file in the passes X in memory takes (mb_predict_dataset), so they are equal."""
        self._check_fitted()
        if isinstance(X, Dataset):
            self._dataset_features(X, None, reset=False)
            return self.network_.predict(X).astype(np.float64)
        x = self._validate_X(X, reset=False)
        return self.network_.predict(x).astype(np.float64)

    def _dataset_outputs(self, ds: Dataset, y: Any) -> np.ndarray:
        """For ``score(dataset)``: the float32 predictions (m, n_outputs) of every row, X
        streamed from its file (never loaded)."""
        self._check_fitted()
        self._dataset_features(ds, y, reset=False)
        return self.network_.predict(ds)

    @staticmethod
    def _score_weights(sample_weight: Any, m: int) -> Optional[np.ndarray]:
        """``score``'s sample_weight as float64 (m,) (a number: that weight for every row),
        finite and not all 0; negative weights are scikit-learn's to allow in a score (a wrong
        shape was broadcast into a wrong score, or failed in numpy)."""
        if sample_weight is None:
            return None
        try:
            w = as_real_array(sample_weight, "sample_weight", np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"sample_weight must be numbers: {e}") from e
        if w.ndim == 0:
            w = np.full(m, float(w))
        if w.shape != (m,):
            raise ValueError(f"sample_weight has shape {w.shape}, expected ({m},): one weight per row of X")
        if not np.isfinite(w).all() or not w.any():
            raise ValueError("sample_weight must be finite, and not all 0")
        return w


#: rows of y (and of the predictions) compared at a time by ``score(dataset)``
_SCORE_CHUNK = 1 << 16
