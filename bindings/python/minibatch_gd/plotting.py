"""Cost curves: per mini-batch and per epoch, batch GD beside mini-batch GD.

matplotlib is optional: it is imported only when a figure is drawn (ImportError with an
install hint otherwise). Figures are built with ``matplotlib.figure.Figure`` directly, so no
GUI backend is needed.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

__all__ = ["CostCurves", "costs_of", "plot_costs", "plot_cost_comparison"]


class CostCurves:
    """The batch and epoch costs of one training run (for plotting), and the validation
    cost after each epoch when there is one (NaN where there is none)."""

    def __init__(self, batch_costs: Sequence[float], epoch_costs: Sequence[float],
                 validation_costs: Optional[Sequence[float]] = None,
                 validation_scores: Optional[Sequence[float]] = None) -> None:
        self.batch_costs = np.asarray(batch_costs, dtype=np.float64).ravel()
        self.epoch_costs = np.asarray(epoch_costs, dtype=np.float64).ravel()
        none = np.full(len(self.epoch_costs), np.nan)
        self.validation_costs = (none if validation_costs is None
                                 else np.asarray(validation_costs, dtype=np.float64).ravel())
        self.validation_scores = (none if validation_scores is None
                                  else np.asarray(validation_scores, dtype=np.float64).ravel())

    @property
    def batches_per_epoch(self) -> float:
        n_ep = len(self.epoch_costs)
        return len(self.batch_costs) / n_ep if n_ep else float(len(self.batch_costs))


def costs_of(run: Any) -> CostCurves:
    """CostCurves from a History, a fitted estimator (batch_costs_/epoch_costs_), a
    ``(batch_costs, epoch_costs)`` pair or a CostCurves."""
    if isinstance(run, CostCurves):
        return run
    if hasattr(run, "batch_costs_") and hasattr(run, "epoch_costs_"):
        return CostCurves(run.batch_costs_, run.epoch_costs_, getattr(run, "validation_costs_", None),
                          getattr(run, "validation_scores_", None))
    if hasattr(run, "batch_costs") and hasattr(run, "epoch_costs"):
        return CostCurves(run.batch_costs, run.epoch_costs, getattr(run, "validation_costs", None),
                          getattr(run, "validation_scores", None))
    if isinstance(run, (tuple, list)) and len(run) == 2:
        return CostCurves(run[0], run[1])
    raise TypeError(
        "expected a History, a fitted estimator, a (batch_costs, epoch_costs) pair or"
        f" CostCurves; got {type(run).__name__}"
    )


def _matplotlib() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib: pip install matplotlib"
        ) from e
    return Figure


def plot_costs(run: Any, ax: Any, *, title: Optional[str] = None, log: bool = False) -> Any:
    """Draws one run on ``ax``: every mini-batch cost (thin line, x in fractional epochs),
    every epoch cost (dots at the end of each epoch) and, where the run had a validation
    set, the validation cost after each epoch (squares) and its score (accuracy or R^2, on a
    second axis at the right). Returns ax."""
    c = costs_of(run)
    n_ep = len(c.epoch_costs)
    nb = len(c.batch_costs)
    if nb:
        # batch i of an epoch with k batches ends at epoch + (i + 1) / k
        per = c.batches_per_epoch if n_ep else nb
        xb = (np.arange(nb) + 1) / per
        ax.plot(xb, c.batch_costs, lw=0.6, alpha=0.6, color="tab:blue", label="per mini-batch")
    if n_ep:
        ax.plot(
            np.arange(1, n_ep + 1), c.epoch_costs, "o-", ms=3, lw=1.5,
            color="tab:red", label="per epoch",
        )
        valid = np.isfinite(c.validation_costs[:n_ep])
        if valid.any():
            epochs = np.arange(1, n_ep + 1)
            ax.plot(epochs[valid], c.validation_costs[:n_ep][valid], "s--", ms=3, lw=1.2,
                    color="tab:green", label="validation")
        scores = c.validation_scores[:n_ep]
        scored = np.isfinite(scores) if len(scores) == n_ep else np.zeros(n_ep, bool)
        if scored.any():
            right = ax.twinx()
            right.plot(np.arange(1, n_ep + 1)[scored], scores[scored], "^:", ms=3, lw=1.0,
                       color="tab:purple", label="validation score")
            right.set_ylabel("validation score")
            right.legend(loc="center right")
    ax.set_xlabel("epochs")
    ax.set_ylabel("cost")
    if log:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    return ax


def plot_cost_comparison(
    runs: Mapping[str, Any],
    path: Union[str, "Any", None] = None,
    *,
    suptitle: Optional[str] = "Cost over time",
    log: bool = False,
    sharey: bool = True,
    dpi: int = 120,
) -> Any:
    """One panel per run, side by side (e.g. ``{"batch GD (batch = m)": h1,
    "mini-batch GD (batch = 64)": h2}``), each with per-mini-batch and per-epoch cost.

    Writes the figure to ``path`` (PNG, SVG, ... by extension) when given; returns the
    ``matplotlib.figure.Figure``.
    """
    Figure = _matplotlib()
    if not runs:
        raise ValueError("runs is empty")
    fig = Figure(figsize=(5.5 * len(runs), 4.2), dpi=dpi)
    axes = fig.subplots(1, len(runs), sharey=sharey, squeeze=False)[0]
    for ax, (name, run) in zip(axes, runs.items()):
        c = costs_of(run)
        plot_costs(
            c, ax,
            title=f"{name}\n{len(c.batch_costs)} updates, {len(c.epoch_costs)} epochs",
            log=log,
        )
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig
