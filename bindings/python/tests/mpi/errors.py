"""Rank script: training calls that must fail on every rank, then one that must succeed;
saves what each rank got in <outdir>/rank<k>.json.

    mpirun -np 3 python3 -m mpi4py errors.py OUTDIR

Cases, in order, each a separate training call on every rank:
  batch_size     rank 1 asks for another batch size;
  seed           the last rank asks for another seed;
  nan            one rank's X holds a NaN in a row that rank itself reads (batch 2, not
                 shuffled), the other ranks' X are clean;
  after          the same call on every rank with good data (the communicator still works);
  communication  every rank's collectives raise (minibatch_gd.mpi.CommunicationError path).
"""

import json
import os
import sys

import numpy as np

import minibatch_gd as mb

import cases

outdir = sys.argv[1]


def attempt(comm, X, y, **options):
    """Trains a fresh network; (error or None, parameters before, parameters after)."""
    with mb.Network([2, 32, 32, 2], seed=11) as net:
        before = net.get_parameters()
        error = None
        try:
            net.train(X, y, epochs=2, learning_rate=0.01, threads=1, shards=cases.SHARDS,
                      communicator=comm, **dict(dict(batch_size=64, seed=5), **options))
        except mb.MinibatchError as e:
            error = e
        return error, before, net.get_parameters(), net.epochs_trained


X, y = mb.make_moons(968, noise=0.2, seed=3)
report = {}
with cases.counting_communicator() as comm:
    k, R = comm.rank, comm.size

    e, *_ = attempt(comm, X, y, batch_size=32 if k == 1 else 64)
    report["batch_size"] = cases.error_record(e)

    e, *_ = attempt(comm, X, y, seed=6 if k == R - 1 else 5)
    report["seed"] = cases.error_record(e)

    batch, row = 2, 63  # the last row of the third batch of 64, rows in stored order
    nan_rank = cases.owner_of_row(row, 64, cases.SHARDS, R)
    Xn = X.copy()
    if k == nan_rank:
        Xn[batch * 64 + row, 1] = np.nan
    e, before, after, epochs = attempt(comm, Xn, y, shuffle=False)
    report["nan"] = dict(cases.error_record(e), nan_rank=nan_rank, unchanged=bool(np.array_equal(before, after)),
                         epochs_trained=epochs)

    e, before, after, epochs = attempt(comm, X, y)
    report["after"] = dict(cases.error_record(e), params=after.tobytes().hex(), epochs_trained=epochs)

    class Failing(type(comm)):
        def _guarded(self, what, body):
            def fail(mpi_comm):
                raise RuntimeError(f"injected failure in {what}")
            return super()._guarded(what, fail)

    with Failing() as failing:
        e, *_ = attempt(failing, X, y)
        report["communication"] = dict(cases.error_record(e), cause=repr(getattr(e, "__cause__", None)))

with open(os.path.join(outdir, f"rank{k}.json"), "w") as f:
    json.dump(report, f, indent=1)
