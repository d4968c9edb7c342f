"""Distributed training over MPI: an ``mb_communicator`` made of mpi4py calls.

Every rank runs the same script and the same training call, with the whole data set and a
:class:`Communicator`; each rank computes its own shards of every mini-batch (the header's
"Distributed training" block in ``include/minibatch.h`` states the layout and the two
modes)::

    # mpirun -np 4 python3 train.py
    import minibatch_gd as mb
    from minibatch_gd.mpi import Communicator

    X, y = mb.make_moons(4096, seed=1)
    with Communicator() as comm, mb.Network([2, 16, 2], seed=0) as net:
        history = net.train(X, y, communicator=comm, batch_size=256, shards=4, threads=1,
                            optimizer=mb.Adam())
        if comm.rank == 0:
            print(history.epoch_costs)

The collectives are mpi4py's buffer calls (``Allreduce`` in place, ``Allgather``,
``Bcast``) on numpy views of the library's own buffers: nothing is copied or pickled. They
run on a duplicate of the caller's communicator, so training's messages never mix with the
caller's. mpi4py is imported when the first Communicator is made: the rest of the package
does not need it.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable, NoReturn, Optional, Union

import numpy as np

from . import _lib
from .errors import error_for

__all__ = ["Communicator"]

#: The most elements (floats, or bytes) one MPI call is given: MPI counts are C ints, and
#: larger buffers go in pieces.
_MAX_PIECE = 2**30


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            "minibatch_gd.mpi needs mpi4py, and an MPI for it to run on: pip install mpi4py,"
            " and an MPI such as Debian's openmpi-bin (apt-get install openmpi-bin"
            f" libopenmpi-dev). Importing mpi4py failed: {e}"
        ) from e
    return MPI


def _bytes_at(address: Optional[int], n: int) -> np.ndarray:
    """A uint8 numpy view of the n bytes at ``address`` (no copy)."""
    return np.ctypeslib.as_array((ctypes.c_uint8 * n).from_address(address or 0))


class Communicator:
    """An ``mb_communicator`` over an mpi4py intracommunicator.

    Parameters
    ----------
    comm
        An ``mpi4py.MPI.Intracomm``; None (default) for ``MPI.COMM_WORLD``. It is
        duplicated (``comm.Dup()``, collectively: every rank of ``comm`` makes its
        Communicator at the same point).

    Pass it as ``communicator=`` to :meth:`minibatch_gd.Network.train` or
    :meth:`~minibatch_gd.Network.train_dataset`. :meth:`close` (or leaving a ``with``
    block) frees the duplicate, collectively, before MPI is finalised; it is not freed
    when garbage collected, since freeing is collective.

    A collective that raises (an MPI error, a closed Communicator) returns nonzero to the
    library, which returns MB_ERR_COMMUNICATION on this rank; the binding raises
    :class:`~minibatch_gd.errors.CommunicationError` with the exception's text appended and
    the exception as its ``__cause__``. What the other ranks then do is MPI's.
    """

    def __init__(self, comm: Any = None) -> None:
        MPI = _import_mpi()
        if comm is None:
            comm = MPI.COMM_WORLD
        if not isinstance(comm, MPI.Intracomm):
            raise TypeError(f"comm must be an mpi4py intracommunicator, got {type(comm).__name__}")
        if comm == MPI.COMM_NULL:
            raise ValueError("comm is MPI.COMM_NULL")
        self._MPI = MPI
        self._comm: Any = comm.Dup()
        self._failure: Optional[tuple[str, BaseException]] = None
        # The C function pointers live as long as this object: the library calls them
        # during every training call that is given this communicator.
        self._c_allreduce_sum = _lib.mb_allreduce_sum_fn(self._allreduce_sum)
        self._c_allgather = _lib.mb_allgather_fn(self._allgather)
        self._c_broadcast = _lib.mb_broadcast_fn(self._broadcast)
        self._struct = _lib.mb_communicator(
            ctypes.sizeof(_lib.mb_communicator),
            self._comm.Get_rank(),
            self._comm.Get_size(),
            None,
            self._c_allreduce_sum,
            self._c_allgather,
            self._c_broadcast,
        )

    # -- what the binding and the caller see -------------------------------------------

    @property
    def rank(self) -> int:
        """This process, 0 .. size - 1."""
        return int(self._struct.rank)

    @property
    def size(self) -> int:
        """The number of ranks."""
        return int(self._struct.size)

    @property
    def comm(self) -> Any:
        """The duplicate communicator training runs on (None once closed)."""
        return self._comm

    @property
    def closed(self) -> bool:
        return self._comm is None

    @property
    def _as_parameter_(self) -> Any:
        """``const mb_communicator *`` for ctypes (mb_train_options.communicator)."""
        if self._comm is None:
            raise ValueError("this Communicator is closed")
        return ctypes.pointer(self._struct)

    def fail_training(self, error: Union[BaseException, str]) -> NoReturn:
        """In place of a training call this rank will not make, because what it prepared for
        the call failed (data it could not read, arguments it could not build): the call
        the other ranks make with this Communicator fails on every rank with this rank's
        error, so that none waits for this one (``mb_train_fail``). Collective: the other
        ranks are in, or enter, :meth:`~minibatch_gd.Network.train` or
        :meth:`~minibatch_gd.Network.train_dataset` with this Communicator. They raise the
        :class:`~minibatch_gd.MinibatchError` of the error's status (an ``OSError``:
        :class:`~minibatch_gd.MinibatchIOError`; a ``MemoryError``: out of memory; a
        MinibatchError: its own; otherwise :class:`~minibatch_gd.InvalidArgumentError`) with
        the message "rank k: ExceptionType: text", or "rank k: text" for a string.

        Raises ``error`` itself when it is an exception (with a note where the other ranks
        could not be told), else the InvalidArgumentError every rank raises.
        :meth:`~minibatch_gd.Network.train` does this itself for an exception raised while
        it prepares a call with a communicator; an exception the ranks know of already (one
        it told, or the error of a training call the ranks made together) is raised as it
        is, never told twice (that would be a collective no other rank makes).
        """
        from .training import _tell_the_ranks, _train_fail

        if isinstance(error, BaseException):
            _tell_the_ranks(self, error)
            raise error
        if not isinstance(error, str):
            raise TypeError(f"error must be an exception or a str, got {type(error).__name__}")
        status, _, cause = _train_fail(self, self._as_parameter_, int(_lib.Status.ERR_INVALID_ARGUMENT), error)
        err = error_for(status, "mb_train_fail")
        if cause is not None:
            raise err from cause
        raise err

    def _take_failure(self) -> Optional[tuple[str, BaseException]]:
        """(what, exception) of the first collective that failed since the last call, or
        None; cleared."""
        failure, self._failure = self._failure, None
        return failure

    def close(self) -> None:
        """Frees the duplicate communicator (collective). Safe to call more than once."""
        comm, self._comm = self._comm, None
        if comm is not None and not self._MPI.Is_finalized():
            comm.Free()

    def __enter__(self) -> "Communicator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"rank={self.rank}, size={self.size}"
        return f"Communicator({state})"

    # -- the collectives (called by the library on its training thread) ---------------

    def _guarded(self, what: str, body: Callable[[Any], None]) -> int:
        """Runs ``body(comm)``; any exception becomes a nonzero status, kept for the binding."""
        try:
            comm = self._comm
            if comm is None:
                raise ValueError("the Communicator was closed")
            body(comm)
            return 0
        except BaseException as e:  # noqa: BLE001 - nothing may unwind into the library
            if self._failure is None:
                self._failure = (f"{what} on rank {self.rank}", e)
            return 1

    def _allreduce_sum(self, data: Any, count: int, user_data: Any) -> int:
        # int (*allreduce_sum)(float *data, int64_t count, void *user_data);
        def body(comm: Any) -> None:
            if count <= 0:
                return
            a = np.ctypeslib.as_array(data, shape=(count,))  # float32 view, in place
            for start in range(0, count, _MAX_PIECE):
                comm.Allreduce(self._MPI.IN_PLACE, a[start:start + _MAX_PIECE], op=self._MPI.SUM)

        return self._guarded(f"allreduce_sum of {count} floats", body)

    def _allgather(self, send: Optional[int], receive: Optional[int], nbytes: int, user_data: Any) -> int:
        # int (*allgather)(const void *send, void *receive, int64_t bytes, void *user_data);
        def body(comm: Any) -> None:
            if nbytes <= 0:
                return
            MPI = self._MPI
            s = _bytes_at(send, nbytes)
            r = _bytes_at(receive, nbytes * self.size)
            if nbytes <= _MAX_PIECE:
                comm.Allgather([s, MPI.BYTE], [r, MPI.BYTE])
                return
            # Piece [start, start + n) of every rank's block: rank k's lands at
            # k * nbytes + start, one datatype whose extent is a whole block.
            for start in range(0, nbytes, _MAX_PIECE):
                n = min(_MAX_PIECE, nbytes - start)
                placed = MPI.BYTE.Create_hindexed([n], [start])
                block = placed.Create_resized(0, nbytes).Commit()
                try:
                    comm.Allgather([s[start:start + n], n, MPI.BYTE], [r, 1, block])
                finally:
                    block.Free()
                    placed.Free()

        return self._guarded(f"allgather of {nbytes} bytes", body)

    def _broadcast(self, data: Optional[int], nbytes: int, root: int, user_data: Any) -> int:
        # int (*broadcast)(void *data, int64_t bytes, int root, void *user_data);
        def body(comm: Any) -> None:
            if nbytes <= 0:
                return
            d = _bytes_at(data, nbytes)
            for start in range(0, nbytes, _MAX_PIECE):
                comm.Bcast([d[start:start + _MAX_PIECE], self._MPI.BYTE], root=root)

        return self._guarded(f"broadcast of {nbytes} bytes from rank {root}", body)
