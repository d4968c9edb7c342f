"""Update rules, learning-rate schedules and early stopping for :meth:`Network.train`.

Each class holds hyperparameters only and fills its fields of ``mb_train_options``; the
library checks the values (one place) and raises :class:`InvalidArgumentError` with its
message. The formulas are the header's (``mb_optimizer``, ``mb_schedule``): PyTorch's
``torch.optim`` element by element::

    SGD(momentum=0):        w -= lr * g
    SGD(momentum=mu):       b = mu * b + g;  w -= lr * b   (nesterov: w -= lr * (g + mu * b))
    RMSprop(rho, epsilon):  v = rho * v + (1 - rho) * g**2;  w -= lr * g / (sqrt(v) + epsilon)
    RMSprop(..., centered=True): a = rho * a + (1 - rho) * g; sqrt(max(v - a**2, 0)) for sqrt(v)
    RMSprop(..., momentum=mu):   b = mu * b + g / (root + epsilon);  w -= lr * b
    Adam(beta1, beta2, epsilon):
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g**2
        w -= (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + epsilon)
    AdamW(..., weight_decay): w -= lr * weight_decay * w, then the Adam step
    every other rule's weight_decay (since 0.10.0; PyTorch's, coupled): g + weight_decay * w
        in place of g, every parameter, after gradient clipping
    Adam(..., amsgrad=True), AdamW(..., amsgrad=True): vmax = max(vmax, v) after v's update,
        sqrt(vmax) in place of sqrt(v) (AMSGrad, PyTorch's amsgrad=True)
    Adagrad(epsilon, lr_decay, initial_accumulator_value):
        s = s + g**2;  w -= (lr / (1 + (t - 1) * lr_decay)) * g / (sqrt(s) + epsilon), s from
        initial_accumulator_value
    Adamax(beta1, beta2, epsilon):
        m = beta1 * m + (1 - beta1) * g;  u = max(beta2 * u, |g| + epsilon)
        w -= (lr / (1 - beta1**t)) * m / u
    NAdam(beta1, beta2, epsilon, momentum_decay): Adam's m and v;
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay)), P_t = mu_1 * ... * mu_t,
        d = sqrt(v) / sqrt(1 - beta2**t) + epsilon
        w -= lr * (1 - mu_t) / (1 - P_t) * g / d + lr * mu_(t+1) / (1 - P_t * mu_(t+1)) * m / d
    RAdam(beta1, beta2, epsilon): Adam's m and v; rho_inf = 2 / (1 - beta2) - 1,
        rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t); while rho_t > 5,
        w -= lr * r_t * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + epsilon)
        (r_t the rectification), else w -= lr / (1 - beta1**t) * m
    Adadelta(rho=0.9, epsilon=1e-6) (since 0.11.0; PyTorch's defaults, its lr's default 1.0):
        v = rho * v + (1 - rho) * g**2;  d = sqrt(u + epsilon) / sqrt(v + epsilon) * g
        u = rho * u + (1 - rho) * d**2;  w -= lr * d

The rule's state (momentum buffer, moments, step count t) stays with the network between
calls and is saved in its model file, so training resumes exactly.

Schedules give the learning rate of epoch ``e`` (counted over the network's life from 0)::

    Constant():                     lr
    Step(every=10, gamma=0.1):      lr * gamma ** (e // every)
    Exponential(gamma=0.9):         lr * gamma ** e
    InverseTime(power_t=0.5):       lr / (t + 1) ** power_t, t examples trained on before e
    Cosine(epochs=0, min_learning_rate=0):
        min + (lr - min) * (1 + cos(pi * e / epochs)) / 2 for e < epochs, then min
        (epochs 0: the end of the call)
    Adaptive():                     scikit-learn's 'adaptive' (needs EarlyStopping patience)
    MultiStep(milestones=(), gamma=0.1):
        lr * gamma ** k, k the number of milestones <= e (PyTorch's MultiStepLR)
    CosineRestarts(period=10, multiplier=1, min_learning_rate=0):
        cosine annealing over cycles of period, period * multiplier, ... epochs, restarting
        at lr after each (PyTorch's CosineAnnealingWarmRestarts)
    OneCycle(epochs=0, pct_start=0.3, div_factor=25, final_div_factor=1e4, cycle_momentum=False,
             base_momentum=0.85, max_momentum=0.95, three_phase=False, anneal_strategy='cos'):
        PyTorch's OneCycleLR (max_lr = lr; cycle_momentum off by default; three_phase and
        'linear' anneal_strategy as PyTorch's): from lr / div_factor up to
        lr over the first pct_start of the steps, then down to lr / div_factor /
        final_div_factor (cosine annealing); steps are epochs, or mini-batches with
        Network.train(schedule_per_batch=True); with cycle_momentum the momentum or beta1
        goes from max_momentum down to base_momentum at the peak and back
    Cyclic(base_lr, step_size_up=2000, step_size_down=None, mode='triangular', gamma=1.0,
           cycle_momentum=False, base_momentum=0.8, max_momentum=0.9):
        PyTorch's CyclicLR (max_lr = lr; cycle_momentum off by default): cycles of
        step_size_up steps rising from base_lr to lr and step_size_down falling back, the
        height scaled by 1, 1 / 2 ** (cycle - 1) ('triangular2') or gamma ** step
        ('exp_range'); steps are epochs, or mini-batches with schedule_per_batch=True
    ReduceLROnPlateau(factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel',
                      cooldown=0, min_lr=0, eps=1e-8):
        PyTorch's ReduceLROnPlateau, stepped after every epoch with the monitored value
        (EarlyStopping's monitor: the validation cost, else the epoch cost, mode 'min';
        the validation score, mode 'max'): after more than patience epochs without an
        improvement beyond threshold, lr = max(lr * factor, min_lr)

With ``Network.train(schedule_per_batch=True)`` every mini-batch gets its rate, at the
fractional epoch e + b / B (batch b of the epoch's B; OneCycle and Cyclic count mini-batches).

A gamma or factor of 0 is refused (the C options read 0 as the schedule's default).

A warm-up (``Network.train(warmup=Warmup(epochs, start_factor))``) multiplies the schedule's
rate by start_factor + (1 - start_factor) * min(e, epochs) / epochs (PyTorch's LinearLR).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from . import _lib

__all__ = [
    "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta",
    "Constant", "Step", "Exponential", "InverseTime", "Cosine", "Adaptive", "MultiStep", "CosineRestarts", "OneCycle",
    "Cyclic", "ReduceLROnPlateau", "Warmup",
    "EarlyStopping", "optimizer_of", "schedule_of", "warmup_of",
]


# Every rule but AdamW takes ``weight_decay`` (since 0.10.0): PyTorch's coupled weight decay,
# g + weight_decay * w on every parameter, added after gradient clipping, as PyTorch's
# optimizers add it inside step() (mb_train_options.coupled_weight_decay). AdamW's is its
# decoupled decay, as PyTorch's AdamW.


@dataclass(frozen=True)
class SGD:
    """Gradient descent; with ``momentum`` > 0, PyTorch's momentum (``nesterov``: Nesterov's);
    ``weight_decay``: PyTorch's coupled decay (as every rule's but AdamW's, above)."""

    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    def _fill(self, o: Any) -> None:
        o.optimizer = int(_lib.Optimizer.SGD)
        o.momentum = _number(self.momentum, "momentum")
        o.nesterov = 1 if _flag(self.nesterov, "nesterov") else 0
        o.coupled_weight_decay = _number(self.weight_decay, "weight_decay")


