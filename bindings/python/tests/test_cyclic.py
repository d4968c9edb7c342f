"""The cyclic schedule (0.11.0): PyTorch's CyclicLR. Its rates and momenta are the header's
formula (a plain transcription here, pinned against PyTorch's values so that CI, without
PyTorch, checks the reference too); every update rule follows numpy step by step with the
momentum cycled; where PyTorch is installed, the same trajectory as torch.optim with
torch.optim.lr_scheduler.CyclicLR stepped once an epoch or every iteration."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import minibatch_gd as mb
from minibatch_gd import optim
from test_optimizers import (CYCLED, F32, M, NpRule, assert_trajectory, cycled_library_epochs, make_net,
                             np_cost_grad, problem, torch_adam, with_momentum)


def cyclic_values(s, lr, k):
    """MB_SCHEDULE_CYCLIC at step k, in double and PyTorch's order: (rate, momentum)."""
    up = s.step_size_up
    down = up if s.step_size_down is None else s.step_size_down
    total = up + down
    cycle = math.floor(1 + k / total)
    x = 1.0 + k / total - cycle
    ratio = up / total
    f = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    scale = {"triangular": 1.0, "triangular2": 1 / (2.0 ** (cycle - 1)), "exp_range": s.gamma ** k}[s.mode]
    return s.base_lr + (lr - s.base_lr) * f * scale, s.max_momentum - (s.max_momentum - s.base_momentum) * f * scale


MODES = ["triangular", "triangular2", "exp_range"]
SCHED = optim.Cyclic(0.002, step_size_up=3, step_size_down=2, mode="triangular2", gamma=0.9, cycle_momentum=True,
                     base_momentum=0.8, max_momentum=0.9)


def test_reference_is_pytorchs():
    """The reference is PyTorch's: CyclicLR(base_lr 0.1, max_lr 1, step_size_up 3,
    step_size_down 2, gamma 0.9, cycle_momentum=True, base_momentum 0.8, max_momentum 0.9)
    with torch 2.13, 12 steps' lr and momentum in each mode, bit for bit."""
    torch_values = {
        "triangular": ([0.1, 0.3999999999999999, 0.6999999999999998, 0.9999999999999998, 0.5499999999999999, 0.1,
                        0.40000000000000024, 0.6999999999999998, 0.9999999999999998, 0.5500000000000004, 0.1,
                        0.40000000000000024],
                       [0.9, 0.8666666666666667, 0.8333333333333334, 0.8, 0.8500000000000001, 0.9, 0.8666666666666667,
                        0.8333333333333334, 0.8, 0.85, 0.9, 0.8666666666666667]),
        "triangular2": ([0.1, 0.3999999999999999, 0.6999999999999998, 0.9999999999999998, 0.5499999999999999, 0.1,
                         0.2500000000000001, 0.3999999999999999, 0.5499999999999999, 0.3250000000000002, 0.1,
                         0.17500000000000007],
                        [0.9, 0.8666666666666667, 0.8333333333333334, 0.8, 0.8500000000000001, 0.9, 0.8833333333333333,
                         0.8666666666666667, 0.8500000000000001, 0.875, 0.9, 0.8916666666666667]),
        "exp_range": ([0.1, 0.37, 0.586, 0.7560999999999999, 0.39524499999999996, 0.1, 0.25943230000000017,
                       0.38697813999999997, 0.487420489, 0.2743392200500002, 0.1, 0.1941431788270001],
                      [0.9, 0.87, 0.8460000000000001, 0.8271000000000001, 0.867195, 0.9, 0.8822853, 0.8681135400000001,
                       0.8569532790000001, 0.88062897555, 0.9, 0.889539646797]),
    }
    for mode, (rates, momenta) in torch_values.items():
        s = replace(SCHED, base_lr=0.1, mode=mode)
        assert [cyclic_values(s, 1.0, k) for k in range(12)] == list(zip(rates, momenta)), mode


