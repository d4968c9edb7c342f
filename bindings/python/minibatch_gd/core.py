"""Functions without a handle: the generator, shuffling, partitioning, built-in data."""

from __future__ import annotations

import ctypes
import os
from typing import Any, Iterator, Optional, Union, overload

import numpy as np

from . import _lib
from ._validation import as_nonneg_int, as_path, as_positive_int, as_seed, as_size, ptr
from .errors import check_status

__all__ = [
    "version",
    "version_number",
    "random_stream",
    "permutation",
    "shuffle",
    "shuffle_files",
    "partition",
    "mini_batches",
    "make_moons",
    "STREAM_INIT",
]

ArrayLike = Any

#: the stream of the initial weights and of make_moons' noise (MB_STREAM_INIT)
STREAM_INIT = _lib.MB_STREAM_INIT

_RNGS = ("minibatch", "numpy")


def version() -> str:
    """The version of the loaded library, "MAJOR.MINOR.PATCH" (mb_version)."""
    return _lib.lib().mb_version().decode("ascii")


def version_number() -> int:
    """MAJOR * 10000 + MINOR * 100 + PATCH of the loaded library (mb_version_number)."""
    return int(_lib.lib().mb_version_number())


def blas_info() -> dict:
    """What runs the library's matrix products on this machine (mb_get_blas_info): the
    backend and versions, OpenBLAS's kernel set (``openblas_core``) and libxsmm's code
    target, the instruction set of each (``"avx512"``, ``"avx2"``, ``"avx"``, ``"sse"``,
    ``"generic"``), the widest the CPU supports (``cpu_isa``), OpenBLAS's thread count, and
    what runs training's forward products (``training_forward``: libxsmm on the first
    layer's W, which training keeps transposed below 2^18 weights, at any size with AVX-512
    kernels since 0.12.1; for the others libxsmm through a copy of W^T up to 2^17 weights,
    from 128 rows, or 32 where OpenBLAS's kernels are narrower than libxsmm's AVX-512 ones,
    since 0.12.2, else OpenBLAS; predictions below 2^19 multiply-adds only),
    and what runs tanh, logistic, GELU, SiLU, ELU and SELU hidden layers (``activations``: glibc's vector
    tanhf, expf, expm1f and erfcf at a width, or the scalar ones). It is minibatch's own OpenBLAS, not numpy's."""
    info = _lib.mb_blas_info()
    info.struct_size = ctypes.sizeof(_lib.mb_blas_info)
    check_status(_lib.lib().mb_get_blas_info(ctypes.byref(info)), "mb_get_blas_info")
    out = {}
    for name, _ in _lib.mb_blas_info._fields_[1:]:
        value = getattr(info, name)
        # (a string field the library did not write, one newer than it, stays None)
        out[name] = value.decode("ascii") if isinstance(value, bytes) else value if value is None else int(value)
    return out


def label_values(path: Any, chunk: int = 1 << 20) -> np.ndarray:
    """The sorted distinct values of a ``.npy`` label file, read ``chunk`` labels at a time
    through a memory map: bounded memory however long the file (``np.unique`` over the whole
    file sorts a copy of every label: 30 million labels take hundreds of MiB)."""
    labels = np.load(path, mmap_mode="r")
    values = np.empty(0, dtype=labels.dtype)
    for start in range(0, len(labels), chunk):
        values = np.union1d(values, np.unique(labels[start:start + chunk]))
    del labels
    return values


def show_config() -> None:
    """Prints the library's version and path and :func:`blas_info`, as numpy's
    ``show_config`` does for numpy."""
    info = blas_info()
    print(f"minibatch {version()} ({_lib.library_path()})")
    print(f"  matrix backend: {info['backend']}")
    print(f"    libxsmm {info['libxsmm_version']}: target {info['libxsmm_target']} ({info['libxsmm_isa']})")
    print(f"    OpenBLAS {info['openblas_version']}: core {info['openblas_core']} ({info['openblas_isa']})")
    print(f"  CPU instruction set: {info['cpu_isa']}; threads: {info['threads']}")
    print(f"  training's forward products x W^T: {info['training_forward']}")
    print(f"  tanh, logistic, GELU, SiLU, ELU and SELU hidden layers: {info['activations']}")