@dataclass(frozen=True)
class RMSprop:
    """RMSprop (PyTorch's defaults: rho is its ``alpha``); ``centered`` divides by the root
    of the gradient's variance, ``momentum`` > 0 keeps a buffer of the scaled steps (PyTorch's
    ``centered`` and ``momentum``; each a rule whose state is its own)."""

    rho: float = 0.99
    epsilon: float = 1e-8
    momentum: float = 0.0
    centered: bool = False
    weight_decay: float = 0.0

    def _fill(self, o: Any) -> None:
        o.optimizer = int(_lib.Optimizer.RMSPROP)
        o.rho = _number(self.rho, "rho")
        o.epsilon = _number(self.epsilon, "epsilon")
        o.momentum = _number(self.momentum, "momentum")
        o.centered = 1 if _flag(self.centered, "centered") else 0
        o.coupled_weight_decay = _number(self.weight_decay, "weight_decay")


@dataclass(frozen=True)
class Adam:
    """Adam (the paper's Algorithm 1, epsilon added to the bias-corrected root); with
    ``amsgrad``, AMSGrad (v's running maximum in the denominator, PyTorch's ``amsgrad``)."""

    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    amsgrad: bool = False
    weight_decay: float = 0.0

    def _fill(self, o: Any) -> None:
        o.optimizer = int(_lib.Optimizer.ADAM)
        o.beta1 = _number(self.beta1, "beta1")
        o.beta2 = _number(self.beta2, "beta2")
        o.epsilon = _number(self.epsilon, "epsilon")
        o.amsgrad = 1 if _flag(self.amsgrad, "amsgrad") else 0
        o.coupled_weight_decay = _number(self.weight_decay, "weight_decay")


