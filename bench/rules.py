"""Update rules side by side: W1 (784-128-10, MNIST-sized data) trained with plain gradient
descent, momentum (0.9) and Adam by minibatch, PyTorch (torch.optim.SGD / Adam, with a
DataLoader and with randperm slicing) and scikit-learn (solver 'sgd' with momentum,
'adam'), each in its own worker process (bench/workers.py), the same data, the same rule
and rate, all under this run's OPENBLAS_CORETYPE.

Prints, per rule and batch size, the median epoch of every peer and minibatch's ratio to
the fastest peer with the same rule (#16's target: at most 0.6), and minibatch's Adam and
momentum epochs against its own plain gradient descent (#16's target for Adam at batch
128: at most 1.15). Medians over --rounds timed rounds after one warm-up epoch per cell;
the order of the workers rotates every round, and each epoch starts once the other
processes use less than 0.15 of a core (their threads spin after an epoch). Results go to
bench/out/rules.json.

    python3 bench/rules.py [--m 60000] [--batches 64,128,256] [--rounds 5] [--threads N]
                           [--rules gd,momentum,adam,adagrad,adamax,amsgrad,nadam,radam,
                                    rmsprop_centered_momentum]

Adagrad, Adamax and AMSGrad (0.6.0), NAdam, RAdam and centred RMSprop with momentum (0.7.0)
run against PyTorch's only: scikit-learn has none.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
from workers import RULES  # noqa: E402

PEERS = ["minibatch", "torch-dataloader", "torch-randperm", "sklearn"]
# minibatch with subnormals kept (mb_train_options.denormals = MB_DENORMALS_KEEP, PyTorch's
# default arithmetic), beside its default (flushed): not a peer, shown for what flushing saves.
KEEP = "mb-keep-denormals"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, default=60000)
    ap.add_argument("--batches", default="64,128,256")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--rules", default="gd,momentum,adam")
    ap.add_argument("--no-sklearn", action="store_true", help="leave scikit-learn out (slowest)")
    ap.add_argument("--no-keep-denormals", action="store_true",
                    help="leave out minibatch with subnormals kept (MB_DENORMALS_KEEP)")
    ap.add_argument("--lib", default=os.path.normpath(os.path.join(
        HERE, "..", ".build", "release", "libminibatch.so")))
    ap.add_argument("--out", default=os.path.join(HERE, "out", "rules.json"))
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    rules = args.rules.split(",")
    peers = [p for p in PEERS if not (args.no_sklearn and p == "sklearn")]
    columns = peers + ([] if args.no_keep_denormals else [KEEP])
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads))
    log_dir = os.path.join(HERE, "logs")
    os.makedirs(log_dir, exist_ok=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    print("CPU: %s; %d threads; OPENBLAS_CORETYPE=%s" % (
        bench.cpu_model(), args.threads, os.environ.get("OPENBLAS_CORETYPE", "(unset)")), flush=True)

    base = {"workload": "mlp", "m": args.m, "seed": 0, "threads": args.threads, "lib": args.lib}
    workers = {}
    for rule in rules:
        # scikit-learn has no Adagrad, Adamax or AMSGrad
        names = {"%s/%s" % (rule, p): p for p in columns if p != "sklearn" or rule in ("gd", "momentum", "adam")}
        for name, impl in names.items():
            cfg = dict(base, impl=impl, rule=rule)
            if impl == KEEP:
                cfg.update(impl="minibatch", keep_denormals=True)
            workers[name] = bench.Worker(name.replace("/", "-"), cfg, env, log_dir)
    for w in workers.values():
        w.wait_ready()
        if w.error:
            print("  %-28s unavailable: %s" % (w.name, w.error), flush=True)
    info = {n: w.info for n, w in workers.items()}
    mb_info = next((i.get("minibatch_blas") for n, i in info.items() if n.endswith("/minibatch") and i), None)
    print("minibatch's backend: %s" % json.dumps(mb_info), flush=True)

    times = {n: {b: [] for b in batches} for n in workers}
    names = list(workers)
    for r in range(args.rounds + 1):
        t0 = time.time()
        for i, b in enumerate(batches):
            k = (r + i) % len(names)
            for n in names[k:] + names[:k]:
                w = workers[n]
                if not w.alive():
                    continue
                # Other workers' threads (PyTorch's, OpenBLAS's) spin for a while after their
                # epoch: each epoch starts once the rest of the machine is quiet.
                bench.wait_quiet(max_wait=5.0, budget=False)
                reply = w.ask(cmd="epoch", batch=b, round=r)
                if not reply.get("ok"):
                    print("  %s batch %d: %s" % (n, b, reply.get("error")), flush=True)
                    w.fail(reply.get("error"))
                    continue
                if r > 0:
                    times[n][b].append(reply["seconds"])
        print("  round %d/%d%s done in %.0f s" % (r, args.rounds, " (warm-up)" if r == 0 else "",
                                                  time.time() - t0), flush=True)
    for w in workers.values():
        w.close()

    med = {n: {b: (statistics.median(t) if t else None) for b, t in per.items()} for n, per in times.items()}
    result = {"cpu": bench.cpu_model(), "threads": args.threads,
              "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "m": args.m,
              "rules": {r: RULES[r] for r in rules}, "minibatch_backend": mb_info,
              "workers": info, "times_s": times, "median_s": med, "ratios": {}}
    print("\nMedian epoch (s), W1 784-128-10, m = %d, %d rounds" % (args.m, args.rounds))
    print("%-9s %6s " % ("rule", "batch") + " ".join("%17s" % p for p in columns) + "  minibatch/fastest peer")
    for rule in rules:
        for b in batches:
            row = {p: med.get("%s/%s" % (rule, p), {}).get(b) for p in columns}
            others = [v for p, v in row.items() if p not in ("minibatch", KEEP) and v]
            ratio = row["minibatch"] / min(others) if row["minibatch"] and others else None
            result["ratios"]["%s/%d" % (rule, b)] = ratio
            print("%-9s %6d " % (rule, b) + " ".join("%17s" % ("%.3f" % v if v else "-") for v in row.values())
                  + "  %s" % ("%.2f" % ratio if ratio else "-"))
    if "gd" in rules:
        # Also paired: round by round, the rule's epoch over plain gradient descent's, both
        # timed within seconds of each other, and the median of those (as bench.py pairs its
        # bound with each round's epoch): a slow spell of the host over some rounds moves a
        # ratio of medians more.
        print("\nminibatch: epoch with the rule / epoch with plain gradient descent "
              "(ratio of medians; paired: median over the rounds of each round's ratio)")
        for rule in rules:
            if rule == "gd":
                continue
            for b in batches:
                gd, other = med["gd/minibatch"][b], med["%s/minibatch" % rule][b]
                if gd and other:
                    pairs = [o / g for o, g in zip(times["%s/minibatch" % rule][b], times["gd/minibatch"][b])]
                    paired = statistics.median(pairs) if pairs else None
                    result["ratios"]["%s-over-gd/%d" % (rule, b)] = other / gd
                    result["ratios"]["%s-over-gd-paired/%d" % (rule, b)] = paired
                    print("  %-9s batch %4d: %.3f  paired %s" % (rule, b, other / gd,
                                                                "%.3f" % paired if paired else "-"))
    if not args.no_keep_denormals:
        # Round by round, minibatch's epoch with subnormals kept over its default (flushed).
        print("\nminibatch: epoch with subnormals kept (MB_DENORMALS_KEEP) / epoch with them flushed "
              "(the default) (ratio of medians; paired)")
        for rule in rules:
            for b in batches:
                flushed, kept = med["%s/minibatch" % rule][b], med["%s/%s" % (rule, KEEP)][b]
                if flushed and kept:
                    pairs = [k / f for k, f in zip(times["%s/%s" % (rule, KEEP)][b], times["%s/minibatch" % rule][b])]
                    paired = statistics.median(pairs) if pairs else None
                    result["ratios"]["%s-kept-over-flushed/%d" % (rule, b)] = kept / flushed
                    result["ratios"]["%s-kept-over-flushed-paired/%d" % (rule, b)] = paired
                    print("  %-9s batch %4d: %.3f  paired %s" % (rule, b, kept / flushed,
                                                                "%.3f" % paired if paired else "-"))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print("\nwritten: %s" % os.path.relpath(args.out))


if __name__ == "__main__":
    main()
