"""Rank script: training calls that must fail on every rank, then one that must succeed;
saves what each rank got in <outdir>/rank<k>.json.

    mpirun -np 3 python3 -m mpi4py errors.py OUTDIR

Cases, in order, each a separate training call on every rank:
  batch_size     rank 1 asks for another batch size;
  seed           the last rank asks for another seed;
  nan            one rank's X holds a NaN in a row that rank itself reads (batch 2, not
                 shuffled), the other ranks' X are clean;
  after          the same call on every rank with good data (the communicator still works);
  python         rank 1's sample_weight has the wrong shape: the binding raises ValueError
                 there before it calls the library, and tells the others (mb_train_fail);
  closed         rank 0's history is closed (raised just before the C call);
  all_python     every rank's sample_weight has the wrong shape (each raises its ValueError);
  dataset        the last rank gives train_dataset something that is not a Dataset, the
                 others a Dataset of files;
  fail_str       the last rank calls Communicator.fail_training("...") in place of training;
  fail_exc       rank 0 calls fail_training(FileNotFoundError(...));
  fail_base      rank 0 calls fail_training(MinibatchError("...")), whose status (-1) is no
                 library status: told as MB_ERR_INVALID_ARGUMENT;
  retold         every rank's call fails (batch sizes differ), and rank 1 then hands that
                 error, and a ValueError the binding told, to fail_training: raised as they
                 are, not told again (a second telling would be a collective no other rank
                 makes: "after2" would fail or hang);
  after2         the same call as "after" (the communicator still works);
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
        except Exception as e:  # the library's, or the binding's own (ValueError, ...)
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

    # Errors the binding raises on one rank before it calls the library.
    e, before, after, epochs = attempt(comm, X, y, sample_weight=np.ones(5 if k == 1 else len(X)))
    report["python"] = dict(cases.error_record(e), unchanged=bool(np.array_equal(before, after)), epochs_trained=epochs)

    with mb.Network([2, 32, 32, 2], seed=11) as net:
        history = mb.History()
        if k == 0:
            history.close()
        try:
            net.train(X, y, epochs=2, batch_size=64, seed=5, learning_rate=0.01, threads=1, shards=cases.SHARDS,
                      communicator=comm, history=history)
            e = None
        except Exception as err:
            e = err
        report["closed"] = cases.error_record(e)

    e, *_ = attempt(comm, X, y, sample_weight=np.ones(5))
    report["all_python"] = cases.error_record(e)

    if k == 0:
        np.save(os.path.join(outdir, "X.npy"), X)
        np.save(os.path.join(outdir, "y.npy"), y.astype(np.int32))
    comm.comm.Barrier()
    with mb.Dataset(os.path.join(outdir, "X.npy"), os.path.join(outdir, "y.npy")) as ds, \
            mb.Network([2, 32, 32, 2], seed=11) as net:
        try:
            net.train_dataset(ds if k != R - 1 else "X.npy", epochs=2, batch_size=64, learning_rate=0.01,
                              threads=1, shards=cases.SHARDS, communicator=comm)
            e = None
        except Exception as err:
            e = err
        report["dataset"] = dict(cases.error_record(e), epochs_trained=net.epochs_trained)

    def fail_or_train(fail):
        if k == fail[0]:
            try:
                comm.fail_training(fail[1])
            except Exception as err:
                return err
            return None
        return attempt(comm, X, y)[0]

    report["fail_str"] = cases.error_record(fail_or_train((R - 1, "could not read part 2 of the data")))
    report["fail_exc"] = cases.error_record(fail_or_train((0, FileNotFoundError(2, "No such file", "part0.npy"))))

    report["fail_base"] = cases.error_record(fail_or_train((0, mb.MinibatchError("a base-class error"))))

    e, *_ = attempt(comm, X, y, batch_size=32 if k == 1 else 64)
    e2, *_ = attempt(comm, X, y, sample_weight=np.ones(5 if k == 1 else len(X)))
    retold = []
    if k == 1:
        for err in (e, e2):
            try:
                comm.fail_training(err)
            except Exception as again:
                retold.append(dict(cases.error_record(again), same=again is err))
    report["retold"] = dict(cases.error_record(e), retold=retold)

    e, before, after, epochs = attempt(comm, X, y)
    report["after2"] = dict(cases.error_record(e), params=after.tobytes().hex(), epochs_trained=epochs)

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