@dataclass(frozen=True)
class AdamW:
    """Adam with decoupled weight decay (PyTorch's ``AdamW``: w -= lr * weight_decay * w);
    ``amsgrad`` as :class:`Adam`'s."""

    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.01
    amsgrad: bool = False

    def _fill(self, o: Any) -> None:
        o.optimizer = int(_lib.Optimizer.ADAMW)
        o.beta1 = _number(self.beta1, "beta1")
        o.beta2 = _number(self.beta2, "beta2")
        o.epsilon = _number(self.epsilon, "epsilon")
        o.weight_decay = _number(self.weight_decay, "weight_decay")
        o.amsgrad = 1 if _flag(self.amsgrad, "amsgrad") else 0


@dataclass(frozen=True)
class Adagrad:
    """Adagrad (PyTorch's: ``lr_decay`` and ``initial_accumulator_value`` default to 0 as
    there; PyTorch's default epsilon is 1e-10, this one's every rule's 1e-8)."""

    epsilon: float = 1e-8
    lr_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    weight_decay: float = 0.0

    def _fill(self, o: Any) -> None:
        o.optimizer = int(_lib.Optimizer.ADAGRAD)
        o.epsilon = _number(self.epsilon, "epsilon")
        o.lr_decay = _number(self.lr_decay, "lr_decay")
        o.initial_accumulator_value = _number(self.initial_accumulator_value, "initial_accumulator_value")
        o.coupled_weight_decay = _number(self.weight_decay, "weight_decay")


@dataclass(frozen=True)
class Adamax:
    """Adamax, Adam with the infinity norm (PyTorch's: epsilon added to |g| inside the max)."""

    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.0

    def _fill(self, o: Any) -> None:
        o.optimizer = int(_lib.Optimizer.ADAMAX)
        o.beta1 = _number(self.beta1, "beta1")
        o.beta2 = _number(self.beta2, "beta2")
        o.epsilon = _number(self.epsilon, "epsilon")
        o.coupled_weight_decay = _number(self.weight_decay, "weight_decay")


@dataclass(frozen=True)
class NAdam:
    """NAdam, Adam with Nesterov momentum (PyTorch's: ``momentum_decay`` is psi in the
    momentum schedule mu_t; epsilon added to the bias-corrected root). ``weight_decay`` is
    coupled, or with ``decoupled_weight_decay=True`` (since 0.10.0) AdamW's decoupled shrink,
    as PyTorch's."""

    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    momentum_decay: float = 0.004
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False

    def _fill(self, o: Any) -> None:
        o.optimizer = int(_lib.Optimizer.NADAM)
        o.beta1 = _number(self.beta1, "beta1")
        o.beta2 = _number(self.beta2, "beta2")
        o.epsilon = _number(self.epsilon, "epsilon")
        o.momentum_decay = _number(self.momentum_decay, "momentum_decay")
        decay = _number(self.weight_decay, "weight_decay")
        if _flag(self.decoupled_weight_decay, "decoupled_weight_decay"):  # PyTorch's NAdamW / RAdamW
            o.decoupled_weight_decay, o.weight_decay, o.coupled_weight_decay = 1, decay, 0.0
        else:
            o.decoupled_weight_decay, o.coupled_weight_decay = 0, decay


