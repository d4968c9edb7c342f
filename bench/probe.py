#!/usr/bin/env python3
"""The machine's two-core matrix-product rate, on command (see bench.py's MachineProbe).

On these shared virtual machines both cores sometimes run at about the speed of one for
seconds at a time (the host runs the two virtual CPUs on one physical core, or a
neighbour takes it): a scalar loop on one core does not slow down, but two cores
multiplying matrices together get no more done than one. bench.py asks this process for
the rate before and after each timed epoch and repeats epochs that ran while it was down.

One thread per core, each multiplying (256, 784) x (784, 128) float32 matrices with numpy
on one BLAS thread (numpy releases the GIL in matmul), started together; the reply is the
GFLOP/s of both together. One BLAS thread per caller: no BLAS thread pool is left
spinning between probes to take time from the epoch that follows.

    stdin: one line per probe ("probe"); stdout: one line per probe, the GFLOP/s.
"""

import os
import sys
import threading
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402

PRODUCTS = 6


def main():
    cores = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    rng = np.random.default_rng(0)
    pairs = [(rng.random((256, 784), dtype=np.float32), rng.random((784, 128), dtype=np.float32))
             for _ in range(cores)]
    outs = [np.empty((256, 128), dtype=np.float32) for _ in range(cores)]
    flops = 2.0 * 256 * 784 * 128 * PRODUCTS * cores

    def work(i, barrier):
        a, b = pairs[i]
        barrier.wait()
        for _ in range(PRODUCTS):
            np.matmul(a, b, out=outs[i])

    for line in sys.stdin:
        if line.strip() == "quit":
            break
        barrier = threading.Barrier(cores + 1)
        threads = [threading.Thread(target=work, args=(i, barrier)) for i in range(cores)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        print("%.3f" % (flops / (time.perf_counter() - t0) / 1e9), flush=True)


if __name__ == "__main__":
    main()
