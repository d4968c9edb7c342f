"""Rank script: trains every case of cases.py across the ranks and saves, per rank,
<outdir>/rank<k>.npz (parameters and costs of each run, and the collectives it made).

    mpirun -np 4 python3 -m mpi4py train.py OUTDIR [--mode fast] [--piece N]

--piece N sends at most N elements per MPI call (minibatch_gd.mpi._MAX_PIECE), so that the
pieces of large buffers are exercised on small ones.
"""

import argparse
import os

import minibatch_gd.mpi

import cases

parser = argparse.ArgumentParser()
parser.add_argument("outdir")
parser.add_argument("--mode", default="deterministic", choices=["deterministic", "fast"])
parser.add_argument("--piece", type=int, default=0)
args = parser.parse_args()
if args.piece:
    minibatch_gd.mpi._MAX_PIECE = args.piece

with cases.counting_communicator() as comm:
    results = {}
    for data_name, make in cases.DATA.items():
        data = make()
        for optimizer in cases.OPTIMIZERS:
            results[f"{data_name}.{optimizer}"] = cases.train(data, optimizer, comm, args.mode)
    cases.save(os.path.join(args.outdir, f"rank{comm.rank}.npz"), results, calls=comm.calls)
