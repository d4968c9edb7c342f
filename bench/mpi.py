#!/usr/bin/env python3
"""Distributed (MPI) training: what it costs here, and a model of its scaling.

Builds bench/mpi_bench.c (and libminibatch_mpi.so when the library directory has none) with
mpicc, runs it with mpirun for np = 1, 2 and 4, one run at a time, and prints:

* the collectives (allreduce_sum, allgather) through the mb_communicator, as training
  calls them, and the latency alpha and bandwidth beta they imply;
* W1 (784-128-10) trained in MB_DISTRIBUTED_FAST and MB_DISTRIBUTED_DETERMINISTIC: epoch
  time (median), speed-up against np = 1, the collective's time per step and the bytes
  each rank sends and receives per step;
* one process's compute per step (W1 and a model ten times larger, 784-1280-10) at batch
  sizes 32 to 512, and what DETERMINISTIC's summation in shard order adds per shard;
* the scaling model: per step = compute(B/R rows) + collective(R, n), for 8, 64 and 512
  ranks, with alpha and beta measured here and assumed for two networks, and the global
  batch B from which compute is no smaller than the collective.

Before each mpirun it waits (at most --quiet-wait s) until other processes take under a
quarter of a core, and runs again (at most --retries times) when they took over a tenth of
one during the run.

    python3 bench/mpi.py [LIBRARY_DIR] [--quick] [--nps 1,2,4] [--reps N] [--rows M]
    python3 bench/mpi.py --from-json bench/out/mpi.json      # a saved run's report again

LIBRARY_DIR holds libminibatch.so (default: $MINIBATCH_LIBRARY_DIR, else .build/release).
Writes bench/out/mpi.txt, bench/out/mpi.json and each run's output as
bench/out/mpi/np-N.log. Plain Python: no numpy, no minibatch import.
"""
import argparse
import json
import math
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W1 = 784 * 128 + 128 + 128 * 10 + 10      # 101,770 parameters
W10 = 784 * 1280 + 1280 + 1280 * 10 + 10  # 1,017,610: ten times W1

# Networks between machines: ASSUMED, not measured here (typical MPI figures: small-message
# latency alpha, large-message bandwidth beta at about 90 % of the line rate).
NETWORKS = {
    "25GbE TCP (assumed)": {"alpha_s": 15e-6, "beta_Bps": 2.8e9},
    "100Gb/s RDMA (assumed)": {"alpha_s": 2e-6, "beta_Bps": 11.5e9},
}
MODEL_RANKS = (8, 64, 512)


def log(*a):
    print(*a, flush=True)


# ---- environment ---------------------------------------------------------------------------

def cpu_model():
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    k, v = (s.strip() for s in line.split(":", 1))
                    fields.setdefault(k, v)
    except OSError:
        pass
    name = fields.get("model name", platform.processor() or "unknown")
    family = fields.get("cpu family")
    if family is not None:
        name += f" (family {family}, model {fields.get('model', '?')})"
    return name


