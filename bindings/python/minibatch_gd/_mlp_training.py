"""How the estimators train their network: the update rule and schedule from scikit-learn's
parameters, early stopping on a validation split or the training loss, sample weights, and
what a diverged training leaves (a mixin of ``_BaseMLP``, not public)."""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from typing import Any, Callable, Optional

import numpy as np

from ._sklearn_base import ConvergenceWarning
from ._validation import as_real_array
from .errors import DivergenceError, DivergenceWarning, InvalidArgumentError
from .network import Dataset, History, Network, Progress

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


class _CostLog:
    """A fitted attribute's float64 costs, grown in place: ``extend`` copies the new values
    into a buffer that doubles when full and returns a view of all of them (``view``), so
    appending costs O(new values), not O(all). A copy or pickle of a log is empty (the
    attribute's own array is what is copied): ``_append_costs`` then starts a new log from
    the attribute."""

    __slots__ = ("buffer", "count", "view")

    def __init__(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        self.count = len(values)
        self.buffer = np.empty(max(64, 2 * self.count), dtype=np.float64)
        self.buffer[: self.count] = values
        self.view: Optional[np.ndarray] = None

    def extend(self, new: np.ndarray) -> np.ndarray:
        new = np.asarray(new, dtype=np.float64).ravel()
        end = self.count + len(new)
        if end > len(self.buffer):
            grown = np.empty(max(end, 2 * len(self.buffer)), dtype=np.float64)
            grown[: self.count] = self.buffer[: self.count]
            self.buffer = grown
        self.buffer[self.count : end] = new
        self.count = end
        self.view = self.buffer[:end]
        return self.view

    def __reduce__(self) -> tuple:
        return (_CostLog, (np.empty(0),))


_FITTED_ATTRIBUTES = (
    "network_", "batch_costs_", "epoch_costs_", "loss_curve_", "loss_", "n_iter_",
    "batch_size_", "diverged_", "classes_", "n_outputs_", "out_activation_",
    "n_features_in_", "feature_names_in_", "validation_scores_", "best_validation_score_",
    "best_loss_", "t_", "validation_costs_",
)


class _MLPTraining:
    """The training half of ``_BaseMLP``: its methods read the estimator's parameters."""


    def _seed(self) -> int:
        return int(self._seed_value)

    def _new_network(self, p: dict[str, Any], n_features: int, n_outputs: int, out_activation: str) -> Network:
        self._seed_value = _seed_from_random_state(self.random_state)
        sizes = [n_features, *p["hidden"], n_outputs]
        return Network(
            sizes,
            hidden_activation=p["activation"],
            loss=self._loss_for(out_activation),
            init=p["init"],
            seed=self._seed_value,
        )

    def _loss_for(self, out_activation: str) -> Any:  # pragma: no cover - overridden
        """The library's loss for an output activation (``out_activation_``'s values)."""
        raise NotImplementedError

    def _validation_scorer(self, validation: tuple) -> Optional[Callable[[Network], float]]:
        """``early_stopping``'s score of the network on the held-out rows after an epoch,
        where the estimator's score is not the library's (None: the library's, the
        history's ``validation_scores``)."""
        return None

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
        validation_weight: Optional[np.ndarray] = None,
    ) -> None:
        from . import optim

        m = len(x) if isinstance(x, Dataset) else x.shape[0]
        bs = p["batch_size"]
        validation = None
        if self.early_stopping and not incremental:
            try:
                x, targets, validation, keep = self._split_validation(x, targets)
            except ValueError:
                self._forget_fresh_fit(net)
                raise
            if validation_weight is not None:
                # The held-out rows' sample weights (not class_weight) weigh the validation
                # score (scikit-learn 1.9's early stopping scores with them); unless all are 0.
                held = validation_weight[~keep]
                if held.sum() > 0:
                    validation = (*validation, held)
            if sample_weight is not None:
                sample_weight = sample_weight[keep]
            m = x.shape[0]
        if isinstance(bs, str):
            # scikit-learn's 'auto' (see the class docstring), halved until its working
            # memory fits memory_budget.
            bs = min(200, m)
            while p["memory_budget"] and bs > 1 and net.working_memory(bs) > p["memory_budget"]:
                bs = (bs + 1) // 2
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
        cost_scale = self._cost_scale()
        name = type(self).__name__
        scorer = None if validation is None else self._validation_scorer(validation)
        own_scores: dict[int, float] = {}  # epoch of this call -> the scorer's score

        def cb(progress: Progress) -> Any:
            if scorer is not None:
                # The callback may read the model: the score of this epoch's weights.
                own_scores[progress.epoch] = scorer(net)
                progress = dataclasses.replace(progress, validation_score=own_scores[progress.epoch])
            if verbose:
                # this call's epoch and the value loss_curve_ gets, as scikit-learn prints them
                # (the library's cost is twice it for the squared error)
                print(
                    f"{name}: epoch {progress.epoch}, loss {progress.epoch_cost * cost_scale:.8g}"
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
        # its one epoch without it, as scikit-learn's does. With early_stopping the value is
        # the validation score, compared with tol as it is (the library's; a multilabel
        # classifier's score is its own, so it monitors the validation cost), else the
        # training loss, tol on scikit-learn's scale (_min_delta).
        by_score = validation is not None and scorer is None
        min_delta = float(self.tol) if by_score else self._min_delta()
        stopping = None if incremental else optim.EarlyStopping(
            patience=self._patience(), min_delta=min_delta,
            restore_best=validation is not None, monitor="validation_score" if by_score else "cost")
        rule = self._rule()
        if incremental and isinstance(rule["schedule"], optim.Adaptive):
            rule["schedule"] = optim.Constant()
        history = History()
        diverged: Optional[DivergenceError] = None
        try:
            need = net.working_memory(bs) if p["memory_budget"] else 0
            if need > p["memory_budget"]:
                # (in the try: a fresh estimator that fails here is left unfitted)
                raise ValueError(
                    f"memory_budget={p['memory_budget']} bytes is less than the"
                    f" {need} bytes of working memory training at batch_size={bs}"
                    f" needs (Network.working_memory): raise it{'' if bs == 1 else ', or lower batch_size'}")
            net.train(
                x,
                targets,
                epochs=epochs,
                batch_size=bs,
                learning_rate=p["lr"] * self._rate_scale(),
                seed=self._seed(),
                shuffle=bool(self.shuffle),
                drop_last=bool(self.drop_last),
                memory_budget=p["memory_budget"],
                dropout=self.dropout,
                callback=cb,
                history=history,
                early_stopping=stopping,
                validation=validation,
                sample_weight=sample_weight,
                **rule,
            )
        except DivergenceError as e:
            diverged = e
        except InvalidArgumentError as e:
            _name_estimator_parameter(e)
            raise
        finally:
            # Whatever happened (divergence, cancellation, an exception in the callback,
            # Ctrl-C), the estimator keeps the weights reached and the costs recorded, where
            # this call changed the network (a batch trained, or divergence). A call that
            # changed nothing leaves a fitted estimator as it was, and a fresh one unfitted.
            trained = len(history.batch_costs) > 0 or len(history.epoch_costs) > 0
            commit = diverged is not None or trained
            if commit:
                self.network_ = net
                # Appended in place (amortized O(1) per value), not rebuilt: a partial_fit
                # loop over a stream would otherwise slow down with every call made.
                before = len(self.epoch_costs_)
                self._append_costs("batch_costs_", history.batch_costs)
                self._append_costs("epoch_costs_", history.epoch_costs)
                new_losses = self._losses(self.epoch_costs_[before:])
                curve = self.__dict__.get("loss_curve_")
                extended = isinstance(curve, list) and len(curve) == before
                if extended:
                    curve.extend(new_losses)  # as scikit-learn's, which appends to it
                else:
                    self.loss_curve_ = self._losses(self.epoch_costs_)
                self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else float("nan")
                # (this call's epochs, as scikit-learn's n_iter_ since it counts from 0 in
                # every fit and partial_fit; epochs over the network's life until 0.12.5:
                # network_.epochs_trained has that)
                self.n_iter_ = len(history.epoch_costs)
                self.t_ = int(getattr(self, "t_", 0) or 0) + m * len(history.epoch_costs)
                best_epoch = None
                if validation is not None and diverged is None and len(history.epoch_costs) > 0:
                    # scikit-learn ends fit with the best epoch's weights (a fit that stopped
                    # early has them already).
                    best_epoch = net.restore_best_weights()
                if self.early_stopping and not incremental:
                    scores = [float(v) for v in history.validation_scores]
                    if scorer is not None:
                        # (NaN for an epoch the callback did not see)
                        scores = [own_scores.get(i + 1, float("nan")) for i in range(len(scores))]
                    self.validation_scores_ = list(self.validation_scores_ or []) + scores
                    self._append_costs("validation_costs_", history.validation_costs, fresh=reset_costs)
                    # The score of the epoch whose weights fit ends with (the highest
                    # validation score, or for a multilabel classifier the lowest validation
                    # cost: this call's, or an earlier call's with warm_start).
                    first = net.epochs_trained - len(scores) + 1
                    if best_epoch is not None and best_epoch >= first:
                        self.best_validation_score_ = scores[best_epoch - first]
                    elif best_epoch is None:
                        self.best_validation_score_ = None
                    else:
                        self.best_validation_score_ = self.__dict__.get("best_validation_score_")
                    self.best_loss_ = None
                else:
                    self.validation_scores_ = None
                    self.best_validation_score_ = None
                    # min is a left fold: the last call's best, then the new losses, is
                    # the min over the whole curve (NaN first included).
                    best = self.__dict__.get("best_loss_")
                    if extended and before > 0 and best is not None:
                        self.best_loss_ = min([best] + new_losses)
                    else:
                        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
                if net.last_progress is not None:
                    self.batch_size_ = net.last_progress.batch_size
                self.diverged_ = diverged is not None
            else:
                self._forget_fresh_fit(net)
            monitored = (-np.asarray(history.validation_scores) if by_score
                         else history.validation_costs if validation is not None else history.epoch_costs)
            unconverged = (not incremental and len(history.epoch_costs) == epochs
                           and not _stops(monitored, self._patience(), min_delta,
                                          isinstance(rule["schedule"], optim.Adaptive)))
            history.close()
        if diverged is None and unconverged:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({epochs}) reached and the"
                " optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,  # the caller of fit (fit, _fit_network, _train)
            )
        if diverged is not None:
            if self.on_divergence == "raise":
                raise diverged
            warnings.warn(
                f"{name}: {diverged} [after {net.epochs_trained} epochs; lower"
                " learning_rate_init or scale the features]",
                DivergenceWarning,
                stacklevel=3 if incremental else 4,  # the caller of partial_fit or fit
            )

    def _forget_fresh_fit(self, net: Network) -> None:
        """Leaves the estimator unfitted where `net` is a fresh network (a fit that failed
        before training a batch); a continued one's fit stays as it was."""
        if net is self.__dict__.get("network_"):
            return
        for attr in _FITTED_ATTRIBUTES + ("_cost_logs",):
            self.__dict__.pop(attr, None)

    def _append_costs(self, attr: str, new: np.ndarray, fresh: bool = False) -> None:
        """Sets ``attr`` to its costs followed by ``new``, kept in a ``_CostLog`` (an
        unpickled, copied or replaced attribute is copied into a new log first). ``fresh``:
        ``new`` alone."""
        logs = self.__dict__.setdefault("_cost_logs", {})
        current = None if fresh else self.__dict__.get(attr)
        log = logs.get(attr)
        if log is None or current is None or log.view is not current:
            log = logs[attr] = _CostLog(np.empty(0) if current is None else current)
        setattr(self, attr, log.extend(new))

    # -- scikit-learn's loss against the library's cost --------------------------------
    #
    # The library averages a cost over rows and outputs; scikit-learn's losses differ from
    # it by a factor that depends on the loss and the outputs (k), and its gradient is not
    # always the gradient of the loss it reports (for the squared error it is that of the
    # loss summed over outputs, its reported value the mean). Each estimator states two
    # ratios, and the parameters follow from them so that a fit takes scikit-learn's steps:
    #
    #   _cost_scale()     = scikit-learn's loss / the library's cost: loss_curve_ is the
    #                       epoch costs times it, and tol is min_delta = tol / it;
    #   _gradient_scale() = the library's gradient / scikit-learn's: alpha is l2 = alpha
    #                       times it (the penalty keeps its weight against the data), 'sgd''s
    #                       rate is learning_rate_init divided by it, and the adaptive rules'
    #                       epsilon is epsilon times it (Adam, RMSprop, Adagrad,
    #                       Adamax and NAdam then take scikit-learn's steps: their state
    #                       scales with the gradient; RAdam's first steps, momentum's, scale
    #                       with it).
    #
    # Values the library refuses (alpha, tol or epsilon < 0) are passed as given, so that
    # its message names them.

    def _cost_scale(self) -> float:
        return 1.0

    def _gradient_scale(self) -> float:
        return 1.0

    def _l2(self, alpha: float) -> float:
        """The library's l2 for scikit-learn's alpha."""
        return alpha * self._gradient_scale() if alpha > 0 else alpha

    def _min_delta(self) -> float:
        """The library's min_delta for ``tol``."""
        tol = float(self.tol)
        return tol / self._cost_scale() if tol > 0 else tol

    def _rate_scale(self) -> float:
        """The library's learning rate is ``learning_rate_init`` times this."""
        return 1.0 / self._gradient_scale() if self.solver == "sgd" else 1.0

    def _losses(self, epoch_costs: np.ndarray) -> list[float]:
        """``loss_curve_``'s values for these epoch costs."""
        scale = self._cost_scale()
        return [float(c) * scale for c in epoch_costs]

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
            classes, counts = np.unique(labels, return_counts=True)
            if counts.min() < 2:
                # scikit-learn's stratified split refuses it alike (the class's one row
                # would be held out, and never trained on)
                raise ValueError(
                    "The least populated class in y has only 1 member, which is too few for"
                    " early_stopping's stratified validation split: every class needs at least 2")
            for c, count in zip(classes, counts):
                rows = order[ordered == c]
                held = int(np.ceil(self.validation_fraction * count))
                if held >= count:
                    raise ValueError(
                        f"validation_fraction={self.validation_fraction} holds out all {count} rows of"
                        f" class index {c}: it would never be trained on")
                take[rows[:held]] = True
        if take.all() or not take.any():
            raise ValueError(f"validation_fraction={self.validation_fraction} leaves no training or no validation rows")
        keep = ~take
        return x[keep], targets[keep], (x[take], targets[take]), keep

    @staticmethod
    def _sample_weight(sample_weight: Any, m: int) -> Optional[np.ndarray]:
        """sample_weight as float32 (m,) or None (the library checks the values)."""
        if sample_weight is None:
            return None
        sw = as_real_array(sample_weight, "sample_weight", np.float64)
        if sw.ndim == 0:
            sw = np.full(m, float(sw))
        if sw.shape != (m,):
            raise ValueError(f"sample_weight.shape == {sw.shape}, expected ({m},)!")
        big = np.flatnonzero(np.isfinite(sw) & (np.abs(sw) > np.finfo(np.float32).max))
        if big.size:
            # (as float32 it would be inf, and the library's message would name an inf the
            # caller never gave)
            i = int(big[0])
            raise ValueError(
                f"sample_weight[{i}] is {float(sw[i])!r}, beyond float32's range (about 3.4e38), in which"
                " training takes its weights: scale the weights down (only their ratios matter)")
        return sw.astype(np.float32)

    def _strata(self, targets: np.ndarray) -> Optional[np.ndarray]:
        return None