@dataclass(frozen=True)
class RAdam:
    """RAdam, Adam with its variance rectified (PyTorch's: momentum's steps while the
    variance estimate is too short, epsilon added to the uncorrected root); ``weight_decay``
    and ``decoupled_weight_decay`` as NAdam's."""

    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False

    def _fill(self, o: Any) -> None:
        o.optimizer = int(_lib.Optimizer.RADAM)
        o.beta1 = _number(self.beta1, "beta1")
        o.beta2 = _number(self.beta2, "beta2")
        o.epsilon = _number(self.epsilon, "epsilon")
        decay = _number(self.weight_decay, "weight_decay")
        if _flag(self.decoupled_weight_decay, "decoupled_weight_decay"):  # PyTorch's NAdamW / RAdamW
            o.decoupled_weight_decay, o.weight_decay, o.coupled_weight_decay = 1, decay, 0.0
        else:
            o.decoupled_weight_decay, o.coupled_weight_decay = 0, decay


@dataclass(frozen=True)
class Adadelta:
    """Adadelta (Zeiler, 2012; PyTorch's, since 0.11.0): the squared gradients' average v and
    the squared steps' average u set each parameter's step, sqrt(u + epsilon) /
    sqrt(v + epsilon) * g, times the learning rate. PyTorch's defaults (rho 0.9, epsilon
    1e-6); its learning rate's default is 1.0, where ``Network.train``'s is 0.01: pass
    ``learning_rate=1.0`` for PyTorch's. ``weight_decay`` is PyTorch's coupled decay."""

    rho: float = 0.9
    epsilon: float = 1e-6
    weight_decay: float = 0.0

    def _fill(self, o: Any) -> None:
        o.optimizer = int(_lib.Optimizer.ADADELTA)
        o.rho = _number(self.rho, "rho")
        o.epsilon = _number(self.epsilon, "epsilon")
        o.coupled_weight_decay = _number(self.weight_decay, "weight_decay")


@dataclass(frozen=True)
class Constant:
    """The base learning rate every epoch."""

    def _fill(self, o: Any) -> None:
        o.schedule = int(_lib.Schedule.CONSTANT)


@dataclass(frozen=True)
class Step:
    """lr * gamma ** (e // every) (PyTorch's ``StepLR``)."""

    every: int = 10
    gamma: float = 0.1

    def _fill(self, o: Any) -> None:
        o.schedule = int(_lib.Schedule.STEP)
        o.step_epochs = _integer(self.every, "every")
        o.gamma = _given(_number(self.gamma, "gamma"), "gamma must be finite and > 0")


@dataclass(frozen=True)
class Exponential:
    """lr * gamma ** e (PyTorch's ``ExponentialLR``)."""

    gamma: float = 0.9

    def _fill(self, o: Any) -> None:
        o.schedule = int(_lib.Schedule.EXPONENTIAL)
        o.gamma = _given(_number(self.gamma, "gamma"), "gamma must be finite and > 0")


@dataclass(frozen=True)
class InverseTime:
    """lr / (t + 1) ** power_t, t the examples trained on (scikit-learn's ``invscaling``)."""

    power_t: float = 0.5

    def _fill(self, o: Any) -> None:
        o.schedule = int(_lib.Schedule.INVERSE_TIME)
        o.power_t = _number(self.power_t, "power_t")


@dataclass(frozen=True)
class Cosine:
    """Cosine annealing to ``min_learning_rate`` over ``epochs`` (0: the end of the call)."""

    epochs: int = 0
    min_learning_rate: float = 0.0

    def _fill(self, o: Any) -> None:
        o.schedule = int(_lib.Schedule.COSINE)
        o.cosine_epochs = _integer(self.epochs, "epochs")
        o.min_learning_rate = _number(self.min_learning_rate, "min_learning_rate")


@dataclass(frozen=True)
class Adaptive:
    """scikit-learn's ``adaptive``: divide the rate by 5 after ``EarlyStopping.patience``
    epochs without improvement; stop when the rate would fall from 1e-6 or less."""

    def _fill(self, o: Any) -> None:
        o.schedule = int(_lib.Schedule.ADAPTIVE)


