"""Training from .npy files against training from memory, W1-shaped (issue 5).

W1 data (m x 784 float32 in [0, 1), 10 classes, seeded) is written as .npy files; the same
784-128-10 ReLU/softmax network then trains one epoch at a time, alternating round by round
between: the arrays in memory; the files with the exact shuffle; the files with the block
shuffle; each file mode once with the files in the page cache ("hot") and once right after
their pages were dropped ("cold": posix_fadvise(POSIX_FADV_DONTNEED) on both files, which the
kernel honours for clean pages without root). Medians and minima over the timed rounds, and
each file mode's speed as a share of in-memory speed: the ratio of the medians, and the
paired share, the median over the rounds of each round's in-memory epoch over that round's
file epoch (the target, >= 0.80 with the file in the page cache, is on the paired share). As in bench.py, a timed epoch with the machine probe (probe.c) below 80 % of its
best just before or after is repeated, at most three times (--no-probe: never).

    python3 bench/files.py [--quick] [--m 60000] [--rounds 5] [--batch 128 256]

Writes bench/files-results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "bindings" / "python"))
import minibatch_gd as mb  # noqa: E402


def drop_from_page_cache(*paths: Path) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def warm_page_cache(*paths: Path) -> None:
    for path in paths:
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="m = 20,000, 3 rounds, batch 128 only")
    parser.add_argument("--m", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--out", type=Path, default=HERE / "files-results.json")
    parser.add_argument("--no-probe", action="store_true", help="do not repeat epochs timed while the "
                        "machine's two-core matrix rate was down (bench/probe.c)")
    args = parser.parse_args()
    if args.quick:
        args.m, args.rounds, args.batch = 20_000, 3, [128]

    rng = np.random.default_rng(0)
    X = rng.random((args.m, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.m).astype(np.int32)
    workdir = Path(tempfile.mkdtemp(prefix="minibatch-files-"))
    x_path, y_path = workdir / "x.npy", workdir / "y.npy"
    np.save(x_path, X)
    np.save(y_path, y)
    for path in (x_path, y_path):
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)

    # "held": a budget that holds X (the default's 256 MiB here), so a shuffled training reads X
    # whole into memory once and the dataset keeps it for the next call; "hot"/"cold": a budget
    # of a third of X, so every epoch reads its rows from the file (page cache or disk): all of
    # them with the block shuffle; with the exact one, those past X's first rows, which it
    # holds as far as the budget allows (X held in part, 32 % of the rows here).
    # "cold held" opens a new dataset for each epoch, so that X is read whole from the disk.
    held_budget = 256 << 20
    streamed_budget = max(8 << 20, X.nbytes // 3)
    datasets = {(mode, held): mb.Dataset(x_path, y_path, shuffle=mode,
                                         memory_budget=held_budget if held else streamed_budget)
                for mode in ("exact", "block") for held in (True, False)}
    modes = ["memory", "exact held", "block held", "exact hot", "block hot", "exact cold", "block cold",
             "exact cold-held"]
    env = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "minibatch": mb.version(),
        "numpy": np.__version__,
        "m": args.m,
        "file_bytes": x_path.stat().st_size + y_path.stat().st_size,
        "held_budget": held_budget,
        "streamed_budget": streamed_budget,
    }
    print(f"minibatch {mb.version()}: one epoch of 784-128-10 on {args.m} x 784 float32 "
          f"({env['file_bytes'] >> 20} MiB of .npy), OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}")
    print(f"held: memory_budget {held_budget >> 20} MiB holds X, read whole once and kept between calls; "
          f"hot/cold: memory_budget {streamed_budget >> 20} MiB, rows read from the file every epoch "
          f"(exact: those past X's first rows, held as far as the budget allows)")
    probe = None
    if not args.no_probe:
        sys.path.insert(0, str(HERE))
        from bench import MachineProbe  # noqa: E402

        try:
            probe = MachineProbe(len(os.sched_getaffinity(0)), dict(os.environ))
        except RuntimeError as e:
            print(f"machine probe unavailable, epochs are not checked against it: {e}")
    if probe is not None:
        probe.calibrate(2.0 if args.quick else 5.0)
        print(f"machine probe: best two-core sgemm rate {probe.best:.0f} GFLOP/s; epochs with a probe below "
              f"{100 * MachineProbe.SLOW:.0f}% of it are repeated")

    def timed(prepare, run) -> float:
        for attempt in range(4):
            prepare()
            before = probe.wait_fast() if probe else None
            start = time.perf_counter()
            run()
            seconds = time.perf_counter() - start
            after = probe.rate() if probe else None
            if probe is None or not (probe.slow(before) or probe.slow(after)) or attempt == 3:
                return seconds
            probe.slow_epochs += 1
        return seconds

    results = []
    for batch in args.batch:
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        net = mb.Network([784, 128, 10], seed=0)
        for round_ in range(args.rounds + 1):  # round 0 warms up and is discarded
            for mode in modes:
                kind, _, cache = mode.partition(" ")

                def prepare() -> None:
                    if cache in ("hot", "held"):
                        warm_page_cache(x_path, y_path)
                    elif cache.startswith("cold"):
                        drop_from_page_cache(x_path, y_path)

                def run() -> None:
                    if kind == "memory":
                        net.train(X, y, epochs=1, batch_size=batch, learning_rate=0.1, seed=round_)
                    elif cache == "cold-held":
                        with mb.Dataset(x_path, y_path, shuffle=kind, memory_budget=held_budget) as fresh:
                            net.train_dataset(fresh, epochs=1, batch_size=batch, learning_rate=0.1, seed=round_)
                    else:
                        dataset = datasets[(kind, cache == "held")]
                        net.train_dataset(dataset, epochs=1, batch_size=batch, learning_rate=0.1, seed=round_)

                seconds = timed(prepare, run)
                if round_ > 0:
                    times[mode].append(seconds)
        memory = statistics.median(times["memory"])
        print(f"\nbatch {batch}: {'mode':<12} {'median s':>9} {'min s':>8} {'ratio of medians':>17} "
              f"{'paired share':>13}")
        for mode in modes:
            median = statistics.median(times[mode])
            share = memory / median
            # Round by round, the in-memory epoch over this mode's, both timed within seconds
            # of each other; the median of those (as bench.py pairs its bound with each
            # round's epoch): a spell of a slow host that spans some rounds slows every mode
            # of those rounds, and moves a ratio of medians more than a paired share.
            paired = statistics.median(m / t for m, t in zip(times["memory"], times[mode]))
            target = ""
            if mode.endswith("hot") or mode.endswith(" held"):
                target = f"  {'PASS' if paired >= 0.80 else 'MISS'} (target >= 0.80)"
            print(f"{'':9}{mode:<12} {median:9.4f} {min(times[mode]):8.4f} {share:17.2f} {paired:13.2f}{target}")
            results.append({"batch": batch, "mode": mode, "median_s": median, "min_s": min(times[mode]),
                            "share_of_memory_speed": share, "paired_share": paired, "times": times[mode]})
        net.close()
    for dataset in datasets.values():
        dataset.close()
    if probe:
        env["machine_probe"] = probe.summary()
        print(f"machine probe: best {probe.best:.0f} GFLOP/s, median {env['machine_probe']['median_gflops']:.0f}; "
              f"epochs repeated for it: {probe.slow_epochs}")
        probe.close()
    args.out.write_text(json.dumps({"environment": env, "results": results}, indent=2))
    print(f"\nwrote {args.out}")
    for path in (x_path, y_path):
        path.unlink()
    workdir.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
