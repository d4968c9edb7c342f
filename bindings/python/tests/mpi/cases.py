"""The training runs tests/test_mpi.py checks, shared by the rank scripts beside this file
(run under mpirun) and by the test itself (the one-process reference), so that both train
exactly alike: same data, model, seeds and options, only ``communicator`` differs."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

import minibatch_gd as mb

#: The layout every run uses: the result depends on it, never on the ranks or threads.
SHARDS = 4

OPTIMIZERS = {
    "sgd": (mb.SGD(), 0.1),
    "nesterov": (mb.SGD(momentum=0.9, nesterov=True), 0.02),
    "rmsprop": (mb.RMSprop(), 0.002),
    "adam": (mb.Adam(), 0.003),
    "adamw": (mb.AdamW(weight_decay=0.05), 0.003),
    "adagrad": (mb.Adagrad(), 0.01),
    "adamax": (mb.Adamax(), 0.003),
    "amsgrad": (mb.Adam(beta2=0.9, amsgrad=True), 0.003),
    "nadam": (mb.NAdam(), 0.003),
    "radam": (mb.RAdam(), 0.003),
    "adadelta": (mb.Adadelta(), 1.0),
}


def moons() -> dict[str, Any]:
    """Two moons, 968 rows in batches of 64: 4 shards each (the layout's work rule, header
    "The layout": 64 * (4482 + 2) / (32768 + 3 * 4482) = 6), except a last batch of 8 rows
    that makes one shard (8 * 4484 < 32768 + 3 * 4482), so most ranks have none."""
    X, y = mb.make_moons(968, noise=0.2, seed=3)
    return dict(X=X, y=y, layers=[2, 64, 64, 2], batch_size=64, epochs=3)


def digits() -> dict[str, Any]:
    """784-128-10 on 2048 synthetic rows labelled by a random linear teacher, in batches of
    200 (the last of 48 rows)."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((2048, 784), dtype=np.float32)
    teacher = rng.standard_normal((784, 10), dtype=np.float32)
    y = np.argmax(X @ teacher, axis=1).astype(np.int32)
    return dict(X=X, y=y, layers=[784, 128, 10], batch_size=200, epochs=2)


DATA = {"moons": moons, "digits": digits}


def train(data: dict[str, Any], optimizer: str, communicator: Any = None,
          mode: str = "deterministic") -> dict[str, np.ndarray]:
    """Trains a fresh network; returns its parameters and its history's costs."""
    rule, rate = OPTIMIZERS[optimizer]
    with mb.Network(data["layers"], seed=11) as net:
        h = net.train(data["X"], data["y"], epochs=data["epochs"], batch_size=data["batch_size"],
                      learning_rate=rate, seed=5, optimizer=rule, threads=1, shards=SHARDS,
                      communicator=communicator, distributed_mode=mode)
        return dict(params=net.get_parameters(), batch_costs=h.batch_costs, epoch_costs=h.epoch_costs)


def train_file(x_path: str, y_path: str, shuffle: str, communicator: Any = None) -> dict[str, np.ndarray]:
    """Adam on a file dataset (mb_train_dataset); batches of 64 make 4 shards, as moons'."""
    with mb.Dataset(x_path, y_path, shuffle=shuffle, block_bytes=4096) as ds, \
            mb.Network([ds.n_features, 64, 64, 2], seed=2) as net:
        h = net.train_dataset(ds, epochs=3, batch_size=64, learning_rate=0.003, seed=9,
                              optimizer=mb.Adam(), threads=1, shards=SHARDS, communicator=communicator)
        return dict(params=net.get_parameters(), batch_costs=h.batch_costs, epoch_costs=h.epoch_costs)


def counting_communicator(comm: Any = None) -> Any:
    """A minibatch_gd.mpi.Communicator that counts its collectives (``calls``), so that a test
    can tell a distributed run from one the library ran alone."""
    from minibatch_gd.mpi import Communicator

    class Counting(Communicator):
        calls = 0

        def _guarded(self, what: str, body: Any) -> int:
            self.calls += 1
            return super()._guarded(what, body)

    return Counting(comm)


def save(path: str, results: dict[str, dict[str, np.ndarray]], **extra: Any) -> None:
    """results[run][name] -> one .npz with keys 'run.name' (and the extra values)."""
    flat = {f"{run}.{k}": v for run, r in results.items() for k, v in r.items()}
    flat.update({k: np.asarray(v) for k, v in extra.items()})
    np.savez(path, **flat)


def load(path: str) -> dict[str, Any]:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def owner_of_row(row: int, rows: int, shards: int, ranks: int) -> int:
    """The rank that reads row ``row`` of a batch of ``rows`` rows cut into ``shards``
    shards (the header's layout: shard s holds rows [s*r/n, (s+1)*r/n); rank k computes
    shards [k*n/R, (k+1)*n/R))."""
    s = next(s for s in range(shards) if s * rows // shards <= row < (s + 1) * rows // shards)
    return next(k for k in range(ranks) if k * shards // ranks <= s < (k + 1) * shards // ranks)


def error_record(e: Optional[BaseException]) -> dict[str, Any]:
    if e is None:
        return dict(error=None, message="", status=0)
    return dict(error=type(e).__name__, message=str(e), status=int(getattr(e, "status", -1)))
