"""Shuffling and predicting .npy files four times larger than the memory they are allowed.

A cgroup v1 memory group limited to LIMIT bytes runs `Tests/python/outofcore_limited.c`
on an X file of more than 4 x LIMIT (and its labels): it shuffles them into new files
(mb_shuffle_npy), predicts every row of the shuffled X into a .npy file (mb_predict_npy) and
from a dataset into memory (mb_predict_dataset), and must exit cleanly, with no OOM kill.
Outside the group the results are checked with numpy: the shuffled files are the order the
header states (recomputed in Python from the generator's reference), pairs kept, and the
predictions equal those of the model on the shuffled X in memory, bit for bit. A control in
the same group that shuffles with numpy (loading X) is killed. Where cgroup v1's memory
controller cannot be used, the test says so and skips (as `test_memory_limit.py`).
"""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
sys.path.insert(0, str(ROOT / "bindings" / "python" / "tests"))

import minibatch_gd as mb  # noqa: E402
from reference_rng import Xoshiro256ss, permutation  # noqa: E402
from cgroups import memory_group, oom_kills, run_limited, write_and_drop  # noqa: E402

LIMIT = 64 << 20          # bytes the process may use, page cache included
BUDGET = 16 << 20         # the library's own budget, well inside the limit
FEATURES, OUTPUTS = 784, 10
SEED = 2024


