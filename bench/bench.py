#!/usr/bin/env python3
"""Side-by-side benchmark of minibatch against numpy, scikit-learn and PyTorch.

    python3 bench/bench.py [--quick] [--threads N] [--rounds R] [--lib PATH]

(bash bench/run.sh installs the peers first and then runs this.) See bench/README.md.

One driver (this process) and one persistent worker process per implementation and
workload (bench/workers.py). Each worker makes its data once from the same seed and, on
command, runs one epoch and replies with its time. Rounds alternate: in every round every
batch size is run once by every implementation, in an order that rotates from round to
round. Round 0 is the warm-up and is discarded. Writes results.json, results.txt (the
printed report) and scaling.png next to this file (or under --out-dir).
"""

import argparse
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from workers import SHAPES, w1_flops_per_sample, w1_products  # noqa: E402

MB = 1024.0 * 1024.0
PEERS = ["numpy", "sklearn", "torch-dataloader", "torch-randperm"]
IMPLS = ["minibatch"] + PEERS
LOGREG_FLOPS_PER_SAMPLE = 4 * SHAPES["logreg"][0]  # forward X.w and gradient X^T.dz
COMMAND_TIMEOUT = 900.0


# --- the machine and its load -------------------------------------------------------------
def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]  # user nice system irq softirq steal


def own_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime stime
        except (OSError, IndexError, ValueError):
            pass
    return total


class LoadMeter:
    """CPU time used by other processes while the benchmark runs (cores, on average):
    busy time of the whole machine minus the time of the driver and its workers."""

    def __init__(self):
        self.hz = os.sysconf("SC_CLK_TCK")
        self.foreign = 0.0
        self.wall = 0.0
        self.dead_ticks = 0

    def start(self, pids):
        self.t0, self.b0, self.o0 = time.time(), busy_ticks(), own_ticks(pids + [os.getpid()])

    def stop(self, pids):
        wall = time.time() - self.t0
        busy = busy_ticks() - self.b0
        own = own_ticks(pids + [os.getpid()]) - self.o0 + self.dead_ticks
        self.dead_ticks = 0
        self.foreign += max(0.0, (busy - own) / self.hz)
        self.wall += wall

    def cores(self):
        return self.foreign / self.wall if self.wall else 0.0


LOAD = LoadMeter()


# --- workers --------------------------------------------------------------------------------
class Worker:
    def __init__(self, name, cfg, env, log_dir):
        self.name, self.error, self.info = name, None, {}
        self.log_path = os.path.join(log_dir, "%s-%s.log" % (cfg["workload"], name))
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "workers.py"), json.dumps(cfg)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env,
            text=True, bufsize=1)

    def wait_ready(self):
        r = self.read()
        if r.get("ok"):
            self.info = r["info"]
        else:
            self.fail(r.get("error", "did not start"))

    def read(self, timeout=COMMAND_TIMEOUT):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.kill()
            return {"ok": False, "error": "no answer within %.0f s (worker stopped)" % timeout}
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            return {"ok": False, "error": "worker exited (status %s); log: %s%s"
                    % (code, os.path.relpath(self.log_path), self.log_tail())}
        return json.loads(line)

    def log_tail(self):
        try:
            with open(self.log_path) as f:
                lines = [l.rstrip() for l in f.readlines() if l.strip()]
            return (": " + " | ".join(lines[-3:])) if lines else ""
        except OSError:
            return ""

    def ask(self, **cmd):
        if self.error:
            return {"ok": False, "error": self.error}
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        return self.read()

    def fail(self, error):
        self.error = error
        self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()  # our own child, by its handle
            self.proc.wait()

    def alive(self):
        return self.error is None and self.proc.poll() is None

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except Exception:
                self.kill()
        self.log.close()


def start_workers(names, base_cfg, env, log_dir):
    """Starts the workers together (they make their data in parallel), waits for each.
    names: a list of implementations, or a dict {worker name: implementation}."""
    if not isinstance(names, dict):
        names = {n: n for n in names}
    ws = {n: Worker(n, dict(base_cfg, impl=i), env, log_dir) for n, i in names.items()}
    for w in ws.values():
        w.wait_ready()
        if w.error:
            print("  %-17s unavailable: %s" % (w.name, w.error), flush=True)
    return ws


def pids(workers):
    return [w.proc.pid for w in workers.values() if w.proc.poll() is None]


# --- statistics -----------------------------------------------------------------------------
def summarize(times, samples, flops):
    if not times:
        return None
    med = statistics.median(times)
    return {"median_s": med, "min_s": min(times), "times_s": times,
            "samples_per_s": samples / med,
            "gflops": (flops / med / 1e9) if flops else None}


QUIET = {"max_wait": 10.0, "retries": 3, "budget": 240.0, "spent": 0.0}
# Each phase's share of the waiting budget, so that a slow spell early in the run does not
# leave the later phases none.
BUDGET_SHARES = {"mlp": 0.5, "logreg": 0.2, "shuffle": 0.05, "scaling": 0.25}


def start_phase(name, total):
    QUIET.update(budget=total * BUDGET_SHARES[name], spent=0.0)


def build_tool(source, name, libraries=(), shared=False):
    """Compiles bench/<source> with the C compiler ($CC, else cc) into bench/logs/<name>;
    returns its path. RuntimeError with the compiler's message if it cannot."""
    out_dir = os.path.join(HERE, "logs")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, name)
    cmd = ([os.environ.get("CC", "cc"), "-O2"] + (["-shared", "-fPIC"] if shared else []) +
           ["-o", out, os.path.join(HERE, source)] + list(libraries))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise RuntimeError("%s: %s" % (" ".join(cmd), e))
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.strip()[-300:]))
    return out


