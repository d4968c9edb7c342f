"""The user's thread settings are honoured: training's automatic thread count (threads=0,
the default, and so every estimator's) follows the library's OpenBLAS, set by
OPENBLAS_NUM_THREADS or, as scikit-learn users do, by threadpoolctl, which finds
minibatch's OpenBLAS beside libminibatch.so (`scipy_openblas_set_num_threads`).

Checked by the seed contract: the same seed gives bit-identical weights for the same
thread count, and on this data 1 and 2 threads differ by rounding (asserted, so that an
automatic count that ignored the setting could not pass)."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minibatch_gd as mb

threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed (scikit-learn brings it)")

RNG = np.random.default_rng(3)
X = RNG.standard_normal((4096, 20)).astype(np.float32)
Y = RNG.integers(0, 3, 4096).astype(np.int32)


def weights(threads):
    with mb.Network([20, 32, 3], seed=1) as net:
        net.train(X, Y, epochs=2, batch_size=512, learning_rate=0.1, threads=threads)
        return net.get_parameters()


def require_two_threads():
    """Skips unless OpenBLAS can run 2 threads here (with one CPU there is nothing to tell apart)."""
    with threadpoolctl.threadpool_limits(2):
        if mb.blas_info()["threads"] != 2:
            pytest.skip("OpenBLAS cannot run 2 threads here (one CPU): nothing to tell apart")


# Python source a child process starts with: every CPU the process may use, whatever binding
# the parent process was left with (OpenBLAS counts them when it loads).
ALL_CPUS = """
import os
try:
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
except OSError:
    pass
"""


def ours(info):
    return Path(info["filepath"]).resolve() == Path(mb.library_path()).resolve().parent / "libscipy_openblas.so"


def test_threadpoolctl_finds_minibatchs_openblas():
    mb.blas_info()  # the library (and its OpenBLAS) loaded
    found = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas" and ours(i)]
    assert len(found) == 1, threadpoolctl.threadpool_info()
    assert found[0]["num_threads"] == mb.blas_info()["threads"]


def test_threadpool_limits_sets_the_automatic_thread_count():
    require_two_threads()
    one, two = weights(1), weights(2)
    assert not np.array_equal(one, two), "1 and 2 threads agree here: the test cannot tell them apart"
    before = mb.blas_info()["threads"]
    with threadpoolctl.threadpool_limits(1):
        assert mb.blas_info()["threads"] == 1
        assert np.array_equal(weights(0), one)
    with threadpoolctl.threadpool_limits(2):
        assert mb.blas_info()["threads"] == 2
        assert np.array_equal(weights(0), two)
    assert mb.blas_info()["threads"] == before  # threadpoolctl put it back


def test_estimators_follow_threadpool_limits():
    require_two_threads()

    def fit():
        clf = mb.MLPClassifier(hidden_layer_sizes=(32,), solver="sgd", batch_size=512, max_iter=2,
                               learning_rate_init=0.1, random_state=0, tol=0, n_iter_no_change=100)
        with pytest.warns(Warning):  # stopped by max_iter: ConvergenceWarning
            clf.fit(X, Y)
        return np.concatenate([c.ravel() for c in clf.coefs_ + clf.intercepts_])

    with threadpoolctl.threadpool_limits(1):
        one = fit()
        assert np.array_equal(fit(), one)
    with threadpoolctl.threadpool_limits(2):
        two = fit()
    assert not np.array_equal(one, two), "the estimator trained alike under 1 and 2 threads"
    with threadpoolctl.threadpool_limits(1):
        assert np.array_equal(fit(), one)


def test_openblas_num_threads_sets_the_automatic_thread_count():
    require_two_threads()
    one, two = weights(1), weights(2)
    child = ALL_CPUS + (
        "import sys, numpy as np, minibatch_gd as mb\n"
        "sys.path.insert(0, %r)\n"
        "import test_threads as t\n"
        "assert mb.blas_info()['threads'] == int(sys.argv[1]), mb.blas_info()\n"
        "np.save(sys.stdout.buffer, t.weights(0))\n"
    ) % os.path.dirname(os.path.abspath(__file__))
    for n, want in (("1", one), ("2", two)):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=n, PYTHONPATH=os.pathsep.join(sys.path))
        out = subprocess.run([sys.executable, "-c", child, n], env=env, capture_output=True, timeout=120)
        assert out.returncode == 0, out.stderr.decode()[-3000:]
        assert np.array_equal(np.load(io.BytesIO(out.stdout)), want), "OPENBLAS_NUM_THREADS=%s" % n


LEFT_ALONE = ALL_CPUS + r"""
import ctypes, ctypes.util, json, os, sys
import numpy as np
import minibatch_gd as mb

