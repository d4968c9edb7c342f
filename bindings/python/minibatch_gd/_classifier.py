"""MLPClassifier: scikit-learn's multi-layer perceptron classifier over the library (see
``estimators``)."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import _lib
from ._mlp_base import _SCORE_CHUNK, ArrayLike, _BaseMLP
from ._sklearn_base import ClassifierMixin, DataConversionWarning
from ._validation import check_all_finite
from .core import label_values
from .errors import DivergenceError
from .network import Dataset, Network, Progress


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained by mini-batch gradient descent.

    Binary problems use one sigmoid output (binary cross-entropy), more classes a softmax
    output (cross-entropy). Labels may be of any type ``np.unique`` can sort (ints of any
    dtype, strings, ...): ``classes_ = np.unique(y)``.

    Multilabel, as scikit-learn's: ``y`` may be a label-indicator matrix (n_samples, n_labels)
    of 0 and 1 (bools, ints or floats; other values raise ``ValueError``). Each label has its
    own sigmoid output (binary cross-entropy), ``classes_ = np.arange(n_labels)``,
    ``predict`` returns the indicator matrix (int64, 1 where a label's probability is above
    0.5), ``predict_proba`` each label's probability (n_samples, n_labels) and ``score`` the
    subset accuracy (the rows whose labels are all right). scikit-learn's loss sums the
    labels' cross-entropies where the library's cost averages them: the fit trains as on
    scikit-learn's loss (the library gets l2 = alpha / n_labels, min_delta = tol / n_labels,
    with 'sgd' the rate learning_rate_init * n_labels, with the other rules epsilon /
    n_labels), and ``loss_curve_`` is n_labels times ``epoch_costs_``, scikit-learn's values.
    A multilabel y is taken from arrays, not from a :class:`minibatch_gd.Dataset`.

    Parameters
    ----------
    The parameters scikit-learn's ``MLPClassifier`` has keep its meaning and default
    (``solver='lbfgs'`` is not offered); the others are minibatch's.

    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units of each hidden layer; ``()`` gives (multinomial) logistic regression.
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Hidden activation ('sigmoid' and 'linear' are accepted too, and, beyond
        scikit-learn's, PyTorch's 'leaky_relu' (slope 0.01), 'elu', 'selu', 'gelu' and
        'silu').
    solver : {'adam', 'sgd', 'rmsprop', 'adamw', 'adagrad', 'adamax', 'nadam', 'radam'}, default='adam'
        The update rule (:mod:`minibatch_gd.optim`; formulas in the header, PyTorch's form).
        'sgd' uses ``momentum`` and ``nesterovs_momentum``; with ``learning_rate`` other
        than 'constant', PyTorch's momentum (the rate outside the velocity) differs from
        scikit-learn's (inside) as the rate changes.
    alpha : float, default=0.0001
        L2 penalty: 0.5 * alpha * sum(W**2) / batch rows added to each batch's loss (with
        ``sample_weight``, divided by the batch's total weight instead, as scikit-learn's).
    batch_size : int or 'auto', default='auto'
        'auto' is scikit-learn's ``min(200, n_samples)``, not the C API's rule (one batch
        below 2000 rows): a drop-in must train as scikit-learn's does, and Adam's small
        default steps need many updates per epoch on small data. An int larger than the
        number of samples is clipped (with a warning).
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        The schedule, for ``solver='sgd'`` only (as scikit-learn's): 'invscaling' is
        ``learning_rate_init / (t + 1) ** power_t`` with t the samples seen, 'adaptive'
        divides the rate by 5 when the monitored value (the loss; with ``early_stopping``
        the validation score) stops improving by ``tol`` for more than
        ``n_iter_no_change`` epochs, and stops at 1e-6.
    learning_rate_init : float, default=0.001
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs per ``fit`` at most (``partial_fit`` trains one epoch). A ``fit`` that trains
        them all without its stopping rule ending it warns with ``ConvergenceWarning``
        (scikit-learn's where it is installed).
    shuffle : bool, default=True
        Shuffle the rows every epoch (order ``minibatch_gd.permutation(m, seed, epoch)``).
    random_state : None, int, RandomState or Generator, default=None
        Seed of the initial weights, the shuffle order and the validation split. An int
        is used as is.
    tol : float, default=1e-4
        ``fit`` stops when the loss (with ``early_stopping`` the validation score; for
        multilabel the validation loss) has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs in a row.
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (seeded, stratified by class; not
        stratified for multilabel, as scikit-learn's) and stop on the validation score, as
        scikit-learn's (``MB_MONITOR_VALIDATION_SCORE``; a multilabel classifier stops on
        the validation loss: the library's score is not its subset accuracy); ``fit`` ends
        with the weights of the best epoch, as scikit-learn's does. ``validation_scores_`` holds the accuracy after
        every epoch (multilabel: the subset accuracy, which the callback's
        ``Progress.validation_score`` also gets). ``fit`` on a :class:`minibatch_gd.Dataset` refuses it
        (a file is not split: train a :class:`minibatch_gd.Network` with
        ``validation=Dataset(...)``); ``partial_fit`` refuses it, as scikit-learn's.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's (epsilon added to the bias-corrected root, as the Adam paper and PyTorch;
        scikit-learn adds it before the correction); AdamW's and Adamax's too, and
        ``epsilon`` RMSprop's and Adagrad's.
    n_iter_no_change : int or np.inf, default=10
        ``np.inf``: never stop for want of improvement (nor divide the 'adaptive' rate),
        as scikit-learn's.
    max_fun : int, default=15000
        scikit-learn's budget of loss calls for 'lbfgs', which minibatch does not offer:
        checked (an int >= 1) and otherwise unused, as scikit-learn ignores it for the
        other solvers.
    init : {'auto', 'he', 'xavier', 'lecun'}, default='xavier'
        The weights' initialisation: 'xavier' has the variance of scikit-learn's Glorot
        uniform draws, 2 / (fan_in + fan_out) (for 'logistic' layers scikit-learn's are
        3 times smaller), and the biases start at 0 (scikit-learn draws them alike);
        'auto': He for ReLU and leaky ReLU layers, LeCun (1 / fan_in) for SELU ones.
    class_weight : dict, 'balanced' or None, default=None
        Not in scikit-learn's MLP, as in its linear classifiers: weights of the classes, a
        dict ``{label: weight}`` (1 for labels left out; a key that is not a label is
        refused where some label is left out, as scikit-learn's ``compute_class_weight``
        does, and unused otherwise) or ``'balanced'``, ``n_samples /
        (n_classes * np.bincount(y))``; each row weighs its class's weight times its
        ``sample_weight`` (PyTorch's ``CrossEntropyLoss(weight=...)``). Not for a multilabel
        y or a Dataset; ``partial_fit`` takes a dict only.
    dropout : float, default=0.0
        Not in scikit-learn: inverted dropout of every hidden layer's output while
        training, in [0, 1) (``torch.nn.Dropout(p)`` after each hidden layer): each unit
        of each row of a mini-batch is zeroed with that probability and the others
        scaled by 1 / (1 - p); ``predict``, ``score`` and the early-stopping validation
        use the whole network, and ``loss_curve_`` is the dropped network's loss, as
        PyTorch's training loss. Needs a hidden layer. 0: none.
    drop_last : bool, default=False
        Drop the last, smaller mini-batch of every epoch.
    memory_budget : int, default=0
        Bytes of working memory training may use, as ``Network.working_memory`` counts it
        (0: no limit): ``batch_size='auto'`` is halved until it fits; a ``batch_size``
        that does not fit raises ``ValueError``.
    warm_start : bool, default=False
        ``fit`` continues from the current weights, and the rule's state, instead of
        starting afresh. Data with other classes or features (or, multilabel, another
        number of labels, or 1d labels), or other ``hidden_layer_sizes``, then raise
        ``ValueError`` (as scikit-learn's).
    verbose : bool, default=False
        Print the loss of every epoch: the value ``loss_curve_`` gets, as scikit-learn
        prints it.
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
    classes_ : ndarray of the class labels (multilabel: ``np.arange(n_labels)``).
    network_ : :class:`minibatch_gd.Network`, the trained network.
    batch_costs_ : float64 ndarray, the cost of every mini-batch since the last ``fit``
        (``partial_fit`` appends).
    epoch_costs_ : float64 ndarray, the cost of every epoch (size-weighted batch mean).
    loss_curve_ : list of float, the training loss of every epoch (scikit-learn's name
        and scale: for the regressor, half the library's cost; multilabel, n_labels times it).
    loss_ : float, the last epoch's loss.
    best_loss_ : float, the lowest of ``loss_curve_`` (None with ``early_stopping``).
    validation_scores_ : list of float, the validation accuracy (multilabel: subset
        accuracy; R^2 for the regressor) after every epoch with ``early_stopping`` (None
        without), weighted by the held-out rows' ``sample_weight`` (scikit-learn 1.9's;
        since 0.7.0).
    best_validation_score_ : float, the score of the epoch whose weights ``fit`` ends
        with: the highest (multilabel: the lowest validation loss's; None without
        ``early_stopping``).
    validation_costs_ : float64 ndarray, the validation loss after every epoch with
        ``early_stopping`` (minibatch's; the plotting helper draws it).
    t_ : int, the training samples seen.
    n_iter_ : int, epochs the last fit or partial_fit ran (scikit-learn's meaning: with
        warm_start or partial_fit, this call's, not the network's life, which
        ``network_.epochs_trained`` counts).
    batch_size_ : int, the batch size used (resolved from 'auto').
    diverged_ : bool, whether the last training call diverged.
    n_features_in_, n_outputs_, out_activation_, coefs_, intercepts_, n_layers_.

    Notes
    -----
    Predictions are ``mb_predict``'s float32 outputs as float64 (``network_.predict``
    gives them as float32). As with any BLAS-based library, a row's prediction can differ
    in its last bits with the other rows of the call: the matrix kernels' summation order
    depends on a row's place in a product (OpenBLAS 0.3.34's Haswell kernels, measured).
    """

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
        class_weight: Union[None, str, dict] = None,
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
        self.class_weight = class_weight
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun, init=init, dropout=dropout, drop_last=drop_last,
            memory_budget=memory_budget, warm_start=warm_start, verbose=verbose, callback=callback,
            on_divergence=on_divergence,
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _class_weighted(self, sample_weight: Any, targets: np.ndarray, classes: np.ndarray, *,
                        incremental: bool = False) -> Optional[np.ndarray]:
        """The rows' weights with ``class_weight``: each row's class weight (scikit-learn's
        rule: a dict of label: weight, 1 for the labels it leaves out; 'balanced' n_samples /
        (n_classes * the class's count in y)) times its sample weight, in float32; the
        sample weights alone without class_weight."""
        m = targets.shape[0]
        sw = self._sample_weight(sample_weight, m)
        cw = self.class_weight
        if cw is None:
            return sw
        if targets.ndim == 2:
            raise ValueError("class_weight is not supported for a multilabel y (a label-indicator matrix)")
        if isinstance(cw, str) and cw == "balanced":
            if incremental:
                # (scikit-learn's SGDClassifier refuses it too: the counts of one call are not
                # the data's)
                raise ValueError("class_weight='balanced' is not supported for partial_fit: give a dict of weights")
            counts = np.bincount(targets.astype(np.int64), minlength=len(classes))
            per_class = m / (len(classes) * counts.astype(np.float64))
        elif isinstance(cw, dict):
            # scikit-learn's (compute_class_weight): 1 for the classes left out; labels that
            # are not classes of y are not used, unless some class is left out as well
            # (then ValueError, with scikit-learn's message)
            index = {c: i for i, c in enumerate(classes.tolist())}
            per_class = np.ones(len(classes))
            for k, v in cw.items():
                if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
                    raise ValueError(f"class_weight[{k!r}] must be a number, got {v!r}")
                if k in index:
                    per_class[index[k]] = float(v)
            unweighted = [c for c in classes.tolist() if c not in cw]
            if unweighted and len(classes) - len(unweighted) != len(cw):
                raise ValueError(f"The classes, {unweighted}, are not in class_weight")
        else:
            raise ValueError(f"class_weight must be None, 'balanced' or a dict of label: weight, got {cw!r}")
        big = float(np.finfo(np.float32).max)
        if not np.all(np.isfinite(per_class)) or np.any(per_class < 0) or np.any(per_class > big):
            raise ValueError(f"class_weight must be finite, >= 0 and within float32 for every class, got {per_class!r}")
        w = per_class.astype(np.float32)[targets.astype(np.int64)]
        if sw is not None:
            with np.errstate(over="ignore"):
                w = (w * sw).astype(np.float32)
            bad = np.flatnonzero(~np.isfinite(w))
            if bad.size:
                raise ValueError(f"the weight of row {bad[0]}, its class_weight times its sample_weight, overflows float32")
        if not w.sum(dtype=np.float64) > 0:
            raise ValueError("class_weight: every row weighs 0 (its class's weight"
                             + ("" if sw is None else " times its sample_weight") + ")")
        return w

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {**super()._more_tags(), "multilabel": True}

    def _loss_for(self, out_activation: str) -> Any:
        # one sigmoid output (binary) or one per label (multilabel), or a softmax
        return _lib.Loss.CROSS_ENTROPY if out_activation == "softmax" else _lib.Loss.BINARY_CROSS_ENTROPY

    def _strata(self, targets: np.ndarray) -> Optional[np.ndarray]:
        # class indices; scikit-learn does not stratify a multilabel split
        return targets if targets.ndim == 1 else None

    # scikit-learn's multilabel loss sums the labels' binary cross-entropies, and its
    # gradient is that sum's; the library averages them: its cost and its gradient are
    # n_labels (k) times smaller (see _MLPTraining's notes on the two scales).
    def _cost_scale(self) -> float:
        return float(self.n_outputs_) if self._is_multilabel() else 1.0

    def _gradient_scale(self) -> float:
        return 1.0 / self._cost_scale()

    def _is_multilabel(self) -> bool:
        """Whether the fitted model is multilabel: one sigmoid output per label."""
        return self.__dict__.get("out_activation_") == "logistic" and self.__dict__.get("n_outputs_", 1) > 1

    def _validation_scorer(self, validation: tuple) -> Optional[Callable[[Network], float]]:
        """For a multilabel fit, the subset accuracy on the held-out rows (scikit-learn's
        score; the library's is the fraction of outputs that match), weighted by their sample
        weights when given (``(X, y, w)``). NaN where the outputs overflow, as
        scikit-learn's."""
        xv, yv = validation[0], validation[1]
        wv = validation[2] if len(validation) > 2 else None
        if yv.ndim == 1:
            return None
        truth = yv > 0.5

        def subset_accuracy(net: Network) -> float:
            try:
                out = net.predict(xv)
            except DivergenceError:
                return float("nan")
            return float(np.average(np.all((out > 0.5) == truth, axis=1), weights=wv))

        return subset_accuracy

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
        if ya.ndim == 2:
            return self._indicator(ya)
        if ya.ndim != 1:
            raise ValueError(
                f"y should be a 1d array of labels or a 2d label-indicator matrix (multilabel),"
                f" got an array of shape {ya.shape} instead."
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
    def _indicator(ya: np.ndarray) -> np.ndarray:
        """A 2-d y checked as a label-indicator matrix (n_samples, n_labels) of 0 and 1
        (bools, ints or floats; scikit-learn's multilabel-indicator)."""
        if ya.shape[1] < 1:
            raise ValueError(f"y has no labels: a label-indicator matrix of shape {ya.shape}")
        if ya.dtype.kind == "O":
            try:
                ya = ya.astype(np.float64)
            except (TypeError, ValueError) as e:
                raise ValueError(
                    f"a 2d y is a label-indicator matrix (multilabel) of 0 and 1; y has values that are not numbers ({e})"
                ) from e
        if ya.dtype.kind == "f":
            check_all_finite(ya, "y")
        elif ya.dtype.kind not in "biu":
            raise ValueError(
                f"a 2d y is a label-indicator matrix (multilabel) of 0 and 1; y has dtype {ya.dtype}"
                " (multi-output targets of other labels are not supported)"
            )
        if ya.dtype.kind != "b" and not np.all((ya == 0) | (ya == 1)):
            found = np.unique(ya)
            raise ValueError(
                "a 2d y is a label-indicator matrix (multilabel) of 0 and 1; y has the values"
                f" {found[:10].tolist()}{' ...' if len(found) > 10 else ''} (multi-output targets"
                " of other labels are not supported)"
            )
        return ya

    def _check_same_kind(self, got: Optional[int], context: str) -> None:
        """Refuses y that the fitted model cannot take: a label-indicator matrix of `got`
        labels (None: 1d labels) against 1d labels, or the other way round, or another
        number of labels (scikit-learn's raise, or train its network on misread targets)."""
        fitted = self.n_outputs_ if self._is_multilabel() else None
        if fitted == got:
            return
        if fitted is None:
            detail = (f"y is a label-indicator matrix (multilabel) of {got} labels, but the model"
                      f" was fitted on 1d labels, classes {self.classes_}")
        elif got is None:
            detail = (f"y is 1d, but the model was fitted on a label-indicator matrix (multilabel)"
                      f" of {fitted} labels: pass y of shape (n_samples, {fitted})")
        else:
            detail = f"y has {got} label columns, but the model was fitted on {fitted}"
        raise ValueError(f"{context}: {detail}")

    @staticmethod
    def _unique(ya: np.ndarray) -> np.ndarray:
        try:
            return np.unique(ya)
        except TypeError as e:
            raise ValueError(f"Unknown label type: the labels in y cannot be sorted ({e})") from e

    def _encode(self, ya: np.ndarray, classes: Optional[np.ndarray] = None) -> np.ndarray:
        """The library's targets: class indices int32 (n,) in ``classes`` (default
        ``classes_``), or for a label-indicator matrix its 0/1 as float32 (n, n_labels)."""
        if ya.ndim == 2:
            return np.ascontiguousarray(ya, dtype=np.float32)
        if classes is None:
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
        reset = not self._continues()
        if isinstance(X, Dataset):
            self._check_dataset_fit()
            if self.class_weight is not None:
                raise ValueError("class_weight applies to arrays, not to a minibatch_gd.Dataset (as sample_weight)")
            data, n_features = X, self._dataset_features(X, y, reset=reset)
            classes, ya = self._dataset_classes(X), None
        else:
            data = self._validate_X(X, reset=reset)
            n_features = data.shape[1]
            ya = self._labels(y, data.shape[0])
            # scikit-learn's classes_ for a label-indicator y: its column indices
            classes = np.arange(ya.shape[1]) if ya.ndim == 2 else self._unique(ya)
        multilabel = ya is not None and ya.ndim == 2
        self._check_two_classes(classes)
        if not reset:
            message = "warm_start can only be used where `y` has the same classes as in the previous call to fit"
            self._check_same_kind(ya.shape[1] if multilabel else None, message)
            if not np.array_equal(self.classes_, classes):
                raise ValueError(f"{message}. Previously got {self.classes_}, `y` has {classes}")
        n_out = len(classes) if multilabel else 1 if len(classes) == 2 else len(classes)
        self._check_continued(p, n_features, n_out)
        targets = None if ya is None else self._encode(ya, classes)
        # early stopping's score weighs the held-out rows by their sample_weight alone
        validation_weight = None
        if targets is not None:
            validation_weight = self._sample_weight(sample_weight, targets.shape[0])
            sample_weight = self._class_weighted(sample_weight, targets, classes)
        self._fit_network(data, targets, n_features, n_out, p,
                          out_activation="softmax" if n_out > 1 and not multilabel else "logistic",
                          sample_weight=sample_weight, validation_weight=validation_weight, fitted={"classes_": classes})
        return self

    @staticmethod
    def _dataset_classes(ds: Dataset) -> np.ndarray:
        """A dataset's classes: its y file's labels, which are the class indices 0 .. k-1."""
        if ds.y_type != _lib.Targets.CLASS_INDEX or ds.y_columns != 1 or np.load(ds.y_path, mmap_mode="r").ndim != 1:
            raise ValueError("a classifier's dataset needs integer class labels (m) in its y file, not float targets"
                             " or a 2-D y (a multilabel classifier is fitted on arrays)")
        classes = label_values(ds.y_path)
        if not np.array_equal(classes, np.arange(len(classes))):
            raise ValueError(f"the labels in {ds.y_path} are used as class indices, so they must be"
                             f" 0, 1, ..., k-1; found {classes[:10].tolist()}")
        return classes

    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None,
                    classes: Optional[ArrayLike] = None) -> "MLPClassifier":
        """Trains one epoch on (X, y), continuing the weights, the rule's state and the
        shuffle stream (``sample_weight`` as in :meth:`fit`).

        ``classes`` (every label that will ever appear) is required on the first call; for
        a label-indicator y (multilabel) it is the column indices, ``np.arange(n_labels)``.
        Later calls take y of the first call's kind (1d labels, or a matrix of as many
        labels).
        """
        p = self._checked_params()
        self._check_incremental()
        first = not hasattr(self, "network_")
        x = self._validate_X(X, reset=first)
        ya = self._labels(y, x.shape[0])
        multilabel = ya.ndim == 2
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            all_classes = np.asarray(classes)
            check_all_finite(all_classes, "classes")  # scikit-learn refuses a NaN class too
            all_classes = self._unique(all_classes)
            if multilabel and not np.array_equal(all_classes, np.arange(ya.shape[1])):
                # (scikit-learn's takes any superset of the columns as classes_, whose
                # length then differs from predict_proba's columns)
                raise ValueError(
                    f"classes={classes!r}: y is a label-indicator matrix (multilabel) of"
                    f" {ya.shape[1]} labels, whose classes are its column indices,"
                    f" np.arange({ya.shape[1]})"
                )
            self._check_two_classes(all_classes)
            n_out = len(all_classes) if multilabel else 1 if len(all_classes) == 2 else len(all_classes)
            # (checked before the fitted attributes are set: a refused call sets none)
            targets = self._encode(ya, all_classes)
            sw = self._class_weighted(sample_weight, targets, all_classes, incremental=True)
            self.classes_ = all_classes
            self.n_outputs_ = n_out
            self.out_activation_ = "softmax" if n_out > 1 and not multilabel else "logistic"
            net = self._new_network(p, x.shape[1], n_out, self.out_activation_)
            self._train(net, x, targets, 1, p, reset_costs=True, incremental=True, sample_weight=sw)
        else:
            if classes is not None and not np.array_equal(self._unique(np.asarray(classes)), self.classes_):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call to"
                    f" partial_fit ({self.classes_!r})"
                )
            self._check_same_kind(ya.shape[1] if multilabel else None,
                                  "partial_fit continues the model of its first call")
            targets = self._encode(ya)
            self._train(self.network_, x, targets, 1, p, reset_costs=False, incremental=True,
                        sample_weight=self._class_weighted(sample_weight, targets, self.classes_, incremental=True))
        return self

    def predict_proba(self, X: Union[ArrayLike, Dataset]) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), float64, columns in ``classes_`` order
        (multilabel: each label's own probability, the rows need not sum to 1).
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
        """The most probable class of every row (lowest class on ties); multilabel: the
        label-indicator matrix (n_samples, n_labels), 1 where a label's probability is above
        0.5, in the platform's index integer (int64), as scikit-learn's. ``X`` may be a
        :class:`minibatch_gd.Dataset`, as for :meth:`predict_proba`."""
        return self._predicted(self.predict_proba(X))

    def _predicted(self, proba: np.ndarray) -> np.ndarray:
        """``predict``'s result from ``predict_proba``'s."""
        if self._is_multilabel():
            # scikit-learn's LabelBinarizer.inverse_transform: proba > 0.5, as the binary
            # case (whose argmax takes class 0 at exactly 0.5)
            return (proba > 0.5).astype(np.intp)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X: Union[ArrayLike, Dataset], y: Optional[ArrayLike] = None,
              sample_weight: Optional[ArrayLike] = None) -> float:
        """Mean accuracy of ``predict(X)`` against y (weighted by sample_weight); multilabel:
        the subset accuracy, the fraction of rows whose labels are all right (scikit-learn's
        ``accuracy_score`` on label-indicator matrices).

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
        correct = pred == ya
        if correct.ndim == 2:
            correct = correct.all(axis=1)
        return float(np.average(correct.astype(np.float64), weights=self._score_weights(sample_weight, len(ya))))

    def _score_dataset(self, ds: Dataset, y: Any, sample_weight: Any) -> float:
        out = self._dataset_outputs(ds, y)
        m = out.shape[0]
        w = self._score_weights(sample_weight, m)
        labels = np.load(ds.y_path, mmap_mode="r")
        n_labels = out.shape[1] if self._is_multilabel() else 1
        if labels.size != m * n_labels:
            raise ValueError(f"y has shape {labels.shape}, expected {(m, n_labels) if n_labels > 1 else (m,)}")
        hits = 0.0
        for start in range(0, m, _SCORE_CHUNK):
            end = min(m, start + _SCORE_CHUNK)
            pred = self._predicted(self._proba(out[start:end]))
            correct = pred == labels[start:end].reshape(pred.shape)
            if correct.ndim == 2:
                correct = correct.all(axis=1)
            hits += float(correct.sum()) if w is None else float(np.dot(correct, w[start:end]))
        del labels
        return hits / (m if w is None else float(w.sum()))