class MachineProbe:
    """The machine's two-core matrix-product rate (bench/probe.c), read before and after
    each timed epoch. On these shared virtual machines both cores sometimes deliver about
    the matrix throughput of one, for seconds at a time, while other processes' CPU time
    shows nothing (the host, not this machine, takes it): an epoch timed then measures the
    host, not the implementation. An epoch with a probe below SLOW x the best probe of the
    run is repeated like one disturbed by other processes (after waiting for the rate to
    come back), for every implementation alike. RuntimeError if the probe cannot be built
    (it needs a C compiler and the system OpenBLAS, libopenblas-dev)."""

    SLOW = 0.8

    def __init__(self, threads, env):
        exe = build_tool("probe.c", "probe", ["-lopenblas", "-lpthread"])
        self.proc = subprocess.Popen(
            [exe, str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=dict(env, OPENBLAS_NUM_THREADS="1"), text=True, bufsize=1)
        self.best = 0.0
        self.rates = []
        self.slow_epochs = 0

    def rate(self):
        try:
            self.proc.stdin.write("probe\n")
            self.proc.stdin.flush()
            r = float(self.proc.stdout.readline())
        except (OSError, ValueError):
            return None
        self.best = max(self.best, r)
        self.rates.append(r)
        return r

    def slow(self, r):
        return r is not None and r < self.SLOW * self.best

    def calibrate(self, seconds):
        """Probes for `seconds` to learn the best rate before anything is timed."""
        t_end = time.time() + seconds
        while time.time() < t_end:
            self.rate()
            time.sleep(0.05)

    def wait_fast(self):
        """Probes until the rate is within SLOW of the best (within the waiting budget)."""
        t_start = time.time()
        t_end = t_start + min(QUIET["max_wait"], max(0.0, QUIET["budget"] - QUIET["spent"]))
        r = self.rate()
        while self.slow(r) and time.time() < t_end:
            time.sleep(0.25)
            r = self.rate()
        QUIET["spent"] += time.time() - t_start
        return r

    def summary(self):
        rs = sorted(self.rates)
        return {"best_gflops": round(self.best, 1), "probes": len(rs),
                "median_gflops": round(statistics.median(rs), 1) if rs else None,
                "share_of_probes_slow": round(sum(r < self.SLOW * self.best for r in rs)
                                              / len(rs), 3) if rs else None,
                "epochs_repeated_for_slow_machine": self.slow_epochs}

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()


PROBE = None  # a MachineProbe once main() starts it


def wait_quiet(max_wait=None, window=0.25, budget=True, pids=(), cores=0.15, spend=True):
    """Waits (up to max_wait s, and within the run's waiting budget unless budget is
    False) until processes other than the driver and `pids` use less than `cores` cores
    over `window` seconds. The time waited counts against the budget if `spend`; it is
    returned."""
    max_wait = QUIET["max_wait"] if max_wait is None else max_wait
    if budget:
        max_wait = min(max_wait, QUIET["budget"] - QUIET["spent"])
    if max_wait <= 0:
        return 0.0
    hz, t_start = os.sysconf("SC_CLK_TCK"), time.time()
    t_end = t_start + max_wait
    mine = list(pids) + [os.getpid()]
    while True:
        b0, o0, t0 = busy_ticks(), own_ticks(mine), time.time()
        time.sleep(window)
        foreign = (busy_ticks() - b0 - (own_ticks(mine) - o0)) / hz
        if foreign / (time.time() - t0) < cores or time.time() > t_end:
            waited = time.time() - t_start
            if spend:
                QUIET["spent"] += waited
            return waited


def settle(pids):
    """Waits (up to 1 s, outside the waiting budget) until processes other than `pids` and
    the driver have used at most one clock tick of CPU (10 ms on these machines) over 50 ms,
    before an epoch is timed: the worker that ran before may have threads still spinning.
    OpenBLAS's threads spin for about 0.1 s after their last product before they sleep, and
    OpenMP's for a while too: measured on this machine, an epoch of minibatch (W1, batch
    256, 2 threads) right after 20 products of numpy's OpenBLAS on 2 threads in another
    process took 0.12-0.17 s, against 0.071 s without them and 0.074 s 0.3 s after them.
    Here minibatch follows the Debian OpenBLAS bound probe in every rotation but one, and so
    was the one implementation timed while a pool spun; every implementation waits alike.
    Returns the seconds waited."""
    # One tick over 50 ms is 0.2 cores; two are 0.4.
    return wait_quiet(max_wait=1.0, window=0.05, budget=False, pids=pids, cores=0.25, spend=False)


def timed_epoch(w, retry=True, **cmd):
    """One epoch; measures the CPU time other processes took meanwhile, and the machine's
    two-core matrix rate just before and after (PROBE), after waiting for the worker that ran
    before to go idle (`settle`). An epoch during which other
    processes took more than a quarter of a core, or with a probe below MachineProbe.SLOW
    of the best, is repeated (after waiting for quiet and for the rate to come back), at
    most QUIET["retries"] times; the reply says how often and how busy the rest was."""
    hz = os.sysconf("SC_CLK_TCK")
    for attempt in range(QUIET["retries"] + 1):
        before = (PROBE.wait_fast() if retry else PROBE.rate()) if PROBE else None
        settled = settle([w.proc.pid])
        mine = [w.proc.pid, os.getpid()]
        b0, o0, t0 = busy_ticks(), own_ticks(mine), time.time()
        reply = w.ask(**cmd)
        wall = max(time.time() - t0, 1e-6)
        foreign = max(0.0, (busy_ticks() - b0 - (own_ticks(mine) - o0)) / hz)
        if not reply.get("ok"):
            return reply
        after = PROBE.rate() if PROBE else None
        slow = PROBE is not None and (PROBE.slow(before) or PROBE.slow(after))
        reply["foreign_cores"] = foreign / wall
        reply["settled_s"] = round(settled, 3)
        reply["machine_gflops"] = [before, after]
        reply["retries"] = attempt
        if attempt:
            QUIET["spent"] += wall  # the discarded epoch
        busy = foreign > 0.25 * wall + 0.02
        if ((not busy and not slow) or not retry or attempt == QUIET["retries"]
                or QUIET["spent"] >= QUIET["budget"]):
            reply["disturbed"] = busy or slow
            return reply
        if slow and not busy:
            PROBE.slow_epochs += 1
        wait_quiet()
    return reply


def run_rounds(workers, batches, rounds, label, on_first=None, warm_all=True):
    """Round 0 is the warm-up, discarded (with warm_all False it runs only the largest
    batch: one warm-up epoch per worker); rounds 1..rounds are timed. Returns
    {batch: {impl: {"warmup_s", "times", "rounds", "error", "extra": [...]}}}: "rounds"
    holds the round of each timed epoch (and of each "extra", which timed epochs carry)."""
    names = list(workers)
    cells = {b: {n: {"warmup_s": None, "times": [], "rounds": [], "error": None, "extra": [],
                     "retries": 0, "disturbed": 0, "foreign_cores": []}
                 for n in names} for b in batches}
    for r in range(rounds + 1):
        wait_quiet()
        t0 = time.time()
        LOAD.start(pids(workers))
        order_b = list(batches)
        if r == 0:  # the largest batch first: each worker's first epoch is its full batch
            order_b = [batches[-1]] + (list(batches[:-1]) if warm_all else [])
        for i, b in enumerate(order_b):
            k = (r + i) % len(names)
            for n in names[k:] + names[:k]:
                w, cell = workers[n], cells[b][n]
                if cell["error"] or not w.alive():
                    if not cell["error"]:
                        cell["error"] = w.error or "worker not running"
                    continue
                # Warm-up epochs are discarded: never repeated, so that each worker's first
                # epoch stays the one its memory is read after.
                reply = timed_epoch(w, retry=r > 0, cmd="epoch", batch=b, round=r)
                if not reply.get("ok"):
                    cell["error"] = reply.get("error")
                    print("  %s %s batch %s: %s" % (label, n, b, cell["error"]), flush=True)
                    if w.proc.poll() is not None:
                        w.error = cell["error"]
                    continue
                cell["retries"] += reply["retries"]
                if r == 0:
                    cell["warmup_s"] = reply["seconds"]
                else:
                    cell["times"].append(reply["seconds"])
                    cell["rounds"].append(r)
                    cell["foreign_cores"].append(round(reply["foreign_cores"], 3))
                    cell["disturbed"] += reply["disturbed"]
                if "rates" in reply and r > 0:
                    cell["extra"].append(reply["rates"])
                if r == 0 and on_first is not None and b == order_b[0]:
                    on_first(n, w)
        LOAD.stop(pids(workers))
        print("  %s round %d/%d%s done in %.1f s" % (
            label, r, rounds, "" if r else " (warm-up%s)" % (
                "" if warm_all or len(batches) == 1 else ", largest batch only"),
            time.time() - t0), flush=True)
    return cells


def memory_of(w, tag):
    r = w.ask(cmd="memory")
    if not r.get("ok"):
        return None
    base = w.info.get("baseline_rss", 0)
    return {"peak_bytes": r["hwm"], "baseline_bytes": base,
            "working_bytes": r["hwm"] - base, "data_bytes": w.info.get("data_bytes"),
            "what": tag}


# --- the matrix-product bound ----------------------------------------------------------------
def bound_for(by_source, m, b, kind=""):
    """Epoch time implied by the measured sgemm rates: the sum over an epoch's products of
    flops / rate at that product's shape, each rate the median over the timed rounds.
    by_source: {"system": [rates of each round], "numpy": [...], "minibatch": [...]}; "best"
    takes, for each product, the fastest of the backends measured. kind "": the rates sustained over an epoch's
    calls (BlasProbe.sustained); "peak ": the best 20 ms blocks. Returns the epoch time of
    each source and the rates of the products of a full batch."""
    full, rest = divmod(m, b)
    peak = kind == "peak "
    med = {src: {k[len(kind):]: statistics.median(r[k] for r in rounds)
                 for k in rounds[0] if k.startswith("peak ") == peak}
           for src, rounds in by_source.items() if rounds}
    if len(med) >= 2:
        first = next(iter(med.values()))
        med["best"] = {k: max(rates[k] for rates in med.values()) for k in first}
    out = {}
    for src, rates in med.items():
        t = 0.0
        for rows, count in ((b, full), (rest, 1)):
            if rows == 0 or count == 0:
                continue
            for name, M, N, K, _, _ in w1_products(rows):
                t += count * 2.0 * M * N * K / (rates["%d|%s" % (rows, name)] * 1e9)
        out[src] = t
    prods = {}
    for name, M, N, K, _, _ in w1_products(b):
        key = "%d|%s" % (b, name)
        prods[name] = {"shape_MNK": [M, N, K]}
        for src in ("system", "numpy", "minibatch"):
            if src in med:
                prods[name]["gflops_" + src] = med[src][key]
    return out, prods


def paired_shares(cell_b, m, b):
    """Round by round, the bound measured in that round (the faster BLAS per product)
    over minibatch's epoch of that round: the share of the bound each epoch reached, with
    both measured within seconds of each other. On a host whose speed changes for seconds
    or minutes at a time, a ratio of medians can set a bound measured while the host was
    fast against epochs timed while it was slow, rounds apart; a paired share compares
    measurements of the same round."""
    mb = cell_b.get("minibatch")
    sources = {src: cell_b.get("blas-" + src) for src in ("system", "numpy", "minibatch")}
    sources = {src: dict(zip(c["rounds"], c["extra"])) for src, c in sources.items() if c}
    if not (mb and len(sources) >= 2):
        return []
    t = dict(zip(mb["rounds"], mb["times"]))
    out = []
    for r in sorted(set(t).intersection(*sources.values())):
        bd, _ = bound_for({src: [rates[r]] for src, rates in sources.items()}, m, b)
        out.append({"round": r, "bound_s": bd["best"], "minibatch_s": t[r],
                    "share": bd["best"] / t[r]})
    return out


# --- output ----------------------------------------------------------------------------------
def fmt_s(x):
    return "-" if x is None else ("%.4f" % x if x < 10 else "%.2f" % x)


def fmt_n(x, d=0):
    if x is None:
        return "-"
    return ("{:,.%df}" % d).format(x)


def table(results, m_of):
    head = ("%-8s %7s  %-24s %9s %9s %12s %8s %8s %9s %9s"
            % ("workload", "batch", "implementation", "median s", "min s", "samples/s",
               "GFLOP/s", "x mb", "peak MiB", "work MiB"))
    lines = [head, "-" * len(head)]
    for wl in ("mlp", "logreg", "shuffle"):
        if wl not in results["workloads"]:
            continue
        W = results["workloads"][wl]
        for b, row in W["batches"].items():
            mb = (row.get("minibatch") or {}).get("median_s")
            bl = "full" if wl == "mlp" and int(b) == m_of[wl] else ("-" if wl == "shuffle" else b)
            for impl, c in row.items():
                if impl.startswith("bound"):
                    continue
                mem = W["memory"].get(impl) if (wl != "mlp" or int(b) == m_of[wl]) else None
                if c.get("median_s") is None:
                    lines.append("%-8s %7s  %-24s %s" % (wl, bl, impl,
                                 "n/a: " + str(c.get("error"))[:70]))
                    continue
                x = c["median_s"] / mb if mb else None
                star = "*" if c.get("disturbed_epochs") else ""
                lines.append("%-8s %7s  %-24s %9s %9s %12s %8s %8s %9s %9s" % (
                    wl, bl, impl, fmt_s(c["median_s"]) + star, fmt_s(c["min_s"]),
                    fmt_n(c["samples_per_s"]), fmt_n(c.get("gflops"), 1),
                    "-" if x is None else "%.2f" % x,
                    fmt_n(mem["peak_bytes"] / MB) if mem else "",
                    fmt_n(mem["working_bytes"] / MB) if mem else ""))
            for key, src, label in (("bound", "system", "bound: sgemm system OB"),
                                    ("bound", "numpy", "bound: sgemm numpy OB"),
                                    ("bound", "minibatch", "bound: mb backend"),
                                    ("bound", "minibatch one thread x threads",
                                     "(mb 1-thread rate x thr)"),
                                    ("bound", "best", "bound: fastest per prod"),
                                    ("bound_peak", "best", "peak: best 20 ms blocks")):
                bd = row.get(key, {}).get(src)
                if bd:
                    lines.append("%-8s %7s  %-24s %9s %9s %12s %8s %8s" % (
                        wl, bl, label, fmt_s(bd["seconds"]), "", "",
                        fmt_n(bd["gflops"], 1), "%.2f" % (bd["seconds"] / mb) if mb else "-"))
    return lines


def check_targets(results, m1):
    T = []
    W1 = results["workloads"].get("mlp", {}).get("batches", {})
    W2 = results["workloads"].get("logreg", {}).get("batches", {})
    SH = results["workloads"].get("shuffle", {}).get("batches", {})

    def fastest_peer(row):
        best = None
        for p in PEERS:
            c = row.get(p) or {}
            if c.get("median_s") is not None and (best is None or c["median_s"] < best[1]):
                best = (p, c["median_s"])
        return best

    def add(name, value, op, limit, detail):
        if value is None:
            T.append({"target": name, "measured": None, "limit": limit, "op": op,
                      "verdict": "MISS", "detail": detail or "not measured"})
            return
        ok = value <= limit if op == "<=" else value >= limit
        T.append({"target": name, "measured": value, "limit": limit, "op": op,
                  "verdict": "PASS" if ok else "MISS", "detail": detail})

    for b, row in W1.items():
        bl = "full" if int(b) == m1 else b
        limit = 0.6  # issue 20 (issue 4 asked 0.75 up to batch 128, 0.85 above)
        if results["environment"]["threads"] == 1 and int(b) not in (64, 128, 256):
            continue  # one thread: the targets are batches 64, 128 and 256
        mb = (row.get("minibatch") or {}).get("median_s")
        fp = fastest_peer(row)
        add("W1 mlp batch %s: minibatch / fastest peer" % bl,
            mb / fp[1] if (mb and fp) else None, "<=", limit,
            "fastest peer %s %.4f s, minibatch %.4f s" % (fp[0], fp[1], mb) if (mb and fp) else None)
    for b, row in W1.items():
        if int(b) < 256:
            continue
        bl = "full" if int(b) == m1 else b
        mb = (row.get("minibatch") or {}).get("median_s")
        bd = row.get("bound", {}).get("best")
        pk = row.get("bound_peak", {}).get("best")
        pr = row.get("bound", {}).get("paired")
        one = row.get("bound", {}).get("minibatch one thread x threads")
        add("W1 mlp batch %s: share of the sgemm-bound rate (median of rounds)" % bl,
            pr["median_share"] if pr else None, ">=", 0.80,
            "each round's bound / that round's epoch, median of %d; ratio of medians: "
            "bound %.4f s (%.1f GFLOP/s, fastest backend per product) / minibatch %.4f s = "
            "%.3f; of the peak (best 20 ms blocks) %.4f s: %.3f"
            % (len(pr["rounds"]), bd["seconds"], bd["gflops"], mb, bd["seconds"] / mb,
               pk["seconds"], pk["seconds"] / mb)
            + ("; of minibatch's backend at its one-thread rate x threads %.4f s: %.3f"
               % (one["seconds"], one["seconds"] / mb) if one else "")
            if (pr and mb and bd and pk) else None)
    for b, row in W2.items():
        mb = (row.get("minibatch") or {}).get("median_s")
        fp = fastest_peer(row)
        add("W2 logreg batch %s: minibatch / fastest peer" % b,
            mb / fp[1] if (mb and fp) else None, "<=", 0.25,
            "fastest peer %s %.4f s, minibatch %.4f s" % (fp[0], fp[1], mb) if (mb and fp) else None)
    for b, row in SH.items():
        mb = (row.get("minibatch") or {}).get("median_s")
        npy = (row.get("numpy") or {}).get("median_s")
        add("shuffle: numpy X[perm], y[perm] / mb_shuffle_into (speed-up)",
            npy / mb if (mb and npy) else None, ">=", 2.0,
            "numpy %.4f s, minibatch %.4f s" % (npy, mb) if (mb and npy) else None)
    for key, unit in (("m", "examples"), ("hidden", "hidden width")):
        lin = results.get("scaling", {}).get(key + "_linearity")
        fast = results.get("scaling", {}).get(key + "_linearity_min")
        if lin:
            add("scaling: epoch time over %s, largest deviation from a line" % unit,
                lin["line_max_deviation"], "<=", 0.15,
                "%.3f s + %.3g s per unit; fastest rounds: %s; from proportional: %.0f%%"
                % (lin["line_fixed_s"], lin["line_per_unit_s"],
                   "%.3f" % fast["line_max_deviation"] if fast else "-", 100 * lin["max_deviation"]))
    if "mlp" not in results["workloads"]:
        return T
    mem = results["workloads"]["mlp"].get("memory", {})
    a, n = mem.get("minibatch"), mem.get("numpy")
    add("W1 full batch: working memory minibatch / numpy",
        a["working_bytes"] / n["working_bytes"] if (a and n and n["working_bytes"] > 0) else None,
        "<=", 0.5, "minibatch %.0f MiB, numpy %.0f MiB (peak - RSS after data)"
        % (a["working_bytes"] / MB, n["working_bytes"] / MB) if (a and n) else None)
    al = results["workloads"]["mlp"].get("allocations", {})
    counted = [c for c in al.values() if isinstance(c, dict) and "per_batch" in c]
    add("W1: heap allocations per mini-batch (every batch size)",
        max(c["per_batch"] for c in counted) if counted and len(counted) == len(al) else None,
        "<=", 0, "allocations of a call of 1 epoch / of 3 epochs: %s" % ", ".join(
            "%s: %d / %d" % (b if c["batches_per_epoch"] > 1 else "full", c["one_epoch"],
                             c["three_epochs"]) for b, c in al.items())
        if counted and len(counted) == len(al) else (al.get("error") or "; ".join(
            "batch %s: %s" % (b, c["error"]) for b, c in al.items()
            if isinstance(c, dict) and "error" in c) or None))
    return T


# --- phases ----------------------------------------------------------------------------------
def phase_training(wl, m, batches, rounds, args, env, log_dir, blas_cfg):
    print("%s: m = %d, batch sizes %s, %d timed rounds + 1 warm-up" %
          (wl, m, ", ".join("full" if b == m else str(b) for b in batches), rounds), flush=True)
    base = {"workload": wl, "m": m, "seed": args.seed, "threads": args.threads,
            "lib": args.lib}
    names = list(IMPLS)
    left_out = []
    if args.no_torch or args.torch_unavailable:
        left_out = [n for n in names if n.startswith("torch")]
        names = [n for n in names if n not in left_out]
    ws = start_workers(names, base, env, log_dir)
    if wl == "mlp":
        # The BLAS workers run right before and after minibatch (the order rotates as a
        # ring, so they stay its neighbours except in the two rotations that cut the ring
        # beside it), so each round's bound is measured next to its epoch.
        probes = {"blas-system": "system", "blas-numpy": "numpy"}
        if args.backend_probe:
            probes["blas-minibatch"] = "minibatch"
        blas = start_workers(probes, dict(base, workload="blas", backend_probe=args.backend_probe,
                                          **blas_cfg), env, log_dir)
        ws = dict([("blas-system", blas["blas-system"]), ("minibatch", ws.pop("minibatch")),
                   ("blas-numpy", blas["blas-numpy"])] +
                  ([("blas-minibatch", blas["blas-minibatch"])] if args.backend_probe else []) +
                  list(ws.items()))
    memory = {}
    first_mem = {}

    def on_first(n, w):  # the warm-up epoch at full batch is each worker's first epoch
        if wl == "mlp" and not n.startswith("blas"):
            first_mem[n] = memory_of(w, "first epoch, full batch (fresh process)")

    cells = run_rounds(ws, batches, rounds, wl, on_first, warm_all=not args.quick)
    for n, w in ws.items():
        if n.startswith("blas") or not w.alive():
            continue
        if wl == "mlp":
            if first_mem.get(n):
                memory[n] = first_mem[n]
            memory[n + " (all batch sizes)"] = memory_of(w, "peak over every epoch")
        else:
            memory[n] = memory_of(w, "peak over every epoch (batch %s)" %
                                  " and ".join(map(str, batches)))
    env_info = {n: w.info for n, w in ws.items()}
    flops = m * (w1_flops_per_sample() if wl == "mlp" else LOGREG_FLOPS_PER_SAMPLE)
    out = {"m": m, "n_features": SHAPES[wl][0], "layers": list(SHAPES[wl]),
           "flops_per_epoch": flops, "batches": {}, "memory": memory,
           "warmup_s": {}, "workers": env_info}
    for b in batches:
        row = {}
        for n in names:
            c = cells[b][n]
            s = summarize(c["times"], m, flops) or {}
            s["warmup_s"] = c["warmup_s"]
            s.update(retried_epochs=c["retries"], disturbed_epochs=c["disturbed"],
                     foreign_cores=c["foreign_cores"])
            if c["error"]:
                s["error"] = c["error"]
            row[n] = s
        for n in left_out:
            row[n] = {"error": "PyTorch left out (--no-torch)" if args.no_torch else
                      "PyTorch unavailable: %s" % args.torch_unavailable}
        if "blas-system" in ws:
            src = {s_: cells[b]["blas-" + s_]["extra"] for s_ in ("system", "numpy", "minibatch")
                   if "blas-" + s_ in ws}
            if any(src.values()):
                for key, kind in (("bound", ""), ("bound_peak", "peak ")):
                    bd, prods = bound_for(src, m, b, kind)
                    row[key] = {k: {"seconds": t, "gflops": flops / t / 1e9}
                                for k, t in bd.items()}
                    row[key]["products"] = prods
                # The bound's old form, for comparison: minibatch's backend at its one-thread
                # rate times the threads ("one " rates of a team probe).
                one = [{k[4:]: v for k, v in r.items() if k.startswith("one ")}
                       for r in src.get("minibatch") or []]
                if one and one[0]:
                    t1 = bound_for({"minibatch": one}, m, b)[0]["minibatch"]
                    row["bound"]["minibatch one thread x threads"] = {"seconds": t1,
                                                                      "gflops": flops / t1 / 1e9}
                paired = paired_shares(cells[b], m, b)
                if paired:
                    row["bound"]["paired"] = {
                        "rounds": paired,
                        "median_share": statistics.median(p["share"] for p in paired)}
            else:
                row["bound"] = {"error": "%s / %s" % (cells[b]["blas-system"]["error"],
                                                      cells[b]["blas-numpy"]["error"])}
        out["batches"][str(b)] = row
    for w in ws.values():
        w.close()
    return out


def phase_allocations(m, batches, args, env, log_dir):
    """Heap allocations of minibatch's training calls at each W1 batch size, counted by
    bench/count_allocations.c (built here with the C compiler, preloaded into one untimed
    worker): a call of 3 epochs against a call of 1, so what an epoch and a mini-batch
    allocate is the difference over the extra epochs and their batches."""
    try:
        shim = build_tool("count_allocations.c", "libcount_allocations.so", shared=True)
    except RuntimeError as e:
        return {"error": "could not build bench/count_allocations.c: %s" % e}
    print("allocations: minibatch, W1, a call of 1 epoch and of 3 epochs per batch size",
          flush=True)
    base = {"workload": "mlp", "m": m, "seed": args.seed, "threads": args.threads,
            "lib": args.lib}
    w = start_workers(["minibatch"], base, dict(env, LD_PRELOAD=shim), log_dir)["minibatch"]
    out = {}
    for b in batches:
        rep = w.ask(cmd="allocations", batch=b)
        if not rep.get("ok"):
            out[str(b)] = {"error": rep.get("error")}
            continue
        per_epoch = (rep["three_epochs"] - rep["one_epoch"]) / 2
        out[str(b)] = {"one_epoch": rep["one_epoch"], "three_epochs": rep["three_epochs"],
                       "batches_per_epoch": rep["batches_per_epoch"], "per_epoch": per_epoch,
                       "per_batch": per_epoch / rep["batches_per_epoch"]}
    w.close()
    return out


def phase_shuffle(m, rounds, args, env, log_dir):
    print("shuffle: paired shuffle of the logreg data (m = %d), %d timed rounds + 1 warm-up"
          % (m, rounds), flush=True)
    base = {"workload": "shuffle", "m": m, "seed": args.seed, "threads": args.threads,
            "lib": args.lib}
    ws = start_workers(["minibatch", "numpy", "numpy-take"], base, env, log_dir)
    cells = run_rounds(ws, [m], rounds, "shuffle")
    row = {}
    rowbytes = SHAPES["logreg"][0] * 4 + 4
    for n in ws:
        c = cells[m][n]
        s = summarize(c["times"], m, None) or {}
        if s:
            s["gbytes_per_s"] = 2 * m * rowbytes / s["median_s"] / 1e9  # read + write
        s["warmup_s"] = c["warmup_s"]
        s.update(retried_epochs=c["retries"], disturbed_epochs=c["disturbed"],
                 foreign_cores=c["foreign_cores"])
        if c["error"]:
            s["error"] = c["error"]
        row[n] = s
    memory = {n: memory_of(w, "peak over every shuffle") for n, w in ws.items() if w.alive()}
    for w in ws.values():
        w.close()
    return {"m": m, "batches": {str(m): row}, "memory": memory,
            "note": "numpy: perm = rng.permutation(m); X[perm], y[perm] (new arrays); "
                    "numpy-take: np.take(..., out=) into reused buffers (for information); "
                    "minibatch: mb_shuffle_into (permutation included)"}


def linearity(xs, ts):
    """How linearly epoch time t grows with x: as a proportion (t = k x, the time per unit
    against its median) and as a straight line (t = a + b x, least squares, each point
    against the line). A fixed cost per epoch that does not depend on x (the W1 input
    rows read for every width) makes a line that is not a proportion."""
    per = [t / x for x, t in zip(xs, ts)]
    med = statistics.median(per)
    dev = max(abs(p / med - 1) for p in per)
    doubling = [ts[i + 1] / ts[i] for i in range(len(ts) - 1)]
    n = len(xs)
    mx, mt = sum(xs) / n, sum(ts) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (t - mt) for x, t in zip(xs, ts)) / sxx if sxx > 0 else 0.0
    fixed = mt - slope * mx
    line_dev = max(abs(t / (fixed + slope * x) - 1) for x, t in zip(xs, ts))
    return {"per_unit_s": per, "max_deviation": dev, "proportional_within_15pct": dev <= 0.15,
            "line_fixed_s": fixed, "line_per_unit_s": slope, "line_max_deviation": line_dev,
            "linear_within_15pct": line_dev <= 0.15 and slope > 0,
            "doubling_ratios": doubling}