def busy_seconds():
    """CPU seconds all processes have spent busy since boot (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def children_seconds():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_for_quiet(budget_s, limit=0.25, interval=1.0):
    """Waits (at most budget_s) until other processes take less than `limit` of a core over
    `interval`; returns the last share measured and the seconds waited."""
    start = time.monotonic()
    while True:
        b0 = busy_seconds()
        time.sleep(interval)
        share = (busy_seconds() - b0) / interval
        waited = time.monotonic() - start
        if share < limit or waited >= budget_s:
            return share, waited


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return None


def environment(lib_dir, mpirun):
    version = subprocess.run([mpirun, "--version"], capture_output=True, text=True).stdout.splitlines()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "mpi": version[0] if version else "unknown",
        "library_dir": lib_dir,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


# ---- building ------------------------------------------------------------------------------

def newer(target, sources):
    """True when target is missing or older than any source."""
    if not os.path.exists(target):
        return True
    t = os.path.getmtime(target)
    return any(os.path.getmtime(s) > t for s in sources)


def run_checked(cmd):
    log("  $ " + " ".join(shlex.quote(c) for c in cmd))
    subprocess.run(cmd, check=True)


def build(lib_dir, build_dir, mpicc):
    os.makedirs(build_dir, exist_ok=True)
    include = os.path.join(ROOT, "include")
    headers = [os.path.join(include, h) for h in ("minibatch.h", "minibatch_mpi.h")]
    mpi_dir = lib_dir
    if not os.path.exists(os.path.join(lib_dir, "libminibatch_mpi.so")):
        mpi_dir = build_dir
        source = os.path.join(ROOT, "Sources", "MiniBatchMPI", "C", "minibatch_mpi.c")
        target = os.path.join(build_dir, "libminibatch_mpi.so")
        if newer(target, [source] + headers):
            run_checked([mpicc, "-std=c99", "-O2", "-shared", "-fPIC", "-I", include, source, "-o", target])
    source = os.path.join(ROOT, "bench", "mpi_bench.c")
    target = os.path.join(build_dir, "mpi_bench")
    stamp = os.path.join(build_dir, "mpi_bench.libs")
    libs = f"{mpi_dir}\n{lib_dir}\n"
    stale = not os.path.exists(stamp) or open(stamp).read() != libs
    if stale or newer(target, [source] + headers):
        run_checked([mpicc, "-std=c99", "-O2", "-Wall", "-I", include, source, "-o", target,
                     "-L", mpi_dir, "-L", lib_dir, "-lminibatch_mpi", "-lminibatch", "-lm",
                     "-Wl,-rpath," + mpi_dir, "-Wl,-rpath," + lib_dir])
        with open(stamp, "w") as f:
            f.write(libs)
    return target


# ---- running -------------------------------------------------------------------------------

def run_np(mpirun, binary, np_, extra, timeout, log_path, quiet_budget):
    cmd = [mpirun, "--oversubscribe", "-np", str(np_)]
    if os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    cmd += [binary] + extra
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    share, waited = wait_for_quiet(quiet_budget, interval=2.0)
    if share >= 0.25:
        log(f"  ! the machine is not quiet: other processes took {share:.2f} of a core (waited {waited:.0f} s)")
    log("  $ " + " ".join(shlex.quote(c) for c in cmd))
    load_before = loadavg()
    busy0, own0 = busy_seconds(), children_seconds()
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        status = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # mpirun and the ranks it started: our own group only
        out, _ = p.communicate()
        status = "timeout"
    wall = time.monotonic() - start
    # CPU the rest of the machine took meanwhile: all busy time less this run's own.
    foreign = max(0.0, (busy_seconds() - busy0) - (children_seconds() - own0))
    with open(log_path, "w") as f:
        f.write(out)
    records = []
    for line in out.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
                continue
            except json.JSONDecodeError:
                pass
        log("    " + line)
    log(f"    ({wall:.1f} s; other processes took {foreign:.1f} CPU s, {foreign / wall:.2f} of a core)")
    return {"np": np_, "command": cmd, "status": status, "seconds": wall, "loadavg_before": load_before,
            "quiet_before": {"share_of_core": share, "waited_s": waited},
            "foreign_cpu_s": foreign, "foreign_share_of_core": foreign / wall, "records": records,
            "log": log_path}


# ---- the model -----------------------------------------------------------------------------

def fit_line(xs, ys):
    """Least squares y = a + b x."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return my - b * mx, b


def compute_fits(records):
    """Per model (n_parameters): one process's time per step at each measured batch size b,
    and for information the least-squares line t_step(b) = u + c b."""
    fits = {}
    for n in sorted({r["n_parameters"] for r in records}):
        rs = sorted((r for r in records if r["n_parameters"] == n), key=lambda r: r["batch"])
        bs = [r["batch"] for r in rs]
        ts = [r["median_s"] / r["steps"] for r in rs]
        u, c = fit_line(bs, ts) if len(rs) > 1 else (0.0, ts[0] / bs[0])
        fits[n] = {"u_s": u, "c_s_per_row": c, "hidden": rs[0]["hidden"],
                   "points": [{"batch": b, "step_s": t, "row_s": t / b} for b, t in zip(bs, ts)]}
    return fits


def ordered_sum_fits(records):
    """Per model: DETERMINISTIC's step time less FAST's, one rank, against the shards S; the
    slope is what each further shard's ordered summation costs per step."""
    out = {}
    for n in sorted({r["n_parameters"] for r in records}):
        step = {(r["mode"], r["shards"]): r["median_s"] / r["steps"] for r in records if r["n_parameters"] == n}
        ss = sorted(S for (mode, S) in step if mode == "fast" and ("deterministic", S) in step)
        extra = [step[("deterministic", S)] - step[("fast", S)] for S in ss]
        a, b = fit_line(ss, extra) if len(ss) > 1 else (0.0, extra[0] / ss[0])
        out[n] = {"per_shard_s": b, "intercept_s": a, "per_float_s": b / n,
                  "points": [{"shards": S, "extra_step_s": e} for S, e in zip(ss, extra)]}
    return out


