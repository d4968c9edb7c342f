#!/usr/bin/env bash
# `make install` and `make uninstall` into a temporary prefix, used the way a C programmer
# uses an installed library:
#   - the headers, the libraries with their SONAMEs (libminibatch.so.0, libminibatch_mpi.so.0)
#     and links, the OpenBLAS beside them, the pkg-config files and the tool are there;
#     libminibatch exports only mb_* symbols and finds its OpenBLAS through RUNPATH $ORIGIN;
#   - examples/example.c, compiled with `cc example.c $(pkg-config --cflags --libs minibatch)`
#     and nothing else, runs without LD_LIBRARY_PATH on the installed library;
#   - Tests/mpi/example_mpi.c, compiled with `pkg-config --cflags --libs minibatch-mpi`
#     (which brings Open MPI's flags, ompi-c), runs on 2 ranks;
#   - bin/minibatch-cli runs, its libraries found in PREFIX/lib;
#   - `make uninstall` leaves the prefix empty.
# As root, where unshare(1) can make a mount namespace, it runs with the Swift toolchain
# (/opt/swift) hidden under an empty tmpfs mount, which shows that nothing installed needs it.
# Needs `make build` first. Prints one line per check and a closing "N passed, N failed" line.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SWIFT_DIR=/opt/swift

if [[ "${MB_INSTALL_TEST_HIDDEN:-}" != 1 && "$(id -u)" == 0 ]] &&
    unshare --mount --propagation private true 2>/dev/null; then
    exec unshare --mount --propagation private env MB_INSTALL_TEST_HIDDEN=1 bash "${BASH_SOURCE[0]}" "$@"
fi
toolchain="present (no mount namespace here)"
if [[ "${MB_INSTALL_TEST_HIDDEN:-}" == 1 && -d "$SWIFT_DIR" ]]; then
    mount -t tmpfs -o size=1m,mode=0755 minibatch-hidden "$SWIFT_DIR" || exit 1
    toolchain="hidden (an empty tmpfs mount over $SWIFT_DIR)"
fi
unset LD_LIBRARY_PATH PKG_CONFIG_PATH
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v "^$SWIFT_DIR" | paste -sd: -)"
export PATH

VERSION="$(sed -n 's/^#define MB_VERSION_STRING "\(.*\)".*/\1/p' include/minibatch.h)"
MAJOR="$(sed -n 's/^#define MB_VERSION_MAJOR \([0-9][0-9]*\).*/\1/p' include/minibatch.h)"
TMP="$(mktemp -d /tmp/minibatch-install-test.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
PREFIX="$TMP/prefix"
mkdir -p "$PREFIX" "$TMP/work"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"

passed=0 failed=0
check() { # name, command...
    local name=$1
    shift
    if out=$("$@" 2>&1); then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        [[ -n "$out" ]] && echo "$out" | tail -n 30 | sed 's/^/     /'
    fi
    return 0
}
echo "minibatch $VERSION into $PREFIX; the Swift toolchain: $toolchain"

check "make install PREFIX=<temporary folder>" make --no-print-directory install PREFIX="$PREFIX"

layout() {
    local f
    for f in include/minibatch.h include/minibatch_mpi.h lib/libscipy_openblas.so \
        lib/pkgconfig/minibatch.pc lib/pkgconfig/minibatch-mpi.pc bin/minibatch-cli; do
        [[ -f "$PREFIX/$f" ]] || { echo "missing: $f"; return 1; }
    done
    for name in libminibatch libminibatch_mpi; do
        [[ -f "$PREFIX/lib/$name.so.$VERSION" && ! -L "$PREFIX/lib/$name.so.$VERSION" ]] ||
            { echo "$name.so.$VERSION is not a file"; return 1; }
        [[ "$(readlink "$PREFIX/lib/$name.so.$MAJOR")" == "$name.so.$VERSION" ]] ||
            { echo "$name.so.$MAJOR does not link to $name.so.$VERSION"; return 1; }
        [[ "$(readlink "$PREFIX/lib/$name.so")" == "$name.so.$MAJOR" ]] ||
            { echo "$name.so does not link to $name.so.$MAJOR"; return 1; }
        grep -q "(SONAME) *Library soname: \[$name.so.$MAJOR\]" <<<"$(readelf -d "$PREFIX/lib/$name.so.$VERSION")" ||
            { echo "$name: SONAME is not $name.so.$MAJOR"; readelf -d "$PREFIX/lib/$name.so.$VERSION" | grep SONAME; return 1; }
    done
}
check "headers, libraries with SONAMEs .so.$MAJOR and links, OpenBLAS, .pc files, tool" layout

