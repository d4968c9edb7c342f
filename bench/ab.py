"""Two builds of libminibatch.so side by side: W1 (784-128-10, 60,000 random rows) trained
for one epoch at batch 64 on 2 threads with Adam and with momentum 0.9, each build in its own
process, the builds alternating round by round (their order swapped every other round).
Prints each build's median epoch and the ratio of medians (second / first). For a change in
the update kernels, whose cost is largest at small batches.

    python3 bench/ab.py BEFORE.so AFTER.so [--rounds 7]

Each .so needs its shared libraries beside it (libscipy_openblas.so: RUNPATH $ORIGIN).
"""

import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD = r'''
import sys, time, numpy as np
sys.path.insert(0, sys.argv[1])
import minibatch_gd as mb
rng = np.random.default_rng(0)
X = rng.standard_normal((60000, 784), dtype=np.float32)
y = rng.integers(0, 10, 60000).astype(np.int32)
out = []
for opt in (mb.Adam(), mb.SGD(momentum=0.9)):
    with mb.Network([784, 128, 10], seed=1) as net:
        net.train(X[:6400], y[:6400], epochs=1, batch_size=64, learning_rate=1e-3, optimizer=opt, threads=2)
        t = time.perf_counter()
        net.train(X, y, epochs=1, batch_size=64, learning_rate=1e-3, optimizer=opt, threads=2)
        out.append(time.perf_counter() - t)
print(out[0], out[1])
'''


def alternating_runs(libs, child, rounds):
    """Runs the Python source `child` (given the binding's directory as its argument) once per
    round for each library of `libs` ({name: path of a libminibatch.so}), in its own process,
    the libraries alternating round by round (their order swapped every other round): each
    name's list of the numbers each run printed."""
    binding = os.path.join(HERE, "..", "bindings", "python")
    runs = {k: [] for k in libs}
    for r in range(rounds):
        for k in (list(libs) if r % 2 == 0 else list(libs)[::-1]):
            env = dict(os.environ, MINIBATCH_LIBRARY=libs[k])
            out = subprocess.run([sys.executable, "-c", child, binding], env=env, capture_output=True, text=True)
            if out.returncode:
                sys.exit(out.stderr)
            runs[k].append([float(v) for v in out.stdout.split()])
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    libs = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    times = {}
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print("CPU: %s; OPENBLAS_CORETYPE=%s" % (model, os.environ.get("OPENBLAS_CORETYPE", "(unset)")), flush=True)
    for k, v in alternating_runs(libs, CHILD, args.rounds).items():
        times[k] = [t[-2:] for t in v]
    for k, v in times.items():
        print("%-6s %s: Adam %.3f s, momentum %.3f s (medians of %d)" % (
            k, libs[k], statistics.median(t[0] for t in v), statistics.median(t[1] for t in v), args.rounds))
    ratio = [statistics.median(a[i] for a in times["after"]) / statistics.median(b[i] for b in times["before"])
             for i in (0, 1)]
    print("after / before: Adam %.3f, momentum %.3f" % tuple(ratio))


if __name__ == "__main__":
    main()
