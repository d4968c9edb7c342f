#!/usr/bin/env bash
# The wheel of `make wheel` where there is no Swift toolchain and no BLAS of the system's.
#
#   bash Tests/install/test_wheel.sh [WHEEL]     (default: the one dist/minibatch_gd-*.whl)
#
# Installs the wheel, with numpy and pytest from PyPI, into a fresh virtual environment
# (python3 -m venv) and, from an empty folder elsewhere, with PATH stripped of the Swift
# toolchain and LD_LIBRARY_PATH, PYTHONPATH and MINIBATCH_LIBRARY unset, checks that
#   - minibatch_gd and its library (minibatch_gd.library_path()) come from that environment's
#     site-packages, with libscipy_openblas.so beside the library;
#   - neither ldd of the library nor the loader's own trace of a process that trains
#     (LD_DEBUG=libs) shows anything from the Swift toolchain (/opt/swift) or from Debian's
#     OpenBLAS (libopenblas*, openblas-pthread/, libblas, liblapack);
#   - the binding's test-suite (bindings/python/tests, MINIBATCH_TEST_INSTALLED=1) passes
#     against the installed package.
# As root, where unshare(1) can make a mount namespace, all of it runs with /opt/swift and
# Debian's OpenBLAS folder hidden under empty tmpfs mounts (seen by this process tree only);
# elsewhere it runs with them in place, and the checks above show they are not used.
# Prints one line per check and a closing "N passed, N failed" line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SWIFT_DIR=/opt/swift
SYSTEM_OPENBLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-pthread
FOREIGN='/opt/swift|libswift|libopenblas|openblas-pthread|libblas\.so|liblapack\.so'

if [[ "${MB_WHEEL_TEST_HIDDEN:-}" != 1 && "$(id -u)" == 0 ]] &&
    unshare --mount --propagation private true 2>/dev/null; then
    exec unshare --mount --propagation private env MB_WHEEL_TEST_HIDDEN=1 bash "${BASH_SOURCE[0]}" "$@"
fi
hidden="present (no mount namespace here): the checks show they are not used"
if [[ "${MB_WHEEL_TEST_HIDDEN:-}" == 1 ]]; then
    for d in "$SWIFT_DIR" "$SYSTEM_OPENBLAS_DIR"; do
        [[ -d "$d" ]] && mount -t tmpfs -o size=1m,mode=0755 minibatch-hidden "$d"
    done
    hidden="hidden (empty tmpfs mounts over $SWIFT_DIR and $SYSTEM_OPENBLAS_DIR)"
fi

if [[ $# -ge 1 ]]; then
    WHEEL="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
else
    shopt -s nullglob
    wheels=("$ROOT"/dist/minibatch_gd-*.whl)
    shopt -u nullglob
    if [[ ${#wheels[@]} -ne 1 ]]; then
        echo "error: expected one dist/minibatch_gd-*.whl, found ${#wheels[@]} (make wheel)" >&2
        echo "0 passed, 1 failed"
        exit 2
    fi
    WHEEL="${wheels[0]}"
fi

TMP="$(mktemp -d /tmp/minibatch-wheel-test.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
VENV="$TMP/venv"
ELSEWHERE="$TMP/elsewhere"
mkdir -p "$ELSEWHERE"

# The environment a user without the toolchain has.
unset LD_LIBRARY_PATH PYTHONPATH MINIBATCH_LIBRARY MINIBATCH_SKIP_BUILD MINIBATCH_TEST_INSTALLED
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v "^$SWIFT_DIR" | paste -sd: -)"
export PATH

passed=0 failed=0
check() { # name, command...
    local name=$1
    shift
    if out=$("$@" 2>&1); then
        passed=$((passed + 1))
        echo "ok   $name"
        grep -E '^=+ [0-9]+ (passed|failed)' <<<"$out" | sed 's/^/     /' || true  # pytest's summary
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        [[ -n "$out" ]] && echo "$out" | tail -n 40 | sed 's/^/     /'
    fi
    return 0
}

echo "wheel: $(basename "$WHEEL")"
echo "Swift toolchain and Debian's OpenBLAS: $hidden"

no_toolchain_on_path() { ! command -v swift && ! command -v swiftc; }
install_wheel() {
    python3 -m venv "$VENV" &&
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL" numpy pytest
}
check "no swift or swiftc on PATH" no_toolchain_on_path
check "the wheel installs into a fresh venv (with numpy and pytest from PyPI)" install_wheel

# Where the package and its library were found, and one training run, from elsewhere.
where() {
    cd "$ELSEWHERE" && "$VENV/bin/python" - <<'PY'
import pathlib, sysconfig
import minibatch_gd as mb

site = pathlib.Path(sysconfig.get_paths()["platlib"]).resolve()
package = pathlib.Path(mb.__file__).resolve().parent
library = pathlib.Path(mb.library_path()).resolve()
assert package == site / "minibatch_gd", f"imported from {package}, not {site}"
assert library == package / "libminibatch.so", f"library {library}"
assert (package / "libscipy_openblas.so").is_file()
X, y = mb.make_moons(1000, 0.1, seed=0)
score = mb.MLPClassifier((16,), learning_rate_init=0.05, max_iter=100, random_state=0).fit(X, y).score(X, y)
assert score > 0.95, score
print(library)
PY
}
check "minibatch_gd and library_path() are the venv's site-packages, from elsewhere" where
LIB="$(cd "$ELSEWHERE" && "$VENV/bin/python" -c 'import minibatch_gd as mb; print(mb.library_path())' 2>/dev/null || true)"
PKG="$(dirname "$LIB")"

ldd_clean() {
    local out
    out="$(ldd "$LIB")" || return 1
    echo "$out"
    ! grep -E "$FOREIGN|not found" <<<"$out" || return 1
    grep -qx "[[:space:]]*libscipy_openblas.so => $PKG/libscipy_openblas.so (0x[0-9a-f]*)" <<<"$out" ||
        { echo "libscipy_openblas.so is not the one beside the library"; return 1; }
}
check "ldd: OpenBLAS beside the library, nothing from the toolchain or Debian's BLAS" ldd_clean

loader_trace() {
    local trace="$TMP/ld-debug.txt"
    (cd "$ELSEWHERE" && LD_DEBUG=libs LD_DEBUG_OUTPUT="$TMP/ld" "$VENV/bin/python" -c '
import minibatch_gd as mb
X, y = mb.make_moons(500, 0.1, seed=1)
mb.MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
') || return 1
    cat "$TMP"/ld.* >"$trace"
    grep -q "calling init: $PKG/libminibatch.so" "$trace" || { echo "libminibatch.so not loaded from $PKG"; return 1; }
    grep -q "calling init: $PKG/libscipy_openblas.so" "$trace" || { echo "its OpenBLAS not loaded from $PKG"; return 1; }
    ! grep -E "calling init: .*($FOREIGN)" "$trace"
}
check "LD_DEBUG=libs: a training process loads nothing from the toolchain or Debian's BLAS" loader_trace

suite() {
    cd "$ELSEWHERE" &&
        MINIBATCH_TEST_INSTALLED=1 "$VENV/bin/python" -m pytest "$ROOT/bindings/python/tests" \
            -rs -p no:cacheprovider 2>&1 | tee "$TMP/pytest.txt" | tail -n 25
    local status=${PIPESTATUS[0]}
    grep -q "; library $PKG/libminibatch.so" "$TMP/pytest.txt" ||
        { echo "the suite did not test the installed library"; return 1; }
    return "$status"
}
check "the binding's test-suite passes against the installed package" suite

echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