#: the library's option names that stand for an estimator parameter of another name
_PARAMETER_NAMES = {"min_delta": "tol", "patience": "n_iter_no_change", "beta1": "beta_1", "beta2": "beta_2",
                    "learning_rate": "learning_rate_init"}


def _name_estimator_parameter(error: InvalidArgumentError) -> None:
    """Puts the estimator's name of the parameter the library refused first, as the library
    names alpha ("l2 (alpha) must be ..."): ``tol=-1`` reads "tol (min_delta) must be ..."."""
    first, _, rest = error.message.partition(" ")
    if first in _PARAMETER_NAMES and rest:
        error.message = f"{_PARAMETER_NAMES[first]} ({first}) {rest}"
        error.args = (error.message,)


def _stops(costs: Any, patience: int, min_delta: float, adaptive: bool) -> bool:
    """Whether the library's stopping rule (the header's: an epoch improves when its cost (a
    score negated) is below the best so far minus min_delta; `patience` epochs in a row that do not stop
    training, or with the adaptive schedule divide the rate and count afresh) ends a run of
    these epoch costs at its last epoch, counted from this call's first epoch: what tells a
    fit that its rule ended exactly at max_iter (no ConvergenceWarning, as scikit-learn's)
    from one that ran out of epochs. (A warm_start fit's count also holds earlier calls'
    epochs, and the adaptive rate's floor, which stops it, is not followed: the warning is
    advice.)"""
    best, count = float("inf"), 0
    for i, cost in enumerate(costs):
        count = 0 if cost < best - min_delta else count + 1
        best = min(best, cost)
        if count >= patience:
            if not adaptive:
                return i == len(costs) - 1
            count = 0
    return False
