"""The plateau schedule (0.11.0): PyTorch's ReduceLROnPlateau, stepped by the library after
every epoch with the monitored value. Checked against a plain transcription of the
header's rule (runs everywhere) and, where PyTorch is installed, against
torch.optim.lr_scheduler.ReduceLROnPlateau fed the same values; the rates it gives are the
rates training used (the same run with those rates as constants, epoch by epoch)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minibatch_gd as mb
from minibatch_gd import optim

F32 = np.float32


def plateau_rates(values, lr, factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel", cooldown=0,
                  min_lr=0.0, eps=1e-8, mode="min", state=None):
    """The header's MB_SCHEDULE_PLATEAU on the monitored values, in double: the rate of each
    epoch (before that epoch's step), and the state after the last (best, bad, cooldown,
    rate) for a next call."""
    best, bad, cool = (math.inf if mode == "min" else -math.inf), 0, 0
    if state is not None:
        best, bad, cool, lr = state
    rates = []
    for v in values:
        rates.append(lr)
        if threshold_mode == "rel":
            better = v < best * (1 - threshold) if mode == "min" else v > best * (threshold + 1)
        else:
            better = v < best - threshold if mode == "min" else v > best + threshold
        if better:
            best, bad = v, 0
        else:
            bad += 1
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            cool, bad = cooldown, 0
    return rates, (best, bad, cool, lr)


def torch_plateau_rates(torch, values, lr, mode="min", **kw):
    """PyTorch's scheduler stepped with the same values: each epoch's lr before its step."""
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, **kw)
    rates = []
    for v in values:
        rates.append(opt.param_groups[0]["lr"])
        sched.step(float(v))
    return rates


def overfitting_problem():
    """12 noisy training rows, 30 features, 3 classes; 200 validation rows: Adam on the 12
    rows drives the validation cost down, then up (a plateau, then worse)."""
    rs = np.random.RandomState(7)
    W = rs.randn(3, 30)
    X = rs.randn(212, 30).astype(np.float32)
    y = np.argmax(X @ W.T + 3 * rs.randn(212, 3), axis=1).astype(np.int32)
    return X[:12], y[:12], X[12:], y[12:]


def moons():
    X, y = mb.make_moons(400, 0.3, seed=4)
    Xv, yv = mb.make_moons(200, 0.3, seed=5)
    return X, y, Xv, yv


# (name, schedule, monitor, with a validation set, learning rate)
CASES = [
    ("defaults-validation-cost", optim.ReduceLROnPlateau(patience=2), "cost", True, 0.3),
    ("epoch-cost", optim.ReduceLROnPlateau(factor=0.5, patience=1, threshold=0.02), "cost", False, 0.5),
    ("abs-cooldown", optim.ReduceLROnPlateau(factor=0.5, patience=0, threshold=0.005, threshold_mode="abs",
                                             cooldown=2), "cost", True, 0.3),
    ("min-lr-and-eps", optim.ReduceLROnPlateau(factor=0.3, patience=0, min_lr=0.01, eps=0.002), "cost", True, 0.3),
    ("score-rel", optim.ReduceLROnPlateau(factor=0.5, patience=1, threshold=0.01), "validation_score", True, 0.3),
    ("score-abs", optim.ReduceLROnPlateau(factor=0.7, patience=0, threshold=0.002, threshold_mode="abs",
                                          cooldown=1), "validation_score", True, 0.3),
]


def run(case, epochs=40, net=None, **kw):
    name, sched, monitor, validation, lr = case
    X, y, Xv, yv = moons()
    net = net or mb.Network([2, 12, 2], seed=3)
    h = net.train(X, y, epochs=epochs, batch_size=32, learning_rate=lr, seed=9, threads=1,
                  optimizer=optim.SGD(momentum=0.9), schedule=sched, validation=(Xv, yv) if validation else None,
                  early_stopping=optim.EarlyStopping(patience=0, monitor=monitor), **kw)
    return net, h


def monitored(h, case):
    _, _, monitor, validation, _ = case
    if monitor == "validation_score":
        return h.validation_scores, "max"
    return (h.validation_costs if validation else h.epoch_costs), "min"


def kwargs(sched):
    return dict(factor=sched.factor, patience=sched.patience, threshold=sched.threshold,
                threshold_mode=sched.threshold_mode, cooldown=sched.cooldown, min_lr=sched.min_lr, eps=sched.eps)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rates_follow_the_rule(case):
    """The history's rates are the rule's on the history's monitored values, bit for bit
    (rounded to float once), and the rule reduced the rate at least twice in the run."""
    net, h = run(case)
    values, mode = monitored(h, case)
    expected, _ = plateau_rates(values, float(F32(case[4])), mode=mode, **kwargs(case[1]))
    assert F32(expected).tobytes() == h.learning_rates.astype(F32).tobytes()
    assert len(set(expected)) >= 3, expected  # the test sees reductions
    net.close()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rates_match_torch(case):
    torch = pytest.importorskip("torch")
    net, h = run(case)
    values, mode = monitored(h, case)
    rates = torch_plateau_rates(torch, values, float(F32(case[4])), mode=mode, **kwargs(case[1]))
    assert F32(rates).tobytes() == h.learning_rates.astype(F32).tobytes()
    net.close()


def test_the_rates_are_the_ones_trained_with():
    """A run with the plateau schedule equals the same network trained one epoch a call with
    each of those rates as a constant (SGD with momentum: its buffer and the epoch count,
    which the shuffle follows, carry over between calls)."""
    case = CASES[1]
    net, h = run(case, epochs=25)
    assert len(set(h.learning_rates)) >= 3
    X, y, _, _ = moons()
    with mb.Network([2, 12, 2], seed=3) as by_epoch:
        for rate in h.learning_rates:
            by_epoch.train(X, y, epochs=1, batch_size=32, learning_rate=float(rate), seed=9, threads=1,
                           optimizer=optim.SGD(momentum=0.9))
        assert by_epoch.get_parameters().tobytes() == net.get_parameters().tobytes()
    net.close()


def test_a_second_call_continues_and_another_monitor_starts_afresh():
    """Two calls of 15 and 25 epochs are one of 40 (the rate, the best and the counts stay
    with the network); a call that monitors the score after one that monitored the cost
    keeps the rate and starts the best and the counts afresh."""
    case = CASES[4]  # the score, mode 'max'
    whole, hw = run(case, epochs=40)
    part = mb.Network([2, 12, 2], seed=3)
    _, h1 = run(case, epochs=15, net=part)
    _, h2 = run(case, epochs=25, net=part)
    assert part.get_parameters().tobytes() == whole.get_parameters().tobytes()
    assert np.concatenate([h1.learning_rates, h2.learning_rates]).tobytes() == hw.learning_rates.tobytes()
    # the cost for 12 epochs (ending in a cooldown), then the score for 20: the best, the
    # count and the cooldown start afresh
    from dataclasses import replace
    sched = replace(case[1], patience=0, cooldown=3)
    with mb.Network([2, 12, 2], seed=3) as net:
        cost_case = ("c", sched, "cost", True, 0.3)
        _, ha = run(cost_case, epochs=12, net=net)
        ra, (_, _, cool, lr) = plateau_rates(ha.validation_costs, float(F32(0.3)), **kwargs(sched))
        assert cool > 0
        _, hb = run(("s", sched, "validation_score", True, 0.3), epochs=20, net=net)
        rb, _ = plateau_rates(hb.validation_scores, lr, mode="max", **kwargs(sched))
        assert F32(ra + rb).tobytes() == np.concatenate([ha.learning_rates, hb.learning_rates]).astype(F32).tobytes()
        assert lr < F32(0.3)  # the first call reduced the rate the second starts from
    whole.close()
    part.close()


def test_with_early_stopping_and_a_warmup():
    """Early stopping counts by its own rule beside the schedule and stops the run; a
    warm-up multiplies the plateau's rate (the header's rule: min_lr floors the rate before
    the warm-up's factor; PyTorch has no such chain)."""
    X, y, Xv, yv = overfitting_problem()
    sched = optim.ReduceLROnPlateau(factor=0.5, patience=1)
    with mb.Network([30, 16, 3], seed=1) as net:
        h = net.train(X, y, epochs=300, batch_size=12, learning_rate=0.05, shuffle=False, threads=1,
                      optimizer=optim.Adam(), schedule=sched, validation=(Xv, yv),
                      early_stopping=optim.EarlyStopping(patience=6), warmup=optim.Warmup(3))
        n = len(h.validation_costs)
        assert 6 < n < 300  # stopped early
        rates, _ = plateau_rates(h.validation_costs, float(F32(0.05)), **kwargs(sched))
        s = 1 / 3  # (the library's arithmetic: s + (1 - s) * e / W, in double)
        factors = [s + (1 - s) * min(e, 3) / 3 for e in range(n)]
        assert F32([f * r for f, r in zip(factors, rates)]).tobytes() == h.learning_rates.astype(F32).tobytes()
        assert len(set(rates)) >= 3