def environment():
    libc = ctypes.CDLL(None)
    entries = ctypes.POINTER(ctypes.c_char_p).in_dll(libc, "environ")
    out, i = [], 0
    while entries[i] is not None:
        out.append(entries[i].decode("utf-8", "surrogateescape"))
        i += 1
    return out

def gomp_loaded():
    with open("/proc/self/maps") as f:
        return any("libgomp" in line for line in f)

before, cpus, gomp_before = environment(), os.sched_getaffinity(0), gomp_loaded()
rng = np.random.default_rng(0)
X = rng.standard_normal((2048, 20)).astype(np.float32)
y = rng.integers(0, 3, 2048).astype(np.int32)
with mb.Network([20, 32, 3], seed=1) as net:
    net.train(X, y, epochs=1, batch_size=256, threads=2)
mb.blas_info()
after = environment()
result = {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after))}
gomp = ctypes.util.find_library("gomp")
if len(cpus) < 2:
    result["affinity"] = "one CPU: a binding of the main thread to the first CPU cannot be seen"
elif gomp is None:
    result["affinity"] = "no libgomp here: an OpenMP runtime started after training not tried"
elif gomp_before:
    result["affinity"] = "libgomp was loaded before training (it read the environment then)"
else:
    ctypes.CDLL(gomp)  # its start reads OMP_PROC_BIND
    result["affinity"] = "checked"
    result["cpus"] = [sorted(cpus), sorted(os.sched_getaffinity(0))]
