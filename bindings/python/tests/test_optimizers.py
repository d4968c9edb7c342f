"""Update rules, l2, gradient clipping, schedules and early stopping (minibatch_gd.optim)
against references written from the header's formulas (mb_optimizer, mb_schedule,
mb_train_options), not against the library itself.

Models have no hidden layer (linear regression with MSE, softmax regression with
cross-entropy), so numpy computes their cost and gradient in float64 on its own; the
library runs in float32. Every training here takes the rows in stored order
(shuffle=False) with threads=1.

Tolerances (also stated where used): trajectories (numpy or torch float64 vs the
library's float32), every step of 50: rtol 1e-4, atol 1e-5 (observed: about 1% of that);
l2 / clipping / schedule steps: costs rtol 1e-5, weights rtol 1e-5 / atol 1e-6; learning
rates (computed in double, rounded to float32 once): float32(formula) to rtol 1e-6;
restored weights: net.evaluate's cost vs the history's validation cost, rtol 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minibatch_gd as mb
from minibatch_gd import optim

N_IN, M, STEPS = 5, 24, 50
F32 = lambda v: float(np.float32(v))  # noqa: E731 - the C struct holds hyperparameters as float

RULES = [  # (id, optimizer, base learning rate, schedule)
    ("sgd", optim.SGD(), 0.1, None),
    ("momentum", optim.SGD(momentum=0.9), 0.05, None),
    ("nesterov", optim.SGD(momentum=0.9, nesterov=True), 0.05, None),
    ("rmsprop", optim.RMSprop(), 0.01, None),
    ("adam", optim.Adam(), 0.01, None),
    ("adamw", optim.AdamW(weight_decay=0.1), 0.01, None),
    ("adagrad", optim.Adagrad(), 0.1, None),
    # PyTorch's lr_decay and initial_accumulator_value (Keras's start, 0.1)
    ("adagrad_decay", optim.Adagrad(lr_decay=0.05, initial_accumulator_value=0.1), 0.1, None),
    ("adamax", optim.Adamax(), 0.01, None),
    ("amsgrad", optim.Adam(amsgrad=True), 0.01, None),
    # beta2 0.9: v follows the shrinking gradient down, so vmax is not v (checked below)
    ("amsgrad_b2", optim.Adam(beta2=0.9, amsgrad=True), 0.01, None),
    ("adamw_amsgrad", optim.AdamW(beta2=0.9, weight_decay=0.1, amsgrad=True), 0.01, None),
    # a large epsilon shows its place (outside the root, after the bias correction)
    ("rmsprop_eps", optim.RMSprop(rho=0.9, epsilon=0.01), 0.01, None),
    ("adam_eps", optim.Adam(beta1=0.8, epsilon=0.01), 0.01, None),
    ("adagrad_eps", optim.Adagrad(epsilon=0.1), 0.1, None),
    # u's decay shows: beta2 0.9 lets |g| + epsilon take over as the gradient shrinks
    ("adamax_eps", optim.Adamax(beta1=0.8, beta2=0.9, epsilon=0.01), 0.01, None),
    # a rate that changes mid-run: the rate stays outside the momentum buffer
    ("momentum_step", optim.SGD(momentum=0.9), 0.05, optim.Step(every=10, gamma=0.5)),
    # 0.7.0: RMSprop's centring and momentum, NAdam, RAdam
    ("rmsprop_centered", optim.RMSprop(centered=True), 0.01, None),
    ("rmsprop_momentum", optim.RMSprop(momentum=0.9), 0.005, None),
    ("rmsprop_centered_momentum", optim.RMSprop(rho=0.9, momentum=0.5, centered=True), 0.005,
     optim.Step(every=10, gamma=0.5)),
    ("nadam", optim.NAdam(), 0.01, None),
    # a momentum decay that moves mu_t within the run, a large epsilon (on the corrected root)
    ("nadam_decay", optim.NAdam(beta1=0.8, beta2=0.9, epsilon=0.01, momentum_decay=0.5), 0.01, None),
    # momentum's steps while rho_t <= 5 (t <= 5 at beta2 0.999), then rectified ones
    ("radam", optim.RAdam(), 0.01, None),
    # rho_inf 19 (rectified from step 6 on, as at 0.999, with a smaller r_t); epsilon on the
    # uncorrected root
    ("radam_b2", optim.RAdam(beta1=0.8, beta2=0.9, epsilon=0.01), 0.01, None),
    # rho_inf 3: never rectified, every step momentum's
    ("radam_b2_low", optim.RAdam(beta2=0.5), 0.01, None),
    # 0.10.0: PyTorch's coupled weight_decay on every rule but AdamW (biases too)
    ("sgd_wd", optim.SGD(weight_decay=0.05), 0.1, None),
    ("momentum_wd", optim.SGD(momentum=0.9, weight_decay=0.05), 0.05, None),
    ("rmsprop_wd", optim.RMSprop(weight_decay=0.05), 0.01, None),
    ("nesterov_wd", optim.SGD(momentum=0.9, nesterov=True, weight_decay=0.05), 0.05, None),
    # (not centred: near convergence the centred root sqrt(v - a^2) magnifies float32's
    # rounding past the tolerance; the C loop is checked bit for bit against Swift's)
    ("rmsprop_momentum_wd", optim.RMSprop(momentum=0.5, weight_decay=0.05), 0.005, None),
    ("adam_wd", optim.Adam(weight_decay=0.05), 0.01, None),
    ("amsgrad_wd", optim.Adam(beta2=0.9, amsgrad=True, weight_decay=0.05), 0.01, None),
    ("adagrad_wd", optim.Adagrad(weight_decay=0.05), 0.1, None),
    ("adamax_wd", optim.Adamax(weight_decay=0.05), 0.01, None),
    ("nadam_wd", optim.NAdam(weight_decay=0.05), 0.01, None),
    ("radam_wd", optim.RAdam(weight_decay=0.05), 0.01, None),
    # 0.10.0: NAdam's and RAdam's decoupled_weight_decay=True (PyTorch's NAdamW, RAdamW)
    # (a schedule: the shrink uses the step's rate, not the base rate)
    ("nadamw", optim.NAdam(weight_decay=0.1, decoupled_weight_decay=True), 0.01, optim.Cosine(50)),
    ("radamw", optim.RAdam(weight_decay=0.1, decoupled_weight_decay=True), 0.01, None),
    # 0.11.0: Adadelta (PyTorch's defaults and rate 1; a large epsilon, another rho, decay)
    ("adadelta", optim.Adadelta(), 1.0, None),
    ("adadelta_eps", optim.Adadelta(rho=0.5, epsilon=1e-3), 0.5, None),
    ("adadelta_wd", optim.Adadelta(weight_decay=0.05), 1.0, optim.Step(every=10, gamma=0.5)),
]
IDS = [r[0] for r in RULES]
LOSSES = [("mse", 2), ("cross_entropy", 3)]


def problem(loss, n_out, m=M, n=N_IN, seed=0):
    """X (m, n) float32; y as the library takes it; Y float64 (m, n_out) for numpy."""
    rs = np.random.RandomState(seed)
    X = rs.randn(m, n).astype(np.float32)
    if loss == "mse":
        y = (X @ rs.randn(n, n_out) + 0.5 * rs.randn(m, n_out)).astype(np.float32)
        return X, y, y.astype(np.float64)
    y = rs.randint(0, n_out, size=m).astype(np.int32)
    return X, y, np.eye(n_out)[y]


def make_net(loss, n_out, n=N_IN, seed=3):
    net = mb.Network([n, n_out], loss=loss, seed=seed)
    la = net.layers[0]  # the documented flat layout: W (n_out, n_in) row-major, then b
    assert (la.weight_offset, la.bias_offset, net.n_parameters) == (0, n * n_out, n * n_out + n_out)
    return net


def np_cost_grad(p, X, Y, loss, l2=0.0):
    """Mean cost of the batch (+ 0.5 l2 sum(W^2)/n) and its gradient, float64."""
    X = X.astype(np.float64)
    n, n_in = X.shape
    n_out = Y.shape[1]
    W, b = p[: n_out * n_in].reshape(n_out, n_in), p[n_out * n_in:]
    Z = X @ W.T + b
    if loss == "mse":  # mean over rows and outputs of (a - y)^2, no 1/2
        cost, dZ = np.mean((Z - Y) ** 2), 2 * (Z - Y) / (n * n_out)
    else:  # mean over rows of -log softmax
        Z = Z - Z.max(axis=1, keepdims=True)
        logP = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
        cost, dZ = -np.mean(np.sum(Y * logP, axis=1)), (np.exp(logP) - Y) / n
    cost += 0.5 * l2 * np.sum(W ** 2) / n
    return cost, np.concatenate([(dZ.T @ X + l2 * W / n).ravel(), dZ.sum(axis=0)])


class NpRule:
    """The header's mb_optimizer formulas, element by element, in float64."""

    def __init__(self, opt):
        self.o, self.t, self.a, self.b, self.c = opt, 0, None, None, None
        self.product = 1.0  # NAdam's mu_1 * ... * mu_t
        self.vmax, self.vmax_above_v = None, False  # AMSGrad's maximum; whether it ever was not v

    def step(self, w, g, lr):
        o, self.t = self.o, self.t + 1
        t = self.t
        decoupled = isinstance(o, optim.AdamW) or getattr(o, "decoupled_weight_decay", False)
        wd = F32(getattr(o, "weight_decay", 0.0))
        if wd and not decoupled:  # PyTorch's coupled weight_decay, after the caller's clipping
            g = g + wd * w
        if wd and decoupled and not isinstance(o, optim.AdamW):  # NAdamW, RAdamW: the shrink first
            w = w * F32(1 - F32(lr) * wd)
        if self.a is None:
            self.a, self.b, self.c = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
        if isinstance(o, optim.SGD):
            mu = F32(o.momentum)
            if mu == 0:
                return w - lr * g
            self.a = mu * self.a + g
            return w - lr * (g + mu * self.a if o.nesterov else self.a)
        if isinstance(o, optim.RMSprop):
            rho, mu = F32(o.rho), F32(o.momentum)
            self.b = rho * self.b + (1 - rho) * g ** 2
            spread = self.b
            if o.centered:  # the variance: v minus the mean gradient squared, at least 0
                self.a = rho * self.a + (1 - rho) * g
                spread = np.maximum(self.b - self.a ** 2, 0.0)
            d = np.sqrt(spread) + F32(o.epsilon)
            if mu > 0:
                self.c = mu * self.c + g / d
                return w - lr * self.c
            return w - lr * g / d
        if isinstance(o, optim.NAdam):
            b1, b2, eps, psi = F32(o.beta1), F32(o.beta2), F32(o.epsilon), o.momentum_decay
            mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
            self.product *= mu
            self.a = b1 * self.a + (1 - b1) * g
            self.b = b2 * self.b + (1 - b2) * g ** 2
            d = np.sqrt(self.b) / math.sqrt(1 - b2 ** t) + eps
            return (w - lr * (1 - mu) / (1 - self.product) * g / d
                    - lr * mu_next / (1 - self.product * mu_next) * self.a / d)
        if isinstance(o, optim.RAdam):
            b1, b2, eps = F32(o.beta1), F32(o.beta2), F32(o.epsilon)
            self.a = b1 * self.a + (1 - b1) * g
            self.b = b2 * self.b + (1 - b2) * g ** 2
            c1, c2 = 1 - b1 ** t, 1 - b2 ** t
            rho_inf = 2 / (1 - b2) - 1
            rho = rho_inf - 2 * t * b2 ** t / c2
            if rho <= 5:
                return w - lr / c1 * self.a
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            return w - lr * r * math.sqrt(c2) / c1 * self.a / (np.sqrt(self.b) + eps)
        if isinstance(o, optim.Adagrad):
            if t == 1:
                self.b = self.b + F32(o.initial_accumulator_value)
            self.b = self.b + g ** 2
            clr = lr / (1 + (t - 1) * F32(o.lr_decay))
            return w - clr * g / (np.sqrt(self.b) + F32(o.epsilon))
        if isinstance(o, optim.Adamax):
            b1, b2, eps = F32(o.beta1), F32(o.beta2), F32(o.epsilon)
            self.a = b1 * self.a + (1 - b1) * g
            self.b = np.maximum(b2 * self.b, np.abs(g) + eps)
            return w - (lr / (1 - b1 ** t)) * self.a / self.b
        if isinstance(o, optim.Adadelta):  # a: the squared gradients' average, b: the steps'
            rho, eps = F32(o.rho), F32(o.epsilon)
            self.a = rho * self.a + (1 - rho) * g ** 2
            d = np.sqrt(self.b + eps) / np.sqrt(self.a + eps) * g
            self.b = rho * self.b + (1 - rho) * d ** 2
            return w - lr * d
        b1, b2, eps = F32(o.beta1), F32(o.beta2), F32(o.epsilon)
        if isinstance(o, optim.AdamW):
            w = w - lr * F32(o.weight_decay) * w
        self.a = b1 * self.a + (1 - b1) * g
        self.b = b2 * self.b + (1 - b2) * g ** 2
        v = self.b
        if o.amsgrad:  # AMSGrad: the running maximum of v in the denominator
            self.vmax = v if t == 1 else np.maximum(self.vmax, v)
            self.vmax_above_v = self.vmax_above_v or bool((self.vmax > v).any())
            v = self.vmax
        return w - (lr / (1 - b1 ** t)) * self.a / (np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps)


