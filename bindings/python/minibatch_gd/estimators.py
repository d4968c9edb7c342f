"""scikit-learn style estimators over :class:`~minibatch_gd.Network`.

:class:`MLPClassifier` and :class:`MLPRegressor` follow scikit-learn's conventions
(``fit``/``partial_fit``/``predict``/``predict_proba``/``score``, ``get_params``/
``set_params``, fitted attributes ending in ``_``) and work in ``Pipeline`` and
``GridSearchCV``.  scikit-learn is *not* required: when it is installed the classes derive
from its ``BaseEstimator`` and mixins (so its tags and tools apply); otherwise small
look-alikes provide ``get_params``/``set_params``/``repr``.

They take scikit-learn's parameters with its meanings and defaults (``solver='adam'``,
``learning_rate_init=0.001``, ``batch_size='auto'`` = min(200, n_samples), ``alpha``,
``tol``/``n_iter_no_change``, ``early_stopping``/``validation_fraction``, ...), so that
they are drop-ins for ``sklearn.neural_network.MLPClassifier``/``MLPRegressor``. Training
runs in the library (:mod:`minibatch_gd.optim` names the rules); one epoch per
``partial_fit`` call, up to ``max_iter`` epochs per ``fit``. With ``random_state=s`` (an
int) the initial weights use seed ``s`` and the shuffle order of epoch ``e`` is
``minibatch_gd.permutation(m, s, e)``: exactly what a C program calling ``mb_model_create``
and ``mb_train`` with seed ``s`` gets.
"""

from __future__ import annotations

from ._classifier import MLPClassifier
from ._regressor import MLPRegressor
from ._sklearn_base import HAVE_SKLEARN, ConvergenceWarning, DataConversionWarning, NotFittedError

__all__ = ["MLPClassifier", "MLPRegressor", "NotFittedError", "DataConversionWarning", "ConvergenceWarning",
           "HAVE_SKLEARN"]

# Their home for pickles and reprs, as before they were split into modules of their own.
MLPClassifier.__module__ = __name__
MLPRegressor.__module__ = __name__
