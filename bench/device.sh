#!/usr/bin/env bash
# bench/device.sh [SECONDS]: what a session measures on a lent machine that has many cores,
# Python with numpy and PyTorch, and no Swift (issue 20's 16-core server CPU), in one call
# that ends within SECONDS (default 420), the most wanted first:
#   1. the machine and what runs (info.txt: CPU, flags, minibatch's backend report, the
#      main thread's CPUs after a training and scikit-learn's import);
#   2. thread scaling of W1 and of 784-512-10, minibatch against PyTorch at 1, 2, 4, ...
#      threads (bench/threads.py: threads.txt, threads.json), within about 45 % of the time;
#   3. `bench.py --quick --only mlp` with every thread (bench-N/), then with one (bench-1/),
#      each given what time is left.
# The library is the one built here, carried there; no step rebuilds it.
#
# Here, first:   make device-pack
#   (builds .build/release/libminibatch.so, with libscipy_openblas.so beside it, and the
#   backend probe the bound needs, bench/logs/backend-probe.so)
# Then the device call, from the repository root, carrying those three paths:
#   bash bench/device.sh 420
# Results go to $OUT when it is set (the device tool brings it back), else bench/out/device.
set -u -o pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
budget="${1:-420}"
out="${OUT:-$root/bench/out/device}"
mkdir -p "$out"
start=$(date +%s)
left() { echo $(( budget - ($(date +%s) - start) )); }

lib="$root/.build/release"
export MINIBATCH_LIBRARY="${MINIBATCH_LIBRARY:-$lib/libminibatch.so}"
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$root/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
[ -f "$root/bench/logs/backend-probe.so" ] && export BENCH_BACKEND_PROBE="$root/bench/logs/backend-probe.so"
if [ ! -f "$MINIBATCH_LIBRARY" ]; then
    echo "device.sh: no library at $MINIBATCH_LIBRARY (run make device-pack here and carry it)" >&2
    exit 2
fi

{
    date -u
    echo "nproc $(nproc); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
    lscpu | grep -E 'Model name|Socket|Thread|Core|L2|L3|NUMA node\(s\)'
    echo "flags: $(grep -m1 -o -E 'avx512[a-z_0-9]*|amx[a-z_0-9]*|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    python3 -c "import minibatch_gd as m; m.show_config()" 2>&1
    python3 -c "import numpy, torch; print('numpy', numpy.__version__, 'torch', torch.__version__, torch.backends.cpu.get_cpu_capability())" 2>&1
    # The CPUs the main thread may use before and after a training call and scikit-learn's
    # import (its libgomp): before 0.12.4 libxsmm's OMP_PROC_BIND=TRUE bound it to one CPU.
    python3 -c "
import os, numpy as np, minibatch_gd as m
before = len(os.sched_getaffinity(0))
with m.Network([8, 4, 2], seed=1) as n: n.train(np.ones((64, 8), np.float32), np.zeros(64, np.int32), epochs=1)
import sklearn.utils
print('CPUs of the main thread: %d before, %d after a training and scikit-learn' % (before, len(os.sched_getaffinity(0))))" 2>&1
} > "$out/info.txt" 2>&1
cat "$out/info.txt"

# (threads.py keeps to its budget; the outer timeout is in case it cannot)
timeout $(( budget * 45 / 100 + 30 )) python3 "$root/bench/threads.py" --budget $(( budget * 45 / 100 )) \
    --out "$out/threads.json" 2>&1 | tee "$out/threads.txt"

for t in "$(nproc)" 1; do
    s=$(( $(left) - 10 ))
    if [ "$s" -lt 60 ]; then
        echo "device.sh: $s s left, bench.py with $t threads not started" | tee -a "$out/info.txt"
        continue
    fi
    mkdir -p "$out/bench-$t"
    timeout "$s" python3 "$root/bench/bench.py" --quick --only mlp --threads "$t" \
        --lib "$MINIBATCH_LIBRARY" --out-dir "$out/bench-$t" > "$out/bench-$t/console.txt" 2>&1
    echo "device.sh: bench.py with $t threads: exit $? after $(( $(date +%s) - start )) s" | tee -a "$out/info.txt"
    grep -E 'PASS|MISS' "$out/bench-$t/console.txt" | cut -c1-150
done