@dataclass(frozen=True)
class MultiStep:
    """lr * gamma ** k, k the milestones (epochs) at or before e, each counted as often as it
    is given (PyTorch's ``MultiStepLR``)."""

    milestones: tuple = ()
    gamma: float = 0.1

    def __post_init__(self) -> None:
        # Kept as a tuple: a generator would be used up by the first call.
        try:
            object.__setattr__(self, "milestones", tuple(self.milestones))
        except TypeError:
            raise TypeError(f"milestones must be a sequence of epochs, got {self.milestones!r}") from None

    def _fill(self, o: Any) -> None:
        import numpy as np

        o.schedule = int(_lib.Schedule.MULTI_STEP)
        o.gamma = _given(_number(self.gamma, "gamma"), "gamma must be finite and > 0")
        epochs = [_integer(e, "milestones") for e in self.milestones]
        if epochs:
            kept = np.asarray(epochs, dtype=np.int64)
            o._milestones = kept  # alive as long as the options
            o.milestones = kept.ctypes.data
            o.milestone_count = kept.size


@dataclass(frozen=True)
class CosineRestarts:
    """Cosine annealing with warm restarts (PyTorch's ``CosineAnnealingWarmRestarts(T_0,
    T_mult, eta_min)``): cycles of ``period``, ``period * multiplier``, ... epochs, each
    falling from lr to ``min_learning_rate``."""

    period: int = 10
    multiplier: int = 1
    min_learning_rate: float = 0.0

    def _fill(self, o: Any) -> None:
        o.schedule = int(_lib.Schedule.COSINE_RESTARTS)
        o.cosine_epochs = _integer(self.period, "period")
        o.restart_multiplier = _integer(self.multiplier, "multiplier")
        o.min_learning_rate = _number(self.min_learning_rate, "min_learning_rate")


@dataclass(frozen=True)
class OneCycle:
    """The one-cycle policy (PyTorch's ``OneCycleLR(max_lr=lr, total_steps, pct_start,
    div_factor, final_div_factor, cycle_momentum, base_momentum, max_momentum, three_phase,
    anneal_strategy)``; by default two phases, cosine annealing): over ``epochs`` (0: the
    end of the call) the rate rises from
    lr / div_factor to lr over the first pct_start of the steps, then falls to
    lr / (div_factor * final_div_factor). A step is an epoch, or with
    ``train(schedule_per_batch=True)`` a mini-batch (then total_steps = epochs * the epoch's
    batches, PyTorch's stepping per iteration).

    ``cycle_momentum`` (since 0.10.0; False by default, where PyTorch's default is True):
    the momentum moves against the rate, from max_momentum down to base_momentum at the
    peak and back, replacing SGD's and RMSprop's ``momentum`` (plain SGD and RMSprop get
    one, as PyTorch's do) or ``beta1`` of Adam, AdamW, Adamax and RAdam. Adagrad and
    Adadelta (no momentum) and NAdam (its product of momenta would need every earlier
    step's beta1) are refused with it.

    ``three_phase`` and ``anneal_strategy`` (since 0.10.0, PyTorch's): three phases (up to
    lr, back down to lr / div_factor at step 2 pct_start N - 2, then to the last rate; the
    momentum down, up, held), and ``'linear'`` annealing in place of ``'cos'``."""

    epochs: int = 0
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    cycle_momentum: bool = False
    base_momentum: float = 0.85
    max_momentum: float = 0.95
    three_phase: bool = False
    anneal_strategy: str = "cos"

    def _fill(self, o: Any) -> None:
        o.schedule = int(_lib.Schedule.ONE_CYCLE)
        o.cosine_epochs = _integer(self.epochs, "epochs")
        o.pct_start = _number(self.pct_start, "pct_start")
        o.div_factor = _number(self.div_factor, "div_factor")
        o.final_div_factor = _number(self.final_div_factor, "final_div_factor")
        o.cycle_momentum = 1 if _flag(self.cycle_momentum, "cycle_momentum") else 0
        o.base_momentum = _number(self.base_momentum, "base_momentum")
        o.max_momentum = _number(self.max_momentum, "max_momentum")
        o.three_phase = 1 if _flag(self.three_phase, "three_phase") else 0
        strategies = {"cos": _lib.AnnealStrategy.COS, "linear": _lib.AnnealStrategy.LINEAR}
        if not isinstance(self.anneal_strategy, str) or self.anneal_strategy not in strategies:
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {self.anneal_strategy!r}")
        o.anneal_strategy = int(strategies[self.anneal_strategy])