@pytest.mark.parametrize("per_batch", [False, True], ids=["epochs", "batches"])
@pytest.mark.parametrize("mode", MODES)
def test_rates_are_the_formulas(mode, per_batch):
    """The history's rate of every epoch (its first mini-batch's) is the formula's at step e
    (once an epoch) or e B (every mini-batch, B = 4), rounded to float once; the modes
    differ."""
    X, y, _ = problem("mse", 2)
    batch = 6 if per_batch else M
    batches = -(-M // batch)
    s = replace(SCHED, mode=mode, cycle_momentum=False)
    with make_net("mse", 2) as net:
        h = net.train(X, y, epochs=14, batch_size=batch, learning_rate=0.05, shuffle=False, threads=1, schedule=s,
                      schedule_per_batch=per_batch)
    want = [F32(cyclic_values(s, F32(0.05), e * (batches if per_batch else 1))[0]) for e in range(14)]
    assert np.asarray(want, dtype=np.float32).tobytes() == h.learning_rates.astype(np.float32).tobytes()
    assert len(set(want)) >= 4


def cyclic_trajectories(opt, lr, sched, epochs, batch):
    """The library's weights after each epoch (one call each, stored order) and numpy's,
    every step with its float32 rate and momentum (or beta1) from the formula."""
    X, y, Y, p0, lib = cycled_library_epochs(opt, lr, sched, epochs, batch)
    per_batch = batch < M
    batches = -(-M // batch)
    rule, w, ref = NpRule(opt), p0.astype(np.float64), []
    for e in range(epochs):
        for i in range(batches):
            rate, momentum = cyclic_values(sched, F32(lr), e * batches + i if per_batch else e)
            if sched.cycle_momentum:
                rule.o = with_momentum(opt, F32(momentum))
            _, g = np_cost_grad(w, X[i * batch:(i + 1) * batch], Y[i * batch:(i + 1) * batch], "cross_entropy")
            w = rule.step(w, g, F32(rate))
        ref.append(w.copy())
    return p0, lib, ref


@pytest.mark.parametrize("batch", [M, 5], ids=["epochs", "batches"])
@pytest.mark.parametrize("name,opt,lr", CYCLED, ids=[c[0] for c in CYCLED])
def test_cycled_momentum_matches_numpy(name, opt, lr, batch):
    """Every rule with the momentum (or beta1) cycled by the cyclic schedule (triangular2,
    cycles of 3 + 2 steps) follows numpy step by step over 12 epochs, rtol 1e-4 / atol 1e-5;
    without the cycle the trajectory differs."""
    p0, lib, ref = cyclic_trajectories(opt, lr, SCHED, 12, batch)
    assert not np.allclose(lib[-1], p0, atol=1e-3)
    assert_trajectory(lib, ref, f"{name}, cyclic")
    _, still, ref_still = cyclic_trajectories(opt, lr, replace(SCHED, cycle_momentum=False), 12, batch)
    assert_trajectory(still, ref_still, f"{name}, cyclic without the momentum cycle")
    assert not np.allclose(still[-1], lib[-1], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("per_batch", [False, True], ids=["epochs", "batches"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name,opt,lr", [CYCLED[0], CYCLED[3], CYCLED[5]], ids=["sgd", "rmsprop", "adam"])
def test_matches_torch(name, opt, lr, mode, per_batch):
    """torch.optim with CyclicLR(base_lr, max_lr = lr, step_size_up 3, step_size_down 2, mode,
    gamma 0.9, cycle_momentum=True, base_momentum 0.8, max_momentum 0.9), stepped once an
    epoch (full batch) or every iteration (batches of 5, schedule_per_batch): the same
    trajectory, rtol 1e-4 / atol 1e-5 after every epoch (plain SGD and RMSprop get a
    momentum, as CyclicLR gives them)."""
    torch = pytest.importorskip("torch")
    sched = replace(SCHED, mode=mode)
    epochs, batch = 12, 5 if per_batch else M
    batches = -(-M // batch)
    X, y, _, p0, got = cycled_library_epochs(opt, lr, sched, epochs, batch)
    W, b, Xt, yt, o = torch_adam(torch, p0, X, y, lr, opt)
    ref = torch.optim.lr_scheduler.CyclicLR(
        o, base_lr=sched.base_lr, max_lr=F32(lr), step_size_up=sched.step_size_up, step_size_down=sched.step_size_down,
        mode=mode, gamma=sched.gamma, cycle_momentum=True, base_momentum=sched.base_momentum,
        max_momentum=sched.max_momentum)
    for e in range(epochs):
        for i in range(batches):
            o.zero_grad()
            rows = slice(i * batch, (i + 1) * batch)
            torch.nn.functional.cross_entropy(Xt[rows] @ W.T + b, yt[rows]).backward()
            o.step()
            ref.step()
        want = np.concatenate([W.detach().numpy().ravel(), b.detach().numpy()])
        np.testing.assert_allclose(got[e], want, rtol=1e-4, atol=1e-5, err_msg=f"{name} {mode}, epoch {e}")


def test_two_calls_equal_one_and_the_defaults():
    """The rate is a function of the step over the model's life: two calls equal one. The
    Python defaults are PyTorch's (step_size_up 2000, down as up, triangular, gamma 1,
    momenta 0.8 and 0.9); a fall of 0 steps is a saw-tooth."""
    X, y, _ = problem("cross_entropy", 3)
    s = replace(SCHED, mode="exp_range")
    with make_net("cross_entropy", 3) as whole, make_net("cross_entropy", 3) as parts:
        hw = whole.train(X, y, epochs=9, batch_size=5, learning_rate=0.05, threads=1, seed=3, schedule=s,
                         schedule_per_batch=True, optimizer=optim.Adam())
        h1 = parts.train(X, y, epochs=4, batch_size=5, learning_rate=0.05, threads=1, seed=3, schedule=s,
                         schedule_per_batch=True, optimizer=optim.Adam())
        h2 = parts.train(X, y, epochs=5, batch_size=5, learning_rate=0.05, threads=1, seed=3, schedule=s,
                         schedule_per_batch=True, optimizer=optim.Adam())
        assert whole.get_parameters().tobytes() == parts.get_parameters().tobytes()
        assert np.concatenate([h1.learning_rates, h2.learning_rates]).tobytes() == hw.learning_rates.tobytes()
    d = optim.Cyclic(0.001)
    assert (d.step_size_up, d.step_size_down, d.mode, d.gamma, d.cycle_momentum, d.base_momentum, d.max_momentum) == (
        2000, None, "triangular", 1.0, False, 0.8, 0.9)
    saw = optim.Cyclic(0.0, step_size_up=4, step_size_down=0)
    with make_net("mse", 2) as net:
        h = net.train(X, np.eye(2, dtype=np.float32)[y % 2], epochs=6, batch_size=M, learning_rate=1.0, threads=1,
                      schedule=saw)
    assert h.learning_rates.tolist() == [0.0, 0.25, 0.5, 0.75, 0.0, 0.25]


def test_the_defaults_base_above_max_and_a_warmup():
    """step_size_down None is step_size_up; a base_lr above the learning rate inverts the
    cycle (as PyTorch's); a warm-up multiplies the cyclic rate (the header's warm-up
    factor, in double, then one rounding)."""
    X, y, _ = problem("mse", 2)
    for s, lr, warm in [(optim.Cyclic(0.01, step_size_up=3), 0.05, None),
                        (optim.Cyclic(0.2, step_size_up=2, step_size_down=3, mode="triangular2"), 0.05, None),
                        (optim.Cyclic(0.002, step_size_up=3, step_size_down=2, mode="exp_range", gamma=0.8), 0.05, 4)]:
        with make_net("mse", 2) as net:
            h = net.train(X, y, epochs=13, batch_size=M, learning_rate=lr, shuffle=False, threads=1, schedule=s,
                          warmup=warm)
        full = replace(s, step_size_down=s.step_size_up) if s.step_size_down is None else s
        factor = [1.0] * 13 if warm is None else [1 / 3 + (1 - 1 / 3) * min(e, warm) / warm for e in range(13)]
        want = [F32(factor[e] * cyclic_values(full, F32(lr), e)[0]) for e in range(13)]
        assert np.asarray(want, dtype=np.float32).tobytes() == h.learning_rates.astype(np.float32).tobytes(), s
        assert len(set(want)) >= 4


BAD = [
    (optim.SGD(), optim.Cyclic(0.001, step_size_up=0), mb.InvalidArgumentError, "cyclic_step_size_up"),
    (optim.SGD(), optim.Cyclic(0.001, step_size_down=-1), ValueError, "step_size_down"),
    (optim.SGD(), optim.Cyclic(0.001, mode="exp_range", gamma=1.5), mb.InvalidArgumentError, "gamma"),
    (optim.SGD(), optim.Cyclic(0.001, gamma=0.0), mb.InvalidArgumentError, "gamma"),
    (optim.SGD(), optim.Cyclic(0.001, mode="exp_range", gamma=float("nan")), mb.InvalidArgumentError, "gamma"),
    (optim.SGD(), optim.Cyclic(-0.001), mb.InvalidArgumentError, "min_learning_rate"),
    (optim.SGD(), optim.Cyclic(0.001, mode="exp-range"), ValueError, "mode"),
    (optim.Adagrad(), optim.Cyclic(0.001, cycle_momentum=True), mb.InvalidArgumentError, "Adagrad has neither"),
    (optim.NAdam(), optim.Cyclic(0.001, cycle_momentum=True), mb.InvalidArgumentError, "NAdam"),
    (optim.Adadelta(), optim.Cyclic(0.001, cycle_momentum=True), mb.InvalidArgumentError, "Adadelta has neither"),
    (optim.SGD(), optim.Cyclic(0.001, cycle_momentum=True, max_momentum=1.0), mb.InvalidArgumentError,
     "max_momentum"),
]


@pytest.mark.parametrize("opt,sched,error,pattern", BAD, ids=[f"{b[3]}-{i}" for i, b in enumerate(BAD)])
def test_refusals(opt, sched, error, pattern):
    X, y, _ = problem("mse", 2, m=10)
    with make_net("mse", 2) as net:
        p0 = net.get_parameters()
        with pytest.raises(error, match=pattern):
            net.train(X, y, epochs=1, batch_size=10, threads=1, optimizer=opt, schedule=sched)
        assert net.epochs_trained == 0 and net.get_parameters().tobytes() == p0.tobytes()
    with pytest.raises(ValueError, match="base_lr"):
        optim.schedule_of("cyclic")
