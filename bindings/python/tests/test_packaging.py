"""`pip install ./bindings/python` gives an importable package carrying the library.

Runs pip with MINIBATCH_SKIP_BUILD=1 (copy the existing .build/release/libminibatch.so,
never run swift) into a temporary --target directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import PKG_ROOT, REPO


@pytest.mark.slow
def test_pip_install_gives_a_self_contained_package(tmp_path, libpath):
    if not (REPO / ".build" / "release" / "libminibatch.so").exists():
        pytest.skip("no .build/release/libminibatch.so to package")
    target = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k not in ("MINIBATCH_LIBRARY", "PYTHONPATH")}
    env["MINIBATCH_SKIP_BUILD"] = "1"
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-cache-dir", "--target",
           str(target), str(PKG_ROOT)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    if r.returncode != 0 and ("No matching distribution" in r.stdout + r.stderr
                              or "Could not find a version" in r.stdout + r.stderr):
        pytest.skip("pip could not fetch setuptools/wheel for the isolated build (offline?)")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "swift build" not in r.stdout
    shipped = target / "minibatch_gd" / "libminibatch.so"
    assert shipped.is_file()
    code = textwrap.dedent(
        """
        import minibatch_gd as mb, numpy as np
        print("@@", mb.__file__)
        print("@@", mb.library_path())
        X, y = mb.make_moons(200, 0.1, seed=0)
        clf = mb.MLPClassifier((8,), learning_rate_init=0.1, max_iter=50, random_state=0).fit(X, y)
        print("@@", clf.score(X, y) > 0.8)
        """
    )
    env2 = {k: v for k, v in env.items() if k != "MINIBATCH_SKIP_BUILD"}
    env2["PYTHONPATH"] = str(target)
    other_dir = tmp_path / "elsewhere"
    other_dir.mkdir()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env2,
                       cwd=other_dir, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [ln[3:] for ln in r.stdout.splitlines() if ln.startswith("@@ ")]
    assert lines[0].startswith(str(target))
    assert lines[1] == str(shipped.resolve())
    assert lines[2] == "True"


def _setup_namespace(fake_repo, calls):
    """setup.py's functions, pointed at a fake repository, with subprocess.run recorded."""
    import runpy
    import types

    ns = runpy.run_path(str(PKG_ROOT / "setup.py"), run_name="setup_under_test")
    g = ns["_locate_library"].__globals__
    g["REPO"] = fake_repo

    def fake_run(cmd, cwd=None, check=False):
        calls.append((list(cmd), cwd))
        lib = fake_repo / ".build" / "release" / "libminibatch.so"
        lib.parent.mkdir(parents=True, exist_ok=True)
        lib.write_bytes(b"built")
        return None

    g["subprocess"] = types.SimpleNamespace(run=fake_run)
    return ns


def test_setup_build_step_logic(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIBATCH_LIBRARY", raising=False)
    monkeypatch.delenv("MINIBATCH_SKIP_BUILD", raising=False)
    repo = tmp_path / "repo"
    (repo / "Sources" / "MiniBatch").mkdir(parents=True)
    (repo / "include").mkdir()
    (repo / "Package.swift").write_text("// package")
    src = repo / "Sources" / "MiniBatch" / "a.swift"
    src.write_text("// source")
    calls = []
    ns = _setup_namespace(repo, calls)
    locate = ns["_locate_library"]
    built = repo / ".build" / "release" / "libminibatch.so"

    # no library yet: `make build` is run at the repository root
    assert locate() == built
    assert calls == [(["make", "build"], repo)]
    # library newer than every source: just copied
    os.utime(built, (src.stat().st_mtime + 10,) * 2)
    calls.clear()
    assert locate() == built and calls == []
    # a source changed after the build: rebuilt
    os.utime(src, (built.stat().st_mtime + 10,) * 2)
    assert locate() == built and len(calls) == 1
    # MINIBATCH_SKIP_BUILD: copy even if stale, never build
    calls.clear()
    os.utime(src, (built.stat().st_mtime + 20,) * 2)
    monkeypatch.setenv("MINIBATCH_SKIP_BUILD", "1")
    assert locate() == built and calls == []
    built.unlink()
    with pytest.raises(SystemExit, match="MINIBATCH_SKIP_BUILD is set but"):
        locate()
    # MINIBATCH_LIBRARY: that file
    other = tmp_path / "custom.so"
    other.write_bytes(b"x")
    monkeypatch.setenv("MINIBATCH_LIBRARY", str(other))
    assert locate() == other
    monkeypatch.setenv("MINIBATCH_LIBRARY", str(tmp_path / "missing.so"))
    with pytest.raises(SystemExit, match="does not exist"):
        locate()
    assert calls == []
