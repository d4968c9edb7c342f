"""scikit-learn's own estimator checks (skipped with a plain message if scikit-learn is
not installed).

check_sample_weight_equivalence_on_dense_data is an expected failure: weighted rows and
repeated rows give the same objective, but in float32 their sums round differently, by about
1e-6 relative, above the check's rtol of 1e-7 (scikit-learn runs it on its own MLPs only with
solver='lbfgs', in float64); test_estimator_parity.py checks the equivalence at float32's
precision. One more check is an expected failure, and only where OpenBLAS runs its Haswell kernels
(as the environment forces with OPENBLAS_CORETYPE=Haswell, and as it chooses itself on a CPU
with AVX2 and no AVX-512, an AMD Zen 3 for one): check_methods_sample_order_invariance
on the (8, 8) tanh classifier. OpenBLAS 0.3.34's Haswell sgemm kernel rounds a row of a
product with 8 columns differently depending on its position within a block of 16 rows
(numpy's own OpenBLAS does the same: ``X @ W.T`` for X (16, 8), W (8, 8) changes in the
last bit when X's rows are rolled), so predictions can differ by 1 ulp (about 3e-8) with
the row order, above the check's rtol of 1e-7 on small probabilities. With the SkylakeX
(AVX-512) kernels every row is computed the same way and the check passes.
MLPRegressor(loss='poisson') has two more: check_regressors_train (an R^2 below the check's
0.5, as scikit-learn's own MLPRegressor(loss='poisson') scores there) and
check_regressor_multioutput (its targets are negative, which Poisson regression refuses).
The only checks that do not run are those scikit-learn itself skips for the environment or
for the estimator:

* check_array_api_input: needs SCIPY_ARRAY_API=1 and array-api-compat (not a goal:
  the binding takes numpy arrays);
* check_classifier_data_not_an_array / check_regressor_data_not_an_array /
  check_sample_weights_pandas_series: need pandas
  (they run if pandas is installed);
* check_classifiers_multilabel_output_format_decision_function: the classifier supports
  multilabel y (the other multilabel checks run) but has no decision_function, as
  scikit-learn's MLPClassifier has none.
"""

from __future__ import annotations

import warnings

import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import minibatch_gd as mb  # noqa: E402

ESTIMATORS = [mb.MLPClassifier(), mb.MLPRegressor(), mb.MLPRegressor(loss="poisson"), mb.MLPClassifier((8, 8), activation="tanh", batch_size=16)]


def expected_failed_checks(estimator: object) -> dict[str, str]:
    """Checks expected to fail for `estimator`, with the reason (see the module docstring)."""
    failing = {
        # Weighted rows and repeated rows give one objective; in float32 their sums round
        # differently (1e-6 relative here), above the check's rtol of 1e-7 (made for
        # float64 models; scikit-learn runs it on its MLPs with solver='lbfgs' only).
        # tests/test_estimator_parity.py checks the equivalence to float32's precision.
        "check_sample_weight_equivalence_on_dense_data":
            "float32 training: weighted and repeated rows agree to 1e-6, not 1e-7",
    }
    if getattr(estimator, "loss", None) == "poisson":
        # scikit-learn's own MLPRegressor(loss='poisson') fails it too: R^2 0.38-0.66 over
        # seeds 0-5, ours 0.27-0.40 (its 200 rows of positive targets, 200 Adam steps)
        failing["check_regressors_train"] = "below the check's R^2 of 0.5, as scikit-learn's own Poisson MLP"
        # make_regression's targets are negative: refused with a ValueError (scikit-learn's
        # own does not check y: its loss is then NaN, log of a negative y / prediction)
        failing["check_regressor_multioutput"] = "negative targets are refused for Poisson regression"
    if mb.blas_info()["openblas_core"].lower() in ("haswell", "zen") and getattr(estimator, "hidden_layer_sizes", None) == (8, 8):
        failing["check_methods_sample_order_invariance"] = (
            "OpenBLAS's Haswell sgemm kernel rounds rows by their position in a block (1 ulp)")
    return failing


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
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
            results = check_estimator(est, on_fail=None, expected_failed_checks=expected_failed_checks(est))
        failed = [r["check_name"] for r in results if r["status"] == "failed"]
        assert not failed, failed
        xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
        assert xfailed <= set(expected_failed_checks(est)), xfailed
        skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
        allowed = {"check_array_api_input", "check_classifier_data_not_an_array",
                   "check_regressor_data_not_an_array", "check_sample_weights_pandas_series",
                   "check_classifiers_multilabel_output_format_decision_function"}
        assert skipped <= allowed, skipped - allowed
        assert len(results) > 40