def phase_scaling(ms, hiddens, repeats, args, env, log_dir):
    print("scaling: minibatch, batch 128, m in %s (hidden 128), hidden in %s (m = 60000), "
          "%d timed rounds + 1 warm-up" % (ms, hiddens, repeats), flush=True)
    base = {"workload": "scaling", "m": max(max(ms), 60000), "seed": args.seed,
            "threads": args.threads, "lib": args.lib}
    ws = start_workers(["minibatch"], base, env, log_dir)
    w = ws["minibatch"]
    points = [("m", m, m, 128) for m in ms] + [("hidden", h, 60000, h) for h in hiddens]
    cells = {(k, x): {"times": [], "retries": 0, "foreign_cores": [], "error": None}
             for k, x, _, _ in points}
    LOAD.start(pids(ws))
    for r in range(repeats + 1):
        wait_quiet()
        for k, x, m, h in points:
            c = cells[(k, x)]
            if c["error"] or not w.alive():
                c["error"] = c["error"] or w.error or "worker not running"
                continue
            rep = timed_epoch(w, cmd="scale", m=m, hidden=h, round=r)
            if not rep.get("ok"):
                c["error"] = rep.get("error")
                print("  scaling %s=%s: %s" % (k, x, c["error"]), flush=True)
                continue
            c["retries"] += rep["retries"]
            if r == 0:
                c["warmup_s"] = rep["seconds"]
            else:
                c["times"].append(rep["seconds"])
                c["foreign_cores"].append(round(rep["foreign_cores"], 3))
    LOAD.stop(pids(ws))
    w.close()
    out = {"batch": 128, "timed_rounds": repeats, "m": {}, "hidden": {}}
    for key in ("m", "hidden"):
        xs, ts, mins = [], [], []
        for k, x, m, h in points:
            if k != key:
                continue
            c = cells[(k, x)]
            if not c["times"]:
                out[key][str(x)] = {"error": c["error"]}
                continue
            med = statistics.median(c["times"])
            out[key][str(x)] = {"median_s": med, "min_s": min(c["times"]),
                                "times_s": c["times"], "warmup_s": c.get("warmup_s"),
                                "m": m, "hidden": h, "retried_epochs": c["retries"],
                                "foreign_cores": c["foreign_cores"]}
            xs.append(x)
            ts.append(med)
            mins.append(min(c["times"]))
        if len(xs) >= 2:
            # The target reads the medians; each point's fastest round (the host's slow
            # spells left out) is reported beside them.
            out[key + "_linearity"] = dict(linearity(xs, ts), of="median")
            out[key + "_linearity_min"] = dict(linearity(xs, mins), of="min")
    return out