def schedule_rate(s, lr, e, m):
    """The header's mb_schedule formulas, epoch e over the model's life, in double."""
    if isinstance(s, optim.Step):
        return lr * s.gamma ** (e // s.every)
    if isinstance(s, optim.Exponential):
        return lr * s.gamma ** e
    if isinstance(s, optim.InverseTime):
        return lr / (e * m + 1) ** s.power_t  # full batches: e * m examples before epoch e
    if isinstance(s, optim.Cosine):
        lo = s.min_learning_rate
        return lo + (lr - lo) * (1 + math.cos(math.pi * e / s.epochs)) / 2 if e < s.epochs else lo
    if isinstance(s, optim.MultiStep):
        return lr * s.gamma ** sum(1 for k in s.milestones if k <= e)
    if isinstance(s, optim.CosineRestarts):  # the cycles' lengths, walked one by one
        start, length = 0, s.period
        while e - start >= length:
            start, length = start + length, length * s.multiplier
        lo = s.min_learning_rate
        return lo + (lr - lo) * (1 + math.cos(math.pi * (e - start) / length)) / 2
    if isinstance(s, optim.OneCycle):  # steps are epochs
        return one_cycle_rate(s, lr, e, s.epochs)
    return lr


def one_cycle_value(s, step, steps, values):
    """The header's MB_SCHEDULE_ONE_CYCLE phases at step `step` of `steps` (PyTorch's
    OneCycleLR; a phase of length <= 0 at its end; past the last step, the last value, also
    where three phases with pct_start above 1/2 end the second after it):
    values[0] at step 0, values[1] at pct_start * steps - 1, values[2] at steps - 1, or with
    three_phase (four values) values[2] at 2 * pct_start * steps - 2 and values[3] at
    steps - 1; 'cos' or 'linear' annealing."""
    if step > steps - 1:  # past the last step (PyTorch raises): the last value
        return values[-1]
    three = getattr(s, "three_phase", False)
    ends = ([s.pct_start * steps - 1, 2 * s.pct_start * steps - 2, steps - 1] if three
            else [s.pct_start * steps - 1, steps - 1])
    start = 0.0
    for i, end in enumerate(ends):
        if step <= end or i == len(ends) - 1:
            length = end - start
            p = min((step - start) / length, 1) if length > 0 else 1
            a, b = values[i], values[i + 1]
            if getattr(s, "anneal_strategy", "cos") == "linear":
                return (b - a) * p + a
            return b + (a - b) * (1 + math.cos(math.pi * p)) / 2
        start = end


def one_cycle_rate(s, lr, step, steps):
    """One-cycle's rate: lr / div_factor, up to lr, down to lr / div_factor / final_div_factor
    (three phases: back to lr / div_factor first)."""
    first = lr / s.div_factor
    last = first / s.final_div_factor
    return one_cycle_value(s, step, steps, [first, lr, first, last] if s.three_phase else [first, lr, last])


def one_cycle_momentum(s, step, steps):
    """cycle_momentum (0.10.0): max_momentum, down to base_momentum at the peak rate, back up
    (and held, with three phases)."""
    top, base = s.max_momentum, s.base_momentum
    return one_cycle_value(s, step, steps, [top, base, top, top] if s.three_phase else [top, base, top])


def warmup_factor(w, e):
    """The header's warm-up factor of epoch e: s + (1 - s) * min(e, W) / W (1 without one)."""
    if w is None or w.epochs == 0:
        return 1.0
    return w.start_factor + (1 - w.start_factor) * min(e, w.epochs) / w.epochs


def epoch_rates(sched, lr, epochs, m=M, warmup=None):
    """The rate of every epoch, computed in double from the float32 base rate (times the
    warm-up's factor) and rounded to float32 once (mb_schedule, warmup_epochs)."""
    return [F32(warmup_factor(warmup, e) * schedule_rate(sched, F32(lr), e, m)) for e in range(epochs)]


def np_train(p0, X, Y, loss, opt, lr_of_epoch, epochs, batch, l2=0.0, clip=0.0, clip_value=0.0,
             value_first=False, clipped=None):
    """Numpy training in stored row order: (weights after every epoch, batch costs,
    global gradient norms before clipping). clip_value clips each element after the norm's
    scaling (value_first: before it, the other order); `clipped`, a list, gets each step's
    fraction of elements that value clipping changed."""
    rule, w = NpRule(opt), p0.astype(np.float64)
    after, costs, norms = [], [], []
    for e in range(epochs):
        lr = lr_of_epoch(e)
        for s in range(0, len(X), batch):
            c, g = np_cost_grad(w, X[s:s + batch], Y[s:s + batch], loss, l2)
            norm = np.linalg.norm(g)
            costs.append(c)
            norms.append(norm)
            if value_first:
                g = np.clip(g, -clip_value, clip_value)
                norm = np.linalg.norm(g)
            if clip > 0 and norm > clip:
                g = g * (clip / (norm + 1e-6))
            if clip_value > 0 and not value_first:
                if clipped is not None:
                    clipped.append(np.mean(np.abs(g) > clip_value))
                g = np.clip(g, -clip_value, clip_value)
            w = rule.step(w, g, lr)
        after.append(w.copy())
    return after, np.array(costs), np.array(norms)


def library_steps(net, X, y, opt, lr, steps, **kw):
    """Trains one full-batch epoch per call (the rule's state persists across calls);
    returns the weights after each."""
    out = []
    for _ in range(steps):
        net.train(X, y, epochs=1, batch_size=len(X), learning_rate=lr, shuffle=False,
                  threads=1, optimizer=opt, **kw)
        out.append(net.get_parameters())
    return out


def assert_trajectory(lib, ref, what):
    """Trajectory tolerance: rtol 1e-4, atol 1e-5 at every step."""
    for k, (a, b) in enumerate(zip(lib, ref)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{what}: weights after step {k + 1}")


# -- 1. every rule vs numpy -------------------------------------------------------------

@pytest.mark.parametrize("loss,n_out", LOSSES)
@pytest.mark.parametrize("name,opt,lr,sched", RULES, ids=IDS)
def test_rule_trajectory_matches_numpy(name, opt, lr, sched, loss, n_out):
    X, y, Y = problem(loss, n_out)
    rates = epoch_rates(sched, lr, STEPS)
    with make_net(loss, n_out) as net, make_net(loss, n_out) as net_once:
        p0 = net.get_parameters()
        ref = np_train(p0, X, Y, loss, opt, rates.__getitem__, STEPS, M)[0]
        lib = library_steps(net, X, y, opt, lr, STEPS, schedule=sched)
        assert not np.allclose(lib[-1], p0, atol=1e-3)  # the weights did move
        assert_trajectory(lib, ref, f"{name}/{loss}, one epoch per call")
        # one call of 50 epochs: same final weights (rtol 1e-4 / atol 1e-5 vs numpy) ...
        net_once.train(X, y, epochs=STEPS, batch_size=M, learning_rate=lr, shuffle=False,
                       threads=1, optimizer=opt, schedule=sched)
        assert_trajectory([net_once.get_parameters()], [ref[-1]], f"{name}/{loss}, one call")
        # ... and, per mb_train ("two calls of 5 epochs give the same weights as one of
        # 10"), bit for bit the same as 50 calls of one epoch
        np.testing.assert_array_equal(net_once.get_parameters(), lib[-1])


def test_rule_names():
    """The names Network.train takes for the rules (the CLI's, '-' or '_')."""
    assert optim.optimizer_of("adagrad") == optim.Adagrad() and optim.optimizer_of("ADAMAX") == optim.Adamax()
    assert optim.optimizer_of("amsgrad") == optim.Adam(amsgrad=True)
    assert optim.optimizer_of("NAdam") == optim.NAdam() and optim.optimizer_of("radam") == optim.RAdam()
    assert optim.optimizer_of("adamw-amsgrad") == optim.optimizer_of("adamw_amsgrad") == optim.AdamW(amsgrad=True)
    assert optim.optimizer_of("Adadelta") == optim.Adadelta()  # (0.11.0)
    with pytest.raises(ValueError, match="adamw_amsgrad"):
        optim.optimizer_of("rprop")


def test_amsgrad_takes_the_maximum():
    """The AMSGrad cases above are not Adam's: with beta2 0.9, v falls below its maximum
    on the way (the numpy reference records it) and the weights part from plain Adam's."""
    X, y, Y = problem("mse", 2)
    rates = epoch_rates(None, 0.01, STEPS)
    with make_net("mse", 2) as net:
        p0 = net.get_parameters()
    rule = NpRule(optim.Adam(beta2=0.9, amsgrad=True))
    w = p0.astype(np.float64)
    for e in range(STEPS):
        w = rule.step(w, np_cost_grad(w, X, Y, "mse")[1], rates[e])
    plain = np_train(p0, X, Y, "mse", optim.Adam(beta2=0.9), rates.__getitem__, STEPS, M)[0][-1]
    assert rule.vmax_above_v
    assert np.max(np.abs(w - plain)) > 1e-3


# -- 2. every rule vs torch.optim -------------------------------------------------------

def torch_trajectory(torch, p0, X, y, loss, n_out, opt, rates):
    """Full-batch torch.optim steps in float64, mean cost, autograd gradient."""
    k = n_out * X.shape[1]
    W = torch.tensor(p0[:k].reshape(n_out, -1), dtype=torch.float64, requires_grad=True)
    b = torch.tensor(p0[k:], dtype=torch.float64, requires_grad=True)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    if isinstance(opt, optim.NAdam):
        o = torch.optim.NAdam([W, b], lr=rates[0], betas=(F32(opt.beta1), F32(opt.beta2)), eps=F32(opt.epsilon),
                              momentum_decay=opt.momentum_decay, weight_decay=F32(opt.weight_decay),
                              decoupled_weight_decay=opt.decoupled_weight_decay)
    elif isinstance(opt, optim.Adadelta):
        o = torch.optim.Adadelta([W, b], lr=rates[0], rho=F32(opt.rho), eps=F32(opt.epsilon),
                                 weight_decay=F32(opt.weight_decay))
    elif isinstance(opt, optim.Adagrad):
        o = torch.optim.Adagrad([W, b], lr=rates[0], eps=F32(opt.epsilon), lr_decay=F32(opt.lr_decay),
                                initial_accumulator_value=F32(opt.initial_accumulator_value),
                                weight_decay=F32(opt.weight_decay))
    else:
        o = torch_optimizer(torch, [W, b], opt, rates[0])
    out = []
    for lr in rates:
        o.param_groups[0]["lr"] = lr  # the schedule's rate of this epoch
        o.zero_grad()
        Z = Xt @ W.T + b
        if loss == "mse":  # mean over rows and outputs, no 1/2
            cost = torch.mean((Z - yt) ** 2)
        else:
            cost = torch.nn.functional.cross_entropy(Z, yt.long())
        cost.backward()
        o.step()
        out.append(np.concatenate([W.detach().numpy().ravel(), b.detach().numpy()]))
    return out


@pytest.mark.parametrize("loss,n_out", LOSSES)
@pytest.mark.parametrize("name,opt,lr,sched", RULES, ids=IDS)
def test_rule_trajectory_matches_torch(name, opt, lr, sched, loss, n_out):
    torch = pytest.importorskip("torch")
    X, y, _ = problem(loss, n_out, seed=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: torch's thread pool only costs time
    try:
        with make_net(loss, n_out, seed=4) as net:
            ref = torch_trajectory(torch, net.get_parameters(), X, y, loss, n_out, opt,
                                   epoch_rates(sched, lr, STEPS))
            lib = library_steps(net, X, y, opt, lr, STEPS, schedule=sched)
    finally:
        torch.set_num_threads(threads)
    assert_trajectory(lib, ref, f"{name}/{loss} vs torch.optim")


# -- 3. l2 and 4. clipping --------------------------------------------------------------

def test_l2_costs_and_weights():
    """m = 10 in batches of 4, 4, 2 (stored order): each batch's l2 term uses its own n.
    Costs rtol 1e-5; weights rtol 1e-5 / atol 1e-6."""
    X, y, Y = problem("cross_entropy", 3, m=10)
    l2, lr = 0.5, 0.2
    with make_net("cross_entropy", 3) as net:
        p0 = net.get_parameters()
        ref, costs, _ = np_train(p0, X, Y, "cross_entropy", optim.SGD(), lambda e: F32(lr), 2, 4, l2=F32(l2))
        _, costs0, _ = np_train(p0, X, Y, "cross_entropy", optim.SGD(), lambda e: F32(lr), 2, 4)
        h = net.train(X, y, epochs=2, batch_size=4, learning_rate=lr, shuffle=False, threads=1, l2=l2)
        np.testing.assert_allclose(h.batch_costs, costs, rtol=1e-5)
        assert np.all(np.abs(costs - costs0) > 1e-3)  # the l2 term is not negligible here
        np.testing.assert_allclose(h.epoch_costs, [np.average(costs[i:i + 3], weights=[4, 4, 2])
                                                   for i in (0, 3)], rtol=1e-5)
        np.testing.assert_allclose(net.get_parameters(), ref[-1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opt,l2", [(optim.SGD(), 0.0), (optim.SGD(momentum=0.9), 0.3),
                                    (optim.SGD(momentum=0.9, weight_decay=0.5), 0.3)],
                         ids=["sgd", "momentum+l2", "momentum+l2+weight_decay"])
def test_clip_norm(opt, l2):
    """Clipping scales the whole gradient (l2 term included) by clip/(norm + 1e-6) before
    the rule sees it; PyTorch's coupled weight_decay (0.10.0) is added after the clipping
    (the norm does not see it). 3 epochs of 3 batches of 8; weights rtol 1e-5 / atol 1e-6."""
    X, y, Y = problem("mse", 2)
    clip, lr = 0.05, 0.3
    with make_net("mse", 2) as net:
        p0 = net.get_parameters()
        ref, costs, norms = np_train(p0, X, Y, "mse", opt, lambda e: F32(lr), 3, 8, l2=F32(l2), clip=F32(clip))
        assert np.all(norms > 5 * clip)  # clipping is active at every step
        h = net.train(X, y, epochs=3, batch_size=8, learning_rate=lr, shuffle=False, threads=1,
                      optimizer=opt, l2=l2, clip_norm=clip)
        np.testing.assert_allclose(h.batch_costs, costs, rtol=1e-5)
        np.testing.assert_allclose(net.get_parameters(), ref[-1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("clip_norm,l2", [(0.0, 0.1), (0.5, 0.1), (0.0, 0.0)], ids=["l2", "norm+l2", "alone"])
@pytest.mark.parametrize("opt", [optim.SGD(), optim.Adam(), optim.Adagrad()], ids=["sgd", "adam", "adagrad"])
def test_clip_value(opt, clip_norm, l2):
    """clip_value (0.6.0) clips every element of the gradient (l2 term included) to
    [-c, c], after clip_norm's scaling (which measures the unclipped gradient); 3 epochs of
    3 batches of 8 against numpy, weights rtol 1e-5 / atol 1e-6. Over the run value clipping
    changes some elements and leaves others (c 0.1 after the norm's scaling to 0.5, else
    0.5: measured 25-67 % and 0-92 % of a step's elements); with clip_norm the norm is above
    it at every step and the other order (values first) trains otherwise. Plain SGD with
    neither l2 nor clip_norm ("alone") leaves its fast path for the rule that clips."""
    X, y, Y = problem("mse", 2)
    c, lr = (0.1 if clip_norm > 0 else 0.5), 0.3
    with make_net("mse", 2) as net:
        p0 = net.get_parameters()
        fractions = []
        ref, costs, norms = np_train(p0, X, Y, "mse", opt, lambda e: F32(lr), 3, 8, l2=F32(l2), clip=F32(clip_norm),
                                     clip_value=F32(c), clipped=fractions)
        assert 0 < np.mean(fractions) < 1 and max(fractions) > 0, fractions
        plain = np_train(p0, X, Y, "mse", opt, lambda e: F32(lr), 3, 8, l2=F32(l2), clip=F32(clip_norm))[0]
        assert np.max(np.abs(ref[-1] - plain[-1])) > 1e-3  # clipping changed the run
        if clip_norm > 0:
            assert np.all(norms > clip_norm)
            other = np_train(p0, X, Y, "mse", opt, lambda e: F32(lr), 3, 8, l2=F32(l2), clip=F32(clip_norm),
                             clip_value=F32(c), value_first=True)[0]
            assert np.max(np.abs(other[-1] - ref[-1])) > 1e-3  # the order shows
        h = net.train(X, y, epochs=3, batch_size=8, learning_rate=lr, shuffle=False, threads=1,
                      optimizer=opt, l2=l2, clip_norm=clip_norm, clip_value=c)
        np.testing.assert_allclose(h.batch_costs, costs, rtol=1e-5)
        np.testing.assert_allclose(net.get_parameters(), ref[-1], rtol=1e-5, atol=1e-6)


def test_weight_decay_after_clipping_matches_torch():
    """PyTorch's order: loss.backward(), clip_grad_norm_ and clip_grad_value_ on the
    gradient, then optimizer.step() adds weight_decay * w (SGD with momentum, weight_decay
    0.5, full batch, 12 steps, both clippings active): the same weights, rtol 1e-5."""
    torch = pytest.importorskip("torch")
    X, y, _ = problem("cross_entropy", 3, seed=3)
    lr, steps, opt = 0.2, 12, optim.SGD(momentum=0.9, weight_decay=0.5)
    with make_net("cross_entropy", 3, seed=5) as net:
        p0 = net.get_parameters()
        for _ in range(steps):
            net.train(X, y, epochs=1, batch_size=M, learning_rate=lr, shuffle=False, threads=1, optimizer=opt,
                      clip_norm=0.3, clip_value=0.05)
        got = net.get_parameters()
    W, b, Xt, yt, o = torch_adam(torch, p0, X, y, lr, opt)
    for _ in range(steps):
        o.zero_grad()
        torch.nn.functional.cross_entropy(Xt @ W.T + b, yt).backward()
        assert float(torch.nn.utils.clip_grad_norm_([W, b], 0.3)) > 0.3  # (the norm clipping is active)
        torch.nn.utils.clip_grad_value_([W, b], 0.05)
        o.step()
    np.testing.assert_allclose(got, np.concatenate([W.detach().numpy().ravel(), b.detach().numpy()]),
                               rtol=1e-5, atol=1e-7)


def test_clip_value_matches_torch():
    """Adam with torch.nn.utils.clip_grad_value_(0.02) before each step: the same
    trajectory over 30 full-batch steps (rtol 1e-4 / atol 1e-5)."""
    torch = pytest.importorskip("torch")
    X, y, _ = problem("cross_entropy", 3, seed=4)
    with make_net("cross_entropy", 3, seed=6) as net:
        p0 = net.get_parameters()
        lib = library_steps(net, X, y, optim.Adam(), 0.01, 30, clip_value=0.02)
    k = 3 * N_IN
    W = torch.tensor(p0[:k].reshape(3, -1), dtype=torch.float64, requires_grad=True)
    b = torch.tensor(p0[k:], dtype=torch.float64, requires_grad=True)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.long)
    o = torch.optim.Adam([W, b], lr=F32(0.01), eps=F32(1e-8))
    ref, clipped = [], 0
    for _ in range(30):
        o.zero_grad()
        torch.nn.functional.cross_entropy(Xt @ W.T + b, yt).backward()
        clipped += int((W.grad.abs() > F32(0.02)).sum())
        torch.nn.utils.clip_grad_value_([W, b], F32(0.02))
        o.step()
        ref.append(np.concatenate([W.detach().numpy().ravel(), b.detach().numpy()]))
    assert clipped > 0
    assert_trajectory(lib, ref, "Adam with clip_value vs torch")


# -- 5. schedules -----------------------------------------------------------------------

SCHEDULES = [optim.Constant(), optim.Step(every=3, gamma=0.5), optim.Exponential(gamma=0.8),
             optim.InverseTime(power_t=0.5), optim.Cosine(epochs=10, min_learning_rate=0.001),
             # 0.7.0: a repeated milestone counts twice; cycles of 2, 4, 8 epochs
             optim.MultiStep((2, 9, 5, 5), gamma=0.5),
             optim.CosineRestarts(2, multiplier=2, min_learning_rate=0.001),
             # 0.9.0: 10 epochs (12 run: the last rate held), rising over the first 2.5
             optim.OneCycle(10, pct_start=0.25, div_factor=10, final_div_factor=100)]


@pytest.mark.parametrize("warmup", [None, optim.Warmup(5, 0.25)], ids=["", "warmup"])
@pytest.mark.parametrize("sched", SCHEDULES, ids=lambda s: type(s).__name__)
def test_schedule_rates_and_steps(sched, warmup):
    """12 epochs: learning rates to rtol 1e-6 of float32(formula); each epoch's plain-SGD
    step equals lr_e * (numpy gradient at the weights before it), rtol 1e-5 / atol 1e-6.
    With a warm-up of 5 epochs from 0.25 (0.6.0), the rates are the schedule's times the
    warm-up's factor, epochs counted over the model's life (one call per epoch or one call)."""
    X, y, Y = problem("mse", 2, m=10)
    lr, epochs = 0.1, 12
    expected = epoch_rates(sched, lr, epochs, m=10, warmup=warmup)
    if warmup is not None:  # the warm-up shows: the first epochs' rates are lower
        assert expected[0] < F32(schedule_rate(sched, F32(lr), 0, 10))
    with make_net("mse", 2) as net, make_net("mse", 2) as net_once:
        h = mb.History()
        for e in range(epochs):  # one call per epoch: the schedule continues over calls
            p = net.get_parameters().astype(np.float64)
            _, g = np_cost_grad(p, X, Y, "mse")
            net.train(X, y, epochs=1, batch_size=10, learning_rate=lr, shuffle=False,
                      threads=1, schedule=sched, history=h, warmup=warmup)
            np.testing.assert_allclose(net.get_parameters(), p - expected[e] * g,
                                       rtol=1e-5, atol=1e-6, err_msg=f"epoch {e}")
        np.testing.assert_allclose(h.learning_rates, expected, rtol=1e-6)
        h1 = net_once.train(X, y, epochs=epochs, batch_size=10, learning_rate=lr,
                            shuffle=False, threads=1, schedule=sched, warmup=warmup)
        np.testing.assert_allclose(h1.learning_rates, expected, rtol=1e-6)


def test_warmup_matches_torch_linear_lr():
    """Adam with a warm-up of 4 epochs from 0.2 before an exponential schedule: PyTorch's
    ChainedScheduler([LinearLR(start_factor=0.2, total_iters=4), ExponentialLR(0.9)]) gives
    the same rates (rtol 1e-6) and the same trajectory (rtol 1e-4 / atol 1e-5) over 12
    full-batch epochs."""
    torch = pytest.importorskip("torch")
    X, y, _ = problem("cross_entropy", 3, seed=2)
    warm, sched, lr, epochs = optim.Warmup(4, 0.2), optim.Exponential(0.9), 0.02, 12
    with make_net("cross_entropy", 3, seed=5) as net:
        p0 = net.get_parameters()
        h = net.train(X, y, epochs=epochs, batch_size=M, learning_rate=lr, shuffle=False, threads=1,
                      optimizer=optim.Adam(), schedule=sched, warmup=warm)
        got = net.get_parameters()
    k = 3 * N_IN
    W = torch.tensor(p0[:k].reshape(3, -1), dtype=torch.float64, requires_grad=True)
    b = torch.tensor(p0[k:], dtype=torch.float64, requires_grad=True)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.long)
    o = torch.optim.Adam([W, b], lr=F32(lr), eps=F32(1e-8))
    chain = torch.optim.lr_scheduler.ChainedScheduler([
        torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=4),
        torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)])
    rates = []
    for _ in range(epochs):
        rates.append(o.param_groups[0]["lr"])
        o.zero_grad()
        torch.nn.functional.cross_entropy(Xt @ W.T + b, yt).backward()
        o.step()
        chain.step()
    np.testing.assert_allclose(h.learning_rates, rates, rtol=1e-6)
    want = np.concatenate([W.detach().numpy().ravel(), b.detach().numpy()])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", ["multistep", "restarts", "restarts_mult1"])
def test_new_schedules_match_torch(case):
    """The schedules of 0.7.0 against PyTorch's own schedulers, stepped once an epoch over
    30 epochs: MultiStepLR (milestones given out of order, one twice) and
    CosineAnnealingWarmRestarts (T_mult 2 and 1): the same rates, rtol 1e-6 (the library
    rounds to float once)."""
    torch = pytest.importorskip("torch")
    X, y, _ = problem("cross_entropy", 3, seed=2)
    lr, epochs = 0.05, 30
    p = torch.nn.Parameter(torch.zeros(1))
    o = torch.optim.SGD([p], lr=lr)
    if case == "multistep":
        sched = optim.MultiStep((12, 4, 20, 12), gamma=0.3)
        ref = torch.optim.lr_scheduler.MultiStepLR(o, milestones=[12, 4, 20, 12], gamma=0.3)
    else:
        mult = 2 if case == "restarts" else 1
        sched = optim.CosineRestarts(3, multiplier=mult, min_learning_rate=0.001)
        ref = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=mult, eta_min=0.001)
    rates = []
    for _ in range(epochs):
        rates.append(o.param_groups[0]["lr"])
        o.step()
        ref.step()
    with make_net("cross_entropy", 3, seed=5) as net:
        h = net.train(X, y, epochs=epochs, batch_size=M, learning_rate=lr, shuffle=False, threads=1, schedule=sched)
    np.testing.assert_allclose(h.learning_rates, rates, rtol=1e-6)
    assert len(set(np.round(rates, 9))) >= 3  # the rate did change


