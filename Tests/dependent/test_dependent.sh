#!/usr/bin/env bash
# A Swift package that depends on this one builds and trains with `import MiniBatch`
# (Tests/dependent/main.swift), in the two forms a user writes, each made in a temporary
# folder with a .build of its own:
#   1. by path: .package(path: "<this repository>"), as after cloning it;
#   2. by URL and version: .package(url: "file://<tmp>/minibatch.git", from: "<version>"),
#      a bare clone of a snapshot of this working tree tagged with the header's version:
#      SwiftPM checks a dependency resolved by version for unsafe build flags, and refuses
#      "the target 'X' in product 'Y' contains unsafe build flags" (a package from GitHub meets
#      the same check);
#   3. the control: the same form, at a tag where CMatrix has one unsafe flag, is refused,
#      which shows that form 2 went through that check.
# What a dependent needs besides its manifest: Debian's libxsmm-dev (linked statically), and
# libscipy_openblas.so (`make vendor` in a clone puts it in .build/vendor/lib) where the linker
# and the loader find it: form 1 copies it into the folder of the package's binaries
# (`swift build --show-bin-path`), as the Makefile does for this package; form 2 passes
# -Xlinker -L<dir> -Xlinker -rpath=<dir>. Both build in release.
# Prints one line per check and a closing "N passed, N failed" line.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SWIFT="${SWIFT:-swift}"
VENDOR_LIB="$ROOT/.build/vendor/lib"
VERSION="$(sed -n 's/^#define MB_VERSION_STRING "\(.*\)".*/\1/p' include/minibatch.h)"
if [[ ! -f "$VENDOR_LIB/libscipy_openblas.so" ]]; then
    echo "error: $VENDOR_LIB/libscipy_openblas.so not found (make vendor)" >&2
    echo "0 passed, 1 failed"
    exit 2
fi
TMP="$(mktemp -d /tmp/minibatch-dependent-test.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT

passed=0 failed=0
check() { # name, command...
    local name=$1 start=$SECONDS
    shift
    if out=$("$@" 2>&1); then
        passed=$((passed + 1))
        echo "ok   $name ($((SECONDS - start)) s)"
        grep '^minibatch ' <<<"$out" | sed 's/^/     /'
    else
        failed=$((failed + 1))
        echo "FAIL $name ($((SECONDS - start)) s)"
        [[ -n "$out" ]] && echo "$out" | tail -n 30 | sed 's/^/     /'
    fi
    return 0
}

# dependent FOLDER DEPENDENCY PACKAGE-IDENTITY PRODUCT...: a package whose one executable
# trains, and depends on these products of minibatch.
dependent() {
    local products="" product
    for product in "${@:4}"; do
        products+="${products:+, }.product(name: \"$product\", package: \"$3\")"
    done
    mkdir -p "$1/Sources/TwoMoons"
    cp Tests/dependent/main.swift "$1/Sources/TwoMoons/main.swift"
    cat >"$1/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "two-moons",
    dependencies: [$2],
    targets: [
        .executableTarget(name: "TwoMoons", dependencies: [$products]),
    ]
)
SWIFT
}

# 1. By path, the library copied into the folder of the binaries.
by_path() {
    local dir="$TMP/by-path" bin
    dependent "$dir" ".package(path: \"$ROOT\")" "$(basename "$ROOT" | tr '[:upper:]' '[:lower:]')" MiniBatch
    bin="$("$SWIFT" build -c release --package-path "$dir" --show-bin-path)" || return 1
    mkdir -p "$bin" && cp "$VENDOR_LIB/libscipy_openblas.so" "$bin/" || return 1
    "$SWIFT" build -c release --package-path "$dir" || return 1
    "$bin/TwoMoons"
}
check "by path: builds and trains on two moons (import MiniBatch)" by_path

# A git repository of this working tree (tracked and untracked files that git does not
# ignore), tagged $VERSION, and a branch where CMatrix has an unsafe flag, tagged
# $VERSION-unsafe.1 (a pre-release, which `from: "$VERSION"` never picks); served as a bare clone.
snapshot() {
    local repo="$TMP/snapshot/minibatch" f
    mkdir -p "$repo"
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
        [[ -e "$f" ]] && printf '%s\0' "$f"
    done | tar --null -T - -cf - | tar -xf - -C "$repo" || return 1
    local g=(git -C "$repo" -c user.name=minibatch-test -c user.email=test@minibatch.invalid)
    "${g[@]}" init -q && "${g[@]}" add -A && "${g[@]}" commit -q -m "snapshot" &&
        "${g[@]}" tag "$VERSION" || return 1
    "${g[@]}" checkout -q -b unsafe &&
        sed -i 's/name: "CMatrix",/name: "CMatrix", cSettings: [.unsafeFlags(["-O2"])],/' "$repo/Package.swift" &&
        grep -q 'unsafeFlags(\["-O2"\])' "$repo/Package.swift" &&
        "${g[@]}" commit -q -am "CMatrix with an unsafe flag" && "${g[@]}" tag "$VERSION-unsafe.1" || return 1
    git clone -q --bare "$repo" "$TMP/minibatch.git"
}
check "a bare git repository of this working tree, tagged $VERSION" snapshot

# 2. By URL and version, the library passed to the linker; MiniBatchMPI too (built and linked,
# not run), so that SwiftPM checks both products a dependent may use.
by_url() {
    local dir="$TMP/by-url" bin
    dependent "$dir" ".package(url: \"file://$TMP/minibatch.git\", from: \"$VERSION\")" minibatch \
        MiniBatch MiniBatchMPI
    "$SWIFT" build -c release --package-path "$dir" \
        -Xlinker -L"$VENDOR_LIB" -Xlinker -rpath="$VENDOR_LIB" || return 1
    grep -q "\"version\" : \"$VERSION\"" "$dir/Package.resolved" ||
        { echo "not resolved to the tag $VERSION"; return 1; }
    bin="$("$SWIFT" build -c release --package-path "$dir" --show-bin-path)" || return 1
    "$bin/TwoMoons"
}
check "by URL, from: \"$VERSION\", MiniBatch and MiniBatchMPI: accepted, builds and trains" by_url

# 3. The control.
control() {
    local dir="$TMP/control" out
    dependent "$dir" ".package(url: \"file://$TMP/minibatch.git\", exact: \"$VERSION-unsafe.1\")" minibatch \
        MiniBatch MiniBatchMPI
    out="$("$SWIFT" build -c release --package-path "$dir" 2>&1)" && { echo "built: $out"; return 1; }
    grep -E "the target 'CMatrix' in product '[^']+' contains unsafe build flags" <<<"$out" ||
        { echo "$out"; return 1; }
}
check "control: the same URL form with an unsafe flag in CMatrix is refused" control

echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