def step_compute(fit, rows):
    """compute(rows): the measured step times interpolated linearly between the measured batch
    sizes; outside them proportional to rows at the nearest one's time per row (below the
    smallest this underestimates compute, so the crossover errs high)."""
    pts = fit["points"]
    if rows <= pts[0]["batch"]:
        return pts[0]["row_s"] * rows
    for a, b in zip(pts, pts[1:]):
        if rows <= b["batch"]:
            w = (rows - a["batch"]) / (b["batch"] - a["batch"])
            return a["step_s"] + w * (b["step_s"] - a["step_s"])
    return pts[-1]["row_s"] * rows


def min_shard_rows(hidden):
    """The header's rows-per-shard floor: 4, or 64 for a first layer of 2^18 weights or more."""
    return 64 if 784 * hidden >= 1 << 18 else 4


def measured_alpha_beta(collectives, ranks):
    """alpha and beta from the collectives at `ranks` ranks: alpha from the 16-float call
    (a ring allreduce exchanges 2(R-1) messages, an allgather R-1), beta from the slope between
    n and 10 n (allreduce: 2(R-1)/R * bytes per rank; allgather: (R-1) * bytes per rank)."""
    out = {}
    for op, msgs, volume in (("allreduce_sum", 2 * (ranks - 1), 2 * (ranks - 1) / ranks),
                             ("allgather", ranks - 1, ranks - 1)):
        c = {r["n_floats"]: r["median_s"] for r in collectives if r["op"] == op and r["ranks"] == ranks}
        if len(c) < 3:
            continue
        small, n1, n10 = sorted(c)
        slope = (c[n10] - c[n1]) / ((n10 - n1) * 4)  # seconds per byte per rank
        out[op] = {"alpha_s": c[small] / msgs, "beta_Bps": volume / slope if slope > 0 else float("inf"),
                   "from_ranks": ranks}
    return out


def collective_time(mode, ranks, n, alpha, beta, shards=None, latency="ring"):
    """Per step: FAST one allreduce of n floats, DETERMINISTIC one allgather of ceil(S/R)
    gradients per rank (S = R unless given)."""
    if ranks == 1:
        return 0.0
    shards = shards or ranks
    if mode == "fast":
        lat = 2 * (ranks - 1) * alpha if latency == "ring" else 2 * math.log2(ranks) * alpha
        return lat + 2 * (ranks - 1) / ranks * n * 4 / beta
    lat = (ranks - 1) * alpha if latency == "ring" else math.log2(ranks) * alpha
    return lat + (ranks - 1) * math.ceil(shards / ranks) * n * 4 / beta


def crossover_batch(fit, t_coll, ranks):
    """The global batch B from which compute(B/R rows) >= the collective (bisection: compute
    grows with rows), and at least R shards' worth of rows."""
    lo, hi = 0.0, 1.0
    while step_compute(fit, hi) < t_coll:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if step_compute(fit, mid) < t_coll else (lo, mid)
    floor = ranks * min_shard_rows(fit["hidden"])
    return max(ranks * hi, floor), ranks * hi < floor


def scaling_model(fits, networks, sums):
    rows = []
    for net, ab in networks.items():
        for name, n in (("W1", W1), ("W1x10", W10)):
            if n not in fits:
                continue
            for mode in ("fast", "deterministic"):
                key = "allreduce_sum" if mode == "fast" else "allgather"
                if key in ab:  # measured: each collective its own
                    alpha, beta = ab[key]["alpha_s"], ab[key]["beta_Bps"]
                elif "alpha_s" in ab:  # assumed: one network
                    alpha, beta = ab["alpha_s"], ab["beta_Bps"]
                else:
                    continue
                for ranks in MODEL_RANKS:
                    t = collective_time(mode, ranks, n, alpha, beta)
                    t_log = collective_time(mode, ranks, n, alpha, beta, latency="log")
                    bandwidth = collective_time(mode, ranks, n, 0.0, beta)
                    # DETERMINISTIC: every rank then sums all S = R gradients in shard order
                    t_sum = max(sums[n]["per_shard_s"], 0.0) * ranks if mode == "deterministic" and n in sums else 0.0
                    b, floored = crossover_batch(fits[n], t + t_sum, ranks)
                    rows.append({"network": net, "model": name, "n_parameters": n, "mode": mode, "ranks": ranks,
                                 "alpha_s": alpha, "beta_Bps": beta, "collective_s": t,
                                 "latency_s": t - bandwidth, "collective_log_latency_s": t_log,
                                 "ordered_sum_s": t_sum,
                                 "crossover_batch": b, "crossover_rows_per_rank": b / ranks,
                                 "crossover_is_shard_floor": floored,
                                 "crossover_batch_log_latency": crossover_batch(fits[n], t_log + t_sum, ranks)[0]})
    return rows