def test_warmup_forms_and_one_rounding():
    """warmup=5 is Warmup(5) (start factor 1/3); the rates are float32(factor * schedule's
    rate in double), bit for bit (gamma 0.9: rounding the schedule's rate to float32 first
    gives other bits at some epochs, so the check tells one rounding from two)."""
    X, y, _ = problem("mse", 2)
    with make_net("mse", 2) as net:
        h = net.train(X, y, epochs=8, batch_size=M, learning_rate=0.1, shuffle=False, threads=1,
                      schedule=optim.Exponential(0.9), warmup=5)
    lr = float(np.float32(0.1))
    factors = [1 / 3 + (1 - 1 / 3) * min(e, 5) / 5 for e in range(8)]
    once = [np.float32(f * (lr * 0.9 ** e)) for e, f in enumerate(factors)]
    twice = [np.float32(f * float(np.float32(lr * 0.9 ** e))) for e, f in enumerate(factors)]
    assert once != twice
    np.testing.assert_array_equal(np.asarray(h.learning_rates, np.float32), once)
    for bad in (True, 2.5, "5"):
        with pytest.raises(TypeError, match="warmup"):
            optim.warmup_of(bad)


def test_warmup_before_the_adaptive_schedule():
    """The adaptive schedule divides its own rate; the warm-up multiplies what it gives:
    rates = float32(simulated adaptive rate * warm-up factor), rtol 1e-6."""
    X, y, _ = problem("mse", 2)
    warm = optim.Warmup(6)
    with make_net("mse", 2) as net:
        h = net.train(X, y, epochs=40, batch_size=M, learning_rate=0.1, shuffle=False, threads=1,
                      schedule=optim.Adaptive(), warmup=warm,
                      early_stopping=optim.EarlyStopping(patience=2, min_delta=1e3))
        n, _, rates = simulate(h.epoch_costs, 2, 1e3, rate=F32(0.1))
        assert len(h.epoch_costs) == n
        want = [F32(warmup_factor(warm, e) * r) for e, r in enumerate(rates)]
        np.testing.assert_allclose(h.learning_rates, want, rtol=1e-6)
        assert h.learning_rates[0] == pytest.approx(0.1 / 3, rel=1e-6)


