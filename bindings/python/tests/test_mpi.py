"""Distributed training from Python (minibatch_gd.mpi over mpi4py) against one process.

The rank scripts in tests/mpi/ run under ``mpirun --oversubscribe -np N`` (always with a
timeout: a hang fails the test), write what each rank got into a temporary directory, and
the tests compare it with the same training run here, in one process without a
communicator (tests/mpi/cases.py holds both sides' runs). The header's contract
(include/minibatch.h, "Distributed training"): in deterministic mode the weights and the
history are bit-identical to one process with the same ``shards``, whatever the ranks; in
fast mode equal up to rounding; an error on one rank is raised on every rank.

The tests without mpirun (layouts, conversions, shards in one process) always run.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minibatch_gd as mb
from minibatch_gd import _lib
from minibatch_gd.errors import CommunicationError

from conftest import PKG_ROOT, REPO, TESTS

RANK_SCRIPTS = TESTS / "mpi"
sys.path.insert(0, str(RANK_SCRIPTS))
import cases  # noqa: E402

MPIRUN = shutil.which("mpirun")
HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(
    MPIRUN is None or not HAVE_MPI4PY,
    reason="mpirun not found (an MPI such as Debian's openmpi-bin)" if MPIRUN is None
    else "mpi4py not installed (pip install mpi4py)",
)
TIMEOUT_S = 120


def mpirun(n: int, script, *args: str) -> str:
    """Runs tests/mpi/<script> (or the script at that path) on n ranks and returns what they
    printed; fails on a nonzero exit or after TIMEOUT_S."""
    env = dict(os.environ, MINIBATCH_LIBRARY=str(_lib.library_path()), OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(PKG_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    # -m mpi4py: an exception on one rank aborts every rank instead of leaving them waiting.
    cmd = [MPIRUN, "--oversubscribe", "-np", str(n), sys.executable, "-m", "mpi4py",
           str(RANK_SCRIPTS / script), *map(str, args)]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)  # mpirun passes it on to its ranks
        try:
            out, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
        pytest.fail(f"{' '.join(cmd)} hung (killed after {TIMEOUT_S} s):\n{out[-4000:]}")
    assert p.returncode == 0, f"{' '.join(cmd)} exited with {p.returncode}:\n{out[-4000:]}"
    return out


def rank_results(outdir, n: int, suffix: str = "npz") -> list:
    paths = [outdir / f"rank{k}.{suffix}" for k in range(n)]
    missing = [p.name for p in paths if not p.exists()]
    assert not missing, f"ranks wrote no results: {missing}"
    if suffix == "json":
        return [json.loads(p.read_text()) for p in paths]
    return [cases.load(str(p)) for p in paths]


def assert_bit_identical(got: dict, want: dict, prefix: str, what: str) -> None:
    for name in ("params", "batch_costs", "epoch_costs"):
        g, w = got[f"{prefix}.{name}"], want[name]
        assert g.dtype == w.dtype and g.shape == w.shape, (what, name, g.shape, w.shape)
        if not np.array_equal(g, w):
            diff = np.abs(g.astype(np.float64) - w)
            raise AssertionError(f"{what}: {name} differ from one process with shards = {cases.SHARDS}"
                                 f" at {np.count_nonzero(diff)} of {g.size} places, max |diff| {diff.max():.3g}")


@pytest.fixture(scope="module")
def one_process() -> dict:
    """Every case of cases.py trained here, without a communicator."""
    out = {}
    for data_name, make in cases.DATA.items():
        data = make()
        for optimizer in cases.OPTIMIZERS:
            out[f"{data_name}.{optimizer}"] = cases.train(data, optimizer)
    return out


# ---------------------------------------------------------------------------------------
# Without MPI: the C layout, the conversions, shards in one process
# ---------------------------------------------------------------------------------------


def test_layouts_match_the_c_compiler(tmp_path, libpath):
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler (gcc) found")
    fields = {"mb_communicator": [f for f, _ in _lib.mb_communicator._fields_],
              "mb_train_options": ["shards", "communicator", "distributed_mode"]}
    lines = [f'printf("{s} %zu\\n", sizeof({s}));' for s in fields]
    lines += [f'printf("{s}.{f} %zu\\n", offsetof({s}, {f}));' for s, fs in fields.items() for f in fs]
    src = tmp_path / "layout.c"
    src.write_text("#include <stdio.h>\n#include <stddef.h>\n#include \"minibatch.h\"\nint main(void) {\n"
                   + "\n".join(lines) + "\nreturn 0;\n}\n")
    exe = tmp_path / "layout"
    subprocess.run([gcc, "-std=c11", "-Wall", "-Werror", "-I", str(REPO / "include"), str(src), "-o", str(exe)],
                   check=True, capture_output=True)
    values = dict(line.rsplit(" ", 1) for line in subprocess.check_output([str(exe)], text=True).splitlines())
    for s, fs in fields.items():
        struct = getattr(_lib, s)
        assert ctypes.sizeof(struct) == int(values[s]), s
        for f in fs:
            assert getattr(struct, f).offset == int(values[f"{s}.{f}"]), (s, f)


def test_library_knows_the_distributed_options():
    o = _lib.mb_train_options()
    _lib.lib().mb_train_options_init(ctypes.byref(o))
    assert o.struct_size == ctypes.sizeof(_lib.mb_train_options), (
        f"{_lib.library_path()} predates distributed training: its mb_train_options ends"
        f" at {o.struct_size} bytes")
    assert o.shards == 0 and not o.communicator and o.distributed_mode == _lib.DistributedMode.DETERMINISTIC
    assert _lib.status_name(_lib.Status.ERR_COMMUNICATION) == "MB_ERR_COMMUNICATION"
    e = mb.errors.error_for(9, "mb_train")
    assert isinstance(e, CommunicationError) and e.status == 9


def test_shards_without_a_communicator_decide_the_result_not_threads():
    data = cases.digits()
    rule, rate = cases.OPTIMIZERS["adam"]

    def run(**kw):
        with mb.Network(data["layers"], seed=11) as net:
            h = net.train(data["X"], data["y"], epochs=1, batch_size=200, learning_rate=rate, seed=5,
                          optimizer=rule, **kw)
            return net.get_parameters(), h.epoch_costs

    one = run(shards=4, threads=1)
    two = run(shards=4, threads=2)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    other = run(shards=1, threads=2)
    assert not np.array_equal(one[0], other[0])  # another layout, another sum order


def test_conversions_and_the_librarys_checks():
    X, y = mb.make_moons(64, seed=1)
    with mb.Network([2, 4, 2]) as net:
        with pytest.raises(ValueError, match="distributed_mode"):
            net.train(X, y, distributed_mode="slow")
        with pytest.raises(TypeError, match="communicator"):
            net.train(X, y, communicator=object())
        with pytest.raises(TypeError, match="shards"):
            net.train(X, y, shards=2.5)
        with pytest.raises(mb.InvalidArgumentError, match="shards"):
            net.train(X, y, shards=-1)  # the library's check and message
        net.train(X, y, epochs=1, distributed_mode=_lib.DistributedMode.FAST, shards=2)


def test_mpi4py_is_needed_only_for_a_communicator(tmp_path):
    code = textwrap.dedent("""
        import sys
        sys.modules["mpi4py"] = None  # as if it were not installed
        import minibatch_gd, minibatch_gd.mpi
        try:
            minibatch_gd.mpi.Communicator()
        except ImportError as e:
            print(e)
    """)
    env = dict(os.environ, PYTHONPATH=str(PKG_ROOT), MINIBATCH_LIBRARY=str(_lib.library_path()))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "pip install mpi4py" in r.stdout and "openmpi-bin" in r.stdout


# ---------------------------------------------------------------------------------------
# Under mpirun
# ---------------------------------------------------------------------------------------


@needs_mpi
@pytest.mark.parametrize("piece", [0, 5])
def test_collectives_follow_mpis_definitions(tmp_path, piece):
    n = 3
    mpirun(n, "collectives.py", tmp_path, "--piece", piece)
    for k, r in enumerate(rank_results(tmp_path, n)):
        assert r["rank"] == k and r["size"] == n
        assert r["allreduce_status"] == 0 and r["allgather_status"] == 0 and r["broadcast_status"] == 0
        assert np.array_equal(r["allreduce"], np.arange(37, dtype=np.float32) * sum(range(1, n + 1)))
        want = np.concatenate([np.arange(29) + 100 * j for j in range(n)]).astype(np.uint8)
        assert np.array_equal(r["allgather"], want)
        assert np.array_equal(r["broadcast"], np.arange(31, dtype=np.uint8))
        assert r["empty_status"] == 0 and not r["failure_before"]
        assert r["closed_status"] != 0 and "closed" in str(r["closed_failure"])


@needs_mpi
@pytest.mark.parametrize("n, piece", [(1, 0), (2, 0), (3, 65537), (4, 0)])
def test_deterministic_mode_is_bit_identical_to_one_process(tmp_path, one_process, n, piece):
    # --piece: the larger buffers go to MPI in pieces of 65537 elements
    mpirun(n, "train.py", tmp_path, "--mode", "deterministic", "--piece", piece)
    ranks = rank_results(tmp_path, n)
    for k, got in enumerate(ranks):
        if n > 1:
            assert got["calls"] > 0, "the library made no collective call: is it built with distributed training?"
        for run, want in one_process.items():
            assert_bit_identical(got, want, run, f"{run}, rank {k} of {n}")


@needs_mpi
@pytest.mark.parametrize("n, piece", [(2, 0), (3, 65537)])
def test_fast_mode_matches_one_process_to_rounding(tmp_path, one_process, n, piece):
    mpirun(n, "train.py", tmp_path, "--mode", "fast", "--piece", piece)
    ranks = rank_results(tmp_path, n)
    for run, want in one_process.items():
        got = ranks[0]
        for k in range(1, n):  # one allreduce gives every rank the same sum
            for name in ("params", "batch_costs", "epoch_costs"):
                assert np.array_equal(ranks[k][f"{run}.{name}"], got[f"{run}.{name}"]), (run, name, k)
        # Rounding of another summation order, grown over a few epochs of updates (measured
        # with Open MPI 4.1 at 2, 3 and 4 ranks: at most 1.2e-7 for moons, 6e-8 for SGD on
        # 784-128-10, 1.4e-5 for Adam and 5.9e-5 for RMSprop, whose first steps divide by
        # the root of tiny second moments; Adagrad 4.8e-7). Adamax steps a weight whose
        # gradient is about epsilon by about +-rate * m / u, whose sign the rounding decides:
        # a few weights up to 7.4e-4 apart (digits, 3 ranks; the rate is 3e-3) and costs
        # 1.01e-5 apart relative, 129 of 101,770 weights (0.13 %) beyond 1e-4. So for
        # Adamax: at most 1 % of the weights beyond 1e-4, none beyond its rate, costs to
        # rtol 1e-4.
        loose = run.endswith(".adamax")
        gap = np.abs(got[f"{run}.params"] - want["params"])
        diff = np.max(gap)
        if loose:
            assert np.mean(gap > 1e-4) <= 1e-2, f"{run}: {np.sum(gap > 1e-4)} weights beyond 1e-4"
        assert diff < (cases.OPTIMIZERS["adamax"][1] if loose else 1e-4), \
            f"{run}: max |weight difference| {diff:.3g} from one process"
        rtol = 1e-4 if loose else 1e-5
        np.testing.assert_allclose(got[f"{run}.batch_costs"], want["batch_costs"], rtol=rtol, err_msg=run)
        np.testing.assert_allclose(got[f"{run}.epoch_costs"], want["epoch_costs"], rtol=rtol, err_msg=run)


@needs_mpi
def test_errors_reach_every_rank(tmp_path):
    n = 3
    mpirun(n, "errors.py", tmp_path)
    ranks = rank_results(tmp_path, n, "json")
    # Ranks that disagree: the same error on every rank, naming the option and the rank.
    for case, odd_rank in (("batch_size", 1), ("seed", n - 1)):
        got = [r[case] for r in ranks]
        assert all(g["error"] == "InvalidArgumentError" for g in got), (case, got)
        assert len({g["message"] for g in got}) == 1, (case, got)
        assert case in got[0]["message"] and f"rank {odd_rank}" in got[0]["message"], (case, got[0]["message"])
    # A rank that fails: every rank raises its error, prefixed "rank k: "; the model and its
    # epochs as before the call, as in one process.
    nan = [r["nan"] for r in ranks]
    culprit = nan[0]["nan_rank"]
    assert len({g["message"] for g in nan}) == 1, nan
    for k, g in enumerate(nan):
        assert g["error"] == "InvalidArgumentError", (k, g)
        assert g["message"].startswith(f"rank {culprit}: ") and "nan" in g["message"].lower(), (k, g["message"])
        assert g["unchanged"] and g["epochs_trained"] == 0, (k, g)
    # The communicator still serves the next call.
    after = [r["after"] for r in ranks]
    assert all(a["error"] is None and a["epochs_trained"] == 2 for a in after), after
    assert len({a["params"] for a in after}) == 1
    # Errors the binding raises on one rank before it calls the library reach the others
    # (mb_train_fail): the failing rank raises its own exception, every other rank the
    # library's error naming it; no rank waits, and the communicator serves the next call.
    def told(case, culprit, own, error, text):
        got = [r[case] for r in ranks]
        for k, g in enumerate(got):
            if k == culprit:
                assert g["error"] == own and text in g["message"], (case, k, g)
            else:
                assert g["error"] == error, (case, k, g)
                assert g["message"].startswith(f"rank {culprit}: ") and text in g["message"], (case, k, g)
        return got

    for g in told("python", 1, "ValueError", "InvalidArgumentError", "sample_weight must have shape (968,), got (5,)"):
        assert g["unchanged"] and g["epochs_trained"] == 0, g
    told("closed", 0, "ValueError", "InvalidArgumentError", "this History is closed")
    assert [r["all_python"]["error"] for r in ranks] == ["ValueError"] * n, [r["all_python"] for r in ranks]
    for g in told("dataset", n - 1, "TypeError", "InvalidArgumentError", "dataset must be a minibatch_gd.Dataset, got str"):
        assert g["epochs_trained"] == 0, g
    got = [r["fail_str"] for r in ranks]
    assert all(g == dict(error="InvalidArgumentError", message=f"rank {n - 1}: could not read part 2 of the data",
                         status=1) for g in got), got
    got = told("fail_exc", 0, "FileNotFoundError", "MinibatchIOError", "No such file: 'part0.npy'")
    assert got[1]["message"] == "rank 0: FileNotFoundError: [Errno 2] No such file: 'part0.npy'", got[1]
    told("fail_base", 0, "MinibatchError", "InvalidArgumentError", "a base-class error")
    assert ranks[1]["fail_base"]["message"] == "rank 0: MinibatchError: a base-class error"
    retold = ranks[1]["retold"]
    assert retold["error"] == "InvalidArgumentError" and "batch_size" in retold["message"], retold
    assert [(r["error"], r["same"]) for r in retold["retold"]] == [("InvalidArgumentError", True),
                                                                  ("ValueError", True)], retold
    after2 = [r["after2"] for r in ranks]
    assert all(a["error"] is None and a["epochs_trained"] == 2 for a in after2), after2
    assert {a["params"] for a in after2} == {after[0]["params"]}
    # A collective that raises: CommunicationError on its rank, the exception's text appended.
    for k, r in enumerate(ranks):
        c = r["communication"]
        assert c["error"] == "CommunicationError", (k, c)
        assert "injected failure" in c["message"] and "RuntimeError" in c["cause"], (k, c)


@needs_mpi
def test_file_dataset_across_two_ranks_is_bit_identical(tmp_path):
    X, y = mb.make_moons(1000, noise=0.2, seed=4)
    xp, yp = tmp_path / "X.npy", tmp_path / "y.npy"
    np.save(xp, X)
    np.save(yp, y.astype(np.int8))
    out = tmp_path / "out"
    out.mkdir()
    mpirun(2, "dataset.py", out, xp, yp)
    for k, got in enumerate(rank_results(out, 2)):
        assert got["calls"] > 0
        for shuffle in ("exact", "block"):
            assert_bit_identical(got, cases.train_file(str(xp), str(yp), shuffle), shuffle,
                                 f"{shuffle} shuffle, rank {k} of 2")


@needs_mpi
def test_the_example_prints_the_same_costs_on_any_number_of_ranks():
    """examples/mpi_train.py, as its docstring says to run it: the costs it prints do not
    change with the ranks (deterministic mode, shards = 8), and it learns the moons."""
    outputs = {n: mpirun(n, REPO / "examples" / "mpi_train.py").splitlines() for n in (1, 2, 4)}
    for n, lines in outputs.items():
        assert lines[0] == f"trained on {n} rank(s)", lines
        assert [line.split()[0] for line in lines[1:]] == ["epoch"] * 10 + ["test"], lines
        assert lines[1:] == outputs[1][1:], (n, lines, outputs[1])
    accuracy = float(outputs[1][-1].split()[-1])
    assert accuracy >= 0.95, outputs[1]
