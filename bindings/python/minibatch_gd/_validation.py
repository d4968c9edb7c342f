"""Input conversion and checks done in Python before any C call.

The one copy rule: :func:`as_float32_matrix` returns its input unchanged (no copy) when
it is already a float32, C-contiguous, aligned ``numpy.ndarray``; anything else (float64,
integers, Fortran order, non-contiguous views, lists, memmaps of another dtype) is
converted with exactly one copy.
"""

from __future__ import annotations

import ctypes
import numbers
import os
from typing import Any, Optional

import numpy as np

_INT32_MIN = np.iinfo(np.int32).min
_INT32_MAX = np.iinfo(np.int32).max
_UINT64_MAX = 2**64 - 1


def is_sparse(x: Any) -> bool:
    """True for scipy.sparse matrices and arrays (without importing scipy)."""
    mod = type(x).__module__ or ""
    return mod.startswith("scipy.sparse") or (
        hasattr(x, "tocsr") and hasattr(x, "toarray") and hasattr(x, "nnz")
    )


def _as_array(x: Any, name: str) -> np.ndarray:
    if x is None:
        raise ValueError(f"{name} is None; expected an array-like")
    if is_sparse(x):
        raise TypeError(
            f"{name} is a sparse matrix, but sparse input is not supported by minibatch;"
            f" convert it with {name}.toarray()"
        )
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be array-like, got a {type(x).__name__}")
    arr = np.asarray(x)
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}")
    return arr


def object_as_float64(arr: np.ndarray, name: str) -> np.ndarray:
    """An object array (lists of Python numbers) as float64: TypeError for non-numbers, as
    numpy's; ValueError naming the array for an integer beyond float64's range (numpy's
    OverflowError named nothing)."""
    try:
        return arr.astype(np.float64)
    except OverflowError as e:
        raise ValueError(f"{name} holds a number too large for a float: {e}") from e
    except TypeError as e:
        # pandas' missing value (pd.NA, of its nullable dtypes) or None: missing, as
        # scikit-learn says (numpy's TypeError named neither the array nor the value)
        if any(v is None or type(v).__name__ == "NAType" for v in arr.ravel()):
            raise ValueError(f"Input {name} contains NaN (a missing value: pd.NA or None).") from None
        raise TypeError(f"{name} must be numeric: {e}") from e
    except ValueError as e:  # a string that is not a number
        raise ValueError(f"{name} must be numeric: {e}") from e


def as_float32_matrix(
    x: Any,
    name: str = "X",
    *,
    n_features: Optional[int] = None,
    check_finite: bool = False,
    allow_1d: bool = False,
) -> np.ndarray:
    """A float32, C-contiguous (m, n) array; no copy when ``x`` already is one.

    Raises ValueError for a wrong number of dimensions, an empty array, or (with
    ``n_features``) a wrong number of columns; TypeError for non-numeric data.
    """
    arr = _as_array(x, name)
    if arr.dtype.kind not in "biuf":
        if arr.dtype.kind == "O":
            arr = object_as_float64(arr, name)  # TypeError for non-numbers, like np.asarray
        elif arr.dtype.kind in "USV":
            try:
                arr = arr.astype(np.float64)
            except ValueError as e:
                raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}: {e}")
        else:
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 1 and allow_1d:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        if arr.ndim == 1:
            raise ValueError(
                f"Expected 2D array, got 1D array instead: {name} has shape {arr.shape}."
                " Reshape your data either using array.reshape(-1, 1) if your data has a"
                " single feature or array.reshape(1, -1) if it contains a single sample."
            )
        raise ValueError(
            f"Expected a 2D array (n_samples, n_features) for {name}, got {arr.ndim}D"
            f" with shape {arr.shape}"
        )
    m, n = arr.shape
    if m < 1:
        raise ValueError(
            f"Found array with {m} sample(s) (shape={arr.shape}) while a minimum of 1 is"
            f" required ({name})."
        )
    if n < 1:
        raise ValueError(
            f"Found array with {n} feature(s) (shape={arr.shape}) while a minimum of 1 is"
            f" required ({name})."
        )
    if n_features is not None and n != n_features:
        raise ValueError(
            f"{name} has {n} features, but the model is expecting {n_features} features"
            f" as input"
        )
    if arr.dtype == np.float32 and arr.flags.c_contiguous and arr.flags.aligned:
        out = arr  # zero-copy
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.ascontiguousarray(arr, dtype=np.float32)  # the one documented copy
    if check_finite:
        check_all_finite(out, name, source=arr)
    return out