# -- 5b. a rate every mini-batch (schedule_per_batch, 0.9.0) ------------------------------

def batch_rate(sched, warmup, lr, e, b, batches, m, batch):
    """The header's rate of batch b of epoch e with schedule_per_batch: the formulas at the
    fractional epoch x = e + b / B (inverse time: the examples before the batch), in double,
    rounded to float32 once."""
    x = e + b / batches
    if isinstance(sched, optim.InverseTime):
        r = F32(lr) / (e * m + b * batch + 1) ** sched.power_t
    elif isinstance(sched, optim.OneCycle):  # steps are batches
        r = one_cycle_rate(sched, F32(lr), e * batches + b, sched.epochs * batches)
    else:
        r = schedule_rate(sched, F32(lr), x, m)
    return F32(warmup_factor(warmup, x) * r)


@pytest.mark.parametrize("warmup", [None, optim.Warmup(3, 0.25)], ids=["", "warmup"])
@pytest.mark.parametrize("sched", SCHEDULES, ids=lambda s: type(s).__name__)
def test_schedule_per_batch_steps(sched, warmup):
    """24 rows in batches of 5 (5 batches, the last of 4), stored order, plain SGD, 6 epochs:
    every step is w -= rate(e + b / B) * (numpy gradient), rtol 1e-5 / atol 1e-6 after
    every epoch; one call per epoch gives the same weights as one call of 6, bit for bit
    (the fractional epoch counts over the model's life); the history keeps each epoch's
    first batch's rate, the once-an-epoch rate. Step and multi-step (integer milestones)
    give the once-an-epoch weights bit for bit; the schedules that move within an epoch,
    and any warm-up, give other weights."""
    X, y, Y = problem("mse", 2)
    lr, epochs, batch = 0.1, 6, 5
    batches = -(-M // batch)
    with make_net("mse", 2) as net, make_net("mse", 2) as once, make_net("mse", 2) as per_epoch:
        w = net.get_parameters().astype(np.float64)
        h = mb.History()
        for e in range(epochs):
            for b in range(batches):
                rows = slice(b * batch, (b + 1) * batch)
                _, g = np_cost_grad(w, X[rows], Y[rows], "mse")
                w = w - batch_rate(sched, warmup, lr, e, b, batches, M, batch) * g
            net.train(X, y, epochs=1, batch_size=batch, learning_rate=lr, shuffle=False, threads=1,
                      schedule=sched, warmup=warmup, schedule_per_batch=True, history=h)
            np.testing.assert_allclose(net.get_parameters(), w, rtol=1e-5, atol=1e-6, err_msg=f"epoch {e}")
        np.testing.assert_allclose(h.learning_rates, [batch_rate(sched, warmup, lr, e, 0, batches, M, batch)
                                                       for e in range(epochs)], rtol=1e-6)
        once.train(X, y, epochs=epochs, batch_size=batch, learning_rate=lr, shuffle=False, threads=1,
                   schedule=sched, warmup=warmup, schedule_per_batch=True)
        np.testing.assert_array_equal(once.get_parameters(), net.get_parameters())
        per_epoch.train(X, y, epochs=epochs, batch_size=batch, learning_rate=lr, shuffle=False, threads=1,
                        schedule=sched, warmup=warmup)
        same = np.array_equal(per_epoch.get_parameters(), net.get_parameters())
        assert same == (warmup is None and isinstance(sched, (optim.Constant, optim.Step, optim.MultiStep)))


def test_schedule_per_batch_is_a_flag():
    X, y, _ = problem("mse", 2)
    with pytest.raises(TypeError, match="schedule_per_batch"):
        with make_net("mse", 2) as net:
            net.train(X, y, schedule_per_batch="yes")


def torch_adam(torch, p0, X, y, lr, opt=None):
    """A 3-class softmax regression's W and b from the flat parameters p0, X and y as float64
    and long tensors, and torch.optim.Adam over W and b at float32(lr) (epsilon the library's
    float 1e-8), or `opt`'s rule (torch_optimizer)."""
    k = 3 * N_IN
    W = torch.tensor(p0[:k].reshape(3, -1), dtype=torch.float64, requires_grad=True)
    b = torch.tensor(p0[k:], dtype=torch.float64, requires_grad=True)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.long)
    o = torch.optim.Adam([W, b], lr=F32(lr), eps=F32(1e-8)) if opt is None else torch_optimizer(torch, [W, b], opt, F32(lr))
    return W, b, Xt, yt, o


