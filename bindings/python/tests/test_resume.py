"""#16: exact resume across processes. Training N epochs, saving, loading the file in a new
Python process and training M more gives the weights and the history (batch costs, epoch
costs, validation costs, learning rates) of N + M epochs in one run, bit for bit, for every
update rule and schedule (the model file's training-state sections)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minibatch_gd as mb
from minibatch_gd import optim
from conftest import PKG_ROOT

CASES = {
    "sgd": (optim.SGD(), optim.Constant(), 0.1),
    "momentum-step": (optim.SGD(0.9), optim.Step(every=2, gamma=0.5), 0.05),
    "nesterov-exponential": (optim.SGD(0.9, nesterov=True), optim.Exponential(0.8), 0.05),
    "rmsprop-inverse-time": (optim.RMSprop(), optim.InverseTime(0.5), 0.05),
    "adam-cosine": (optim.Adam(), optim.Cosine(epochs=7, min_learning_rate=1e-4), 0.01),
    "adamw-adaptive": (optim.AdamW(weight_decay=0.05), optim.Adaptive(), 0.01),
    "adagrad-step": (optim.Adagrad(lr_decay=0.01, initial_accumulator_value=0.1), optim.Step(every=3, gamma=0.5), 0.05),
    "adamax-cosine": (optim.Adamax(), optim.Cosine(epochs=7), 0.01),
    "amsgrad-exponential": (optim.AdamW(beta2=0.9, amsgrad=True), optim.Exponential(0.9), 0.01),
    "nadam-step": (optim.NAdam(momentum_decay=0.05), optim.Step(every=2, gamma=0.7), 0.01),
    "radam-cosine": (optim.RAdam(beta2=0.99), optim.Cosine(epochs=7), 0.01),
    "rmsprop-centered-momentum": (optim.RMSprop(momentum=0.5, centered=True), optim.Constant(), 0.005),
    # the warm-up crosses the resume (epochs 0..5 of a run split 3 + 4)
    "adam-warmup-cosine": (optim.Adam(), (optim.Cosine(epochs=7), optim.Warmup(5)), 0.01),
    # 0.11.0: the plateau schedule (the file's "PLAT" section): reductions in both parts
    "momentum-plateau": (optim.SGD(0.9), optim.ReduceLROnPlateau(factor=0.5, patience=0, threshold=0.3, cooldown=1),
                         0.05),
    # 0.11.0: Adadelta (its two averages in the file's state), and the cyclic schedule with
    # its momentum cycle (a cycle of 2 + 1 epochs across the resume)
    "adadelta-exponential": (optim.Adadelta(), optim.Exponential(0.8), 1.0),
    "adam-cyclic": (optim.Adam(), optim.Cyclic(0.001, step_size_up=2, step_size_down=1, mode="triangular2",
                                               cycle_momentum=True), 0.01),
}

# The new process trains the loaded model with this module's _train (the same options).
CHILD = textwrap.dedent("""
    import sys, numpy as np, minibatch_gd as mb
    sys.path.insert(0, sys.argv[5])
    from test_resume import _train
    path, out, case, M = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    data = np.load(out + ".in.npz")
    net = mb.Network.load(path)
    h = _train(net, data["X"], data["y"], data["Xv"], data["yv"], case, M)
    np.savez(out, params=net.get_parameters(), batch=h.batch_costs, epoch=h.epoch_costs,
             val=h.validation_costs, rates=h.learning_rates, epochs=net.epochs_trained)
""")


def _train(net, X, y, Xv, yv, case, epochs):
    rule, schedule, lr = CASES[case]
    schedule, warmup = schedule if isinstance(schedule, tuple) else (schedule, None)
    stopping = optim.EarlyStopping(patience=1 if case.endswith("adaptive") else 50,
                                   min_delta=0.05 if case.endswith("adaptive") else 0.0)
    return net.train(X, y, epochs=epochs, batch_size=16, learning_rate=lr, seed=11, threads=2,
                     optimizer=rule, schedule=schedule, warmup=warmup, l2=0.01, clip_norm=5.0,
                     early_stopping=stopping, validation=(Xv, yv))


@pytest.mark.parametrize("case", sorted(CASES))
def test_resume_in_a_new_process_is_bit_identical(case, tmp_path):
    X, y = mb.make_moons(300, 0.25, seed=2)
    Xv, yv = mb.make_moons(80, 0.25, seed=3)
    n, m = 3, 4
    with mb.Network([2, 16, 2], seed=5) as whole:
        h = _train(whole, X, y, Xv, yv, case, n + m)
        expected = dict(params=whole.get_parameters(), batch=h.batch_costs, epoch=h.epoch_costs,
                        val=h.validation_costs, rates=h.learning_rates)
    with mb.Network([2, 16, 2], seed=5) as first:
        h1 = _train(first, X, y, Xv, yv, case, n)
        first.save(tmp_path / "model.mbm")
    out = str(tmp_path / "child")
    np.savez(out + ".in.npz", X=X, y=y, Xv=Xv, yv=yv)
    env = dict(os.environ, PYTHONPATH=str(PKG_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "model.mbm"), out, case, str(m),
                        os.path.dirname(os.path.abspath(__file__))],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = np.load(out + ".npz")
    assert int(got["epochs"]) == n + m
    assert got["params"].tobytes() == expected["params"].tobytes()
    for key, first_part in (("batch", h1.batch_costs), ("epoch", h1.epoch_costs),
                            ("val", h1.validation_costs), ("rates", h1.learning_rates)):
        assert np.concatenate([first_part, got[key]]).tobytes() == expected[key].tobytes(), key
    if case.endswith("plateau"):  # the schedule reduced the rate before and after the file
        rates = expected["rates"]
        assert rates[0] > rates[n - 1] and rates[n] > rates[-1], rates


def test_a_file_without_training_state_starts_the_rule_afresh(tmp_path):
    """A version-1 file (or mb_model_reset_training_state) has no moments: Adam starts at
    step 1 again, so the result differs from continuing with the saved state."""
    X, y = mb.make_moons(200, 0.25, seed=2)
    with mb.Network([2, 8, 2], seed=1) as net:
        net.train(X, y, epochs=2, batch_size=32, optimizer="adam")
        net.save(tmp_path / "with.mbm")
        net.reset_training_state()
        net.save(tmp_path / "without.mbm")
    a, b = mb.Network.load(tmp_path / "with.mbm"), mb.Network.load(tmp_path / "without.mbm")
    assert a.get_parameters().tobytes() == b.get_parameters().tobytes()
    for net in (a, b):
        net.train(X, y, epochs=1, batch_size=32, optimizer="adam")
    assert a.get_parameters().tobytes() != b.get_parameters().tobytes()
