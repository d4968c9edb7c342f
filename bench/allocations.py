"""The benchmark's allocation count alone (bench.py's phase_allocations: a minibatch worker
with bench/count_allocations.c preloaded, W1, calls of 1 and of 3 epochs at each batch size),
for the OPENBLAS_CORETYPE setting of the environment it runs in:

    python3 bench/allocations.py OUT.json [--lib PATH]

Prints one line (the counts, and the most allocations per mini-batch) and writes the counts
to OUT.json. Used for bench/runs/allocations/ after a change to what a training call
allocates, without rerunning the whole W1 phase."""
import argparse
import json
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--lib", default=os.path.normpath(os.path.join(
        HERE, "..", ".build", "release", "libminibatch.so")))
    a = ap.parse_args()
    args = types.SimpleNamespace(seed=0, threads=len(os.sched_getaffinity(0)), lib=a.lib)
    log_dir = os.path.join(HERE, "logs")
    os.makedirs(log_dir, exist_ok=True)
    m = 60000
    out = bench.phase_allocations(m, [32, 64, 128, 256, 512, m], args, dict(os.environ), log_dir)
    errors = [str(c["error"]) for c in ([out] if "error" in out else out.values()) if "error" in c]
    if errors:
        sys.exit("allocations: %s" % "; ".join(errors))
    per_batch = max(c["per_batch"] for c in out.values())
    print("OPENBLAS_CORETYPE=%s, %d threads: allocations of a call of 1 epoch / of 3 epochs: %s; "
          "most per mini-batch %.6f" % (
              os.environ.get("OPENBLAS_CORETYPE", "unset"), args.threads,
              ", ".join("%s: %d / %d" % ("full" if b == str(m) else b, c["one_epoch"], c["three_epochs"])
                        for b, c in out.items()), per_batch))
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
