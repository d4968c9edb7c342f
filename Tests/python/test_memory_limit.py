"""Training from a .npy dataset four times larger than the memory it is allowed.

A cgroup v1 memory group with a limit of LIMIT bytes runs `examples/train_npy.c` on an X file
of more than 4 x LIMIT: it must train one epoch and exit cleanly (no OOM kill) with a falling
cost, in both shuffle modes. A control in the same group loads the same file whole with
numpy and must be killed: that shows the limit was real. Where cgroup v1's memory controller
cannot be used, the test says so and skips.
"""
import pathlib
import re
import subprocess

import numpy as np
import pytest
from cgroups import memory_group, oom_kills, run_limited, write_and_drop  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIMIT = 64 << 20          # bytes the training process may use, page cache included
BUDGET = 16 << 20         # the dataset reader's own budget, well inside the limit
FEATURES, CLASSES = 784, 10


@pytest.fixture(scope="module")
def train_npy(tmp_path_factory):
    """examples/train_npy.c, compiled against the built library."""
    library = ROOT / ".build" / "release"
    if not (library / "libminibatch.so").exists():
        pytest.fail("build the library first: make build")
    exe = tmp_path_factory.mktemp("bin") / "train_npy"
    subprocess.run(["gcc", "-O2", "-std=c99", f"-I{ROOT / 'include'}", str(ROOT / "examples" / "train_npy.c"),
                    f"-L{library}", "-lminibatch", f"-Wl,-rpath,{library}", "-o", str(exe)], check=True)
    return exe


@pytest.fixture(scope="module")
def big_dataset(tmp_path_factory):
    """X (m, 784) float32 of more than 4 x LIMIT bytes, and learnable labels, written by numpy
    and dropped from the page cache so the limited process must read them itself."""
    directory = tmp_path_factory.mktemp("big")
    m = (4 * LIMIT) // (4 * FEATURES) + 4096
    rng = np.random.default_rng(5)
    weights = rng.standard_normal((FEATURES, CLASSES)).astype(np.float32)
    x_path, y_path = directory / "x.npy", directory / "y.npy"
    x = np.lib.format.open_memmap(x_path, mode="w+", dtype=np.float32, shape=(m, FEATURES))
    labels = np.empty(m, dtype=np.int64)
    for start in range(0, m, 8192):
        chunk = rng.random((min(8192, m - start), FEATURES), dtype=np.float32) - np.float32(0.5)
        x[start:start + len(chunk)] = chunk
        labels[start:start + len(chunk)] = np.argmax(chunk @ weights, axis=1)
    x.flush()
    del x
    np.save(y_path, labels)
    write_and_drop(x_path, y_path)
    assert x_path.stat().st_size > 4 * LIMIT
    return x_path, y_path


@pytest.fixture
def cgroup():
    """A fresh memory cgroup limited to LIMIT bytes."""
    with memory_group("minibatch-test", LIMIT) as group:
        yield group


@pytest.mark.parametrize("shuffle,budget", [("exact", BUDGET), ("block", BUDGET), ("exact", None), ("block", None)])
def test_trains_a_file_four_times_the_memory_limit(train_npy, big_dataset, cgroup, shuffle, budget):
    """With a budget given, and with the default (None): a quarter of the memory the
    process may use, which the library reads from the group's limit."""
    x_path, y_path = big_dataset
    result = run_limited(cgroup, [train_npy, x_path, y_path, "--epochs", "1", "--batch", "128", "--lr", "0.1",
                                  "--hidden", "32", "--shuffle", shuffle] + (["--budget", budget] if budget else []))
    assert result.returncode == 0, f"training failed or was killed ({result.returncode}): {result.stdout}{result.stderr}"
    assert oom_kills(cgroup) == 0
    # The process's own peak resident set (the page cache it read through is the kernel's
    # to reclaim, and is what the limit squeezes).
    peak = int(re.search(r"peak resident memory:\s*(\d+) kB", result.stdout).group(1)) << 10
    assert peak < LIMIT
    first, last = map(float, re.search(r"first tenth ([\d.]+), of the last tenth ([\d.]+)", result.stdout).groups())
    assert last < 0.95 * first, result.stdout
    # The page cache charged to the group: the block shuffle's default (page_cache auto)
    # sees the group's limit, far below the file, and releases the pages it has read.
    cache = int(re.search(r"^cache (\d+)$", (cgroup / "memory.stat").read_text(), flags=re.M).group(1))
    if shuffle == "block":
        assert cache < LIMIT // 4, f"{cache >> 20} MiB of page cache left in the group: read pages were not released"
    print(f"\n{shuffle}: X is {x_path.stat().st_size >> 20} MiB, limit {LIMIT >> 20} MiB, peak resident {peak >> 20} MiB, "
          f"page cache left in the group {cache >> 20} MiB, cost {first:.4f} -> {last:.4f}")


def test_control_loading_the_file_whole_is_killed(big_dataset, cgroup):
    x_path, _ = big_dataset
    result = run_limited(cgroup, ["python3", "-c", f"import numpy as np; print(float(np.load('{x_path}').sum()))"])
    assert result.returncode != 0, "loading the whole file fit in the limit: the limit is not real"
    assert oom_kills(cgroup) >= 1, result.stderr


@pytest.fixture(scope="module")
def many_labels(tmp_path_factory):
    """8 Mi int64 labels (64 MiB, the limit) beside an X of one feature."""
    directory = tmp_path_factory.mktemp("labels")
    m = 8 << 20
    x_path, y_path = directory / "x.npy", directory / "y.npy"
    np.save(x_path, np.zeros((m, 1), np.float32))
    np.save(y_path, np.arange(m, dtype=np.int64) % 3)
    return x_path, y_path


def test_the_classes_of_a_label_file_are_read_in_bounded_memory(many_labels, cgroup):
    """MLPClassifier.fit(Dataset) finds the classes with minibatch_gd.core.label_values, chunk
    by chunk; np.unique over the whole label file, as it was found before, needs more than
    the limit (the control). (The estimators module itself imports scikit-learn, which
    alone takes more than the limit, so the test calls the function it uses.)"""
    x_path, y_path = many_labels
    code = ("import sys; sys.path.insert(0, %r); import minibatch_gd as mb; "
            "ds = mb.Dataset(%r, %r, shuffle='block'); print(mb.core.label_values(ds.y_path).tolist())"
            % (str(ROOT / "bindings" / "python"), str(x_path), str(y_path)))
    result = run_limited(cgroup, ["python3", "-c", code])
    assert result.returncode == 0, f"killed or failed ({result.returncode}): {result.stderr[-500:]}"
    assert result.stdout.strip().endswith("[0, 1, 2]")
    assert oom_kills(cgroup) == 0
    control = run_limited(cgroup, ["python3", "-c", f"import numpy as np; print(np.unique(np.load({str(y_path)!r}, mmap_mode='r')))"])
    assert control.returncode != 0, "np.unique over the whole file fit in the limit: the test proves nothing"
