"""Thread scaling of a W1-like epoch: minibatch and PyTorch, each at 1, 2, 4, ... threads.

    python3 bench/threads.py [--threads 1,2,4,8,16] [--batches 64,256,512,full]
                             [--hidden 128,512] [--rounds 3] [--budget SECONDS] [--out FILE]

For each hidden width (784-H-10: H = 128 is W1, whose first layer is below the fused update's
2^18 weights; 512 is above it), each implementation and each thread count, one fresh
process (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS set to the count, PyTorch's
set_num_threads too) trains on the benchmark's data (bench/workers.py: 60,000 x 784, the
same seed), one warm-up epoch and `rounds` timed epochs per batch size, and reports the
median. The table gives seconds, the speed-up over the same implementation on one thread,
and minibatch / PyTorch. Made for a lent machine with many cores and no Swift (issue 20's
16-core server CPU; bench/device.sh runs it there), where a session cannot rebuild: it
measures the build it is given (MINIBATCH_LIBRARY or --lib). `--budget` bounds the whole:
no process starts after it, a running one is stopped at it, and what ran is reported (the
JSON is written after every process).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def worker(cfg):
    """One implementation at one thread count: {"batch": median seconds, ...}."""
    import numpy as np  # noqa: F401  (after the thread variables are set)
    import workers as W

    W.take_stdout()
    X, y = W.make_data("mlp", cfg["m"], cfg["seed"])
    sizes = [784, cfg["hidden"], 10]
    wcfg = {"lib": cfg["lib"], "threads": cfg["threads"], "seed": cfg["seed"]}
    if cfg["impl"] == "minibatch":
        impl = W.MiniBatchImpl(wcfg, X, y, sizes)
        info = W.blas_info(impl.lib)
    else:
        impl = W.TorchImpl(wcfg, X, y, sizes, False)
        info = {"torch": impl.torch.__version__, "threads": impl.torch.get_num_threads()}
    out = {"info": info, "seconds": {}}
    for b in cfg["batches"]:
        batch = cfg["m"] if b == "full" else int(b)
        impl.epoch(batch, 0)
        times = [impl.epoch(batch, r + 1) for r in range(cfg["rounds"])]
        out["seconds"][str(b)] = statistics.median(times)
    W.reply(**out)


def run_one(cfg, timeout):
    """One worker process, stopped after `timeout` seconds (then an error, not a result)."""
    env = dict(os.environ)
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = str(cfg["threads"])
    try:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(cfg)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": "stopped after %.0f s (the budget)" % timeout}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"error": "exit %d: %s" % (p.returncode, p.stderr.strip().splitlines()[-1:])}
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker")
    ap.add_argument("--threads", default=None,
                    help="comma-separated thread counts (default: 1, 2, 4, ... up to the CPUs)")
    ap.add_argument("--batches", default="64,256,512,full")
    ap.add_argument("--hidden", default="128,512")
    ap.add_argument("--impls", default="minibatch,torch")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--m", type=int, default=60000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=0, help="seconds; 0: no limit")
    ap.add_argument("--lib", default=os.environ.get("MINIBATCH_LIBRARY") or os.path.join(
        HERE, "..", ".build", "release", "libminibatch.so"))
    ap.add_argument("--out", help="write the results as JSON")
    args = ap.parse_args()
    if args.worker:
        return worker(json.loads(args.worker))

    cpus = len(os.sched_getaffinity(0))
    if args.threads:
        counts = [int(t) for t in args.threads.split(",")]
    else:
        counts, t = [], 1
        while t < cpus:
            counts.append(t)
            t *= 2
        counts.append(cpus)
    batches = args.batches.split(",")
    impls = args.impls.split(",")
    if "torch" in impls:
        try:
            import torch  # noqa: F401
        except ImportError as e:
            print("PyTorch left out: %s" % e, flush=True)
            impls.remove("torch")
    print("threads.py: %d CPUs, OPENBLAS_CORETYPE=%s, threads %s, batches %s, %d timed "
          "epochs each (median)" % (cpus, os.environ.get("OPENBLAS_CORETYPE", "unset"),
                                    counts, batches, args.rounds), flush=True)
    start = time.monotonic()
    results = {}

    def save():
        if args.out:
            with open(args.out, "w") as f:
                json.dump({"cpus": cpus, "coretype": os.environ.get("OPENBLAS_CORETYPE", "unset"),
                           "threads": counts, "batches": batches, "rounds": args.rounds,
                           "results": results}, f, indent=1)

    runs = [(int(h), t, impl) for h in args.hidden.split(",") for t in counts for impl in impls]
    for hidden, t, impl in runs:
        left = args.budget - (time.monotonic() - start) if args.budget else 600
        if left < 5:
            print("budget of %.0f s spent: stopped before 784-%d-10, %s, %d threads"
                  % (args.budget, hidden, impl, t), flush=True)
            break
        cfg = {"impl": impl, "threads": t, "hidden": hidden, "batches": batches,
               "rounds": args.rounds, "m": args.m, "seed": args.seed,
               "lib": os.path.abspath(args.lib)}
        r = run_one(cfg, min(left, 600))
        results.setdefault(str(hidden), {}).setdefault(impl, {})[str(t)] = r
        save()
        print("  784-%d-10 %-9s %2d threads: %s" % (
            hidden, impl, t, r.get("error") or "  ".join(
                "%s %.4f" % (b, s) for b, s in r["seconds"].items())), flush=True)
    print()
    for hidden, by_impl in results.items():
        print("784-%s-10: median seconds per epoch (speed-up over 1 thread) [minibatch / torch]"
              % hidden)
        print("  %-6s %-9s" % ("batch", "impl") + "".join("%18s" % ("%s thr" % t) for t in counts))
        for b in batches:
            for impl, by_t in by_impl.items():
                one = by_t.get("1", {}).get("seconds", {}).get(b)
                row = "  %-6s %-9s" % (b, impl)
                for t in counts:
                    s = by_t.get(str(t), {}).get("seconds", {}).get(b)
                    row += "%18s" % ("-" if s is None else "%.4f (%.1fx)" % (s, one / s) if one
                                     else "%.4f" % s)
                print(row)
            if "torch" in by_impl and "minibatch" in by_impl:
                row = "  %-6s %-9s" % (b, "mb/torch")
                for t in counts:
                    a = by_impl["minibatch"].get(str(t), {}).get("seconds", {}).get(b)
                    c = by_impl["torch"].get(str(t), {}).get("seconds", {}).get(b)
                    row += "%18s" % ("-" if a is None or c is None else "%.3f" % (a / c))
                print(row)
        print()


if __name__ == "__main__":
    main()
