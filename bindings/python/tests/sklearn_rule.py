"""scikit-learn's MLP stopping rule re-implemented for the tests (its
``_update_no_improvement_count``): on the training loss, an epoch counts as no improvement
when its loss is above the best so far minus tol; with early_stopping, on the validation
score, when its score is below the best so far plus tol; fit stops when the count exceeds
n_iter_no_change.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional


def stop_epoch(values: Iterable[float], tol: float, n_iter_no_change: int, *,
               higher_is_better: bool = False) -> Optional[int]:
    """The epoch (from 1) after which scikit-learn's fit stops on these per-epoch values
    (losses, or validation scores with ``higher_is_better``), or None if it runs them all."""
    sign = -1.0 if higher_is_better else 1.0
    best, count = math.inf, 0
    for i, v in enumerate(values):
        cost = sign * float(v)
        count = count + 1 if cost > best - tol else 0
        best = min(best, cost)
        if count > n_iter_no_change:
            return i + 1
    return None