@dataclass(frozen=True)
class Cyclic:
    """PyTorch's ``CyclicLR(base_lr, max_lr=lr, step_size_up, step_size_down, mode, gamma,
    cycle_momentum, base_momentum, max_momentum)`` (since 0.11.0; Smith, 2017): cycles of
    ``step_size_up`` steps in which the rate rises linearly from ``base_lr`` to the peak and
    ``step_size_down`` (None: as up) in which it falls back, the peak's height (lr -
    base_lr) scaled by 1 (``'triangular'``), 1 / 2 ** (cycle - 1) (``'triangular2'``) or
    gamma ** step (``'exp_range'``, gamma in (0, 1]). A step is an epoch, or with
    ``train(schedule_per_batch=True)`` a mini-batch (PyTorch's stepping per iteration, which
    step_size_up=2000 assumes). The rate is a function of the step alone, so a resumed run
    continues it.

    ``cycle_momentum`` (False by default, where PyTorch's default is True): the momentum
    moves against the rate, from max_momentum at a cycle's start to max_momentum -
    (max_momentum - base_momentum) times the same scale at its peak, replacing SGD's and
    RMSprop's ``momentum`` (plain SGD and RMSprop get one, as PyTorch's) or ``beta1`` of
    Adam, AdamW, Adamax and RAdam; refused with Adagrad, Adadelta and NAdam (as
    OneCycle's)."""

    base_lr: float
    step_size_up: int = 2000
    step_size_down: Union[int, None] = None
    mode: str = "triangular"
    gamma: float = 1.0
    cycle_momentum: bool = False
    base_momentum: float = 0.8
    max_momentum: float = 0.9

    def _fill(self, o: Any) -> None:
        o.schedule = int(_lib.Schedule.CYCLIC)
        o.min_learning_rate = _number(self.base_lr, "base_lr")
        o.cyclic_step_size_up = _integer(self.step_size_up, "step_size_up")
        if self.step_size_down is None:
            o.cyclic_step_size_down = -1
        else:
            down = _integer(self.step_size_down, "step_size_down")
            if down < 0:
                raise ValueError(f"step_size_down must be >= 0 or None (as step_size_up), got {down}")
            o.cyclic_step_size_down = down
        modes = {"triangular": _lib.CyclicMode.TRIANGULAR, "triangular2": _lib.CyclicMode.TRIANGULAR2,
                 "exp_range": _lib.CyclicMode.EXP_RANGE}
        if not isinstance(self.mode, str) or self.mode not in modes:
            raise ValueError(f"mode must be 'triangular', 'triangular2' or 'exp_range', got {self.mode!r}")
        o.cyclic_mode = int(modes[self.mode])
        o.gamma = _given(_number(self.gamma, "gamma"), "the cyclic schedule's gamma must be in (0, 1]")
        o.cycle_momentum = 1 if _flag(self.cycle_momentum, "cycle_momentum") else 0
        o.base_momentum = _number(self.base_momentum, "base_momentum")
        o.max_momentum = _number(self.max_momentum, "max_momentum")