BAD = [
    (optim.ReduceLROnPlateau(factor=1.0), "factor"),
    (optim.ReduceLROnPlateau(factor=0.0), "factor"),  # (0 in the C options is 0.1: refused as given)
    (optim.ReduceLROnPlateau(factor=-0.5), "factor"),
    (optim.ReduceLROnPlateau(factor=float("nan")), "factor"),
    (optim.ReduceLROnPlateau(patience=-1), "plateau_patience"),
    (optim.ReduceLROnPlateau(threshold=-1e-4), "plateau_threshold"),
    (optim.ReduceLROnPlateau(threshold=float("inf")), "plateau_threshold"),
    (optim.ReduceLROnPlateau(cooldown=-2), "plateau_cooldown"),
    (optim.ReduceLROnPlateau(min_lr=-0.1), "min_learning_rate"),
    (optim.ReduceLROnPlateau(eps=float("nan")), "plateau_eps"),
]


@pytest.mark.parametrize("sched,name", BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_parameters_raise(sched, name):
    X, y, _, _ = moons()
    with mb.Network([2, 4, 2], seed=1) as net:
        p0 = net.get_parameters()
        with pytest.raises(mb.InvalidArgumentError, match=name):
            net.train(X, y, epochs=2, batch_size=32, schedule=sched)
        assert net.epochs_trained == 0
        assert net.get_parameters().tobytes() == p0.tobytes()
    with pytest.raises(ValueError, match="threshold_mode"):
        with mb.Network([2, 4, 2], seed=1) as net:
            net.train(X, y, epochs=1, schedule=optim.ReduceLROnPlateau(threshold_mode="relative"))


def test_names():
    assert optim.schedule_of("plateau") == optim.ReduceLROnPlateau()
    assert optim.schedule_of("reduce-lr-on-plateau") == optim.ReduceLROnPlateau()