def bucket_count(m, row_bytes, budget):
    """K as the header defines it: the fewest k with ceil(m/k) * row_bytes + 16 k <= budget."""
    k = max(1, m * row_bytes // budget)
    while k <= m and 16 * k <= budget:
        if -(-m // k) * row_bytes + 16 * k <= budget:
            return k
        k += 1
    return None


def shuffle_order(m, seed, k):
    """mb_shuffle_npy's order as the header states it (a linear search for the bucket)."""
    if k == 1:
        return np.array(permutation(m, seed, 0))
    g = Xoshiro256ss(seed, 0)
    left = [(b + 1) * m // k - b * m // k for b in range(k)]
    buckets = [[] for _ in range(k)]
    for i in range(m):
        j, b = g.below(m - i), 0
        while j >= left[b]:
            j -= left[b]
            b += 1
        left[b] -= 1
        buckets[b].append(i)
    order = []
    for rows in buckets:
        for i in range(len(rows) - 1, 0, -1):
            j = g.below(i + 1)
            rows[i], rows[j] = rows[j], rows[i]
        order += rows
    return np.array(order)


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    library = ROOT / ".build" / "release"
    if not (library / "libminibatch.so").exists():
        pytest.fail("build the library first: make build")
    exe = tmp_path_factory.mktemp("bin") / "outofcore_limited"
    subprocess.run(["gcc", "-O2", "-std=c99", "-Wall", "-Werror", f"-I{ROOT / 'include'}",
                    str(ROOT / "Tests" / "python" / "outofcore_limited.c"), f"-L{library}", "-lminibatch",
                    f"-Wl,-rpath,{library}", "-o", str(exe)], check=True)
    return exe


@pytest.fixture(scope="module")
def big_files(tmp_path_factory):
    """X (m, 784) float32 of more than 4 x LIMIT bytes, y = each row's index (int64), and a
    784-32-10 model, written and dropped from the page cache."""
    directory = tmp_path_factory.mktemp("big")
    m = (4 * LIMIT) // (4 * FEATURES) + 4099
    rng = np.random.default_rng(8)
    x_path, y_path, model_path = directory / "x.npy", directory / "y.npy", directory / "model.mb"
    x = np.lib.format.open_memmap(x_path, mode="w+", dtype=np.float32, shape=(m, FEATURES))
    for start in range(0, m, 8192):
        x[start:start + 8192] = rng.random((min(8192, m - start), FEATURES), dtype=np.float32) - np.float32(0.5)
    x.flush()
    del x
    np.save(y_path, np.arange(m, dtype=np.int64))
    mb.Network([FEATURES, 32, OUTPUTS], seed=3).save(model_path)
    write_and_drop(x_path, y_path)
    assert x_path.stat().st_size > 4 * LIMIT
    return directory, m


@pytest.fixture
def cgroup():
    """A fresh memory cgroup limited to LIMIT bytes."""
    with memory_group("minibatch-outofcore", LIMIT) as group:
        yield group


@pytest.mark.parametrize("budget", [BUDGET, 0])
def test_shuffles_and_predicts_a_file_four_times_the_memory_limit(program, big_files, cgroup, budget):
    """With a budget given, and with the default (0): a quarter of the memory the process may
    use, which the library reads from the group's limit (16 MiB here)."""
    directory, m = big_files
    x, y, xs, ys, pred = (directory / n for n in ("x.npy", "y.npy", "xs.npy", "ys.npy", "pred.npy"))
    for path in (xs, ys, pred):
        path.unlink(missing_ok=True)
    result = run_limited(cgroup, [program, directory / "model.mb", x, y, xs, ys, pred, SEED, budget])
    assert result.returncode == 0, f"failed or killed ({result.returncode}): {result.stdout}{result.stderr}"
    assert oom_kills(cgroup) == 0
    assert "predictions from the dataset equal the file's: yes" in result.stdout
    peak = int(re.search(r"peak resident memory:\s*(\d+) kB", result.stdout).group(1)) << 10
    assert peak < LIMIT
    cache = int(re.search(r"^cache (\d+)$", (cgroup / "memory.stat").read_text(), flags=re.M).group(1))
    assert sorted(p.name for p in directory.iterdir()) == ["model.mb", "pred.npy", "x.npy", "xs.npy", "y.npy", "ys.npy"]

    # Outside the group: the documented order, pairs kept, predictions as in memory.
    row_bytes = 4 * FEATURES + 8
    k = bucket_count(m, row_bytes, budget or LIMIT // 4)
    assert k > 4, "the data must not fit the budget"
    order = shuffle_order(m, SEED, k)
    labels = np.load(ys)
    assert np.array_equal(labels, order)
    x_in, x_out = np.load(x, mmap_mode="r"), np.load(xs, mmap_mode="r")
    for start in range(0, m, 8192):
        assert np.array_equal(x_out[start:start + 8192], x_in[order[start:start + 8192]])
    predictions = np.load(pred)
    assert predictions.dtype == np.float32 and predictions.shape == (m, OUTPUTS)
    # In a fresh process, as the limited program ran: OpenBLAS's thread count (which an
    # earlier test in this process may have limited, e.g. through threadpoolctl) changes
    # how its threads split a product, and so the last bits of the outputs.
    memory = directory / "memory-predictions.npy"
    script = ("import sys, numpy as np, minibatch_gd as mb; "
              "np.save(sys.argv[3], mb.Network.load(sys.argv[1]).predict(np.load(sys.argv[2])))")
    subprocess.run([sys.executable, "-c", script, str(directory / "model.mb"), str(xs), str(memory)],
                   check=True, env=dict(os.environ, PYTHONPATH=str(ROOT / "bindings" / "python")))
    try:
        assert predictions.tobytes() == np.load(memory).tobytes()
    finally:
        memory.unlink()
    print(f"\nbudget {budget >> 20} MiB: X is {x.stat().st_size >> 20} MiB, limit {LIMIT >> 20} MiB, {k} buckets, "
          f"peak resident {peak >> 20} MiB, page cache left in the group {cache >> 20} MiB")


def test_control_shuffling_with_numpy_is_killed(big_files, cgroup):
    directory, _ = big_files
    code = (f"import numpy as np; x = np.load({str(directory / 'x.npy')!r}); "
            f"np.save({str(directory / 'control.npy')!r}, x[np.random.permutation(len(x))])")
    result = run_limited(cgroup, [sys.executable, "-c", code])
    (directory / "control.npy").unlink(missing_ok=True)
    assert result.returncode != 0, "shuffling in memory fit in the limit: the limit is not real"
    assert oom_kills(cgroup) >= 1, result.stderr
