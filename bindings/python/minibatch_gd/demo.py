"""Demo: batch gradient descent beside mini-batch gradient descent on the moons.

    python -m minibatch_gd.demo [--out costs.png] [--m 4000] [--batch-size 64] [--epochs 40]

Trains the same network (same initial weights) twice on ``make_moons(m)``: once with
batch_size = m (batch gradient descent, one update per epoch) and once with mini-batches
of 64, then writes the cost per mini-batch and per epoch of both as a PNG and prints
where it is. Needs matplotlib.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from .core import make_moons
from .network import Network


def run(
    out: str = "minibatch_demo.png",
    m: int = 4000,
    batch_size: int = 64,
    epochs: int = 40,
    learning_rate: float = 0.1,
    hidden: Sequence[int] = (16, 8),
    noise: float = 0.2,
    seed: int = 0,
    quiet: bool = False,
) -> str:
    """Trains both ways, writes the figure to ``out`` and returns its absolute path."""
    from .plotting import plot_cost_comparison

    X, y = make_moons(m, noise=noise, seed=seed)
    runs = {}
    for name, b in (
        (f"batch GD (batch_size = m = {m})", m),
        (f"mini-batch GD (batch_size = {batch_size})", batch_size),
    ):
        with Network([2, *hidden, 1], loss="binary_cross_entropy", seed=seed) as net:
            history = net.train(
                X, y, epochs=epochs, batch_size=b, learning_rate=learning_rate, seed=seed
            )
            cost, acc = net.evaluate(X, y)
            runs[name] = (history.batch_costs, history.epoch_costs)
            history.close()
        if not quiet:
            print(f"{name}: final cost {cost:.4f}, training accuracy {acc:.3f}")
    path = os.path.abspath(out)
    plot_cost_comparison(
        runs,
        path,
        suptitle=f"moons, m = {m}, network {[2, *hidden, 1]}, learning rate {learning_rate},"
        f" {epochs} epochs",
    )
    if not quiet:
        print(f"figure written to {path}")
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m minibatch_gd.demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="minibatch_demo.png", help="PNG to write")
    ap.add_argument("--m", type=int, default=4000, help="number of examples")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--learning-rate", type=float, default=0.1)
    ap.add_argument("--hidden", type=int, nargs="*", default=[16, 8])
    ap.add_argument("--noise", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    try:
        run(a.out, a.m, a.batch_size, a.epochs, a.learning_rate, a.hidden, a.noise, a.seed)
    except ImportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