def random_stream(seed: int, stream: int, count: int) -> np.ndarray:
    """The first ``count`` 64-bit outputs of the library's generator stream (seed, stream)
    as a uint64 array (mb_random). See the header for the exact contract."""
    count = as_nonneg_int(count, "count")
    out = np.empty(count, dtype=np.uint64)
    if count == 0:
        return out
    check_status(
        _lib.lib().mb_random(
            as_seed(seed), as_seed(stream, "stream"), ptr(out, ctypes.c_uint64), count
        ),
        "mb_random",
    )
    return out


def _check_rng(rng: str, seed: Any, epoch: int) -> None:
    if rng not in _RNGS:
        raise ValueError(f"rng must be one of {_RNGS}, got {rng!r}")
    if rng == "numpy":
        s = as_seed(seed)
        if s >= 2**32:
            raise ValueError(f"rng='numpy' needs a seed in [0, 2**32), got {s}")
        if epoch != 0:
            raise ValueError(
                "rng='numpy' reproduces np.random.seed(seed); np.random.permutation(m):"
                " it has no epoch; vary the seed instead (epoch must be 0)"
            )


def permutation(m: int, seed: int = 0, epoch: int = 0, *, rng: str = "minibatch") -> np.ndarray:
    """The order epoch ``epoch`` of training with ``seed`` visits m examples (int64).

    Shuffled row k is original row ``perm[k]``.  ``rng="numpy"`` instead gives exactly
    ``np.random.seed(seed); np.random.permutation(m)`` (the course notebooks' order).
    """
    m = as_nonneg_int(m, "m")
    epoch = as_nonneg_int(epoch, "epoch")
    _check_rng(rng, seed, epoch)
    if rng == "numpy":
        return np.random.RandomState(as_seed(seed)).permutation(m).astype(np.int64)
    out = np.empty(m, dtype=np.int64)
    if m == 0:
        return out
    if epoch > 2**64 - 1:
        raise ValueError("epoch must be < 2**64")
    check_status(
        _lib.lib().mb_permutation(m, as_seed(seed), epoch, ptr(out, ctypes.c_int64)),
        "mb_permutation",
    )
    return out


def _rows(a: np.ndarray) -> int:
    return int(a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64)))


@overload
def shuffle(X: ArrayLike, y: None = ..., seed: int = ..., *, epoch: int = ..., rng: str = ..., inplace: bool = ...) -> np.ndarray: ...
@overload
def shuffle(X: ArrayLike, y: ArrayLike, seed: int = ..., *, epoch: int = ..., rng: str = ..., inplace: bool = ...) -> tuple[np.ndarray, np.ndarray]: ...