def check_all_finite(a: np.ndarray, name: str, source: Optional[np.ndarray] = None) -> None:
    """ValueError naming NaN or infinity (scikit-learn's wording) if ``a`` has any."""
    if a.dtype.kind != "f":
        return
    # sum is a fast single pass; it is finite iff every element is (barring overflow)
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.sum(a, dtype=np.float64) if a.size else 0.0
    if np.isfinite(s):
        return
    if np.isnan(a).any():
        raise ValueError(f"Input {name} contains NaN.")
    if not np.isfinite(a).all():
        dt = source.dtype if source is not None and source.dtype.kind == "f" else a.dtype
        if source is not None and np.isfinite(source).all():
            raise ValueError(
                f"Input {name} contains infinity or a value too large for dtype('float32')."
            )
        raise ValueError(
            f"Input {name} contains infinity or a value too large for dtype({str(dt)!r})."
        )


def as_class_indices(y: np.ndarray, n_classes: int, name: str = "y") -> np.ndarray:
    """int32 C-contiguous class indices in [0, n_classes) (no copy if already int32)."""
    if y.dtype.kind == "b":
        y = y.astype(np.int32)
    if y.dtype.kind not in "iu":
        raise TypeError(f"class indices {name} must have an integer dtype, got {y.dtype}")
    if y.size:
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            raise ValueError(
                f"class indices in {name} must lie in [0, {n_classes}), found values in"
                f" [{lo}, {hi}]"
            )
    if y.dtype == np.int32 and y.flags.c_contiguous and y.flags.aligned:
        return y
    return np.ascontiguousarray(y, dtype=np.int32)


def as_real_array(v: Any, name: str, dtype: Any = np.float32) -> np.ndarray:
    """``v`` as a C-contiguous array of ``dtype``; complex values are refused (numpy's
    conversion drops their imaginary part with only a ComplexWarning), as in X and y."""
    a = np.asarray(v)
    if np.iscomplexobj(a):
        raise ValueError(f"Complex data not supported: {name} has dtype {a.dtype}")
    try:
        return np.asarray(a, dtype=dtype, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
    except OverflowError as e:  # (an integer beyond float64's range: numpy's named nothing)
        raise ValueError(f"{name} holds a number too large for a float: {e}") from e


def as_seed(seed: Any, name: str = "seed") -> int:
    """A Python int in [0, 2**64) (numpy integers and bools accepted)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an integer in [0, 2**64), got {seed!r}")
    s = int(seed)
    if s < 0 or s > _UINT64_MAX:
        raise ValueError(f"{name} must be an integer in [0, 2**64), got {s}")
    return s


def as_positive_int(v: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {v!r}")
    v = int(v)
    if v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v}")
    if v > 2**63 - 1:
        raise ValueError(f"{name} is too large: {v}")
    return v


def as_nonneg_int(v: Any, name: str) -> int:
    return as_positive_int(v, name, minimum=0)


def as_size(v: Any, name: str, *, minimum: int = 0) -> int:
    """An integer for a C size_t: [minimum, 2**64) (memory budgets, where the header gives
    2**62 and up, SIZE_MAX included, a meaning)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer in [{minimum}, 2**64), got {v!r}")
    v = int(v)
    if v < minimum or v > _UINT64_MAX:
        raise ValueError(f"{name} must be an integer in [{minimum}, 2**64), got {v}")
    return v


def as_path(p: Any, name: str = "path") -> bytes:
    """A file system path (str, bytes or os.PathLike) as the bytes C receives; a NUL byte,
    which C would take as the end of the path, is refused as Python's open() refuses it."""
    b = os.fsencode(os.fspath(p))
    if b"\0" in b:
        raise ValueError(f"{name}: embedded null byte")
    return b


def ptr(a: Optional[np.ndarray], ctype: Any = None) -> Any:
    """A ctypes pointer to the first element of ``a`` (None for None)."""
    if a is None:
        return None
    if ctype is None:
        return ctypes.c_void_p(a.ctypes.data)
    return a.ctypes.data_as(ctypes.POINTER(ctype))
