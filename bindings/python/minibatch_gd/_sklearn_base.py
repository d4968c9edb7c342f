"""scikit-learn's base classes and exceptions for the estimators when it is installed, small
look-alikes otherwise (``get_params``/``set_params``/``repr``, the same exception bases)."""

from __future__ import annotations

import inspect
from typing import Any

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

    HAVE_SKLEARN = True
except Exception:  # ImportError, or a broken scikit-learn install
    HAVE_SKLEARN = False

    class BaseEstimator:  # type: ignore[no-redef]
        """Minimal stand-in for sklearn.base.BaseEstimator (get/set_params, repr)."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            init = cls.__init__
            if init is object.__init__:
                return []
            params = inspect.signature(init).parameters.values()
            return sorted(
                p.name
                for p in params
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            )

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key in self._get_param_names():
                value = getattr(self, key)
                if deep and hasattr(value, "get_params") and not isinstance(value, type):
                    for k, v in value.get_params().items():
                        out[f"{key}__{k}"] = v
                out[key] = value
            return out

        def set_params(self, **params: Any) -> "BaseEstimator":
            if not params:
                return self
            valid = self.get_params(deep=True)
            nested: dict[str, dict[str, Any]] = {}
            for key, value in params.items():
                key, delim, sub = key.partition("__")
                if key not in valid:
                    raise ValueError(
                        f"Invalid parameter {key!r} for estimator {self}. Valid parameters"
                        f" are: {sorted(self._get_param_names())!r}."
                    )
                if delim:
                    nested.setdefault(key, {})[sub] = value
                else:
                    setattr(self, key, value)
                    valid[key] = value
            for key, sub_params in nested.items():
                valid[key].set_params(**sub_params)
            return self

        def __repr__(self) -> str:
            sig = inspect.signature(type(self).__init__).parameters
            parts = []
            for k in self._get_param_names():
                v = getattr(self, k, None)
                d = sig[k].default
                try:
                    same = v is d or (type(v) is type(d) and bool(v == d))
                except Exception:
                    same = False
                if not same:
                    parts.append(f"{k}={v!r}")
            return f"{type(self).__name__}({', '.join(parts)})"

    class ClassifierMixin:  # type: ignore[no-redef]
        _estimator_type = "classifier"

    class RegressorMixin:  # type: ignore[no-redef]
        _estimator_type = "regressor"

# scikit-learn's exception types when it is installed (so that its tools recognise them),
# look-alikes with the same bases otherwise.
try:
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError, UndefinedMetricWarning
except Exception:

    class ConvergenceWarning(UserWarning):  # type: ignore[no-redef]
        """``fit`` trained ``max_iter`` epochs without meeting its stopping rule."""

    class NotFittedError(ValueError, AttributeError):  # type: ignore[no-redef]
        """The estimator is used before ``fit``."""

    class DataConversionWarning(UserWarning):  # type: ignore[no-redef]
        """Input data was converted (e.g. a column-vector ``y`` was flattened)."""

    class UndefinedMetricWarning(UserWarning):  # type: ignore[no-redef]
        """A score is not defined for the data (R^2 of fewer than two rows)."""
