"""The low layer against the header: every function declared, struct layouts, constants,
enums, library search order."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import minibatch_gd
from minibatch_gd import _lib

from conftest import PKG_ROOT, REPO, run_c

HEADER = REPO / "include" / "minibatch.h"


def _header_text() -> str:
    text = HEADER.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r"^\s*#[^\n]*", " ", text, flags=re.M)  # preprocessor lines


def header_functions() -> dict[str, list[str]]:
    """name -> list of parameter declarations, for every function the header declares."""
    text = _header_text()
    out = {}
    for stmt in text.split(";"):
        stmt = " ".join(stmt.split())
        m = re.search(r"\b(mb_\w+)\s*\(([^()]*)\)\s*$", stmt)
        if not m or "typedef" in stmt:
            continue
        params = [p.strip() for p in m.group(2).split(",")]
        if params == ["void"]:
            params = []
        out[m.group(1)] = params
    return out


def header_defines() -> dict[str, str]:
    return dict(re.findall(r"#define\s+(MB_\w+)\s+(.+)", HEADER.read_text()))


def header_enum(name: str) -> dict[str, int]:
    text = _header_text()
    m = re.search(r"typedef enum " + name + r"\s*\{(.*?)\}", text, flags=re.S)
    assert m, name
    out = {}
    for item in m.group(1).split(","):
        item = item.strip()
        if item:
            k, v = item.split("=")
            out[k.strip()] = int(v.strip())
    return out


def test_every_header_function_is_declared_with_its_arity():
    funcs = header_functions()
    assert len(funcs) >= 30, f"header parse found only {sorted(funcs)}"
    declared = {name: (res, args) for name, res, args in _lib._PROTOTYPES}
    assert set(funcs) == set(declared), (
        f"missing in _lib: {sorted(set(funcs) - set(declared))}; "
        f"not in header: {sorted(set(declared) - set(funcs))}"
    )
    for name, params in funcs.items():
        assert len(declared[name][1]) == len(params), (name, params)
    L = _lib.lib()
    for name in funcs:
        fn = getattr(L, name)
        assert fn.argtypes is not None or declared[name][1] == [], name


def test_prototypes_have_the_c_declaration_beside_them():
    src = (PKG_ROOT / "minibatch_gd" / "_lib.py").read_text()
    for name in header_functions():
        assert re.search(r"#[^\n]*\b" + name + r"\(", src), f"no C declaration comment for {name}"


def test_struct_layouts_match_the_c_compiler(c_reference):
    out = run_c(c_reference, "layout")
    values = dict(line.rsplit(" ", 1) for line in out.strip().splitlines())
    structs = [
        _lib.mb_model_options,
        _lib.mb_model_info,
        _lib.mb_layer_info,
        _lib.mb_progress,
        _lib.mb_train_options,
        _lib.mb_dataset_options,
        _lib.mb_dataset_info,
        _lib.mb_blas_info,
    ]
    for s in structs:
        assert ctypes.sizeof(s) == int(values[s.__name__]), s.__name__
        for field, *_ in s._fields_:
            assert getattr(s, field).offset == int(values[f"{s.__name__}.{field}"]), (s.__name__, field)
    assert int(values["MB_VERSION_NUMBER"]) == _lib.MB_VERSION_NUMBER


def test_constants_and_version_match_header():
    d = header_defines()
    assert int(d["MB_VERSION_MAJOR"]) == _lib.MB_VERSION_MAJOR
    assert int(d["MB_VERSION_MINOR"]) == _lib.MB_VERSION_MINOR
    assert int(d["MB_VERSION_PATCH"]) == _lib.MB_VERSION_PATCH
    assert d["MB_VERSION_STRING"].strip().strip('"') == _lib.MB_VERSION_STRING
    assert d["MB_STREAM_INIT"].strip() == "0xFFFFFFFFFFFFFFFFull"
    assert int(d["MB_BATCH_AUTO"].strip("() ")) == _lib.MB_BATCH_AUTO
    assert minibatch_gd.version() == _lib.MB_VERSION_STRING
    assert minibatch_gd.version_number() == _lib.MB_VERSION_NUMBER


@pytest.mark.parametrize(
    "cname, enum",
    [
        ("mb_status", _lib.Status),
        ("mb_last_batch", _lib.LastBatch),
        ("mb_activation", _lib.Activation),
        ("mb_loss", _lib.Loss),
        ("mb_init", _lib.Init),
        ("mb_targets", _lib.Targets),
        ("mb_file_shuffle", _lib.FileShuffle),
        ("mb_page_cache", _lib.PageCache),
        ("mb_anneal_strategy", _lib.AnnealStrategy),
        ("mb_cyclic_mode", _lib.CyclicMode),
        ("mb_threshold_mode", _lib.ThresholdMode),
        ("mb_denormals", _lib.Denormals),
    ],
)
def test_enums_match_header(cname, enum):
    values = header_enum(cname)
    prefix = {"mb_status": "MB_", "mb_last_batch": "MB_LAST_BATCH_", "mb_activation": "MB_ACTIVATION_",
              "mb_loss": "MB_LOSS_", "mb_init": "MB_INIT_", "mb_targets": "MB_TARGETS_",
              "mb_file_shuffle": "MB_FILE_SHUFFLE_", "mb_page_cache": "MB_PAGE_CACHE_",
              "mb_anneal_strategy": "MB_ANNEAL_", "mb_cyclic_mode": "MB_CYCLIC_",
              "mb_threshold_mode": "MB_THRESHOLD_", "mb_denormals": "MB_DENORMALS_"}[cname]
    ours = {prefix + e.name: int(e) for e in enum}
    assert ours == values


def test_status_names():
    for s in _lib.Status:
        assert _lib.status_name(s) == "MB_" + s.name
    assert _lib.status_name(99) == "unknown status"


def test_last_error_is_kept_until_next_failure():
    L = _lib.lib()
    assert L.mb_permutation(0, 0, 0, None) == _lib.Status.ERR_INVALID_ARGUMENT
    msg = _lib.last_error()
    assert msg
    buf = (ctypes.c_int64 * 4)()
    assert L.mb_permutation(4, 0, 0, buf) == 0
    assert _lib.last_error() == msg  # successful calls leave it unchanged


def _run_python(code: str, env: dict, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
    )


def test_environment_override_comes_first(tmp_path, libpath):
    copy = tmp_path / "custom" / "libminibatch.so"
    copy.parent.mkdir()
    shutil.copy2(libpath, copy)
    # the library's own OpenBLAS travels with it (RUNPATH $ORIGIN)
    shutil.copy2(Path(libpath).resolve().parent / "libscipy_openblas.so", copy.parent)
    env = dict(os.environ, MINIBATCH_LIBRARY=str(copy), PYTHONPATH=str(PKG_ROOT))
    r = _run_python("import minibatch_gd as mb; print(mb.library_path()); print(mb.version())", env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == str(copy.resolve())


def test_missing_override_is_an_error_not_a_fallback(tmp_path):
    env = dict(os.environ, MINIBATCH_LIBRARY=str(tmp_path / "nope.so"), PYTHONPATH=str(PKG_ROOT))
    r = _run_python(
        """
        import minibatch_gd as mb
        try:
            mb.version()
        except OSError as e:
            print("OSError", e)
        """,
        env, tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("OSError") and "MINIBATCH_LIBRARY" in r.stdout


def test_packaged_copy_before_repository_build(tmp_path, libpath):
    pkg = tmp_path / "site" / "minibatch_gd"
    shutil.copytree(PKG_ROOT / "minibatch_gd", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(libpath, pkg / "libminibatch.so")
    shutil.copy2(Path(libpath).resolve().parent / "libscipy_openblas.so", pkg)
    env = {k: v for k, v in os.environ.items() if k != "MINIBATCH_LIBRARY"}
    env["PYTHONPATH"] = str(pkg.parent)
    r = _run_python("import minibatch_gd as mb; print(mb.library_path())", env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str((pkg / "libminibatch.so").resolve())
    # without the copy, outside the repository: a clear error naming every place tried
    (pkg / "libminibatch.so").unlink()
    r = _run_python(
        """
        import minibatch_gd as mb
        try:
            mb.version()
        except OSError as e:
            print(e)
        """,
        env, tmp_path,
    )
    assert "libminibatch was not found" in r.stdout and "package" in r.stdout, r.stdout + r.stderr


def test_repository_build_folder_is_found_from_any_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MINIBATCH_LIBRARY"}
    env["PYTHONPATH"] = str(PKG_ROOT)
    r = _run_python("import minibatch_gd as mb; print(mb.library_path())", env, tmp_path)
    assert r.returncode == 0, r.stderr
    expected = (REPO / ".build" / "release" / "libminibatch.so").resolve()
    if (PKG_ROOT / "minibatch_gd" / "libminibatch.so").exists():
        expected = (PKG_ROOT / "minibatch_gd" / "libminibatch.so").resolve()
    assert r.stdout.strip() == str(expected)
