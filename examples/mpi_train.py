"""Training across processes with MPI: two moons, Adam, every rank a share of each batch.

    mpirun -np 2 python3 examples/mpi_train.py

Needs mpi4py (pip install mpi4py) and an MPI (Debian: apt-get install openmpi-bin
libopenmpi-dev); the minibatch package on PYTHONPATH (bindings/python) or installed.

Every rank runs this same script: it builds the same data, the same network and makes the
same training call. The library cuts each mini-batch into `shards` pieces and gives each
rank its own; in the default 'deterministic' mode every rank then sums all the pieces'
gradients in the same order, so every rank ends with the same weights, bit for bit the
weights one process gets with the same `shards` (try -np 1, 2 or 4: the costs printed do
not change).
"""

import minibatch_gd as mb
from minibatch_gd.mpi import Communicator

# The whole data set on every rank (each reads only its own rows of each batch); a fixed
# seed, so that every rank makes the same one.
X, y = mb.make_moons(8000, noise=0.2, seed=1)
X_test, y_test = mb.make_moons(2000, noise=0.2, seed=2)

# Communicator() duplicates MPI.COMM_WORLD, so training's messages never mix with yours;
# leaving the `with` block frees the duplicate (before MPI is finalised at exit).
with Communicator() as comm, mb.Network([2, 32, 32, 2], seed=0) as net:
    history = net.train(
        X, y,
        epochs=10,
        batch_size=256,
        learning_rate=0.01,
        optimizer=mb.Adam(),
        seed=0,           # the shuffle order: the same on every rank
        shards=8,         # the layout: the result depends on it, not on the ranks
        threads=1,        # threads per rank (each rank computes its shards on them)
        communicator=comm,
    )
    # Every rank has the same weights and history; rank 0 reports.
    if comm.rank == 0:
        print(f"trained on {comm.size} rank(s)")
        for epoch, cost in enumerate(history.epoch_costs, 1):
            print(f"epoch {epoch:2d}  cost {cost:.4f}")
        _, accuracy = net.evaluate(X_test, y_test)
        print(f"test accuracy {accuracy:.3f}")