@dataclass(frozen=True)
class ReduceLROnPlateau:
    """PyTorch's ``ReduceLROnPlateau(factor, patience, threshold, threshold_mode, cooldown,
    min_lr, eps)`` (since 0.11.0), stepped by the library after every epoch with the value
    early stopping monitors (``EarlyStopping.monitor``: ``'cost'``, the validation cost when
    a validation set is given, else the epoch cost, is PyTorch's mode ``'min'``;
    ``'validation_score'`` its mode ``'max'``). An epoch's value v is better than the best
    b when v < b * (1 - threshold) (``'rel'``; a score: v > b * (1 + threshold)) or
    v < b - threshold (``'abs'``; a score: v > b + threshold). After more than ``patience``
    epochs in a row that are not, the rate lr becomes max(lr * factor, min_lr) when that
    lowers it by more than ``eps``, and the next ``cooldown`` epochs count no bad epoch.
    The rate, the best and the counts stay with the network (and its file): a later call
    continues (once the rate has been reduced, a later call's learning_rate is not used
    until ``Network.reset_training_state()``). Early stopping (its own patience) may stop
    the same run; a warm-up multiplies the rate, floored by min_lr before it. (Keras's
    ReduceLROnPlateau reduces after ``patience`` bad epochs, not more than ``patience``,
    with an absolute min_delta and its own cooldown rule: not the same schedule.)"""

    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8

    def _fill(self, o: Any) -> None:
        o.schedule = int(_lib.Schedule.PLATEAU)
        o.gamma = _given(_number(self.factor, "factor"), "the plateau schedule's factor (gamma) must be in (0, 1)")
        o.plateau_patience = _integer(self.patience, "patience")
        o.plateau_threshold = _number(self.threshold, "threshold")
        modes = {"rel": _lib.ThresholdMode.REL, "abs": _lib.ThresholdMode.ABS}
        if not isinstance(self.threshold_mode, str) or self.threshold_mode not in modes:
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {self.threshold_mode!r}")
        o.plateau_threshold_mode = int(modes[self.threshold_mode])
        o.plateau_cooldown = _integer(self.cooldown, "cooldown")
        o.min_learning_rate = _number(self.min_lr, "min_lr")
        o.plateau_eps = _number(self.eps, "eps")


@dataclass(frozen=True)
class Warmup:
    """A linear warm-up over the model's first ``epochs`` (PyTorch's ``LinearLR(start_factor,
    total_iters=epochs)`` chained before the schedule): epoch e's rate is the schedule's times
    start_factor + (1 - start_factor) * min(e, epochs) / epochs, e over the model's life."""

    epochs: int = 0
    start_factor: float = 1.0 / 3

    def _fill(self, o: Any) -> None:
        o.warmup_epochs = _integer(self.epochs, "warmup_epochs")
        o.warmup_start_factor = _number(self.start_factor, "warmup_start_factor")


def warmup_of(value: Any) -> Warmup:
    """A Warmup from a Warmup, a number of epochs or None (none)."""
    if value is None:
        return Warmup()
    if isinstance(value, Warmup):
        return value
    if hasattr(value, "__index__") and not isinstance(value, bool):
        return Warmup(value.__index__())
    raise TypeError(f"warmup must be a number of epochs or a minibatch_gd.optim.Warmup, got {type(value).__name__}")


@dataclass(frozen=True)
class EarlyStopping:
    """Stop after ``patience`` epochs in a row whose monitored value does not improve on
    the best by more than ``min_delta``; with a validation set and ``restore_best``, a call
    that stops early leaves the best epoch's weights. ``monitor``: ``'cost'`` (the
    validation cost when a validation set is given, else the training epoch cost; lower is
    better) or ``'validation_score'`` (accuracy, R^2 for the regression losses; higher is
    better; needs a validation set), ``mb_monitor``. scikit-learn's ``n_iter_no_change`` N
    is ``patience`` N + 1 (it stops when the count exceeds N)."""

    patience: int = 10
    min_delta: float = 0.0
    restore_best: bool = True
    monitor: str = "cost"

    def _fill(self, o: Any) -> None:
        o.patience = _integer(self.patience, "patience")
        o.min_delta = _number(self.min_delta, "min_delta")
        o.restore_best = 1 if _flag(self.restore_best, "restore_best") else 0
        monitors = {"cost": _lib.Monitor.COST, "validation_score": _lib.Monitor.VALIDATION_SCORE}
        if isinstance(self.monitor, _lib.Monitor):
            o.monitor = int(self.monitor)
        elif isinstance(self.monitor, str) and self.monitor in monitors:
            o.monitor = int(monitors[self.monitor])
        else:
            raise ValueError(f"monitor must be 'cost' or 'validation_score', got {self.monitor!r}")


