"""Rank script: calls a Communicator's three C function pointers directly (as the library
does) on buffers with known contents, and saves what each rank received in
<outdir>/rank<k>.npz; the test checks it against MPI's definitions.

    mpirun -np 3 python3 -m mpi4py collectives.py OUTDIR [--piece N]
"""

import argparse
import ctypes
import os

import numpy as np

import minibatch_gd.mpi

parser = argparse.ArgumentParser()
parser.add_argument("outdir")
parser.add_argument("--piece", type=int, default=0)
args = parser.parse_args()
if args.piece:
    minibatch_gd.mpi._MAX_PIECE = args.piece

F32P = ctypes.POINTER(ctypes.c_float)
with minibatch_gd.mpi.Communicator() as comm:
    c, k, R = comm._struct, comm.rank, comm.size
    out = {"rank": k, "size": R}

    summed = np.arange(37, dtype=np.float32) * (k + 1)
    out["allreduce_status"] = c.allreduce_sum(summed.ctypes.data_as(F32P), summed.size, None)
    out["allreduce"] = summed

    send = (np.arange(29, dtype=np.uint8) + 100 * k).astype(np.uint8)
    gathered = np.zeros(29 * R, dtype=np.uint8)
    out["allgather_status"] = c.allgather(send.ctypes.data, gathered.ctypes.data, send.size, None)
    out["allgather"] = gathered

    data = np.full(31, k, dtype=np.uint8) if k != R - 1 else np.arange(31, dtype=np.uint8)
    out["broadcast_status"] = c.broadcast(data.ctypes.data, data.size, R - 1, None)
    out["broadcast"] = data

    # Empty buffers: nothing to send, success (the library may pass NULL).
    out["empty_status"] = (c.allreduce_sum(None, 0, None) | c.allgather(None, None, 0, None)
                           | c.broadcast(None, 0, 0, None))

    # A collective that raises returns nonzero and keeps the exception for the binding.
    out["failure_before"] = comm._take_failure() is not None
out["closed_status"] = c.allreduce_sum(summed.ctypes.data_as(F32P), summed.size, None)
failure = comm._take_failure()
out["closed_failure"] = "" if failure is None else f"{failure[0]}: {type(failure[1]).__name__}: {failure[1]}"
np.savez(os.path.join(args.outdir, f"rank{k}.npz"), **out)
