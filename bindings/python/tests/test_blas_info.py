"""What runs the matrix products (mb_get_blas_info): reported as the CPU's flags say, and
minibatch's own OpenBLAS, not numpy's."""

import os
from pathlib import Path

import numpy as np
import pytest

import minibatch_gd as mb


def cpu_flags():
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return None


def widest(flags):
    if "avx512f" in flags:
        return "avx512"
    if "avx2" in flags and "fma" in flags:
        return "avx2"
    return "avx" if "avx" in flags else "sse"


def test_reported_instruction_sets_match_proc_cpuinfo():
    flags = cpu_flags()
    if flags is None:
        pytest.skip("/proc/cpuinfo has no flags line (not Linux on x86-64)")
    info = mb.blas_info()
    assert info["cpu_isa"] == widest(flags), info
    # libxsmm's kernels follow the CPU; OpenBLAS's follow it unless OPENBLAS_CORETYPE picks.
    assert info["libxsmm_isa"] == widest(flags), info
    if "OPENBLAS_CORETYPE" not in os.environ:
        assert info["openblas_isa"] == widest(flags), info
    else:
        assert info["openblas_core"].lower() == os.environ["OPENBLAS_CORETYPE"].lower(), info
    assert info["backend"] == f"libxsmm {info['libxsmm_version']} + OpenBLAS {info['openblas_version']}"
    assert info["threads"] >= 1
    # training keeps the first layer's W transposed (fewer than 2^18 weights, any with AVX-512
    # kernels), whatever the ISAs
    assert info["training_forward"].startswith("libxsmm on the first layer's W kept transposed"), info
    # tanh, logistic and GELU layers (0.9.0; SiLU, ELU and SELU since 0.10.0): glibc's vector functions at the CPU's width where this C
    # library has them (libmvec, glibc 2.35+), else the scalar ones
    import ctypes
    try:
        ctypes.CDLL("libmvec.so.1")._ZGVbN4v_tanhf  # noqa: B018 (the lookup is the test)
        has_libmvec = True
    except (OSError, AttributeError):
        has_libmvec = False
    width = {"avx512": "avx512", "avx2": "avx2"}.get(widest(flags), "sse")
    want = f"libmvec tanhf, expf, expm1f, erfcf ({width})" if has_libmvec else "scalar tanhf, expf, expm1f, erfcf: no libmvec"
    assert info["activations"] == want, info


def test_show_config_prints_the_backend(capsys):
    mb.show_config()
    out = capsys.readouterr().out
    info = mb.blas_info()
    assert info["backend"] in out and info["libxsmm_target"] in out and info["openblas_core"] in out
    assert info["training_forward"] in out and info["activations"] in out


def test_minibatch_uses_its_own_openblas_beside_it_not_numpys():
    np.ones((64, 64), np.float32) @ np.ones((64, 64), np.float32)  # numpy's BLAS loaded and used
    mb.Network([4, 3, 2], seed=1).train(np.ones((8, 4), np.float32), np.zeros(8, np.int32), epochs=1)
    maps = Path("/proc/self/maps").read_text()
    ours = Path(mb.library_path()).resolve().parent / "libscipy_openblas.so"
    assert str(ours) in maps, "minibatch's OpenBLAS is not the one beside libminibatch.so"
    numpy_blas = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.split()[-1].lower()}
    assert numpy_blas - {str(ours)}, "numpy should load its own OpenBLAS"


def test_scipy_openblas_loaded_global_first_does_not_replace_ours():
    """scipy bundles OpenBLAS as scipy-openblas32 too: the same scipy_* symbol names. Where an
    extension loaded it into the global scope first (sys.setdlopenflags(RTLD_GLOBAL) before
    scipy's import), libminibatch.so's calls must still reach the OpenBLAS beside it: its
    version reported, its thread count read and set (training sets it to 1 and back)."""
    import json
    import subprocess
    import sys
    import textwrap
    try:
        import scipy  # noqa: F401
    except ImportError:
        pytest.skip("scipy is not installed: no other scipy-openblas32 to load first")
    code = textwrap.dedent("""
        import ctypes, json, os, sys
        sys.setdlopenflags(os.RTLD_NOW | os.RTLD_GLOBAL)
        import scipy.linalg  # its OpenBLAS into the global scope
        sys.setdlopenflags(os.RTLD_NOW)
        theirs = [l.split()[-1] for l in open("/proc/self/maps") if "scipy_openblas-" in l]
        if not theirs:
            print(json.dumps(None)); sys.exit()
        import numpy as np
        import minibatch_gd as mb
        ours = ctypes.CDLL(os.path.join(os.path.dirname(mb.library_path()), "libscipy_openblas.so"))
        theirs = ctypes.CDLL(theirs[0])
        # (openblas_set_num_threads itself calls goto_set_num_threads through the dynamic
        # linker, which reaches the global one: each library's own is called by its handle)
        ours.scipy_goto_set_num_threads(1)
        theirs.scipy_goto_set_num_threads(2)
        counts = lambda: [ours.scipy_openblas_get_num_threads(), theirs.scipy_openblas_get_num_threads()]
        before = counts()
        reported = mb.blas_info()["threads"]
        x = np.random.default_rng(0).standard_normal((256, 20)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int32)
        mb.Network([20, 8, 2], seed=1).train(x, y, epochs=2, batch_size=64, threads=2)
        ours.scipy_openblas_get_config.restype = ctypes.c_char_p
        print(json.dumps(dict(version=mb.blas_info()["openblas_version"],
                              ours=ours.scipy_openblas_get_config().decode().split()[1],
                              before=before, reported=reported, after=counts())))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="2", PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if got is None:
        pytest.skip("this scipy loads no scipy_openblas-*.so (built against another BLAS)")
    assert got["version"] == got["ours"], got  # scipy 1.17's is 0.3.30, minibatch's 0.3.34
    if got["before"][1] != 2:
        pytest.skip(f"one CPU: both OpenBLAS run one thread, nothing tells them apart ({got})")
    assert got["before"] == [1, 2] and got["reported"] == 1, got
    assert got["after"] == [1, 2], got  # training set and restored its own, not scipy's