print(json.dumps(result))
"""

# The variables that bind an OpenMP runtime's threads whatever minibatch does (OMP_PLACES
# binds libgomp's), or that stop libxsmm from adding OMP_PROC_BIND.
BINDING = ("OMP_", "GOMP_", "KMP_")


def left_alone(omp_proc_bind):
    """LEFT_ALONE's report in a fresh process (libxsmm starts once per process), with the
    OpenMP variables unset and OMP_PROC_BIND as given (None: unset)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(BINDING)}
    if omp_proc_bind is not None:
        env["OMP_PROC_BIND"] = omp_proc_bind
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    out = subprocess.run([sys.executable, "-c", LEFT_ALONE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("omp_proc_bind", [None, "", "false"])
def test_training_leaves_the_environment_as_it_was(omp_proc_bind):
    """libxsmm 1.17 (Debian's build) puts OMP_PROC_BIND=TRUE into the process's environment
    when it starts, where the variable is unset or empty; the library puts it back as it was
    (unset, empty, or a value of the user's, which libxsmm leaves alone)."""
    report = left_alone(omp_proc_bind)
    assert report["added"] == [] and report["removed"] == [], report


def test_an_openmp_runtime_started_after_training_binds_no_thread():
    """With OMP_PROC_BIND=TRUE left in the environment, libgomp started afterwards (as
    scikit-learn's or PyTorch's is, imported after a training call) bound Python's main
    thread to the first CPU, and every thread made from it after that, minibatch's training
    team included (a 2-thread epoch ran on one core)."""
    report = left_alone(None)
    if report["affinity"] != "checked":
        pytest.skip(report["affinity"])
    before, after = report["cpus"]
    assert after == before, report


def test_predictions_are_the_same_for_every_thread_count(tmp_path):
    """Predictions and evaluations share their passes of 256 rows among threads (0.12.6),
    each pass on one thread: the same values for 1 and 2 threads, from memory and from a
    file, and the first overflowing row named whichever thread met it."""
    require_two_threads()
    x = RNG.standard_normal((3000, 20)).astype(np.float32)
    y = RNG.integers(0, 3, 3000).astype(np.int32)
    np.save(tmp_path / "x.npy", x)
    with mb.Network([20, 32, 3], seed=1) as net:
        net.train(X, Y, epochs=1, batch_size=256, learning_rate=0.1)
        results = []
        for n in (1, 2):
            with threadpoolctl.threadpool_limits(n):
                assert mb.blas_info()["threads"] == n
                net.predict_to_file(tmp_path / "x.npy", tmp_path / f"p{n}.npy")
                results.append((net.predict(x), net.predict_classes(x), net.evaluate(x, y), np.load(tmp_path / f"p{n}.npy")))
        (p1, c1, e1, f1), (p2, c2, e2, f2) = results
        assert np.array_equal(p1, p2) and np.array_equal(c1, c2) and e1 == e2
        assert np.array_equal(f1, p1) and np.array_equal(f2, p1)
        # each pass alone on the calling thread gives the same values
        alone = np.concatenate([net.predict(x[s : s + 256]) for s in range(0, 3000, 256)])
        assert np.array_equal(alone, p1)
        # rows 700 and 300 overflow (passes 2 and 1): row 300 is named, with 1 and 2 threads
        params = net.get_parameters()
        big = x.copy()
        big[[700, 300]] = 3e38
        net.set_parameters(params * 100)
        for n in (1, 2):
            with threadpoolctl.threadpool_limits(n):
                for call in (lambda: net.predict(big), lambda: net.evaluate(big, y)):
                    with pytest.raises(mb.DivergenceError, match=r"row 300 "):
                        call()


SPIN_AFTER_PREDICTING = ALL_CPUS + r"""
import os, sys, time
import numpy as np
import minibatch_gd as mb

def cpu_ns():
    # every thread of this process: the nanoseconds each has run (schedstat's first field)
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total

rng = np.random.default_rng(0)
x = rng.standard_normal((8192, 784), dtype=np.float32)
y = rng.integers(0, 10, 8192).astype(np.int32)
with mb.Network([784, 128, 10], seed=1) as net:
    net.train(x[:1024], y[:1024], epochs=1, batch_size=256)
    time.sleep(0.5)  # OpenBLAS's threads spin for about 0.1 s after they are made
    used = {}
    for name, call in (("predict", lambda: net.predict(x)), ("evaluate", lambda: net.evaluate(x, y))):
        call()
        before = cpu_ns()
        time.sleep(0.3)
        used[name] = (cpu_ns() - before) / 1e6
print(used["predict"], used["evaluate"])
"""


def test_no_thread_spins_after_a_prediction():
    """OpenBLAS's idle threads spin for about 0.1 s after its last product (2^28 cycles):
    until 0.12.5 each prediction's products ran on them, and a training that followed
    within that time shared its cores with them (an epoch 0.17 s against 0.13 s on 2 CPUs).
    Predictions now run on training's kept team, whose members sleep after about 0.1 ms:
    in the 0.3 s after a prediction or an evaluation of 8,192 rows, the process's threads
    run less than 30 ms in all (they ran about 100 ms)."""
    require_two_threads()
    if not os.path.exists("/proc/self/task/%d/schedstat" % os.getpid()):
        pytest.skip("/proc/PID/task/TID/schedstat is not there (a kernel without schedstats): nothing to measure with")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "KMP_", "OPENBLAS_"))}
    env.update(OPENBLAS_NUM_THREADS="2", PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", SPIN_AFTER_PREDICTING], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    predict_ms, evaluate_ms = map(float, out.stdout.split())
    assert predict_ms < 30 and evaluate_ms < 30, f"threads ran {predict_ms:.0f} ms after predict, {evaluate_ms:.0f} ms after evaluate"
