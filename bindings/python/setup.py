"""Build step of the minibatch Python package: put libminibatch.so inside the package.

``pip install ./bindings/python`` (pip >= 21.3 builds in-tree) runs ``build_py`` below,
which finds the repository root two levels above this file and then

* copies ``<repo>/.build/release/libminibatch.so`` into the package if it exists and is
  newer than every source (``Package.swift``, ``Sources/``, ``include/``);
* otherwise runs ``make build`` at the root first (the Swift build, with the vendored
  OpenBLAS put beside the library);
* copies ``libscipy_openblas.so`` (minibatch's own OpenBLAS, which the library finds beside
  itself) from the library's folder too, and OpenBLAS's licence from ``.build/vendor/lib``.

``make wheel`` at the root builds the wheel this way and gives it a manylinux tag.

Environment variables:

* ``MINIBATCH_SKIP_BUILD=1``: never run swift; copy the existing .so (error if missing),
  even if it looks older than the sources.
* ``MINIBATCH_LIBRARY=/path/libminibatch.so``: copy that file instead (implies no build).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 carries bdist_wheel; before that it is the wheel package's
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools
    try:
        from wheel.bdist_wheel import bdist_wheel
    except ImportError:  # no wheel to build here (this file imported by a test, say)
        bdist_wheel = None

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIB_NAME = "libminibatch.dylib" if sys.platform == "darwin" else "libminibatch.so"
# Shared libraries libminibatch needs beside itself.
DEPENDENCIES = ["libscipy_openblas.so"]


def _newest_source_mtime(repo: Path) -> float:
    newest = 0.0
    for p in [repo / "Package.swift"]:
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    for d in ("Sources", "include"):
        for root, _, files in os.walk(repo / d):
            for f in files:
                newest = max(newest, os.stat(os.path.join(root, f)).st_mtime)
    return newest


def _locate_library() -> Path:
    env = os.environ.get("MINIBATCH_LIBRARY")
    if env:
        p = Path(env)
        if not p.is_file():
            raise SystemExit(f"MINIBATCH_LIBRARY={env} does not exist")
        return p
    built = REPO / ".build" / "release" / LIB_NAME
    skip = os.environ.get("MINIBATCH_SKIP_BUILD", "") not in ("", "0")
    if skip:
        if not built.is_file():
            raise SystemExit(
                f"MINIBATCH_SKIP_BUILD is set but {built} does not exist: build it with"
                " `make build` (the library and its OpenBLAS beside it) first"
            )
        return built
    if not (REPO / "Package.swift").exists():
        raise SystemExit(
            f"{REPO} is not the minibatch repository (no Package.swift) and"
            " MINIBATCH_LIBRARY is not set"
        )
    if built.is_file() and built.stat().st_mtime >= _newest_source_mtime(REPO):
        return built
    cmd = ["make", "build"]
    print(f"running {' '.join(cmd)} in {REPO}", flush=True)
    try:
        subprocess.run(cmd, cwd=REPO, check=True)
    except FileNotFoundError:
        raise SystemExit("make is not installed: cannot build libminibatch.so")
    if not built.is_file():
        raise SystemExit(f"make build did not produce {built}")
    return built


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        src = _locate_library()
        dst_dir = Path(self.build_lib) / "minibatch_gd"
        dst_dir.mkdir(parents=True, exist_ok=True)
        dst = dst_dir / LIB_NAME
        shutil.copy2(src.resolve(), dst)
        print(f"copied {src} -> {dst}", flush=True)
        # The library's own OpenBLAS (scipy-openblas32), found beside it through its
        # RUNPATH $ORIGIN, as the build folder has it.
        for dep in DEPENDENCIES:
            dep_src = src.resolve().parent / dep
            if not dep_src.is_file():
                raise SystemExit(f"{dep_src} is missing: libminibatch needs it beside itself (make build)")
            shutil.copy2(dep_src, dst_dir / dep)
            print(f"copied {dep_src} -> {dst_dir / dep}", flush=True)
        # OpenBLAS's licence (BSD-3-Clause), which a copy of its binary carries with it.
        licence = REPO / ".build" / "vendor" / "lib" / "LICENSE-OpenBLAS.txt"
        if licence.is_file():
            shutil.copy2(licence, dst_dir / licence.name)


class BinaryDistribution(Distribution):
    """The wheel carries a native library: tag it for this platform, not py3-none-any."""

    def has_ext_modules(self):
        return True


COMMANDS = {"build_py": BuildPyWithLibrary}

if bdist_wheel is not None:

    class PlatformWheel(bdist_wheel):
        """Tag ``py3-none-<platform>``: the package loads its library with ctypes, so it runs
        on any Python 3 (no CPython ABI), but only on this platform. ``make wheel`` then turns
        ``linux_x86_64`` into a manylinux tag with ``auditwheel repair``."""

        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            _, _, platform = super().get_tag()
            return "py3", "none", platform

    COMMANDS["bdist_wheel"] = PlatformWheel


if __name__ == "__main__":  # setuptools' build backend runs this file as __main__
    setup(cmdclass=COMMANDS, distclass=BinaryDistribution)
