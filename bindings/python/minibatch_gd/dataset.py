"""Training sets in ``.npy`` files, read in batches during training (``mb_dataset``)."""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any, Optional, Union

from . import _lib
from ._handle import _Handle
from ._validation import as_path, as_positive_int, as_size
from .errors import check_status

__all__ = ["Dataset"]

PathLike = Union[str, "os.PathLike[str]"]


_FILE_SHUFFLES = {"exact": _lib.FileShuffle.EXACT, "block": _lib.FileShuffle.BLOCK}
_PAGE_CACHES = {"auto": _lib.PageCache.AUTO, "keep": _lib.PageCache.KEEP, "release": _lib.PageCache.RELEASE}


class Dataset(_Handle):
    """X and y in numpy .npy files, read in batches during training (``mb_dataset``).

    Parameters
    ----------
    x_path, y_path
        ``.npy`` files: X (m, n_features) float32 ('<f4', C order); y with m rows, float32
        targets (m) or (m, n_outputs), or integer/bool class labels (m) (class indices).
        Since 0.10.0 y may also hold float64 (numpy's default) and, for the regression losses
        (MSE, Poisson) or binary cross-entropy with several outputs, integers (m) or
        (m, n_outputs): read as values, rounded to float32 once as ``astype(np.float32)``.
    shuffle
        'exact' (default): epoch e visits rows in ``permutation(m, seed, e)``, exactly as
        in-memory training (same weights and costs); 'block': blocks of contiguous rows are
        shuffled, then rows within memory-sized pools (sequential reads, bounded memory).
    block_bytes, memory_budget
        Bytes of contiguous rows read at once (default 1 MiB) and bytes the reader may
        hold (default: a quarter of the memory this process may use, physical or its
        cgroup's limit, at least 4 MiB and at most 256 MiB); None keeps the library's default.
        Where the budget holds X whole (the default: up to a quarter of the memory this
        process may use, past its 256 MiB for read buffers; and X is at most half the memory
        this process may use), a shuffled training reads X once into memory and gathers its batches from
        there, in the same order; the dataset keeps it for the next training while the file
        is unchanged (see the C header, "X held in memory"). With a smaller budget the
        exact shuffle holds as many of X's first rows as it can and copies the others from
        a read-only mapping of the file (under a SIGBUS handler that turns a file truncated
        while it trains into an error, and passes any other SIGBUS on: see the C header,
        "Datasets in files").
    page_cache
        What the block shuffle does with the pages it has read: 'keep' leaves them in the
        page cache for the next epoch, 'release' drops them (``posix_fadvise(DONTNEED)``),
        'auto' (default) releases them when X and y together are larger than half the
        memory this process may use (physical memory or its cgroup's limit). The exact
        shuffle always keeps them.

    Use with :meth:`Network.train_dataset` / :meth:`Network.evaluate_dataset` (or pass it
    as ``X`` to :meth:`Network.train`). A dataset may serve several trainings at once.
    """

    _free_name = "mb_dataset_free"

    def __init__(
        self,
        x_path: PathLike,
        y_path: PathLike,
        *,
        shuffle: str = "exact",
        block_bytes: Optional[int] = None,
        memory_budget: Optional[int] = None,
        page_cache: str = "auto",
    ) -> None:
        if shuffle not in _FILE_SHUFFLES:
            raise ValueError(f"shuffle must be 'exact' or 'block', got {shuffle!r}")
        if page_cache not in _PAGE_CACHES:
            raise ValueError(f"page_cache must be 'auto', 'keep' or 'release', got {page_cache!r}")
        opts = _lib.mb_dataset_options()
        _lib.lib().mb_dataset_options_init(ctypes.byref(opts))
        opts.shuffle = int(_FILE_SHUFFLES[shuffle])
        opts.page_cache = int(_PAGE_CACHES[page_cache])
        if block_bytes is not None:
            opts.block_bytes = as_positive_int(block_bytes, "block_bytes")
        if memory_budget is not None:
            opts.memory_budget = as_size(memory_budget, "memory_budget", minimum=1)
        h = ctypes.c_void_p()
        check_status(
            _lib.lib().mb_dataset_open_npy(
                as_path(x_path, "x_path"), as_path(y_path, "y_path"),
                ctypes.byref(opts), ctypes.byref(h),
            ),
            "mb_dataset_open_npy",
        )
        self._users: dict[int, int] = {}  # thread ident: trainings (and reads) in progress
        self._idle = threading.Condition()
        super().__init__(h.value)
        self.shuffle = shuffle
        self.page_cache = page_cache
        self.x_path = os.fspath(x_path)
        self.y_path = os.fspath(y_path)

    def _in_use(self) -> Any:
        ds = self

        class _Use:
            def __enter__(self) -> None:
                with ds._idle:
                    ds._h()
                    me = threading.get_ident()
                    ds._users[me] = ds._users.get(me, 0) + 1

            def __exit__(self, *exc: Any) -> None:
                with ds._idle:
                    me = threading.get_ident()
                    ds._users[me] -= 1
                    if not ds._users[me]:
                        del ds._users[me]
                    ds._idle.notify_all()

        return _Use()

    def close(self) -> None:
        """Closes the files: at once, after any training that uses the dataset on another
        thread has finished. Closed from a progress callback of a training that uses it, the
        dataset stays open in the library until that training returns (``mb_dataset_free``
        from a callback); it waited for that training, which waited for the callback."""
        me = threading.get_ident()
        with self._idle:
            while any(thread != me for thread in self._users):
                self._idle.wait()
            super().close()

    def _info(self) -> _lib.mb_dataset_info:
        info = _lib.mb_dataset_info()
        with self._in_use():
            check_status(
                _lib.lib().mb_dataset_get_info(self._h(), ctypes.byref(info)),
                "mb_dataset_get_info",
            )
        return info

    @property
    def m(self) -> int:
        """Number of rows."""
        return int(self._info().m)

    def __len__(self) -> int:
        return self.m

    @property
    def n_features(self) -> int:
        return int(self._info().n_features)

    @property
    def y_columns(self) -> int:
        """Columns of y (1 for a 1-D y)."""
        return int(self._info().y_columns)

    @property
    def y_type(self) -> _lib.Targets:
        """Targets.CLASS_INDEX for an integer or bool y file (class labels for the
        cross-entropy losses; values for MSE, Poisson and a 2-D binary cross-entropy target,
        since 0.10.0), else Targets.FLOAT32 (a float32 or float64 file)."""
        return _lib.Targets(int(self._info().y_type))

    @property
    def npy_versions(self) -> tuple[int, int]:
        """The .npy format major versions of the X and y files."""
        info = self._info()
        return int(info.x_version), int(info.y_version)

    def __repr__(self) -> str:
        if self.closed:
            return "Dataset(closed)"
        i = self._info()
        return (
            f"Dataset(m={i.m}, n_features={i.n_features}, y_columns={i.y_columns},"
            f" y_type={_lib.Targets(int(i.y_type)).name.lower()}, shuffle={self.shuffle!r})"
        )
