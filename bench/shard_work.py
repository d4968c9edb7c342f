"""Where a second shard pays: an epoch at 2 threads with one shard against two, for small
models at batches of growing work (rows x (parameters + inputs)). It measured the layout's
work rule (TrainingStep.minimumShardWork, the header's "The layout").

    PYTHONPATH=bindings/python MINIBATCH_LIBRARY=.build/release/libminibatch.so \\
        python3 bench/shard_work.py 64-32-4,100-64-10,784-32-10 64e3,128e3,256e3

A batch is cut into at most as many shards as the layout allows, so `shards=2` gives two
shards only where the loaded library's rule does: from 2 (32,768 + 3 P) of work with the
current rule. The last two columns give the shards of the current rule and of the rule
before (8,192 of work a shard), from the header's formula. The figures in
bench/runs/zen3/shard-work.txt were taken on the build before the current rule (commit
22b05a9), whose layout gave two shards from 16,384 of work, so both columns were measured.
"""
import statistics
import sys
import time

import numpy as np

import minibatch_gd as mb


def epoch(sizes, X, y, batch, threads, shards, reps=7):
    """Median seconds of one epoch (after a first, untimed one)."""
    with mb.Network(sizes, seed=1) as net:
        net.train(X, y, epochs=1, batch_size=batch, threads=threads, shards=shards)
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            net.train(X, y, epochs=1, batch_size=batch, threads=threads, shards=shards)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def rule(rows, parameters, inputs, team, per_shard):
    return max(1, min(team, rows // 4, rows * (parameters + inputs) // per_shard))


def main():
    models = [[int(s) for s in a.split("-")] for a in sys.argv[1].split(",")]
    targets = [float(t) for t in sys.argv[2].split(",")]
    rs = np.random.RandomState(0)
    print("model        batch     work   one shard (us a batch)  two shards  ratio  shards: rule  old rule")
    for sizes in models:
        with mb.Network(sizes, seed=1) as probe:
            parameters = probe.n_parameters
        per_row = parameters + sizes[0]
        m = 16384 if sizes[0] < 784 else 8192
        X = rs.rand(m, sizes[0]).astype(np.float32)
        y = rs.randint(0, sizes[-1], m).astype(np.int32)
        for target in targets:
            b = max(8, int(round(target / per_row)))
            if b > m:
                continue
            one = min(epoch(sizes, X, y, b, 2, 1) for _ in range(2))
            two = min(epoch(sizes, X, y, b, 2, 2) for _ in range(2))
            print(f"{'-'.join(map(str, sizes)):12s} {b:5d} {b * per_row:8d}   {one / (m / b) * 1e6:8.1f}"
                  f"              {two / (m / b) * 1e6:8.1f}     {two / one:.2f}"
                  f"   {rule(b, parameters, sizes[0], 2, 32768 + 3 * parameters):3d}"
                  f"      {rule(b, parameters, sizes[0], 2, 8192):3d}", flush=True)


if __name__ == "__main__":
    main()