# ---- the report ----------------------------------------------------------------------------

def fmt_bytes(b):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b:.0f} B"


def fmt_time(s):
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"


def report(env, runs, args):
    out = []
    p = out.append
    cores = env["cores"]
    p("minibatch distributed training (MPI): " + ("quick run" if args.quick else "full run"))
    p(f"CPU: {env['cpu']}, {cores} cores; OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE'] or 'unset'}; "
      f"{env['mpi']}; ranks run with OPENBLAS_NUM_THREADS=1, training threads 1")
    libs = [r for run in runs for r in run["records"] if r["kind"] == "library"]
    if libs:
        l0 = libs[0]
        p(f"library: minibatch {l0['version']} ({l0['backend']}, OpenBLAS core {l0['openblas_core']}, "
          f"libxsmm {l0['libxsmm_target']}) from {env['library_dir']}; "
          f"distributed training: {'yes' if l0['distributed'] else 'NO (training rows skipped)'}")
    for run in runs:
        if run["status"] != 0:
            p(f"!! np={run['np']}: mpirun ended with {run['status']} (see {run['log']})")
        if run.get("foreign_share_of_core", 0) > 0.1:
            p(f"!! np={run['np']}: other processes took {run['foreign_share_of_core']:.2f} of a core during the "
              "run: its times are disturbed")
    p("")

    collectives = [r for run in runs for r in run["records"] if r["kind"] == "collective"]
    p("Collectives through mb_communicator (median over repetitions, slowest rank, barrier between):")
    p(f"{'np':>3} {'op':<14} {'floats/rank':>11} {'bytes/rank':>10} {'median':>10} {'min':>10}")
    for r in collectives:
        if r["ranks"] == 1:
            continue
        p(f"{r['ranks']:>3} {r['op']:<14} {r['n_floats']:>11,} {fmt_bytes(r['bytes_per_rank']):>10} "
          f"{fmt_time(r['median_s']):>10} {fmt_time(r['min_s']):>10}"
          + ("  oversubscribed" if r["ranks"] > cores else ""))
    shm_ranks = max([r["ranks"] for r in collectives if 1 < r["ranks"] <= cores], default=None)
    shm = measured_alpha_beta(collectives, shm_ranks) if shm_ranks else {}
    for op, ab in shm.items():
        p(f"measured ({op}, np={ab['from_ranks']}, shared memory): alpha = {fmt_time(ab['alpha_s'])}, "
          f"beta = {ab['beta_Bps'] / 1e9:.2f} GB/s")
    p("")

    compute = [r for run in runs for r in run["records"] if r["kind"] == "compute"]
    fits = compute_fits(compute) if compute else {}
    if fits:
        p("Compute: one process, no communicator, threads 1, one shard; time per row (us) at batch b")
        p("(line fit t_step = u + c b for information; the model interpolates the measured points):")
        for n, f in fits.items():
            pts = ", ".join(f"b={q['batch']}: {q['row_s'] * 1e6:.2f}" for q in f["points"])
            p(f"  784-{f['hidden']}-10 ({n:,} params): {pts}; fit c = {f['c_s_per_row'] * 1e6:.2f} us/row, "
              f"u = {fmt_time(f['u_s'])}")
        p("")

    sum_records = [r for run in runs for r in run["records"] if r["kind"] == "shards"]
    sums = ordered_sum_fits(sum_records) if sum_records else {}
    if sums:
        p("Ordered summation (DETERMINISTIC less FAST, one rank, batch 512, per step, by shards S):")
        for n, f in sums.items():
            pts = ", ".join(f"S={q['shards']}: {fmt_time(q['extra_step_s'])}" for q in f["points"])
            p(f"  {n:>9,} params: {pts}; slope {fmt_time(f['per_shard_s'])} per shard "
              f"({f['per_float_s'] * 1e9:.2f} ns per float)")
        p("")

    train = [r for run in runs for r in run["records"] if r["kind"] == "train"]
    base = {(r["mode"], r["batch"]): r["median_s"] for r in train if r["ranks"] == 1}
    if train:
        shards = sorted({r["shards"] for r in train})
        p(f"W1 training, {train[0]['rows']:,} rows, threads 1 per rank, shards {shards} "
          f"(median epoch over {train[0]['reps']} epochs; collective/step estimated from the collectives; "
          "bytes nominal: ring allreduce, allgather received):")
        p(f"{'np':>3} {'mode':<13} {'batch':>5} {'steps':>5} {'epoch':>9} {'speed-up':>8} "
          f"{'coll/step':>9} {'coll/epoch':>10} {'sent/step':>9} {'recv/step':>9}  notes")
        order = {"none": 0, "fast": 1, "deterministic": 2}
        for r in sorted(train, key=lambda r: (r["batch"], order.get(r["mode"], 3), r["ranks"])):
            s = base.get((r["mode"], r["batch"]))
            notes = []
            if r["ranks"] > cores:
                notes.append("oversubscribed")
            if not r["same_on_all_ranks"]:
                notes.append("PARAMETERS DIFFER ACROSS RANKS")
            p(f"{r['ranks']:>3} {r['mode']:<13} {r['batch']:>5} {r['steps']:>5} {fmt_time(r['median_s']):>9} "
              f"{(s / r['median_s']) if s else float('nan'):>7.2f}x "
              f"{fmt_time(r['collective_per_step_s']) if r['ranks'] > 1 else '-':>9} "
              f"{fmt_time(r['collective_per_step_s'] * r['steps']) if r['ranks'] > 1 else '-':>10} "
              f"{fmt_bytes(r['bytes_sent_per_step']):>9} {fmt_bytes(r['bytes_received_per_step']):>9}  "
              + ", ".join(notes))
        det = {}
        for r in train:
            if r["mode"] in ("deterministic", "none"):
                det.setdefault((r["batch"], r["shards"]), {})[f"{r['mode']} np={r['ranks']}"] = r["fingerprint"]
        for (b, s), prints in sorted(det.items()):
            same = len(set(prints.values())) == 1
            p(f"deterministic, batch {b}, shards {s}: final parameters "
              + (f"bit-identical ({', '.join(prints)})" if same else
                 "DIFFER: " + ", ".join(f"{k} {v}" for k, v in prints.items())))
        if fits and W1 in fits and shm:
            p("model check (np=2): steps x (ceil(S/R) x compute(B/S rows) + collective from alpha/beta above")
            p("[+ ordered summation of S shards, deterministic]): predicted vs measured epoch")
            for r in train:
                if r["ranks"] != 2 or r["mode"] == "none":
                    continue
                key = "allreduce_sum" if r["mode"] == "fast" else "allgather"
                if key not in shm:
                    continue
                # each rank computes ceil(S/R) shards of B/S rows
                per_rank = math.ceil(r["shards"] / r["ranks"])
                t_coll = collective_time(r["mode"], 2, W1, shm[key]["alpha_s"], shm[key]["beta_Bps"],
                                         shards=per_rank * 2)
                if r["mode"] == "deterministic" and W1 in sums:
                    f = sums[W1]
                    t_coll += max(0.0, f["intercept_s"] + f["per_shard_s"] * r["shards"])
                pred = r["steps"] * (per_rank * step_compute(fits[W1], r["batch"] / r["shards"]) + t_coll)
                r["model_epoch_s"] = pred
                p(f"  {r['mode']:<13} batch {r['batch']:>4}: predicted {fmt_time(pred)}, measured "
                  f"{fmt_time(r['median_s'])} ({r['median_s'] / pred:.2f}x)")
        p("")

    model = []
    if fits:
        nets = {}
        if shm:
            nets["shared memory (measured here)"] = shm
        nets.update(NETWORKS)
        model = scaling_model(fits, nets, sums)
        p("Scaling model: per step = compute(B/R rows) + collective(R, n); S = R shards; latency of a ring")
        p("(allreduce 2(R-1) alpha, allgather (R-1) alpha), and of log2 algorithms (2 log2 R alpha, log2 R alpha).")
        p("DETERMINISTIC adds the ordered summation of R gradients per step (+sum, measured slope x R).")
        p("B* = the global batch from which compute(B/R rows) >= collective (+ sum); 'f': the shard floor")
        p("R x 4 rows (W1) or R x 64 (W1x10, fused first layer) binds instead.")
        for net in nets:
            src = nets[net]
            if "alpha_s" in src:
                p(f"{net}: alpha = {fmt_time(src['alpha_s'])}, beta = {src['beta_Bps'] / 1e9:.1f} GB/s")
            else:
                p(f"{net}: " + "; ".join(f"{k} alpha = {fmt_time(v['alpha_s'])}, beta = {v['beta_Bps'] / 1e9:.2f} GB/s"
                                        for k, v in src.items()))
            p(f"  {'model':<6} {'mode':<13} {'R':>4} {'coll/step':>10} {'(log2 lat.)':>11} {'+sum/step':>9} "
              f"{'B*':>11} {'rows/rank':>9} {'B* (log2 lat.)':>14}")
            for m in model:
                if m["network"] != net:
                    continue
                p(f"  {m['model']:<6} {m['mode']:<13} {m['ranks']:>4} {fmt_time(m['collective_s']):>10} "
                  f"{fmt_time(m['collective_log_latency_s']):>11} "
                  f"{fmt_time(m['ordered_sum_s']) if m['ordered_sum_s'] else '-':>9} {m['crossover_batch']:>11,.0f} "
                  f"{m['crossover_rows_per_rank']:>8,.0f}{'f' if m['crossover_is_shard_floor'] else ' '} "
                  f"{m['crossover_batch_log_latency']:>14,.0f}")
        p("")
    return "\n".join(out), {"shm": shm, "fits": fits, "ordered_sum": sums, "model": model}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("library_dir", nargs="?", help="directory of libminibatch.so")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, 8,192 rows")
    ap.add_argument("--nps", default="1,2,4", help="process counts (default 1,2,4)")
    ap.add_argument("--reps", type=int, help="timed epochs per measurement (default 7, quick 3)")
    ap.add_argument("--rows", type=int, help="rows of synthetic data (default 16384, quick 8192)")
    ap.add_argument("--shards", type=int, default=4, help="shards per mini-batch (default 4: the largest np)")
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "out"))
    ap.add_argument("--timeout", type=float, help="seconds per mpirun (default 1800, quick 600)")
    ap.add_argument("--quiet-wait", type=float, default=300,
                    help="seconds to wait before each run for other processes to go quiet (default 300)")
    ap.add_argument("--retries", type=int, default=2,
                    help="runs again (at most this often) when other processes took over 0.1 of a core")
    ap.add_argument("--from-json", metavar="PATH", help="print the report of a saved mpi.json again (no runs)")
    args = ap.parse_args()

    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        args.quick = saved["quick"]
        print(report(saved["environment"], saved["runs"], args)[0])
        return 0

    lib_dir = os.path.abspath(args.library_dir or os.environ.get("MINIBATCH_LIBRARY_DIR")
                              or os.path.join(ROOT, ".build", "release"))
    if not os.path.exists(os.path.join(lib_dir, "libminibatch.so")):
        sys.exit(f"mpi.py: no libminibatch.so in {lib_dir} (make build, or give the directory)")
    mpicc = os.environ.get("MPICC", "mpicc")
    mpirun = os.environ.get("MPIRUN", "mpirun")
    build_dir = os.path.join(args.out_dir, "mpi")
    log(f"building in {build_dir}")
    binary = build(lib_dir, build_dir, mpicc)
    env = environment(lib_dir, mpirun)

    extra = ["--shards", str(args.shards)]
    if args.quick:
        extra.append("--quick")
    if args.reps:
        extra += ["--reps", str(args.reps)]
    if args.rows:
        extra += ["--rows", str(args.rows)]
    timeout = args.timeout or (600 if args.quick else 1800)
    runs = []
    for np_ in (int(x) for x in args.nps.split(",")):
        log(f"np={np_}" + (" (oversubscribed)" if np_ > env["cores"] else ""))
        for attempt in range(args.retries + 1):
            run = run_np(mpirun, binary, np_, extra + (["--compute"] if np_ == 1 else []), timeout,
                         os.path.join(build_dir, f"np-{np_}.log"), args.quiet_wait)
            run["attempt"] = attempt + 1
            if run["status"] != 0 or run["foreign_share_of_core"] <= 0.1:
                break
            log(f"  ! disturbed (other processes took {run['foreign_share_of_core']:.2f} of a core): again")
        runs.append(run)

    text, derived = report(env, runs, args)
    log("")
    log(text)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "mpi.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(args.out_dir, "mpi.json"), "w") as f:
        json.dump({"environment": env, "quick": args.quick, "shards": args.shards,
                   "networks_assumed": NETWORKS, "runs": runs, **derived}, f, indent=1, default=str)
    log(f"wrote {os.path.join(args.out_dir, 'mpi.txt')} and mpi.json")
    return 0 if all(r["status"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