library() {
    local so="$PREFIX/lib/libminibatch.so.$VERSION" stray
    stray=$(nm -D --defined-only --extern-only "$so" | awk '{print $3}' | grep -v '^mb_')
    [[ -z "$stray" ]] || { echo "exported outside mb_: $stray"; return 1; }
    grep -q 'RUNPATH.*\[\$ORIGIN\]' <<<"$(readelf -d "$so")" || { echo "RUNPATH is not \$ORIGIN"; return 1; }
    grep -q "libscipy_openblas.so => $PREFIX/lib/libscipy_openblas.so" <<<"$(ldd "$so")" ||
        { ldd "$so"; echo "OpenBLAS not found beside the library"; return 1; }
}
check "libminibatch exports only mb_*, finds its OpenBLAS beside it (RUNPATH \$ORIGIN)" library

pc_version() { [[ "$(pkg-config --modversion minibatch)" == "$VERSION" ]] &&
    [[ "$(pkg-config --modversion minibatch-mpi)" == "$VERSION" ]]; }
check "pkg-config --modversion minibatch and minibatch-mpi say $VERSION" pc_version

c_program() {
    local flags
    flags="$(pkg-config --cflags --libs minibatch)" || return 1
    echo "cc example.c $flags"
    cc -std=c99 -Wall -Wextra -Werror -o "$TMP/work/example" examples/example.c $flags || return 1
    grep -q "NEEDED.*\[libminibatch.so.$MAJOR\]" <<<"$(readelf -d "$TMP/work/example")" ||
        { echo "the program does not need libminibatch.so.$MAJOR"; return 1; }
    grep -q "libminibatch.so.$MAJOR => $PREFIX/lib/libminibatch.so.$MAJOR" <<<"$(ldd "$TMP/work/example")" ||
        { ldd "$TMP/work/example"; return 1; }
    (cd "$TMP/work" && env -u LD_LIBRARY_PATH ./example)
}
check "examples/example.c with only \$(pkg-config --cflags --libs minibatch) runs" c_program

mpi_program() {
    local flags mpirun=(mpirun --oversubscribe -np 2)
    [[ "$(id -u)" == 0 ]] && mpirun+=(--allow-run-as-root)
    flags="$(pkg-config --cflags --libs minibatch-mpi)" || return 1
    echo "cc example_mpi.c $flags"
    cc -std=c99 -Wall -Wextra -Werror -o "$TMP/work/example_mpi" Tests/mpi/example_mpi.c $flags || return 1
    (cd "$TMP/work" && timeout 120 "${mpirun[@]}" -x OPENBLAS_NUM_THREADS=1 ./example_mpi) >"$TMP/work/mpi.log" 2>&1
    local status=$?
    tail -n 3 "$TMP/work/mpi.log"
    [[ $status -eq 0 ]] && grep -q '^epoch 10 ' "$TMP/work/mpi.log"
}
check "Tests/mpi/example_mpi.c with only \$(pkg-config --cflags --libs minibatch-mpi) runs on 2 ranks" mpi_program

tool() {
    local cli="$PREFIX/bin/minibatch-cli"
    ldd "$cli" | grep -E 'not found|libswift' && return 1
    local openblas
    openblas="$(ldd "$cli" | awk '$1 == "libscipy_openblas.so" {print $3}')"
    if [[ -n "$openblas" && "$(realpath "$openblas")" != "$(realpath "$PREFIX/lib/libscipy_openblas.so")" ]]; then
        ldd "$cli"
        echo "the tool does not find OpenBLAS in PREFIX/lib"
        return 1
    fi
    (cd "$TMP/work" && "$cli" --help >/dev/null)
}
check "bin/minibatch-cli --help runs (no Swift runtime needed, libraries from PREFIX/lib)" tool

empty_after_uninstall() {
    make --no-print-directory uninstall PREFIX="$PREFIX" >/dev/null || return 1
    local left
    left="$(cd "$PREFIX" && find . -mindepth 1)"
    [[ -z "$left" ]] || { echo "left in the prefix:"; echo "$left"; return 1; }
}
check "make uninstall leaves the prefix empty" empty_after_uninstall

echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
