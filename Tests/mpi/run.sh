#!/usr/bin/env bash
# Builds and runs the MPI tests of minibatch (distributed training, minibatch.h and
# minibatch_mpi.h) against the libminibatch.so in LIBDIR.
#
#   bash Tests/mpi/run.sh [LIBDIR]    LIBDIR: the folder of libminibatch.so (default
#                                     .build/release)
#   NPS="2 4" bash Tests/mpi/run.sh   other process counts (default "1 2 3 4")
#   MPICC=... MPICXX=... MPIRUN=...  another MPI's compiler wrappers and launcher
#
# Builds, into .build/mpitests: libminibatch_mpi.so (Sources/MiniBatchMPI/C), test_mpi (from
# Tests/mpi/test_mpi*.c and mpi_fixtures*.c) and example_mpi (rpath to both library folders),
# all with -std=c99 -Wall -Wextra -Werror -pedantic; checks that minibatch_mpi.h compiles alone as C99 and C++17. Runs test_mpi under `timeout 300 mpirun --oversubscribe -np N` for each N, and
# example_mpi with -np 2. Each test_mpi run ends with rank 0's line "N passed, N failed"
# (checks summed over the ranks); this script ends with one line summing them, the example
# counting as one check. It exits non-zero if any check failed, any run exited non-zero
# (a crash, MPI_Abort, a hang cut by the timeout: 124) or anything failed to build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

LIBDIR_ARG="${1:-.build/release}"
if [[ ! -f "$LIBDIR_ARG/libminibatch.so" ]]; then
    echo "error: $LIBDIR_ARG/libminibatch.so not found (build the library first)" >&2
    echo "0 passed, 1 failed"
    exit 2
fi
LIBDIR="$(cd "$LIBDIR_ARG" && pwd)"
OUT="$ROOT/.build/mpitests"
MPICC="${MPICC:-mpicc}"
NPS="${NPS:-1 2 3 4}"
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -O2 -g -I include -I Tests/c -I Tests/mpi)
# test_mpi's files: the list of tests and main, the tests, their fixtures (mpi_fixtures.h)
TEST_MPI_SOURCES=(Tests/mpi/test_mpi.c Tests/mpi/test_mpi_deterministic.c
    Tests/mpi/test_mpi_files.c Tests/mpi/test_mpi_failures.c Tests/mpi/mpi_fixtures.c
    Tests/mpi/mpi_fixtures_files.c)
LDFLAGS=(-L "$OUT" -L "$LIBDIR" -lminibatch_mpi -lminibatch "-Wl,-rpath,$OUT"
    "-Wl,-rpath,$LIBDIR" -lm)
read -r -a MPIRUN <<<"${MPIRUN:-mpirun}"
MPIRUN+=(--oversubscribe -x OPENBLAS_NUM_THREADS=1)
if [[ "$(id -u)" == "0" ]]; then
    MPIRUN+=(--allow-run-as-root)
fi

mkdir -p "$OUT"
total_passed=0
total_failed=0
problems=()

echo "=== build (library folder $LIBDIR)"
if ! "$MPICC" -std=c99 -Wall -Wextra -Werror -pedantic -O2 -shared -fPIC -I include \
    Sources/MiniBatchMPI/C/minibatch_mpi.c -o "$OUT/libminibatch_mpi.so" ||
    ! "$MPICC" "${CFLAGS[@]}" "${TEST_MPI_SOURCES[@]}" -o "$OUT/test_mpi" "${LDFLAGS[@]}" ||
    ! "$MPICC" "${CFLAGS[@]}" Tests/mpi/example_mpi.c -o "$OUT/example_mpi" "${LDFLAGS[@]}"; then
    echo "[FAIL] build"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "[ OK ] build"

# minibatch_mpi.h alone, twice, as C99 and as C++17 (Open MPI's own C++ bindings, which
# mpi.h pulls into C++ unless OMPI_SKIP_MPICXX is defined, do not build with -Wextra -Werror:
# -Wcast-function-type in ompi/mpi/cxx/op_inln.h; MPICH ignores the macro).
header_check() { # $1: label, rest: compiler command
    local label="$1"
    shift
    if printf '#include "minibatch_mpi.h"\n#include "minibatch_mpi.h"\n' |
        "$@" -Wall -Wextra -pedantic -Werror -I include -fsyntax-only - 2>&1; then
        echo "[ OK ] minibatch_mpi.h compiles alone ($label)"
        total_passed=$((total_passed + 1))
    else
        echo "[FAIL] minibatch_mpi.h compiles alone ($label)"
        total_failed=$((total_failed + 1))
        problems+=("minibatch_mpi.h ($label)")
    fi
}
header_check "C99, $MPICC" "$MPICC" -std=c99 -x c
header_check "C++17, ${MPICXX:-mpicxx}" "${MPICXX:-mpicxx}" -DOMPI_SKIP_MPICXX=1 -std=c++17 -x c++

for np in $NPS; do
    log="$OUT/test_mpi-np$np.log"
    echo "=== test_mpi, mpirun -np $np"
    set +e
    timeout 300 "${MPIRUN[@]}" -np "$np" "$OUT/test_mpi" >"$log" 2>&1
    rc=$?
    set -e
    cat "$log"
    summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)"
    if [[ -n "$summary" ]]; then
        p="${summary%% passed,*}"
        f="${summary#*passed, }"
        f="${f%% failed}"
        total_passed=$((total_passed + p))
        total_failed=$((total_failed + f))
        [[ "$f" == "0" ]] || problems+=("test_mpi -np $np: $f failed checks")
    fi
    if [[ $rc -eq 124 ]]; then
        problems+=("test_mpi -np $np: timed out after 300 s (a hang?)")
        total_failed=$((total_failed + 1))
    elif [[ -z "$summary" ]]; then
        problems+=("test_mpi -np $np: no summary line (exit status $rc)")
        total_failed=$((total_failed + 1))
    elif [[ $rc -ne 0 && "$f" == "0" ]]; then
        problems+=("test_mpi -np $np: exit status $rc")
        total_failed=$((total_failed + 1))
    fi
    echo "ran test_mpi with -np $np: exit status $rc"
done

echo "=== example_mpi, mpirun -np 2"
set +e
timeout 120 "${MPIRUN[@]}" -np 2 "$OUT/example_mpi" >"$OUT/example_mpi.log" 2>&1
rc=$?
set -e
cat "$OUT/example_mpi.log"
if [[ $rc -eq 0 ]] && grep -q '^epoch 10 ' "$OUT/example_mpi.log"; then
    echo "[ OK ] example_mpi runs on 2 ranks"
    total_passed=$((total_passed + 1))
else
    echo "[FAIL] example_mpi (exit status $rc)"
    problems+=("example_mpi -np 2: exit status $rc")
    total_failed=$((total_failed + 1))
fi

echo "==="
for p in "${problems[@]+"${problems[@]}"}"; do
    echo "problem: $p"
done
echo "$total_passed passed, $total_failed failed"
if [[ $total_failed -ne 0 || ${#problems[@]} -ne 0 ]]; then
    exit 1
fi
exit 0
