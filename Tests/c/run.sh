#!/usr/bin/env bash
# Builds and runs the C tests of minibatch against .build/release/libminibatch.so.
#
#   bash Tests/c/run.sh              # run every Tests/c/test_*.c and examples/example.c
#   VALGRIND=1 bash Tests/c/run.sh   # the same under valgrind (leaks and memory errors fail),
#                                    # except test_alloc: it counts allocations with its own
#                                    # malloc, which valgrind would replace
#   CC=clang bash Tests/c/run.sh     # another C compiler
#   SANITIZE=address LIBDIR=<dir> bash Tests/c/run.sh
#                                    # against a libminibatch.so built with -sanitize=address
#                                    # (or thread) in <dir>, the programs built with the Swift
#                                    # toolchain's clang and the same sanitizer (`make sanitize`);
#                                    # test_alloc, which replaces malloc, is left out
#
# Each test program ends with a line "N passed, N failed" (counts of checks). This script
# prints every program's output and ends with one line summing them, plus one test each
# for: the header compiling alone as C99, as C++17, and the example compiling and running.
# It exits non-zero if any check failed, any program crashed or valgrind reported errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

CC="${CC:-gcc}"
CXX="${CXX:-g++}"
LIBDIR="${LIBDIR:-$ROOT/.build/release}"
SANITIZE="${SANITIZE:-}"
OUT="$ROOT/.build/ctests${SANITIZE:+-$SANITIZE}"
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -g -I include)
LDFLAGS=(-L "$LIBDIR" -lminibatch "-Wl,-rpath,$LIBDIR" -pthread -lm)
if [[ -n "$SANITIZE" ]]; then
    CFLAGS+=("-fsanitize=$SANITIZE" -fno-omit-frame-pointer)
    LDFLAGS+=("-fsanitize=$SANITIZE")
    # The tests ask for buffers that cannot exist and expect MB_ERR_OUT_OF_MEMORY: the
    # sanitizers' allocators must return NULL as malloc does, not abort.
    export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
    export TSAN_OPTIONS="allocator_may_return_null=1:halt_on_error=1:${TSAN_OPTIONS:-}"
    if [[ "$SANITIZE" == "thread" ]]; then
        # The toolchain's ThreadSanitizer runtime intercepts libdispatch too, and needs it.
        swiftlib="$(cd "$(dirname "$(command -v "$CC")")/../lib/swift/linux" && pwd)"
        LDFLAGS+=(-L "$swiftlib" -ldispatch -lBlocksRuntime "-Wl,-rpath,$swiftlib")
    fi
fi
VALGRIND_CMD=()
if [[ "${VALGRIND:-0}" == "1" ]]; then
    # --fair-sched=yes: valgrind runs one thread at a time, and its default lock lets the
    # running thread take it back at once, so a training thread starved the thread (or the
    # signal) that was to stop it: test_interrupt took 68 to 481 s, mostly waiting, where
    # with fair scheduling it takes 2 s (3 runs each, this machine).
    VALGRIND_CMD=(valgrind --fair-sched=yes --error-exitcode=99 --leak-check=full
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect -q)
fi

mkdir -p "$OUT"
total_passed=0
total_failed=0
problems=()

if [[ ! -f "$LIBDIR/libminibatch.so" ]]; then
    echo "error: $LIBDIR/libminibatch.so not found (build the library first)" >&2
    echo "0 passed, 1 failed"
    exit 2
fi

# --- the header alone, as C and as C++ -------------------------------------------------
header_check() { # $1: label, rest: compiler command
    local label="$1"
    shift
    if printf '#include "minibatch.h"\n#include "minibatch.h"\nint mb_header_check_ = MB_VERSION_NUMBER;\n' |
        "$@" -Wall -Wextra -pedantic -Werror -I include -fsyntax-only - 2>&1; then
        echo "[ OK ] header compiles alone ($label)"
        total_passed=$((total_passed + 1))
    else
        echo "[FAIL] header compiles alone ($label)"
        total_failed=$((total_failed + 1))
        problems+=("header ($label)")
    fi
}
echo "=== header"
header_check "C99, $CC" "$CC" -std=c99 -x c
header_check "C++17, $CXX" "$CXX" -std=c++17 -x c++

# --- test programs --------------------------------------------------------------------
run_program() { # $1: name, $2: source; adds the program's own summary to the totals
    local name="$1" src="$2" exe="$OUT/$1" log="$OUT/$1.log" rc=0
    echo "=== $name"
    if ! "$CC" "${CFLAGS[@]}" -o "$exe" "$src" "${LDFLAGS[@]}"; then
        echo "[FAIL] $name does not compile"
        total_failed=$((total_failed + 1))
        problems+=("$name: compile error")
        return 0
    fi
    local runner=("${VALGRIND_CMD[@]}")
    if [[ "$name" == "test_alloc" ]]; then
        runner=()
    fi
    set +e
    "${runner[@]}" "$exe" >"$log" 2>&1
    rc=$?
    set -e
    cat "$log"
    local summary
    summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)"
    if [[ -n "$summary" ]]; then
        local p f
        p="${summary%% passed,*}"
        f="${summary#*passed, }"
        f="${f%% failed}"
        total_passed=$((total_passed + p))
        total_failed=$((total_failed + f))
        if [[ "$f" != "0" ]]; then
            problems+=("$name: $f failed checks")
        fi
    elif [[ "$name" == "example" && $rc -eq 0 ]]; then
        echo "[ OK ] example runs"
        total_passed=$((total_passed + 1))
    else
        total_failed=$((total_failed + 1))
        problems+=("$name: no summary line (crashed? exit status $rc)")
    fi
    if [[ $rc -eq 99 ]]; then
        problems+=("$name: valgrind reported errors")
        total_failed=$((total_failed + 1))
    elif [[ $rc -ne 0 && -n "$summary" && "${summary#*passed, }" == "0 failed" ]]; then
        problems+=("$name: exit status $rc")
        total_failed=$((total_failed + 1))
    fi
}

for src in Tests/c/test_*.c; do
    name="$(basename "$src" .c)"
    if [[ -n "$SANITIZE" && "$name" == "test_alloc" ]]; then
        echo "=== $name: left out under -fsanitize=$SANITIZE (it replaces malloc)"
        continue
    fi
    run_program "$name" "$src"
done
run_program example examples/example.c

echo "==="
for p in "${problems[@]+"${problems[@]}"}"; do
    echo "problem: $p"
done
echo "$total_passed passed, $total_failed failed"
if [[ $total_failed -ne 0 || ${#problems[@]} -ne 0 ]]; then
    exit 1
fi
exit 0
