"""The cost-curve figure and the demo."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minibatch_gd as mb
from minibatch_gd import plotting
from conftest import PKG_ROOT


def test_costs_of_accepts_every_source():
    X, y = mb.make_moons(100, 0.2, seed=0)
    with mb.Network([2, 4, 1], loss="binary_cross_entropy") as net:
        h = net.train(X, y, epochs=3, batch_size=25)
        c = plotting.costs_of(h)
        assert len(c.batch_costs) == 12 and len(c.epoch_costs) == 3 and c.batches_per_epoch == 4
    clf = mb.MLPClassifier((4,), max_iter=2, batch_size=50, random_state=0).fit(X, y)
    assert len(plotting.costs_of(clf).batch_costs) == 4
    assert len(plotting.costs_of(([1, 2], [1.5])).epoch_costs) == 1
    with pytest.raises(TypeError):
        plotting.costs_of(3)


def test_plot_comparison_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    runs = {"batch": (np.linspace(1, 0.5, 10), np.linspace(1, 0.5, 10)),
            "mini-batch": (np.linspace(1, 0.1, 100), np.linspace(0.9, 0.1, 10))}
    out = tmp_path / "fig.png"
    fig = plotting.plot_cost_comparison(runs, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 2
    ax = fig.axes[1]
    assert len(ax.lines) == 2  # per mini-batch and per epoch
    xs = ax.lines[0].get_xdata()
    assert xs[0] == pytest.approx(0.1) and xs[-1] == pytest.approx(10)  # batches in epochs
    assert list(ax.lines[1].get_xdata()) == list(range(1, 11))
    with pytest.raises(ValueError):
        plotting.plot_cost_comparison({})


def test_plot_draws_validation_cost_and_score(tmp_path):
    """A run with a validation set: its cost per epoch beside the training curves, and its
    score (accuracy) on a second axis, with the values the history holds."""
    pytest.importorskip("matplotlib")
    X, y = mb.make_moons(400, 0.2, seed=0)
    with mb.Network([2, 8, 2], seed=1) as net:
        h = net.train(X[:300], y[:300], epochs=5, batch_size=50, optimizer="adam", learning_rate=0.01,
                      validation=(X[300:], y[300:]))
        fig = plotting.plot_cost_comparison({"adam": h}, tmp_path / "v.png")
        ax, right = fig.axes[0], fig.axes[1]
        assert [line.get_label() for line in ax.lines] == ["per mini-batch", "per epoch", "validation"]
        assert np.array_equal(ax.lines[2].get_ydata(), h.validation_costs)
        assert np.array_equal(right.lines[0].get_ydata(), h.validation_scores)
        # a run without one draws neither
        h2 = net.train(X, y, epochs=2, batch_size=50)
        fig2 = plotting.plot_cost_comparison({"plain": h2})
        assert len(fig2.axes) == 1 and len(fig2.axes[0].lines) == 2


def test_demo_module(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from minibatch_gd import demo

    out = tmp_path / "demo.png"
    assert demo.main(["--out", str(out), "--m", "1000", "--epochs", "5"]) == 0
    text = capsys.readouterr().out
    assert f"figure written to {out}" in text
    assert "batch GD (batch_size = m = 1000)" in text and "mini-batch GD (batch_size = 64)" in text
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_demo_script_from_another_directory(tmp_path):
    pytest.importorskip("matplotlib")
    script = PKG_ROOT / "examples" / "demo.py"
    r = subprocess.run([sys.executable, str(script), "--out", "costs.png", "--epochs", "10"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "costs.png").exists()
    assert str(tmp_path / "costs.png") in r.stdout
    # the default: m = 4000, mini-batches of 64 reach a lower cost than batch GD
    lines = [ln for ln in r.stdout.splitlines() if "final cost" in ln]
    costs = [float(ln.split("final cost ")[1].split(",")[0]) for ln in lines]
    assert len(costs) == 2 and costs[1] < costs[0]


def test_plotting_without_matplotlib(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        sys.modules["matplotlib"] = None
        sys.modules["matplotlib.figure"] = None
        import minibatch_gd.plotting as p
        try:
            p.plot_cost_comparison({"a": ([1.0], [1.0])})
        except ImportError as e:
            print("ImportError:", e)
        from minibatch_gd import demo
        print("rc", demo.main(["--m", "100", "--epochs", "1"]))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(PKG_ROOT))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ImportError: plotting needs matplotlib" in r.stdout
    assert "rc 1" in r.stdout and "pip install matplotlib" in r.stderr
