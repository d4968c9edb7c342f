"""MLPRegressor: scikit-learn's multi-layer perceptron regressor over the library (see
``estimators``)."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import _lib
from ._mlp_base import _SCORE_CHUNK, ArrayLike, _BaseMLP
from ._sklearn_base import DataConversionWarning, RegressorMixin, UndefinedMetricWarning
from ._validation import as_float32_matrix, as_real_array
from .network import Dataset, Progress

_LOSSES = ("squared_error", "poisson")


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor trained by mini-batch gradient descent: linear
    outputs and the squared error, or, with ``loss='poisson'``, outputs e^z (a log link)
    and half the Poisson deviance, for counts and rates y >= 0, as scikit-learn's
    (1.7+). Supports several outputs (y of shape (n, n_outputs)).

    ``loss`` is the first parameter, as in scikit-learn 1.7+ (``MLPRegressor((64,))``
    is refused there and here: pass ``hidden_layer_sizes=(64,)``).
    ``hidden_layer_sizes=()`` gives linear regression (Poisson regression with
    ``loss='poisson'``). For the squared error the library's cost is
    ``mean((prediction - y)**2)`` over rows and outputs (``epoch_costs_``), its gradient
    ``2 / n_outputs`` times scikit-learn's: ``loss_curve_`` is half the cost, scikit-learn's
    scale, and ``tol`` is compared with it (the library's ``min_delta = 2 * tol``), ``alpha``
    is ``l2 = 2 * alpha / n_outputs``, 'sgd''s rate ``learning_rate_init * n_outputs / 2``
    and the adaptive rules' ``epsilon`` ``epsilon * 2 / n_outputs``, so that a fit takes
    scikit-learn's steps (but for RAdam's first steps, about 5 at beta_2 0.999: momentum's,
    they scale with the gradient). With several outputs and ``alpha > 0`` the penalty's share
    of ``loss_curve_`` is ``1 / n_outputs`` of scikit-learn's (its reported loss averages the
    outputs where its gradient sums them; ``l2`` follows the gradient): the weights are
    scikit-learn's, but ``loss_curve_``, ``best_loss_`` and the epoch ``tol`` stops at can
    differ. For Poisson the library's cost is the mean over rows and outputs
    of ``y log(y / a) - y + a`` (``MB_LOSS_POISSON``); scikit-learn sums its outputs'
    means, so ``loss_curve_`` is ``n_outputs`` times the cost, ``min_delta = tol /
    n_outputs``, ``l2 = alpha / n_outputs``, 'sgd''s rate ``learning_rate_init *
    n_outputs`` and ``epsilon / n_outputs``. Other parameters and attributes are those of
    :class:`MLPClassifier` (without ``classes_``; ``validation_scores_`` are R^2 of the
    predictions; ``out_activation_`` is ``'identity'`` or ``'exp'``); ``predict`` returns
    float64, 1-D for one output.
    """

    def __init__(
        self,
        loss: str = "squared_error",
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
        # scikit-learn's get_params reads this signature: every parameter is spelled out.
        self.loss = loss
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun, init=init, dropout=dropout, drop_last=drop_last,
            memory_budget=memory_budget,
            warm_start=warm_start, verbose=verbose, callback=callback, on_divergence=on_divergence,
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.target_tags.positive_only = self._poisson()
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"requires_y": True, "allow_nan": False, "multioutput": True}

    def _checked_params(self) -> dict[str, Any]:
        if not (isinstance(self.loss, str) and self.loss in _LOSSES):
            hint = ""
            if not isinstance(self.loss, str):
                hint = (" (loss is the first parameter, as in scikit-learn 1.7+: pass the layers as"
                        " hidden_layer_sizes=...)")
            raise ValueError(f"loss must be one of {_LOSSES}, got {self.loss!r}{hint}")
        return super()._checked_params()

    def _loss_for(self, out_activation: str) -> Any:
        return _lib.Loss.POISSON if out_activation == "exp" else _lib.Loss.MSE

    def _out_activation(self) -> str:
        return "exp" if self._poisson() else "identity"

    def _poisson(self) -> bool:
        """Whether training uses the Poisson loss: the parameter, which a continued fit's
        network has too (``_check_loss_continued``)."""
        return self.loss == "poisson"

    def _check_loss_continued(self, call: str) -> None:
        """Refuses to continue the fitted network with another loss than it was made with."""
        had = "poisson" if self.network_.loss == _lib.Loss.POISSON else "squared_error"
        if had != self.loss:
            raise ValueError(
                f"{call} continues the fitted network, made with loss={had!r}, but loss is now"
                f" {self.loss!r}" + (": set warm_start=False to start afresh" if call == "warm_start" else "")
            )

    # Squared error: the library's MSE is mean((prediction - y)**2) over rows and outputs,
    # with gradient 2 (prediction - y) / (n k); scikit-learn's gradient is (prediction - y)
    # / n (that of half the squared error summed over outputs), and the loss it reports is
    # half the squared error averaged over rows and outputs: half the library's cost.
    # Poisson: scikit-learn's loss is the half deviance's mean over rows summed over
    # outputs, its gradient (e^z - y) / n; the library's mean over both is k times smaller,
    # and so is its gradient (see _MLPTraining's notes on the two scales).
    def _cost_scale(self) -> float:
        return float(self._n_outputs()) if self._poisson() else 0.5

    def _gradient_scale(self) -> float:
        return (1.0 if self._poisson() else 2.0) / self._n_outputs()

    def _n_outputs(self) -> int:
        return int(getattr(self, "n_outputs_", 1) or 1)

    def _check_continued(self, p: dict[str, Any], n_features: int, n_out: int) -> None:
        if self._continues():
            self._check_loss_continued("warm_start")
        super()._check_continued(p, n_features, n_out)

    def _targets(self, y: ArrayLike, m: int) -> np.ndarray:
        ya = self._y_array(y, m)
        if ya.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {ya.shape}")
        if ya.ndim == 2 and ya.shape[1] < 1:
            raise ValueError(f"y has no outputs: shape {ya.shape}")
        if ya.ndim == 2 and ya.shape[1] == 1:
            # one output, as a 1-D y; scikit-learn warns so (column_or_1d)
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change the"
                " shape of y to (n_samples, ), for example using ravel().", DataConversionWarning, stacklevel=3)
        if ya.dtype.kind not in "biuf":
            try:
                ya = ya.astype(np.float64)
            except (TypeError, ValueError, OverflowError) as e:
                raise ValueError(f"y must be numeric, got dtype {ya.dtype}: {e}") from e
        y32 = as_float32_matrix(ya, "y", allow_1d=True, check_finite=True)
        if self._poisson() and np.any(y32 < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for Poisson regression.")
        return y32

    def fit(self, X: Union[ArrayLike, Dataset], y: Optional[ArrayLike] = None,
            sample_weight: Optional[ArrayLike] = None) -> "MLPRegressor":
        """Trains for ``max_iter`` epochs from fresh weights (or the current ones with
        ``warm_start=True``). Returns self.

        ``X`` may be a :class:`minibatch_gd.Dataset` (data in .npy files, read in mini-batches
        without loading it; ``y`` is then None) whose y file holds the targets: float32,
        float64 or (since 0.10.0) integers such as Poisson counts, read as float32."""
        p = self._checked_params()
        reset = not self._continues()
        if isinstance(X, Dataset):
            self._check_dataset_fit()
            data, n_features, targets = X, self._dataset_features(X, y, reset=reset), None
            n_out = X.y_columns
        else:
            data = self._validate_X(X, reset=reset)
            n_features = data.shape[1]
            targets = self._targets(y, data.shape[0])
            n_out = targets.shape[1]
        self._check_continued(p, n_features, n_out)
        self._fit_network(data, targets, n_features, n_out, p, out_activation=self._out_activation(),
                          sample_weight=sample_weight)
        return self

    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> "MLPRegressor":
        """Trains one epoch on (X, y), continuing the weights, the rule's state and the
        shuffle stream (``sample_weight`` as in :meth:`MLPClassifier.fit`)."""
        p = self._checked_params()
        self._check_incremental()
        first = not hasattr(self, "network_")
        if not first:
            self._check_loss_continued("partial_fit")
        x = self._validate_X(X, reset=first)
        t = self._targets(y, x.shape[0])
        if first:
            sw = self._sample_weight(sample_weight, x.shape[0])  # (before the fitted attributes)
            net = self._new_network(p, x.shape[1], t.shape[1], self._out_activation())
            self.n_outputs_ = t.shape[1]
            self.out_activation_ = self._out_activation()
            self._train(net, x, t, 1, p, reset_costs=True, incremental=True, sample_weight=sw)
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
        ya = as_real_array(y, "y", np.float64)
        if not np.all(np.isfinite(ya)):  # (scikit-learn's r2_score refuses them too; R^2 was nan)
            raise ValueError("Input y contains NaN or infinity.")
        if pred.ndim == 1 and ya.ndim == 2 and ya.shape[1] == 1:
            ya = ya.ravel()
        if ya.shape != pred.shape:
            raise ValueError(f"y has shape {ya.shape}, expected {pred.shape}")
        if len(ya) < 2:
            return _undefined_r2()
        return _r2(ya, pred, self._score_weights(sample_weight, len(ya)))

    def _score_dataset(self, ds: Dataset, y: Any, sample_weight: Any) -> float:
        out = self._dataset_outputs(ds, y)
        m, k = out.shape
        if m < 2:
            return _undefined_r2()
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


def _undefined_r2() -> float:
    """R^2 of fewer than two rows: NaN with scikit-learn's warning, as its r2_score (0.0
    until 0.12.6)."""
    warnings.warn("R^2 score is not well-defined with less than two samples.", UndefinedMetricWarning, stacklevel=3)
    return float("nan")


def _r2(y: np.ndarray, pred: np.ndarray, sample_weight: Optional[ArrayLike]) -> float:
    y2 = y.reshape(len(y), -1)
    p2 = pred.reshape(len(pred), -1)
    w = np.ones(len(y2)) if sample_weight is None else as_real_array(sample_weight, "sample_weight", np.float64)
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
