#!/usr/bin/env bash
# Checks the promises libminibatch.so makes to C users, on the built library:
#   - it loads without the Swift toolchain (ldd shows no libswift* or Foundation);
#   - it exports only mb_* symbols, and every function the header declares;
#   - its only non-system dependency is the vendored OpenBLAS beside it (libscipy_openblas.so,
#     found through RUNPATH $ORIGIN), not the system's libopenblas;
#   - the header compiles alone as C99 and as C++ with -Wall -Wextra -pedantic -Werror.
# Prints one line per check and a closing "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/../.."
so=.build/release/libminibatch.so
passed=0 failed=0
check() { # name, command...
    local name=$1; shift
    if out=$("$@" 2>&1); then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1)); echo "FAIL $name"; [ -n "$out" ] && echo "$out" | sed 's/^/     /'
    fi
}
no_swift_runtime() { ! ldd "$so" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime'; }
only_vendored_openblas() {
    ldd "$so" | awk '{print $1}' | grep -vE '^(linux-vdso|/lib64/ld-linux|libc\.|libm\.|libstdc\+\+|libgcc_s|libpthread|libdl|librt|libscipy_openblas\.so)' | grep . && return 1
    grep -q 'RUNPATH.*\[\$ORIGIN\]' <<<"$(readelf -d "$so")" || { echo "RUNPATH is not \$ORIGIN"; return 1; }
    local beside
    beside=$(ldd "$so" | awk '$1 == "libscipy_openblas.so" {print $3}')
    [ "$beside" = "$(cd "$(dirname "$so")" && pwd)/libscipy_openblas.so" ] ||
        { echo "libscipy_openblas.so resolved to '$beside', not beside the library"; return 1; }
}
only_mb_exports() {
    local stray
    stray=$(nm -D --defined-only --extern-only "$so" | awk '{print $3}' | grep -v '^mb_')
    [ -z "$stray" ] || { echo "exported outside mb_: $stray"; return 1; }
}
header_functions_exported() {
    local missing=0 exported
    exported=$(nm -D --defined-only --extern-only "$so" | awk '{print $3}')
    for f in $(grep -oE '\bmb_[a-z0-9_]+\(' include/minibatch.h | tr -d '(' | sort -u); do
        grep -qx "$f" <<<"$exported" || { echo "not exported: $f"; missing=1; }
    done
    return $missing
}
header_alone() { echo '#include "minibatch.h"' | "$@" -Wall -Wextra -pedantic -Werror -Iinclude -fsyntax-only -; }

check "libminibatch.so exists" test -f "$so"
check "ldd shows no Swift runtime" no_swift_runtime
check "only system libraries and the OpenBLAS beside it are needed" only_vendored_openblas
check "only mb_* symbols are exported" only_mb_exports
check "every function of the header is exported" header_functions_exported
check "header compiles alone as C99" header_alone gcc -std=c99 -x c
check "header compiles alone as C11" header_alone gcc -std=c11 -x c
check "header compiles alone as C++17" header_alone g++ -std=c++17 -x c++
check "header compiles alone as C++11" header_alone g++ -std=c++11 -x c++
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
