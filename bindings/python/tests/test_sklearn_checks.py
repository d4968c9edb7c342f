"""scikit-learn's own estimator checks (skipped with a plain message if scikit-learn is
not installed).

No check is listed as an expected failure. The only checks that do not run are those
scikit-learn itself skips for the environment:

* check_array_api_input: needs SCIPY_ARRAY_API=1 and array-api-compat (not a goal:
  the binding takes numpy arrays);
* check_classifier_data_not_an_array / check_regressor_data_not_an_array: need pandas
  (they run if pandas is installed).
"""

from __future__ import annotations

import warnings

import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import minibatch as mb  # noqa: E402

#: checks expected to fail, with the reason (none: every check passes)
EXPECTED_FAILED_CHECKS: dict[str, str] = {}

ESTIMATORS = [mb.MLPClassifier(), mb.MLPRegressor(), mb.MLPClassifier((8, 8), activation="tanh", batch_size=16)]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        # some checks train on unscaled data (features ~100): plain gradient descent may
        # diverge there; the estimator keeps its last finite weights and warns.
        warnings.simplefilter("ignore", mb.DivergenceWarning)
        # batch_size=16 on the checks' tiny datasets is clipped to m (with a warning)
        warnings.filterwarnings("ignore", message="Got batch_size", category=UserWarning)
        check(estimator)


def test_check_estimator_runs_every_check():
    from sklearn.utils.estimator_checks import check_estimator

    for est in (mb.MLPClassifier(), mb.MLPRegressor()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(est, on_fail=None)
        failed = [r["check_name"] for r in results if r["status"] == "failed"]
        assert not failed, failed
        skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
        allowed = {"check_array_api_input", "check_classifier_data_not_an_array",
                   "check_regressor_data_not_an_array"}
        assert skipped <= allowed, skipped - allowed
        assert len(results) > 40
