"""Shared fixtures. Run from the repository root with

    python -m pytest bindings/python/tests -q

The tests import the package from bindings/python (the source tree) unless
MINIBATCH_TEST_INSTALLED=1, in which case the installed ``minibatch`` is tested. The
library is found as the package finds it (MINIBATCH_LIBRARY, the packaged copy, then
<repo>/.build/release/libminibatch.so).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PKG_ROOT = TESTS.parent  # bindings/python
REPO = PKG_ROOT.parent.parent

if os.environ.get("MINIBATCH_TEST_INSTALLED", "") in ("", "0"):
    sys.path.insert(0, str(PKG_ROOT))
sys.path.insert(0, str(TESTS))  # reference_rng, helpers

import minibatch_gd  # noqa: E402
from minibatch_gd import _lib  # noqa: E402


def pytest_report_header(config):  # pragma: no cover - cosmetic
    try:
        where = _lib.library_path()
        ver = minibatch_gd.version()
    except OSError as e:
        return f"minibatch: library not loadable: {e}"
    return f"minibatch {ver} from {minibatch_gd.__file__}; library {where}"


@pytest.fixture(scope="session")
def libpath() -> Path:
    try:
        return _lib.library_path()
    except OSError as e:
        pytest.fail(f"libminibatch cannot be loaded: {e}")


@pytest.fixture(scope="session")
def c_reference(libpath: Path, tmp_path_factory) -> Path:
    """The C reference program compiled against include/minibatch.h and the loaded .so."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler (gcc) found: cannot build the C reference program")
    header_dir = REPO / "include"
    if not (header_dir / "minibatch.h").exists():
        pytest.skip(f"{header_dir / 'minibatch.h'} not found")
    out = tmp_path_factory.mktemp("cref") / "reference"
    cmd = [
        gcc, "-O1", "-std=c11", "-Wall", "-Werror", "-I", str(header_dir),
        str(TESTS / "c" / "reference.c"), str(libpath),
        f"-Wl,-rpath,{libpath.parent}", "-o", str(out),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"compiling the C reference failed:\n{' '.join(cmd)}\n{r.stderr}")
    return out


def run_c(exe: Path, *args: str) -> str:
    r = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"reference {' '.join(map(str, args))} failed: {r.stderr}")
    return r.stdout


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    d = REPO.parent / "shared" / "data" / "mnist"
    if not (d / "t10k-images-idx3-ubyte.gz").exists() or not (d / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip(f"MNIST data not found in {d}")
    return d