_OPTIMIZERS = {
    "sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad, "adamax": Adamax,
    "nadam": NAdam, "radam": RAdam, "adadelta": Adadelta,
}
#: Names of rules that are another class's with a flag (the CLI's names, '_' for '-').
_OPTIMIZER_FORMS = {"amsgrad": lambda: Adam(amsgrad=True), "adamw_amsgrad": lambda: AdamW(amsgrad=True)}
_SCHEDULES = {
    "constant": Constant, "step": Step, "exponential": Exponential,
    "inverse_time": InverseTime, "invscaling": InverseTime, "cosine": Cosine, "adaptive": Adaptive,
    "multi_step": MultiStep, "cosine_restarts": CosineRestarts, "one_cycle": OneCycle,
    "plateau": ReduceLROnPlateau, "reduce_lr_on_plateau": ReduceLROnPlateau,
}

OptimizerLike = Union[str, SGD, RMSprop, Adam, AdamW, Adagrad, Adamax, NAdam, RAdam, Adadelta, None]
ScheduleLike = Union[str, Constant, Step, Exponential, InverseTime, Cosine, Adaptive, MultiStep, CosineRestarts, OneCycle,
                     Cyclic, ReduceLROnPlateau, None]


def optimizer_of(value: OptimizerLike) -> Any:
    """An optimizer object from an object, a name ('sgd', 'rmsprop', 'adam', 'adamw',
    'adagrad', 'adamax', 'nadam', 'radam', 'adadelta', 'amsgrad', 'adamw_amsgrad') or None
    (SGD())."""
    if value is None:
        return SGD()
    if isinstance(value, str):
        make = {**_OPTIMIZERS, **_OPTIMIZER_FORMS}.get(value.lower().replace("-", "_"))
        if make is None:
            names = sorted([*_OPTIMIZERS, *_OPTIMIZER_FORMS])
            raise ValueError(f"optimizer must be one of {names} or an object of minibatch_gd.optim, got {value!r}")
        return make()
    if isinstance(value, tuple(_OPTIMIZERS.values())):
        return value
    raise TypeError(f"optimizer must be a name or an object of minibatch_gd.optim, got {type(value).__name__}")


def schedule_of(value: ScheduleLike) -> Any:
    """A schedule object from an object, a name or None (Constant())."""
    if value is None:
        return Constant()
    if isinstance(value, str):
        try:
            return _SCHEDULES[value.lower().replace("-", "_")]()
        except KeyError:
            if value.lower().replace("-", "_") in ("cyclic", "cyclic_lr"):
                raise ValueError("the cyclic schedule needs its base_lr: give minibatch_gd.optim.Cyclic(base_lr, ...)") from None
            raise ValueError(f"schedule must be one of {sorted(_SCHEDULES)} or an object of minibatch_gd.optim, got {value!r}") from None
    if isinstance(value, (*_SCHEDULES.values(), Cyclic)):
        return value
    raise TypeError(f"schedule must be a name or an object of minibatch_gd.optim, got {type(value).__name__}")


# Conversions only: the values are checked by the library.
def _number(value: Any, name: str) -> float:
    import numpy as np

    # A real number: numpy's complex scalars have __float__ (it drops the imaginary part
    # with only a warning), so they are refused by type, as Python's complex is.
    if (isinstance(value, (bool, np.bool_, complex, np.complexfloating))
            or not isinstance(value, (int, float)) and not hasattr(value, "__float__")):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


def _integer(value: Any, name: str) -> int:
    import operator

    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}") from None
    if not -(2**63) <= v < 2**63:
        raise ValueError(f"{name} is out of range: {v}")
    return v


def _given(value: float, rule: str) -> float:
    """A gamma or factor as given: the C options read 0 as the schedule's default, so 0 is
    refused here, in the library's words (any other value the library checks)."""
    if value == 0:
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(f"{rule}, got {value!r} (0 in the C options means the default)")
    return value


def _flag(value: Any, name: str) -> bool:
    """A bool: Python's or numpy's, an integer 0 or 1 (Python's or numpy's), or a 0-d array
    of one of those; anything else (a string, None, 2) is refused rather than taken by its
    truth ('no' is true)."""
    import numbers

    import numpy as np

    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biu":
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    if value not in (0, 1):
        raise ValueError(f"{name} must be a bool (or 0 or 1), got {value!r}")
    return bool(value)
