#!/usr/bin/env bash
# The benchmark's one command:  bash bench/run.sh [--quick] [other bench.py options]
#
# Installs the peers with pip (quietly; what is already installed is left alone), then runs
# bench/bench.py with the arguments given. PyTorch is installed only as a CPU-only build:
#   1. an importable torch is used as it is;
#   2. otherwise a "+cpu" torch release that pip can see (pip's configured index or
#      find-links) is installed, the newest first;
#   3. otherwise torch is left out: PyPI's own Linux x86_64 torch wheels depend on the
#      CUDA nvidia-* packages (several GB), so the benchmark reports PyTorch as unavailable,
#      with the reason, instead of failing.
# BENCH_TORCH_SPEC="torch==X" installs that requirement instead; BENCH_TORCH=skip leaves
# torch out. The outcome is written to bench/logs/torch-install.txt and into results.json.
set -u -o pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
PIP=("$PYTHON" -m pip --disable-pip-version-check)
mkdir -p "$here/logs"
note="$here/logs/torch-install.txt"
log="$here/logs/pip.log"
: >"$log"

echo "bench: installing peers (numpy, scikit-learn, matplotlib, threadpoolctl) with pip" >&2
if ! "${PIP[@]}" install -q numpy scikit-learn matplotlib threadpoolctl >>"$log" 2>&1; then
    echo "bench: pip could not install the peers; see $log" >&2
    tail -n 5 "$log" >&2
    exit 1
fi

torch_ok() { "$PYTHON" -c "import torch" >/dev/null 2>&1; }

if [ "${BENCH_TORCH:-}" = skip ]; then
    echo "left out (BENCH_TORCH=skip)" >"$note"
elif torch_ok; then
    echo "already installed: torch $("$PYTHON" -c 'import torch; print(torch.__version__)')" >"$note"
else
    spec="${BENCH_TORCH_SPEC:-}"
    if [ -z "$spec" ]; then
        # Versions pip can see, newest first; keep the CPU-only builds.
        cpu="$("${PIP[@]}" index versions torch 2>>"$log" | sed -n 's/^Available versions: //p' \
               | tr ',' '\n' | tr -d ' ' | grep '+cpu$' | head -n 1)"
        [ -n "$cpu" ] && spec="torch==$cpu"
    fi
    if [ -n "$spec" ]; then
        echo "bench: installing $spec (CPU-only) with pip" >&2
        if timeout 1200 "${PIP[@]}" install -q --only-binary :all: "$spec" >>"$log" 2>&1 && torch_ok; then
            echo "installed $spec with pip (a CPU-only wheel pip found: $("${PIP[@]}" config list 2>/dev/null | grep -E 'find-links|index-url' | tr '\n' ' '))" >"$note"
        else
            echo "pip install $spec failed: $(tail -n 1 "$log")" >"$note"
        fi
    else
        echo "no CPU-only torch wheel visible to pip; PyPI's Linux x86_64 torch wheels need the CUDA nvidia-* packages (several GB), so torch was not installed" >"$note"
    fi
fi
echo "bench: PyTorch: $(cat "$note")" >&2

# Every implementation runs under the same OPENBLAS_CORETYPE. Where the environment sets it
# (this project's machines export OPENBLAS_CORETYPE=Haswell), the benchmark runs twice: as
# the environment sets it and with it (and OPENBLAS_L2_SIZE) unset, each into its own
# folder bench/out/coretype-SETTING (bench.py's results, files.py's, training from .npy
# files against memory, and rules.py's, the update rules against torch.optim and scikit-learn); with BENCH_ONE_THREAD=1 each setting also runs W1 with every
# implementation on one thread (bench/out/coretype-SETTING/one-thread).
cd "$here/.."
settings=("${OPENBLAS_CORETYPE:-unset}")
[ -n "${OPENBLAS_CORETYPE:-}" ] && settings+=(unset)
status=0
for setting in "${settings[@]}"; do
    out="$here/out/coretype-$setting"
    mkdir -p "$out"
    echo "bench: OPENBLAS_CORETYPE=$setting -> $out" >&2
    run_env=(env)
    [ "$setting" = unset ] && run_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
    "${run_env[@]}" "$PYTHON" "$here/bench.py" --out-dir "$out" "$@" || status=1
    files_args=()
    for a in "$@"; do [ "$a" = --quick ] && files_args+=(--quick); done
    "${run_env[@]}" "$PYTHON" "$here/files.py" --out "$out/files-results.json" "${files_args[@]}" \
        2>&1 | tee "$out/files-console.txt" || status=1
    # The update rules (plain gradient descent, momentum, Adam) against torch.optim and
    # scikit-learn's solvers (#16); --quick: batch 128 only, 3 rounds.
    rules_args=(--batches 64,128,256 --rounds 5)
    for a in "$@"; do [ "$a" = --quick ] && rules_args=(--batches 128 --rounds 3); done
    "${run_env[@]}" "$PYTHON" "$here/rules.py" --out "$out/rules-results.json" "${rules_args[@]}" \
        2>&1 | tee "$out/rules-console.txt" || status=1
    if [ "${BENCH_ONE_THREAD:-0}" = 1 ]; then
        mkdir -p "$out/one-thread"
        "${run_env[@]}" "$PYTHON" "$here/bench.py" --out-dir "$out/one-thread" --threads 1 \
            --only mlp "$@" || status=1
    fi
done
# Distributed training over MPI at 1, 2 and 4 ranks (#17), in the environment's setting only
# (the collectives do not depend on it); results in bench/out/mpi.txt.
mpi_args=()
for a in "$@"; do [ "$a" = --quick ] && mpi_args+=(--quick); done
"$PYTHON" "$here/mpi.py" "${mpi_args[@]}" || status=1
exit $status
