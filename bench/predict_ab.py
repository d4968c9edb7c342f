"""Two builds of libminibatch.so side by side on predictions: W1's network (784-128-10) after
a short training on 2 threads, then, 5 times: predict 60,000 random rows, train one epoch at
batch 256 on 2 threads right after (within OpenBLAS's 0.1 s spin, if the prediction used its
threads), and evaluate 10,000 rows; 0.3 s apart. Each build in its own process, the builds
alternating round by round (their order swapped every other round). Prints each build's
median seconds of the three.

    python3 bench/predict_ab.py BEFORE.so AFTER.so [--rounds 4]

Each .so needs its shared libraries beside it (libscipy_openblas.so: RUNPATH $ORIGIN).
Written for 0.12.6 (predictions on the training team instead of OpenBLAS's threads).
"""

import argparse
import os
import statistics

from ab import alternating_runs
CHILD = r'''
import sys, time, statistics, numpy as np
sys.path.insert(0, sys.argv[1])
import minibatch_gd as mb
rng = np.random.default_rng(0)
X = rng.standard_normal((60000, 784), dtype=np.float32)
y = rng.integers(0, 10, 60000).astype(np.int32)
net = mb.Network([784, 128, 10], seed=1)
net.train(X[:6400], y[:6400], epochs=1, batch_size=256, threads=2)
time.sleep(0.3)
pt, tt, et = [], [], []
for i in range(5):
    t = time.perf_counter(); net.predict(X); pt.append(time.perf_counter() - t)
    t = time.perf_counter(); net.train(X, y, epochs=1, batch_size=256, threads=2); tt.append(time.perf_counter() - t)
    t = time.perf_counter(); net.evaluate(X[:10000], y[:10000]); et.append(time.perf_counter() - t)
    time.sleep(0.3)
print(statistics.median(pt), statistics.median(tt), statistics.median(et))
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    libs = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    print("OPENBLAS_CORETYPE=%s" % os.environ.get("OPENBLAS_CORETYPE", "unset"))
    for k, runs in alternating_runs(libs, CHILD, args.rounds).items():
        med = [statistics.median(x[i] for x in runs) for i in range(3)]
        print("%s: predict 60,000 rows %.4f s, an epoch right after %.4f s, evaluate 10,000 rows %.4f s" % (libs[k], *med))


if __name__ == "__main__":
    main()