def torch_one_cycle_epochs(torch, W, b, Xt, yt, o, ref, epochs, batch):
    """Epochs of stored-order batches of `batch` rows with optimizer o, OneCycleLR `ref`
    stepped after every iteration but the last: each epoch's flat parameters, and the rate
    each epoch starts with."""
    batches = -(-len(Xt) // batch)
    params, rates = [], []
    for e in range(epochs):
        rates.append(o.param_groups[0]["lr"])
        for i in range(batches):
            o.zero_grad()
            rows = slice(i * batch, (i + 1) * batch)
            torch.nn.functional.cross_entropy(Xt[rows] @ W.T + b, yt[rows]).backward()
            o.step()
            if e * batches + i + 1 < epochs * batches:  # (PyTorch refuses a step past the last)
                ref.step()
        params.append(np.concatenate([W.detach().numpy().ravel(), b.detach().numpy()]))
    return params, rates


@pytest.mark.parametrize("case", ["cosine", "warmup_exponential", "restarts"])
def test_schedule_per_batch_matches_torch(case):
    """PyTorch's schedulers stepped every iteration, Adam, 24 rows in batches of 5 (B = 5),
    stored order, 8 epochs: CosineAnnealingLR(T_max = 8 B, eta_min), LinearLR(start 0.25,
    total_iters = 3 B) chained with ExponentialLR(gamma^(1 / B)), and
    CosineAnnealingWarmRestarts(T_0 = 2, T_mult = 2).step(e + b / B) (its documented
    per-iteration use): the same trajectory, rtol 1e-4 / atol 1e-5 after every epoch."""
    torch = pytest.importorskip("torch")
    X, y, _ = problem("cross_entropy", 3, seed=4)
    lr, epochs, batch = 0.02, 8, 5
    batches = -(-M // batch)
    if case == "cosine":
        kw = dict(schedule=optim.Cosine(epochs=epochs, min_learning_rate=0.001))
    elif case == "warmup_exponential":
        kw = dict(schedule=optim.Exponential(0.8), warmup=optim.Warmup(3, 0.25))
    else:
        kw = dict(schedule=optim.CosineRestarts(2, multiplier=2, min_learning_rate=0.001))
    with make_net("cross_entropy", 3, seed=6) as net:
        p0 = net.get_parameters()
        got = []
        for _ in range(epochs):
            net.train(X, y, epochs=1, batch_size=batch, learning_rate=lr, shuffle=False, threads=1,
                      optimizer=optim.Adam(), schedule_per_batch=True, **kw)
            got.append(net.get_parameters())
    W, b, Xt, yt, o = torch_adam(torch, p0, X, y, lr)
    S = torch.optim.lr_scheduler
    if case == "cosine":
        ref = S.CosineAnnealingLR(o, T_max=epochs * batches, eta_min=0.001)
    elif case == "warmup_exponential":
        ref = S.ChainedScheduler([S.LinearLR(o, start_factor=0.25, total_iters=3 * batches),
                                  S.ExponentialLR(o, gamma=0.8 ** (1 / batches))])
    else:
        ref = S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=0.001)
    for e in range(epochs):
        for i in range(batches):
            if case == "restarts":
                ref.step(e + i / batches)
            o.zero_grad()
            rows = slice(i * batch, (i + 1) * batch)
            torch.nn.functional.cross_entropy(Xt[rows] @ W.T + b, yt[rows]).backward()
            o.step()
            if case != "restarts":
                ref.step()
        want = np.concatenate([W.detach().numpy().ravel(), b.detach().numpy()])
        np.testing.assert_allclose(got[e], want, rtol=1e-4, atol=1e-5, err_msg=f"epoch {e}")


@pytest.mark.parametrize("per_batch", [False, True], ids=["epochs", "batches"])
def test_one_cycle_matches_torch(per_batch):
    """PyTorch's OneCycleLR(max_lr, total_steps, pct_start 0.4, div_factor 10,
    final_div_factor 50, cycle_momentum=False) with Adam over 9 epochs of 24 rows: stepped
    once an epoch (full batch, total_steps 9) and every iteration (batches of 5, B = 5,
    total_steps 45, schedule_per_batch): the same trajectory, rtol 1e-4 / atol 1e-5 after
    every epoch; once an epoch the history's rates are PyTorch's, rtol 1e-6."""
    torch = pytest.importorskip("torch")
    X, y, _ = problem("cross_entropy", 3, seed=5)
    lr, epochs = 0.05, 9
    batch = 5 if per_batch else M
    batches = -(-M // batch)
    sched = optim.OneCycle(epochs, pct_start=0.4, div_factor=10, final_div_factor=50)
    with make_net("cross_entropy", 3, seed=7) as net:
        p0 = net.get_parameters()
        h = mb.History()
        got = []
        for _ in range(epochs):
            net.train(X, y, epochs=1, batch_size=batch, learning_rate=lr, shuffle=False, threads=1, history=h,
                      optimizer=optim.Adam(), schedule=sched, schedule_per_batch=per_batch)
            got.append(net.get_parameters())
    W, b, Xt, yt, o = torch_adam(torch, p0, X, y, lr)
    ref = torch.optim.lr_scheduler.OneCycleLR(o, max_lr=F32(lr), total_steps=epochs * batches, pct_start=0.4,
                                              div_factor=10, final_div_factor=50, cycle_momentum=False)
    want, rates = torch_one_cycle_epochs(torch, W, b, Xt, yt, o, ref, epochs, batch)
    for e in range(epochs):
        np.testing.assert_allclose(got[e], want[e], rtol=1e-4, atol=1e-5, err_msg=f"epoch {e}")
    np.testing.assert_allclose(h.learning_rates, rates, rtol=1e-6)


def test_one_cycle_edges_and_refusals():
    """pct_start 0 (no rise: falling from the first step) and 1 (no fall), a cycle shorter
    than the run (the last rate held), the default period (the end of the call), the
    names; refused: pct_start outside [0, 1], div_factor and final_div_factor <= 0 or not
    finite, a negative period."""
    X, y, _ = problem("mse", 2, m=10)
    lr = 0.1
    for sched, epochs in [(optim.OneCycle(6, pct_start=0.0), 6), (optim.OneCycle(6, pct_start=1.0), 6),
                          (optim.OneCycle(4), 9), (optim.OneCycle(), 7), (optim.OneCycle(10, pct_start=0.1), 3),
                          (optim.OneCycle(4, pct_start=1.0), 7)]:
        with make_net("mse", 2) as net:
            h = net.train(X, y, epochs=epochs, batch_size=10, learning_rate=lr, shuffle=False, threads=1,
                          schedule=sched)
        steps = sched.epochs or epochs
        want = [F32(one_cycle_rate(sched, F32(lr), e, steps)) for e in range(epochs)]
        np.testing.assert_allclose(h.learning_rates, want, rtol=1e-6, err_msg=str(sched))
        assert all(np.isfinite(h.learning_rates))
        if sched.pct_start * steps == 1:  # a rise of no length (PyTorch divides by 0): the peak first
            assert h.learning_rates[0] == pytest.approx(lr, rel=1e-6)
        if sched.pct_start == 1 and epochs > steps:  # the peak at the last step, then the last rate
            assert h.learning_rates[steps - 1] == pytest.approx(lr, rel=1e-6)
            assert h.learning_rates[steps:] == pytest.approx([lr / 25 / 1e4] * (epochs - steps), rel=1e-6)
    assert h.learning_rates[0] == pytest.approx(lr / 25, rel=1e-6)
    falling = [one_cycle_rate(optim.OneCycle(6, pct_start=0.0), 1.0, e, 6) for e in range(6)]
    rising = [one_cycle_rate(optim.OneCycle(6, pct_start=1.0), 1.0, e, 6) for e in range(6)]
    assert falling == sorted(falling, reverse=True) and falling[-1] == pytest.approx(1 / 25 / 1e4, rel=1e-12)
    assert rising == sorted(rising) and rising[0] == pytest.approx(1 / 25, rel=1e-12) and rising[-1] == 1.0
    assert optim.schedule_of("one_cycle") == optim.OneCycle() == optim.schedule_of("one-cycle")
    for bad, name in [(optim.OneCycle(pct_start=1.5), "pct_start"), (optim.OneCycle(pct_start=-0.1), "pct_start"),
                      (optim.OneCycle(div_factor=0), "^div_factor"), (optim.OneCycle(final_div_factor=float("nan")),
                                                                     "final_div_factor"),
                      (optim.OneCycle(final_div_factor=-1), "final_div_factor"), (optim.OneCycle(-1), "cosine_epochs")]:
        with make_net("mse", 2) as net:
            with pytest.raises(mb.InvalidArgumentError, match=name):
                net.train(X, y, epochs=1, batch_size=10, learning_rate=lr, threads=1, schedule=bad)


# -- 5d. one-cycle's momentum cycle (cycle_momentum, 0.10.0) -------------------------------

CYCLED = [  # (id, optimizer, peak rate): the momentum or beta1 given is replaced
    ("sgd", optim.SGD(), 0.1),  # plain SGD gets a momentum (PyTorch's OneCycleLR sets it)
    ("momentum", optim.SGD(momentum=0.5), 0.05),
    ("nesterov", optim.SGD(momentum=0.9, nesterov=True), 0.05),
    ("rmsprop", optim.RMSprop(), 0.01),  # RMSprop gets its momentum form
    ("rmsprop_centered_momentum", optim.RMSprop(rho=0.9, momentum=0.5, centered=True), 0.005),
    ("adam", optim.Adam(), 0.02),
    ("adamw_amsgrad", optim.AdamW(beta2=0.9, weight_decay=0.1, amsgrad=True), 0.02),
    ("adamax", optim.Adamax(), 0.02),
    ("radam", optim.RAdam(beta2=0.9), 0.02),  # rectified from step 6: both branches run
]
CYCLE = optim.OneCycle(12, pct_start=0.4, div_factor=10, final_div_factor=50, cycle_momentum=True,
                       base_momentum=0.8, max_momentum=0.95)


def with_momentum(opt, mu):
    """opt with its momentum (SGD, RMSprop) or beta1 (the Adam family) set to mu."""
    from dataclasses import replace
    return replace(opt, momentum=mu) if isinstance(opt, (optim.SGD, optim.RMSprop)) else replace(opt, beta1=mu)


def cycled_library_epochs(opt, lr, sched, epochs, batch, loss="cross_entropy", n_out=3):
    """The one-cycle tests' problem (seed 8, net seed 9): X, y, Y, the first parameters and
    the library's weights after each of `epochs` epochs (one call each, stored order; a rate
    every mini-batch when batch < M)."""
    X, y, Y = problem(loss, n_out, seed=8)
    with make_net(loss, n_out, seed=9) as net:
        p0 = net.get_parameters()
        lib = []
        for _ in range(epochs):
            net.train(X, y, epochs=1, batch_size=batch, learning_rate=lr, shuffle=False, threads=1, optimizer=opt,
                      schedule=sched, schedule_per_batch=batch < M)
            lib.append(net.get_parameters())
    return X, y, Y, p0, lib


def cycled_trajectories(opt, lr, sched, epochs, batch, loss="cross_entropy", n_out=3):
    """The library's weights after each of `epochs` epochs (cycled_library_epochs) and
    numpy's (NpRule with the step's float32 momentum or beta1 and rate: steps are epochs, or
    batches with schedule_per_batch when batch < M)."""
    X, y, Y, p0, lib = cycled_library_epochs(opt, lr, sched, epochs, batch, loss, n_out)
    per_batch = batch < M
    batches = -(-M // batch)
    steps = sched.epochs * (batches if per_batch else 1)
    rule, w, ref = NpRule(opt), p0.astype(np.float64), []
    for e in range(epochs):
        for i in range(batches):
            k = e * batches + i if per_batch else e
            rule.o = with_momentum(opt, F32(one_cycle_momentum(sched, k, steps)))
            _, g = np_cost_grad(w, X[i * batch:(i + 1) * batch], Y[i * batch:(i + 1) * batch], loss)
            w = rule.step(w, g, F32(one_cycle_rate(sched, F32(lr), k, steps)))
        ref.append(w.copy())
    return p0, lib, ref


FORMS = [  # (id, three_phase, anneal_strategy): PyTorch's OneCycleLR forms beside the default
    ("three_phase", True, "cos"), ("linear", False, "linear"), ("three_phase_linear", True, "linear")]


@pytest.mark.parametrize("batch", [M, 5], ids=["epochs", "batches"])
@pytest.mark.parametrize("form,three,strategy", FORMS, ids=[f[0] for f in FORMS])
def test_one_cycle_forms_match_numpy(form, three, strategy, batch):
    """three_phase and anneal_strategy (0.10.0): the history's rates are the formulas' (rtol
    1e-6; once an epoch, or batch 0's with schedule_per_batch) over 14 epochs of a 12-step
    cycle with pct_start 0.3 (three phases end at steps 2.6, 5.2 and 11), and momentum SGD
    and Adam with the momentum cycled follow numpy step by step (rtol 1e-4 / atol 1e-5)."""
    from dataclasses import replace
    sched = replace(CYCLE, pct_start=0.3, three_phase=three, anneal_strategy=strategy)
    for name, opt, lr in [CYCLED[1], CYCLED[5]]:
        p0, lib, ref = cycled_trajectories(opt, lr, sched, 14, batch)
        assert_trajectory(lib, ref, f"{form}: {name}")
    X, y, _ = problem("mse", 2)
    batches = -(-M // batch)

    def rates(s):
        with make_net("mse", 2) as net:
            return net.train(X, y, epochs=14, batch_size=batch, learning_rate=0.1, shuffle=False, threads=1,
                             schedule=replace(s, cycle_momentum=False), schedule_per_batch=batch < M).learning_rates
    got = rates(sched)
    want = [F32(one_cycle_rate(sched, F32(0.1), e * batches, 12 * batches)) for e in range(14)]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert not np.allclose(got, rates(CYCLE), rtol=1e-3)  # the form shows in the library's rates
    assert got[12] == got[13] == F32(F32(0.1) / 10 / 50)  # past the last step, the last rate


def test_one_cycle_reference_is_pytorchs():
    """The numpy reference the tests above (and CI, where PyTorch is not installed) check
    against is PyTorch's: OneCycleLR(max_lr 1, total_steps 12, pct_start 0.3, div_factor 10,
    final_div_factor 50, three_phase=True, anneal_strategy='linear', cycle_momentum=True,
    base_momentum 0.8, max_momentum 0.95) with torch 2.13, every step's lr and momentum."""
    torch_lr = [0.1, 0.44615384615384623, 0.7923076923076925, 0.8615384615384614, 0.5153846153846152,
                0.16923076923076896, 0.08648275862068965, 0.06958620689655172, 0.05268965517241379,
                0.035793103448275854, 0.018896551724137928, 0.0020000000000000018]
    torch_momentum = [0.95, 0.8923076923076922, 0.8346153846153846, 0.8230769230769232, 0.8807692307692307,
                      0.9384615384615385, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
    from dataclasses import replace
    s = replace(CYCLE, pct_start=0.3, div_factor=10, final_div_factor=50, three_phase=True, anneal_strategy="linear")
    np.testing.assert_allclose([one_cycle_rate(s, 1.0, k, 12) for k in range(12)], torch_lr, rtol=1e-14)
    np.testing.assert_allclose([one_cycle_momentum(s, k, 12) for k in range(12)], torch_momentum, rtol=1e-14)


@pytest.mark.parametrize("batch", [M, 5], ids=["epochs", "batches"])
@pytest.mark.parametrize("name,opt,lr", CYCLED, ids=[c[0] for c in CYCLED])
def test_cycled_momentum_matches_numpy(name, opt, lr, batch):
    """cycle_momentum: every step's momentum or beta1 is one-cycle's, from max_momentum
    (0.95) down to base_momentum (0.8) at the peak rate and back, and every rule takes it as
    its own (the bias corrections with the step's beta1): numpy step by step, 14 epochs of a
    12-step cycle (the last momentum held), rtol 1e-4 / atol 1e-5 after every epoch; once
    an epoch (full batch) and every mini-batch (batches of 5). The momentum given (SGD's 0.5,
    RMSprop's 0.5) is not used; without the cycle the trajectory differs."""
    p0, lib, ref = cycled_trajectories(opt, lr, CYCLE, 14, batch)
    assert not np.allclose(lib[-1], p0, atol=1e-3)
    assert_trajectory(lib, ref, f"{name}, cycled momentum")
    from dataclasses import replace
    _, still, _ = cycled_trajectories(opt, lr, replace(CYCLE, cycle_momentum=False), 14, batch)
    assert not np.allclose(still[-1], lib[-1], rtol=1e-3, atol=1e-4)  # the cycle changes the steps


def test_cycled_momentum_values_and_given_momentum():
    """The reference's cycle (the header's formula: max at step 0, base at the peak,
    pct_start N - 1, max at N - 1); an inverted cycle (base above max) trains as numpy
    does. The momentum given to SGD does not change a cycled run (bit for bit)."""
    assert one_cycle_momentum(CYCLE, 0, 12) == 0.95
    assert one_cycle_momentum(CYCLE, 0.4 * 12 - 1, 12) == pytest.approx(0.8, abs=1e-15)
    assert one_cycle_momentum(CYCLE, 11, 12) == pytest.approx(0.95, abs=1e-15)
    X, y, _ = problem("mse", 2, seed=2)
    runs = []
    for opt in (optim.SGD(), optim.SGD(momentum=0.3)):
        with make_net("mse", 2) as net:
            net.train(X, y, epochs=5, batch_size=8, learning_rate=0.05, shuffle=False, threads=1, optimizer=opt,
                      schedule=optim.OneCycle(cycle_momentum=True))
            runs.append(net.get_parameters())
    np.testing.assert_array_equal(runs[0], runs[1])
    from dataclasses import replace
    _, lib, ref = cycled_trajectories(optim.Adam(), 0.02, replace(CYCLE, base_momentum=0.95, max_momentum=0.6), 6, M)
    assert_trajectory(lib, ref, "an inverted cycle")


def torch_optimizer(torch, params, opt, lr):
    """torch.optim's rule for `opt` (its float32 hyperparameters, weight_decay included) over
    params."""
    wd = F32(opt.weight_decay)
    if isinstance(opt, optim.SGD):
        return torch.optim.SGD(params, lr=lr, momentum=F32(opt.momentum), nesterov=opt.nesterov, weight_decay=wd)
    if isinstance(opt, optim.RMSprop):
        return torch.optim.RMSprop(params, lr=lr, alpha=F32(opt.rho), eps=F32(opt.epsilon),
                                   momentum=F32(opt.momentum), centered=opt.centered, weight_decay=wd)
    if isinstance(opt, optim.Adamax):
        return torch.optim.Adamax(params, lr=lr, betas=(F32(opt.beta1), F32(opt.beta2)), eps=F32(opt.epsilon),
                                  weight_decay=wd)
    if isinstance(opt, optim.RAdam):
        return torch.optim.RAdam(params, lr=lr, betas=(F32(opt.beta1), F32(opt.beta2)), eps=F32(opt.epsilon),
                                 weight_decay=wd, decoupled_weight_decay=opt.decoupled_weight_decay)
    return (torch.optim.AdamW if isinstance(opt, optim.AdamW) else torch.optim.Adam)(
        params, lr=lr, betas=(F32(opt.beta1), F32(opt.beta2)), eps=F32(opt.epsilon), amsgrad=opt.amsgrad,
        weight_decay=wd)


@pytest.mark.parametrize("per_batch", [False, True], ids=["epochs", "batches"])
@pytest.mark.parametrize("name,opt,lr,form", [c + (None,) for c in CYCLED] + [
    (c[0] + "_" + f[0], c[1], c[2], f) for f in FORMS for c in (CYCLED[1], CYCLED[5])],
    ids=[c[0] for c in CYCLED] + [c[0] + "_" + f[0] for f in FORMS for c in (CYCLED[1], CYCLED[5])])
def test_cycled_momentum_matches_torch(name, opt, lr, form, per_batch):
    """PyTorch's OneCycleLR(cycle_momentum=True, base_momentum 0.8, max_momentum 0.95) over
    each rule (plain SGD and RMSprop included: OneCycleLR gives them a momentum), 12 epochs
    of 24 rows, stepped once an epoch (full batch) and every iteration (batches of 5,
    schedule_per_batch): the same trajectory, rtol 1e-4 / atol 1e-5 after every epoch; and
    (0.10.0) with three_phase and/or anneal_strategy='linear' (pct_start 0.3) for momentum
    SGD and Adam."""
    torch = pytest.importorskip("torch")
    from dataclasses import replace
    sched = CYCLE if form is None else replace(CYCLE, pct_start=0.3, three_phase=form[1], anneal_strategy=form[2])
    epochs, batch = 12, 5 if per_batch else M
    batches = -(-M // batch)
    X, y, _, p0, got = cycled_library_epochs(opt, lr, sched, epochs, batch)
    W, b, Xt, yt, o = torch_adam(torch, p0, X, y, lr, opt)
    ref = torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=F32(lr), total_steps=epochs * batches, pct_start=sched.pct_start, div_factor=sched.div_factor,
        final_div_factor=sched.final_div_factor, cycle_momentum=True, base_momentum=sched.base_momentum,
        max_momentum=sched.max_momentum, three_phase=sched.three_phase, anneal_strategy=sched.anneal_strategy)
    want, _ = torch_one_cycle_epochs(torch, W, b, Xt, yt, o, ref, epochs, batch)
    for e in range(epochs):
        np.testing.assert_allclose(got[e], want[e], rtol=1e-4, atol=1e-5, err_msg=f"{name}, epoch {e}")


@pytest.mark.parametrize("opt,sched,pattern", [
    (optim.Adagrad(), optim.OneCycle(cycle_momentum=True), "Adagrad has neither"),
    (optim.Adadelta(), optim.OneCycle(cycle_momentum=True), "Adadelta has neither"),
    (optim.NAdam(), optim.OneCycle(cycle_momentum=True), "not supported with NAdam"),
    (optim.SGD(), optim.OneCycle(cycle_momentum=True, base_momentum=0.0), "base_momentum must be in"),
    (optim.SGD(), optim.OneCycle(cycle_momentum=True, base_momentum=1e-50), "base_momentum must be in"),
    (optim.SGD(), optim.OneCycle(cycle_momentum=True, max_momentum=1.0), "max_momentum must be in"),
    (optim.SGD(), optim.OneCycle(cycle_momentum=True, max_momentum=0.99999999), "max_momentum must be in"),
    (optim.Adam(), optim.OneCycle(cycle_momentum=True, max_momentum=float("nan")), "max_momentum must be in"),
    (optim.SGD(), optim.OneCycle(cycle_momentum=True, base_momentum=-0.5), "base_momentum must be in"),
], ids=["adagrad", "adadelta", "nadam", "base0", "base_float0", "max1", "max_float1", "max_nan", "base_negative"])
def test_cycled_momentum_refusals(opt, sched, pattern):
    """Refused with cycle_momentum: Adagrad (no momentum; PyTorch refuses it too), NAdam (its
    product of momenta would need every earlier beta1), momenta outside (0, 1) as floats.
    Without the cycle, Adagrad, NAdam and the same bounds train (they are not read)."""
    X, y, _ = problem("mse", 2, m=10)
    with make_net("mse", 2) as net:
        before = net.get_parameters()
        with pytest.raises(mb.InvalidArgumentError, match=pattern):
            net.train(X, y, epochs=2, batch_size=10, learning_rate=0.01, threads=1, optimizer=opt, schedule=sched)
        np.testing.assert_array_equal(net.get_parameters(), before)
        from dataclasses import replace
        net.train(X, y, epochs=2, batch_size=10, learning_rate=0.01, threads=1, optimizer=opt,
                  schedule=replace(sched, cycle_momentum=False))
    with pytest.raises(TypeError, match="cycle_momentum"):
        with make_net("mse", 2) as net:
            net.train(X, y, epochs=1, batch_size=10, schedule=optim.OneCycle(cycle_momentum="yes"))
    with pytest.raises(TypeError, match="three_phase"):
        with make_net("mse", 2) as net:
            net.train(X, y, epochs=1, batch_size=10, schedule=optim.OneCycle(three_phase=None))
    with pytest.raises(ValueError, match="anneal_strategy"):
        with make_net("mse", 2) as net:
            net.train(X, y, epochs=1, batch_size=10, schedule=optim.OneCycle(anneal_strategy="cosine"))


# -- 6. early stopping and the adaptive schedule -----------------------------------------

def simulate(costs, patience, min_delta, rate=None):
    """The header's rule on the monitored costs: an epoch improves when cost < (the lowest
    cost so far) - min_delta ("the best so far": the lowest cost seen, improving or not,
    as scikit-learn's best_loss_; not Keras's, which moves only on an improvement). After
    `patience` non-improving epochs in a row training stops or, with the adaptive schedule
    (rate given), the rate is divided by 5 and the count restarts, unless the rate is
    already <= 1e-6: then it stops. Returns (epochs run, last improving epoch, rates)."""
    best, count, best_e, rates = math.inf, 0, -1, []
    for e, c in enumerate(costs):
        rates.append(rate)
        count, best_e = (0, e) if c < best - min_delta else (count + 1, best_e)
        best = min(best, c)
        if count == patience:
            if rate is None or rate <= 1e-6:
                return e + 1, best_e, rates
            rate, count = rate / 5, 0
    return len(costs), best_e, rates


def overfitting_problem():
    """12 noisy training rows, 30 features, softmax over 3 classes; 200 validation rows."""
    rs = np.random.RandomState(7)
    W = rs.randn(3, 30)
    X = rs.randn(212, 30).astype(np.float32)
    y = np.argmax(X @ W.T + 3 * rs.randn(212, 3), axis=1).astype(np.int32)
    return X[:12], y[:12], X[12:], y[12:]


@pytest.mark.parametrize("min_delta", [0.0, 0.03])
@pytest.mark.parametrize("restore", [True, False])
def test_early_stopping_on_validation(min_delta, restore):
    """Adam overfits 12 rows: the validation cost falls, then rises. With min_delta 0.03
    the lowest cost (epoch 4) is not an improvement (by 0.022), so the run stops 4 epochs
    after epoch 3 while restore_best still restores epoch 4."""
    X, y, Xv, yv = overfitting_problem()
    patience, epochs = 4, 300
    with make_net("cross_entropy", 3, n=30) as net:
        h = net.train(X, y, epochs=epochs, batch_size=len(X), learning_rate=0.05, shuffle=False,
                      threads=1, optimizer=optim.Adam(), validation=(Xv, yv),
                      early_stopping=optim.EarlyStopping(patience, min_delta, restore))
        vc = h.validation_costs
        n, best_e, _ = simulate(vc, patience, min_delta)
        assert len(h.epoch_costs) == len(vc) == net.epochs_trained == n < epochs
        assert n == best_e + patience + 1 and best_e > 0  # it improved, then overfitted
        cost = net.evaluate(Xv, yv)[0]
        # restore_best: the weights of the epoch with the lowest validation cost
        # (otherwise the last epoch's); rtol 1e-6
        assert cost == pytest.approx(vc.min() if restore else vc[-1], rel=1e-6)


@pytest.mark.parametrize("min_delta", [0.0, 0.02])
def test_early_stopping_on_the_validation_score(min_delta):
    """monitor='validation_score': the same rule on the score negated (an epoch improves
    when its score is above the best so far plus min_delta); the run ends with the weights
    of the first epoch of the highest score."""
    X, y, Xv, yv = overfitting_problem()
    patience = 4
    with make_net("cross_entropy", 3, n=30) as net:
        h = net.train(X, y, epochs=300, batch_size=len(X), learning_rate=0.05, shuffle=False, threads=1,
                      optimizer=optim.Adam(), validation=(Xv, yv),
                      early_stopping=optim.EarlyStopping(patience, min_delta, monitor="validation_score"))
        scores = h.validation_scores
        n, best_e, _ = simulate(-scores, patience, min_delta)
        assert len(scores) == net.epochs_trained == n < 300
        cost, accuracy = net.evaluate(Xv, yv)
        first_best = int(np.argmax(scores))
        assert accuracy == scores.max() and cost == pytest.approx(h.validation_costs[first_best], rel=1e-6)
        assert net.restore_best_weights() == first_best + 1
    with make_net("cross_entropy", 3, n=30) as net:
        with pytest.raises(mb.InvalidArgumentError, match="needs a validation set"):
            net.train(X, y, epochs=2, early_stopping=optim.EarlyStopping(2, monitor="validation_score"))
        with pytest.raises(ValueError, match="monitor must be"):
            net.train(X, y, epochs=2, validation=(Xv, yv), early_stopping=optim.EarlyStopping(2, monitor="accuracy"))
        assert net.epochs_trained == 0


@pytest.mark.parametrize("min_delta", [1e3, 1e-3])
def test_adaptive_schedule(min_delta):
    """Monitored cost: the epoch cost (no validation set). With min_delta 1e3 only epoch 0
    improves, so by hand: triggers at epochs 2, 4, ..., the 9th (rate 0.1/5^8 <= 1e-6)
    stops at epoch 18: 19 epochs. With 1e-3 the costs decide (here epoch 50 falls by
    less than 1e-3 below epoch 49, itself a non-improving new lowest: the rate is divided
    after epoch 50; a Keras-style best would not). Rates to rtol 1e-6."""
    X, y, _ = problem("mse", 2)
    with make_net("mse", 2) as net:
        h = net.train(X, y, epochs=100, batch_size=M, learning_rate=0.1, shuffle=False,
                      threads=1, schedule=optim.Adaptive(),
                      early_stopping=optim.EarlyStopping(patience=2, min_delta=min_delta))
        n, _, rates = simulate(h.epoch_costs, 2, min_delta, rate=F32(0.1))
        if min_delta == 1e3:  # the hand-computed sequence
            hand = [0.1] * 3 + [0.1 / 5 ** (k // 2) for k in range(2, 18)]
            assert n == 19 and rates == pytest.approx(hand, rel=1e-6)
        assert len(h.epoch_costs) == n < 100
        np.testing.assert_allclose(h.learning_rates, rates, rtol=1e-6)


# -- 7. bad options ---------------------------------------------------------------------

BAD = [
    ({"optimizer": optim.SGD(momentum=1.5)}, "momentum"),
    ({"optimizer": optim.Adam(beta1=1.0)}, "beta1"),
    ({"optimizer": optim.RMSprop(epsilon=0.0)}, "epsilon"),
    ({"optimizer": optim.Adagrad(epsilon=-1e-8)}, "epsilon"),
    ({"optimizer": optim.Adagrad(lr_decay=-0.1)}, "lr_decay"),
    ({"optimizer": optim.Adagrad(initial_accumulator_value=float("nan"))}, "initial_accumulator_value"),
    ({"optimizer": optim.Adamax(beta2=1.0)}, "beta2"),
    ({"optimizer": optim.RMSprop(momentum=1.0)}, "momentum"),
    ({"optimizer": optim.RMSprop(momentum=-0.5, centered=True)}, "momentum"),
    ({"optimizer": optim.NAdam(momentum_decay=-0.004)}, "momentum_decay"),
    ({"optimizer": optim.NAdam(momentum_decay=float("inf"))}, "momentum_decay"),
    ({"optimizer": optim.NAdam(beta1=1.0)}, "beta1"),
    ({"optimizer": optim.RAdam(beta2=-0.1)}, "beta2"),
    ({"optimizer": optim.RAdam(epsilon=0.0)}, "epsilon"),
    ({"optimizer": optim.SGD(nesterov=True)}, "nesterov"),
    ({"schedule": optim.Step(every=0)}, "step_epochs|every"),
    ({"schedule": optim.Adaptive()}, "patience"),
    ({"schedule": optim.MultiStep((3, -1))}, "milestones"),
    ({"schedule": optim.MultiStep((3,), gamma=-0.5)}, "gamma"),
    ({"schedule": optim.CosineRestarts(0)}, "cosine_epochs"),
    # (0.11.0: a gamma of 0, which the C options read as the default, is refused as given)
    ({"schedule": optim.Step(gamma=0.0)}, "gamma"),
    ({"schedule": optim.Exponential(gamma=0)}, "gamma"),
    ({"schedule": optim.MultiStep((3,), gamma=0.0)}, "gamma"),
    ({"schedule": optim.CosineRestarts(5, multiplier=0)}, "restart_multiplier"),
    ({"schedule": optim.CosineRestarts(5, min_learning_rate=-1.0)}, "min_learning_rate"),
    ({"clip_norm": -1.0}, "clip_norm"),
    ({"clip_value": -1.0}, "clip_value"),
    ({"clip_value": float("inf")}, "clip_value"),
    ({"warmup": optim.Warmup(-1)}, "warmup_epochs"),
    ({"warmup": optim.Warmup(3, 0.0)}, "warmup_start_factor"),
    ({"warmup": optim.Warmup(3, 1.5)}, "warmup_start_factor"),
    ({"warmup": optim.Warmup(3, float("nan"))}, "warmup_start_factor"),
    ({"l2": float("nan")}, "l2"),
]


@pytest.mark.parametrize("kw,name", BAD, ids=[b[1].split("|")[0] for b in BAD])
def test_bad_options_raise(kw, name):
    X, y, _ = problem("mse", 2, m=8)
    with make_net("mse", 2) as net:
        p0 = net.get_parameters()
        with pytest.raises(mb.InvalidArgumentError, match=name):
            net.train(X, y, epochs=2, batch_size=8, **kw)
        assert net.epochs_trained == 0  # nothing changed
        np.testing.assert_array_equal(net.get_parameters(), p0)


def test_validation_dataset_equals_validation_arrays(tmp_path):
    """#16: a file dataset as the validation set gives the validation costs and scores of
    the same rows in memory (MSE, so the R^2 path with targets read from the file too)."""
    rs = np.random.RandomState(4)
    X = rs.randn(300, 5).astype(np.float32)
    Y = (X @ rs.randn(5, 2)).astype(np.float32)
    Xv, Yv = X[:80] + 0.1, Y[:80]
    np.save(tmp_path / "xv.npy", Xv)
    np.save(tmp_path / "yv.npy", Yv)
    runs = []
    with mb.Dataset(tmp_path / "xv.npy", tmp_path / "yv.npy") as ds:
        for validation in ((Xv, Yv), ds):
            with mb.Network([5, 8, 2], loss="mse", seed=3) as net:
                h = net.train(X, Y, epochs=4, batch_size=32, optimizer="adam", learning_rate=0.01,
                              validation=validation)
                runs.append((h.validation_costs, h.validation_scores))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-12)
    assert np.all(np.isfinite(runs[0][1])) and runs[0][1][-1] > runs[0][1][0]


@pytest.mark.parametrize("from_files", [False, True])
def test_a_refused_call_leaves_the_training_state(tmp_path, from_files):
    """A call refused for its monitor (a validation score without a validation set) is
    refused before anything changes: the rule's state (Adam's moments, which another rule
    would replace) and early stopping's count are those of the last call, in memory and
    from files alike (the file path refused it after the rule's state was replaced)."""
    X, y, _, _ = overfitting_problem()
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    with make_net("cross_entropy", 3, n=30) as net, mb.Dataset(str(tmp_path / "x.npy"), str(tmp_path / "y.npy")) as ds:
        data = (ds,) if from_files else (X, y)
        net.train(*data, epochs=2, batch_size=4, optimizer=optim.Adam(), early_stopping=optim.EarlyStopping(5))
        before = net.to_bytes()
        with pytest.raises(mb.InvalidArgumentError, match="needs a validation set"):
            net.train(*data, epochs=1, batch_size=4, optimizer=optim.SGD(),
                      early_stopping=optim.EarlyStopping(2, monitor="validation_score"))
        assert net.to_bytes() == before