def plot_scaling(sc, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, xlabel in ((axes[0], "m", "examples m (hidden 128)"),
                            (axes[1], "hidden", "hidden width (m = 60,000)")):
        pts = sorted((int(k), v["median_s"], v["min_s"]) for k, v in sc[key].items()
                     if "median_s" in v)
        if not pts:
            continue
        xs, ts, mins = zip(*pts)
        lin = sc.get(key + "_linearity")
        ax.loglog(xs, ts, "o-", label="minibatch epoch (batch 128), median round")
        ax.loglog(xs, mins, "x", color="tab:orange", label="fastest round")
        if lin:
            k = statistics.median(lin["per_unit_s"])
            ax.loglog(xs, [k * x for x in xs], ":", color="gray",
                      label="proportional (median time per %s)" % ("sample" if key == "m" else "unit"))
            if "line_fixed_s" in lin:
                a, b = lin["line_fixed_s"], lin["line_per_unit_s"]
                ax.loglog(xs, [a + b * x for x in xs], "--", color="black",
                          label="straight line %.3f s + %.2g s per %s" % (a, b, "sample" if key == "m" else "unit"))
            fast = sc.get(key + "_linearity_min", {})
            ax.set_title("%s: medians off the line by at most %.0f%% (fastest rounds %s%%)" % (
                key, 100 * lin["line_max_deviation"],
                "%.0f" % (100 * fast["line_max_deviation"]) if fast else "-"), fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("seconds per epoch")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main ------------------------------------------------------------------------------------
def torch_install_note():
    """What bench/run.sh did about PyTorch (bench/logs/torch-install.txt), if it ran."""
    try:
        with open(os.path.join(HERE, "logs", "torch-install.txt")) as f:
            return f.read().strip()
    except OSError:
        return "bench.py run directly: run.sh did not install anything"


def torch_status(env):
    p = subprocess.run([sys.executable, "-c",
                        "import torch; print(torch.__version__); "
                        "print(torch.backends.cuda.is_built())"],
                       capture_output=True, text=True, env=env, timeout=300)
    if p.returncode == 0:
        v, cuda = p.stdout.split()[:2]
        return None, v, cuda == "True"
    err = (p.stderr.strip().splitlines() or ["import torch failed"])[-1]
    return "%s (import torch: %s)" % (torch_install_note(), err), None, None


def package_version(name, env):
    p = subprocess.run([sys.executable, "-c", "import %s as m; print(m.__version__)" % name],
                       capture_output=True, text=True, env=env)
    return p.stdout.strip() if p.returncode == 0 else None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rounds, smaller W2 and "
                    "scaling range (under two minutes)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="threads for every implementation (default: all cores)")
    ap.add_argument("--rounds", type=int, help="timed rounds per workload (after warm-up)")
    ap.add_argument("--lib", default=os.path.normpath(os.path.join(
        HERE, "..", ".build", "release", "libminibatch.so")))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default="mlp,logreg,shuffle,scaling",
                    help="comma-separated subset of mlp,logreg,shuffle,scaling")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    ap.add_argument("--no-probe", action="store_true", help="do not repeat epochs timed "
                    "while the machine's two-core matrix rate was down (bench/probe.c)")
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--wait-quiet", type=float,
                    help="seconds to wait at the start for other processes to go quiet "
                    "(default 120, quick 5)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    t_start = time.time()

    quick = args.quick
    m1 = 60000
    m2 = 250000 if quick else 1000000
    r1 = args.rounds or (2 if quick else 7)
    r2 = args.rounds or (2 if quick else 5)
    r3 = args.rounds or (3 if quick else 9)
    ms = [7500, 15000, 30000, 60000] if quick else [7500, 15000, 30000, 60000, 120000, 240000]
    hiddens = [32, 64, 128, 256] if quick else [32, 64, 128, 256, 512, 1024]
    blas_cfg = {"min_block": 0.005, "blocks": 2} if quick else {"min_block": 0.02, "blocks": 3}
    if quick:
        QUIET.update(max_wait=3.0, retries=1, budget=10.0)

    if not os.path.exists(args.lib):
        sys.exit("libminibatch.so not found at %s (build it first: make build)" % args.lib)
    log_dir = os.path.join(args.out_dir, "logs")
    os.makedirs(log_dir, exist_ok=True)

    # Every worker gets the parent's environment unchanged (OPENBLAS_CORETYPE included, set
    # or not) plus the same thread count for every threading layer.
    env = dict(os.environ)
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(args.threads)
    env["PYTHONUNBUFFERED"] = "1"

    initial_wait = args.wait_quiet if args.wait_quiet is not None else (5 if quick else 120)
    t0 = time.time()
    wait_quiet(initial_wait, window=2.0, budget=False)
    QUIET["spent"] = 0.0
    if time.time() - t0 > 1:
        print("waited %.0f s for other processes to go quiet" % (time.time() - t0), flush=True)
    global PROBE
    if not args.no_probe:
        try:
            PROBE = MachineProbe(args.threads, env)
        except RuntimeError as e:
            print("machine probe unavailable, epochs are not checked against it: %s" % e,
                  flush=True)
    # minibatch's own matrix backend, for the bound: the backend's source (Sources/CMatrix)
    # built as a probe library with the same libraries (libminibatch.so exports only mb_*).
    # BENCH_BACKEND_PROBE names a probe library built elsewhere (a machine without the build).
    args.backend_probe = os.environ.get("BENCH_BACKEND_PROBE") or None
    vendor = os.path.normpath(os.path.join(HERE, "..", ".build", "vendor", "lib"))
    try:
        if args.backend_probe:
            raise StopIteration
        args.backend_probe = build_tool(
            os.path.join("..", "Sources", "CMatrix", "matrix.c"), "backend-probe.so",
            [os.path.join(HERE, "team_rate.c"),
             "-I", os.path.join(HERE, "..", "Sources", "CMatrix", "include"), "-L", vendor,
             "-Wl,-rpath," + vendor, "-lscipy_openblas", "-lxsmm", "-lxsmmnoblas", "-ldl",
             "-lpthread", "-lm"], shared=True)
    except StopIteration:
        pass
    except RuntimeError as e:
        print("minibatch's backend is left out of the bound: %s" % e, flush=True)
    if PROBE:
        PROBE.calibrate(2.0 if quick else 5.0)
        print("machine probe: best two-core sgemm rate %.0f GFLOP/s; epochs with a probe "
              "below %.0f%% of it are repeated" % (PROBE.best, 100 * MachineProbe.SLOW),
              flush=True)

    args.torch_unavailable, torch_v, torch_cuda = (None, None, None)
    if not args.no_torch:
        args.torch_unavailable, torch_v, torch_cuda = torch_status(env)
        if args.torch_unavailable:
            print("PyTorch unavailable: %s" % args.torch_unavailable, flush=True)

    results = {
        "mode": "quick" if quick else "full",
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "environment": {
            "cpu_model": cpu_model(), "cores": os.cpu_count(),
            "threads": args.threads,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
            "thread_variables": {k: env[k] for k in ("OPENBLAS_NUM_THREADS",
                                                      "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
            "python": platform.python_version(), "platform": platform.platform(),
            "numpy": package_version("numpy", env), "sklearn": package_version("sklearn", env),
            "torch": torch_v, "torch_cuda_built": torch_cuda,
            "torch_install": torch_install_note(),
            "torch_unavailable": args.torch_unavailable if not args.no_torch else "--no-torch",
            "matplotlib": package_version("matplotlib", env),
            "library": args.lib, "loadavg_start": open("/proc/loadavg").read().split()[:3],
        },
        "config": {"seed": args.seed, "learning_rate": 0.1, "rounds_mlp": r1,
                   "rounds_logreg": r2, "rounds_shuffle": r3, "m_mlp": m1, "m_logreg": m2,
                   "warmup": "one epoch per worker at the largest batch" if quick else
                   "one epoch per worker and batch size"},
        "workloads": {},
    }

    budget = QUIET["budget"]
    if "mlp" in only:
        start_phase("mlp", budget)
        results["workloads"]["mlp"] = phase_training(
            "mlp", m1, [32, 64, 128, 256, 512, m1], r1, args, env, log_dir, blas_cfg)
        results["workloads"]["mlp"]["allocations"] = phase_allocations(
            m1, [32, 64, 128, 256, 512, m1], args, env, log_dir)
    if "logreg" in only:
        start_phase("logreg", budget)
        results["workloads"]["logreg"] = phase_training(
            "logreg", m2, [256, 4096], r2, args, env, log_dir, blas_cfg)
    if "shuffle" in only:
        start_phase("shuffle", budget)
        results["workloads"]["shuffle"] = phase_shuffle(m2, r3, args, env, log_dir)
    if "scaling" in only:
        start_phase("scaling", budget)
        results["scaling"] = phase_scaling(ms, hiddens, 3 if quick else 9, args, env, log_dir)
        try:
            plot_scaling(results["scaling"], os.path.join(args.out_dir, "scaling.png"))
            results["scaling"]["plot"] = "scaling.png"
        except Exception as e:
            results["scaling"]["plot"] = "not written: %s" % e

    # Environment as the workers saw it.
    E = results["environment"]
    for wl in results["workloads"].values():
        for n, info in wl.get("workers", {}).items():
            if "system_openblas_core" in info:
                E["system_openblas_core"] = info["system_openblas_core"]
                E["system_openblas_threads"] = info["system_openblas_threads"]
            for p in info.get("threadpools", []) if isinstance(info.get("threadpools"), list) else []:
                E.setdefault("blas_libraries", {})[p["filepath"]] = {
                    "api": p["internal_api"], "version": p["version"],
                    "core": p["architecture"], "threads": p["num_threads"]}
            if "minibatch" in info:
                E["minibatch_version"] = info["minibatch"]
            if "minibatch_blas" in info:
                E["minibatch_blas"] = info["minibatch_blas"]
            if "torch_blas" in info:
                E["torch_blas"] = info["torch_blas"]
                E["torch_threads"] = info["torch_threads"]
                E["torch_cpu_capability"] = info.get("torch_cpu_capability")
    E["foreign_cpu_load_cores"] = round(LOAD.cores(), 3)
    retried = disturbed = 0
    for wl in results["workloads"].values():
        for row in wl["batches"].values():
            for c in row.values():
                retried += c.get("retried_epochs", 0)
                disturbed += c.get("disturbed_epochs", 0)
    E["epochs_repeated_for_load"] = retried
    E["timed_epochs_still_disturbed"] = disturbed
    E["machine_probe"] = PROBE.summary() if PROBE else "off (--no-probe)"
    if PROBE:
        PROBE.close()
    E["loadavg_end"] = open("/proc/loadavg").read().split()[:3]

    results["targets"] = check_targets(results, m1)
    results["elapsed_s"] = time.time() - t_start

    # The report.
    m_of = {"mlp": m1, "logreg": m2, "shuffle": m2}
    cores = {k: v for k, v in E.get("blas_libraries", {}).items() if v["api"] == "openblas"}
    rep = ["",
           "minibatch %s benchmark (%s mode), %s" % (E.get("minibatch_version", "?"),
                                                   results["mode"], results["started"]),
           "CPU %s, %s cores; threads %d for every implementation (OPENBLAS/OMP/MKL_NUM_THREADS"
           ", torch.set_num_threads); OPENBLAS_CORETYPE=%s" % (
               E["cpu_model"], E["cores"], args.threads, E["OPENBLAS_CORETYPE"]),
           "minibatch's matrix backend: %s" % (
               "%(backend)s: libxsmm target %(libxsmm_target)s (%(libxsmm_isa)s), OpenBLAS core "
               "%(openblas_core)s (%(openblas_isa)s); CPU %(cpu_isa)s; training's forward "
               "products: %(training_forward)s" % E["minibatch_blas"]
               if "backend" in E.get("minibatch_blas", {}) else E.get("minibatch_blas", "?")),
           "peers' OpenBLAS kernels: " + "; ".join("%s %s: %s" % (os.path.basename(k), v["version"],
                                                           v["core"]) for k, v in cores.items()),
           "numpy %s, scikit-learn %s, torch %s%s, Python %s" % (
               E["numpy"], E["sklearn"], E["torch"] or "unavailable",
               (" (BLAS %s, CPU capability %s)" % (E.get("torch_blas"),
                                                   E.get("torch_cpu_capability")))
               if E.get("torch") else "", E["python"]),
           "other processes used %.2f cores on average while timing (loadavg %s -> %s); "
           "epochs repeated because of them or a slow machine: %d; timed epochs still "
           "disturbed: %d" % (
               E["foreign_cpu_load_cores"], " ".join(E["loadavg_start"]),
               " ".join(E["loadavg_end"]), retried, disturbed),
           ("machine probe (two-core sgemm, bench/probe.c): best %.0f GFLOP/s, median %.0f; "
            "%.0f%% of %d probes below %.0f%% of the best; epochs repeated for it: %d" % (
                PROBE.best, E["machine_probe"]["median_gflops"] or 0,
                100 * (E["machine_probe"]["share_of_probes_slow"] or 0),
                E["machine_probe"]["probes"], 100 * MachineProbe.SLOW, PROBE.slow_epochs))
           if PROBE else "machine probe: off (--no-probe)",
           "mlp: m=%d 784-128-10; logreg: m=%d 100-1; median/min over %d/%d timed epochs "
           "(%s discarded); x mb = time / minibatch's" % (
               m1, m2, r1, r2, "one warm-up epoch per worker, at the largest batch," if quick
               else "a warm-up epoch per batch size"),
           ""]
    if E.get("torch_unavailable") and not args.no_torch:
        rep.append("PyTorch unavailable: %s" % E["torch_unavailable"])
    rep += table(results, m_of)
    rep += ["",
            "peak MiB = VmHWM of the implementation's own process; work MiB = peak - VmRSS "
            "after its data was made.",
            "mlp: memory of the first (full-batch) epoch in a fresh process; logreg/shuffle: "
            "peak over all of that process's epochs.",
            "bound rows: epoch time if every matrix product ran at the sgemm rate measured "
            "at its shape in this run, over as many calls in a row as an epoch makes; peak "
            "rows: at the best 20 ms block of each product (fastest backend per product: "
            "Debian's OpenBLAS, numpy's, and minibatch's own: with several threads, the rate "
            "of its team splitting each product's batch rows, all threads at once, "
            "bench/team_rate.c; its one-thread rate times the threads, the bound's earlier "
            "form, in brackets for comparison).",
            "* = at least one timed epoch ran while other processes took more than a quarter "
            "of a core or the machine probe was down (after retries).",
            ""]
    if "scaling" in results:
        sc = results["scaling"]
        for key, unit in (("m", "sample"), ("hidden", "hidden unit")):
            lin = sc.get(key + "_linearity")
            if lin:
                for stat in ("min", "median"):
                    pts = sorted((int(k), v[stat + "_s"]) for k, v in sc[key].items() if "median_s" in v)
                    rep.append("scaling %-6s %-6s: %s" % (key, stat, "  ".join(
                        "%d:%.3fs" % p for p in pts)))
                fast = sc.get(key + "_linearity_min")
                if fast:
                    rep.append("   fastest rounds: straight line %.3f s + %.3g s per %s, every point within %.0f%% of it"
                               % (fast["line_fixed_s"], fast["line_per_unit_s"], unit,
                                  100 * fast["line_max_deviation"]))
                rep.append("   medians: straight line %.3f s + %.3g s per %s: every point within %.0f%% of it -> %s"
                           % (lin["line_fixed_s"], lin["line_per_unit_s"], unit,
                              100 * lin["line_max_deviation"],
                              "linear within 15%" if lin["linear_within_15pct"] else "NOT linear within 15%"))
                rep.append("   proportional: time per %s within %.0f%% of its median -> %s; doubling ratios %s"
                           % (unit, 100 * lin["max_deviation"],
                              "proportional within 15%" if lin["proportional_within_15pct"]
                              else "NOT proportional within 15%",
                              " ".join("%.2f" % d for d in lin["doubling_ratios"])))
        rep.append("")
    rep.append("targets (medians of this run):")
    for t in results["targets"]:
        rep.append("  %-4s %-62s %7s  (target %s %.2f)%s" % (
            t["verdict"], t["target"],
            "-" if t["measured"] is None else "%.3f" % t["measured"], t["op"], t["limit"],
            "  " + t["detail"] if t["detail"] else ""))
    passed = sum(t["verdict"] == "PASS" for t in results["targets"])
    rep.append("  %d of %d targets met; total time %.0f s" % (passed, len(results["targets"]),
                                                            results["elapsed_s"]))
    text = "\n".join(rep)
    print(text)
    with open(os.path.join(args.out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out_dir, "results.txt"), "w") as f:
        f.write(text.lstrip("\n") + "\n")
    print("wrote %s, results.txt%s" % (os.path.join(args.out_dir, "results.json"),
                                      ", scaling.png" if "scaling" in results else ""))


if __name__ == "__main__":
    main()
