"""Rank script: trains on a file dataset (cases.train_file) with the exact and the block
shuffle across the ranks; saves <outdir>/rank<k>.npz.

    mpirun -np 2 python3 -m mpi4py dataset.py OUTDIR X.npy y.npy
"""

import os
import sys

import cases

outdir, x_path, y_path = sys.argv[1:4]
with cases.counting_communicator() as comm:
    results = {shuffle: cases.train_file(x_path, y_path, shuffle, comm) for shuffle in ("exact", "block")}
    cases.save(os.path.join(outdir, f"rank{comm.rank}.npz"), results, calls=comm.calls)