def shuffle(
    X: ArrayLike,
    y: Optional[ArrayLike] = None,
    seed: int = 0,
    *,
    epoch: int = 0,
    rng: str = "minibatch",
    inplace: bool = False,
) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Shuffles the rows of X, and of y with the same permutation (pairs stay matched).

    Afterwards row k holds what row ``perm[k]`` held, ``perm = permutation(m, seed, epoch,
    rng=rng)``: with the default ``rng="minibatch"`` exactly the order training with
    ``seed`` uses in epoch ``epoch``; with ``rng="numpy"`` the order of
    ``np.random.seed(seed); np.random.permutation(m)``.

    X and y may have any dtype and any number of dimensions (rows are axis 0). Returns new
    arrays (``(X, y)``, or just X when y is None); with ``inplace=True`` shuffles the given
    arrays themselves (they must be writeable, C-contiguous numpy arrays) and returns them.
    """
    epoch = as_nonneg_int(epoch, "epoch")
    _check_rng(rng, seed, epoch)
    seed = as_seed(seed)
    if inplace:
        if not isinstance(X, np.ndarray) or (y is not None and not isinstance(y, np.ndarray)):
            raise TypeError("inplace=True needs numpy arrays")
        xa, ya = X, y
        for a, nm in ((xa, "X"), (ya, "y")):
            if a is not None and (not a.flags.c_contiguous or not a.flags.writeable):
                raise ValueError(f"inplace=True needs {nm} writeable and C-contiguous")
    else:
        xa = np.asarray(X)
        ya = None if y is None else np.asarray(y)
    if xa.ndim == 0:
        raise ValueError("X must have at least one dimension (rows)")
    m = xa.shape[0]
    if ya is not None:
        if ya.ndim == 0:
            raise ValueError("y must have at least one dimension (rows)")
        if ya.shape[0] != m:
            raise ValueError(f"X and y have different numbers of rows: {m} and {ya.shape[0]}")

    def result(xr: np.ndarray, yr: Optional[np.ndarray]) -> Any:
        return xr if y is None else (xr, yr)

    # object arrays hold references (rows are not opaque bytes); zero-width rows and the
    # numpy generator go through fancy indexing with the same permutation.
    byte_rows = (
        rng == "minibatch"
        and m > 0
        and not xa.dtype.hasobject
        and _rows(xa) > 0
        and (ya is None or (not ya.dtype.hasobject and _rows(ya) > 0))
    )
    if not byte_rows:
        perm = permutation(m, seed, epoch, rng=rng)
        if inplace:
            xa[...] = xa[perm]
            if ya is not None:
                ya[...] = ya[perm]
            return result(xa, ya)
        return result(xa[perm], None if ya is None else ya[perm])

    L = _lib.lib()
    if inplace:
        st = L.mb_shuffle(
            ptr(xa), _rows(xa), ptr(ya), 0 if ya is None else _rows(ya), m, seed, epoch
        )
        check_status(st, "mb_shuffle")
        return result(xa, ya)
    xc = np.ascontiguousarray(xa)
    yc = None if ya is None else np.ascontiguousarray(ya)
    x_out = np.empty_like(xc, order="C")
    y_out = None if yc is None else np.empty_like(yc, order="C")
    st = L.mb_shuffle_into(
        ptr(xc), _rows(xc), ptr(yc), 0 if yc is None else _rows(yc), m, seed, epoch,
        ptr(x_out), ptr(y_out),
    )
    check_status(st, "mb_shuffle_into")
    return result(x_out, y_out)


def shuffle_files(
    x: Any,
    y: Any,
    x_out: Any,
    y_out: Any,
    seed: int = 0,
    memory_budget: int = 0,
    temp_dir: Any = None,
) -> None:
    """Writes shuffled copies of the ``.npy`` files ``x`` and ``y`` to ``x_out`` and
    ``y_out``, pairs kept (row k of both outputs is the same input row), reading and
    writing sequentially within ``memory_budget`` bytes, so the files may be larger than
    memory (``mb_shuffle_npy``). ``y`` and ``y_out`` are both None to shuffle X alone.

    Any ``.npy`` file a :class:`Dataset` reads is taken for X and y (1-D or 2-D, float32,
    bool or integer); the outputs keep their dtype and shape. An external shuffle: pass 1
    puts each row into one of K buckets of a temporary file (in ``temp_dir``, default the
    directory of ``x_out``), pass 2 shuffles the buckets one at a time in memory. K is the
    smallest k with ``ceil(m / k) * row_bytes + 16 * k <= memory_budget`` (0: the library's
    default budget, a quarter of the memory this process may use, 4 to 256 MiB), and the
    order, a function of ``seed``, m and K, is stated in ``minibatch.h``; with K = 1 it is
    ``permutation(m, seed, 0)``, the order of :func:`shuffle` in memory. The outputs appear
    complete, atomically, or not at all, and the temporary file is always removed.
    """
    if (y is None) != (y_out is None):
        raise ValueError("y and y_out go together: give both, or neither to shuffle X alone")
    seed = as_seed(seed)
    budget = as_size(memory_budget, "memory_budget")

    def path(p: Any) -> Optional[bytes]:
        return None if p is None else as_path(p)

    check_status(
        _lib.lib().mb_shuffle_npy(path(x), path(y), path(x_out), path(y_out), seed, budget, path(temp_dir)),
        "mb_shuffle_npy",
    )


def partition(m: int, batch_size: int, *, drop_last: bool = False) -> list[slice]:
    """The mini-batches of m (shuffled) examples as slices, in order (mb_partition).

    ``ceil(m / batch_size)`` batches, the last one smaller, or with ``drop_last=True``
    ``floor(m / batch_size)`` full ones. Requires 1 <= batch_size <= m.
    """
    m = as_positive_int(m, "m")
    b = as_positive_int(batch_size, "batch_size")
    if b > m:
        raise ValueError(f"batch_size must be in [1, m={m}], got {b}")
    from .optim import _flag

    mode = int(_lib.LastBatch.DROP if _flag(drop_last, "drop_last") else _lib.LastBatch.KEEP)
    L = _lib.lib()
    n = ctypes.c_int64()
    check_status(L.mb_partition(m, b, mode, None, None, 0, ctypes.byref(n)), "mb_partition")
    starts = np.empty(n.value, dtype=np.int64)
    counts = np.empty(n.value, dtype=np.int64)
    check_status(
        L.mb_partition(
            m, b, mode, ptr(starts, ctypes.c_int64), ptr(counts, ctypes.c_int64),
            n.value, ctypes.byref(n),
        ),
        "mb_partition",
    )
    return [slice(int(s), int(s + c)) for s, c in zip(starts[: n.value], counts[: n.value])]


def mini_batches(
    X: ArrayLike,
    y: Optional[ArrayLike] = None,
    batch_size: int = 64,
    seed: int = 0,
    *,
    epoch: int = 0,
    shuffle: bool = True,
    drop_last: bool = False,
    rng: str = "minibatch",
) -> Iterator[Any]:
    """Yields the mini-batches of one epoch: ``(X_batch, y_batch)``, or ``X_batch`` when
    y is None, for users who keep their own training loop.

    With ``shuffle=True`` the data is shuffled once (one copy, as :func:`shuffle` with
    the same ``seed``, ``epoch`` and ``rng``) and the batches are views of that copy;
    with ``shuffle=False`` they are views of X and y themselves (for numpy arrays).
    With the default generator this is exactly the batches training visits in epoch
    ``epoch`` (including its rule that one batch of all m rows, batch gradient descent,
    keeps the stored order: then the batch is X itself); with ``rng="numpy"`` those of the
    course's ``random_mini_batches`` (which always shuffles).
    """
    xa = np.asarray(X)
    ya = None if y is None else np.asarray(y)
    if xa.ndim == 0:
        raise ValueError("X must have at least one dimension (rows)")
    m = xa.shape[0]
    if ya is not None and (ya.ndim == 0 or ya.shape[0] != m):
        raise ValueError(f"X and y have different numbers of rows: {m} and {ya.shape[0] if ya.ndim else 0}")
    if batch_size is None:
        batch_size = m
    from .optim import _flag

    shuffle = _flag(shuffle, "shuffle")
    slices = partition(m, batch_size, drop_last=drop_last)
    one_batch = len(slices) == 1 and slices[0] == slice(0, m)
    if shuffle and one_batch and rng == "minibatch":
        shuffle = False  # training uses a single batch of all m rows in stored order
    if shuffle:
        if ya is None:
            xs, ys = _shuffle_impl(xa, None, seed, epoch, rng), None
        else:
            xs, ys = _shuffle_impl(xa, ya, seed, epoch, rng)
    else:
        epoch = as_nonneg_int(epoch, "epoch")
        xs, ys = xa, ya

    def gen() -> Iterator[Any]:
        for s in slices:
            yield xs[s] if ys is None else (xs[s], ys[s])

    return gen()


def _shuffle_impl(xa: np.ndarray, ya: Optional[np.ndarray], seed: int, epoch: int, rng: str) -> Any:
    return shuffle(xa, ya, seed, epoch=epoch, rng=rng)


def make_moons(m: int = 4000, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The built-in "moons" dataset (mb_make_moons): X float32 (m, 2), y int32 (m,) in
    {0, 1}, rows alternating class 0, 1, 0, ...; Gaussian noise of std ``noise`` (at most
    1e37, where no coordinate can overflow float32)."""
    m = as_positive_int(m, "m", minimum=2)
    noise = float(noise)
    if not np.isfinite(noise) or noise < 0 or noise > 1e37:  # (beyond, a coordinate can overflow float)
        raise ValueError(f"noise must be finite, >= 0 and <= 1e37, got {noise}")
    x = np.empty((m, 2), dtype=np.float32)
    yv = np.empty(m, dtype=np.int32)
    check_status(
        _lib.lib().mb_make_moons(m, noise, as_seed(seed), ptr(x, ctypes.c_float), ptr(yv, ctypes.c_int32)),
        "mb_make_moons",
    )
    return x, yv

