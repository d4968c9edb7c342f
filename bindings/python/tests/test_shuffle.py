"""shuffle, permutation(rng="numpy"), partition and mini_batches."""

from __future__ import annotations

import os

import numpy as np
import pytest

import minibatch_gd as mb


def _check_shuffled(X, y, Xs, ys, perm):
    assert np.array_equal(Xs, np.asarray(X)[perm])
    if y is not None:
        assert np.array_equal(ys, np.asarray(y)[perm])


@pytest.mark.parametrize(
    "make",
    [
        lambda m: np.arange(m * 3, dtype=np.float32).reshape(m, 3),
        lambda m: np.arange(m * 3, dtype=np.float64).reshape(m, 3),
        lambda m: np.arange(m, dtype=np.int8),
        lambda m: np.arange(m * 10, dtype=np.uint16).reshape(m, 2, 5),
        lambda m: np.asfortranarray(np.arange(m * 4, dtype=np.float32).reshape(m, 4)),
        lambda m: np.arange(m * 8, dtype=np.float32).reshape(m, 8)[:, ::2],  # non-contiguous
        lambda m: np.array([f"s{i}" for i in range(m)]),  # fixed-width unicode
        lambda m: np.array([(i, float(i)) for i in range(m)], dtype=[("a", "i4"), ("b", "f8")]),
        lambda m: np.array([{"row": i} for i in range(m)], dtype=object),
        lambda m: [[i, -i] for i in range(m)],  # list
    ],
    ids=["f32", "f64", "int8-1d", "uint16-3d", "fortran", "strided", "unicode", "structured",
         "object", "list"],
)
def test_shuffle_any_rows(make):
    m = 37
    X = make(m)
    y = np.arange(m, dtype=np.int64) * 10
    for seed, epoch in [(0, 0), (5, 3)]:
        Xs, ys = mb.shuffle(X, y, seed, epoch=epoch)
        perm = mb.permutation(m, seed, epoch)
        _check_shuffled(X, y, Xs, ys, perm)
        assert np.array_equal(ys // 10, perm)  # pairs stay matched
    assert not np.shares_memory(Xs, np.asarray(X)) if isinstance(X, np.ndarray) else True


def test_shuffle_without_y_and_input_untouched():
    X = np.arange(20.0).reshape(10, 2)
    before = X.copy()
    Xs = mb.shuffle(X, seed=3)
    assert isinstance(Xs, np.ndarray)
    assert np.array_equal(Xs, X[mb.permutation(10, 3)])
    assert np.array_equal(X, before)


def test_shuffle_inplace_matches_copy():
    X = np.random.RandomState(0).rand(50, 3).astype(np.float32)
    y = np.arange(50)
    Xs, ys = mb.shuffle(X, y, 9, epoch=2)
    X2, y2 = X.copy(), y.copy()
    r = mb.shuffle(X2, y2, 9, epoch=2, inplace=True)
    assert r[0] is X2 and r[1] is y2
    assert np.array_equal(X2, Xs) and np.array_equal(y2, ys)
    with pytest.raises(ValueError):
        mb.shuffle(np.asfortranarray(X), None, 1, inplace=True)
    ro = X.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        mb.shuffle(ro, None, 1, inplace=True)
    with pytest.raises(TypeError):
        mb.shuffle([[1, 2]], None, 1, inplace=True)


@pytest.mark.parametrize("threads", ["1", "3"])
def test_large_shuffle_on_threads_is_numpys_take(threads):
    """From 8 MiB of rows mb_shuffle_into copies on several threads (0.12.0), each its own part
    of the output: numpy's X[perm], y[perm], byte for byte, in a process whose automatic thread
    count (OPENBLAS_NUM_THREADS) is 1 or 3, and after a training call that keeps a team of 2."""
    import subprocess
    import sys
    code = (
        "import numpy as np, minibatch_gd as mb\n"
        "rs = np.random.RandomState(1)\n"
        "X = rs.randint(0, 2**31, size=(300_007, 9)).astype(np.int32)\n"  # 36 bytes a row
        "y = rs.rand(300_007, 3).astype(np.float64)\n"                   # and 24: 17 MiB
        "for train in (False, True):\n"
        "    if train:\n"
        "        Xm, ym = mb.make_moons(600, 0.2, seed=1)\n"
        "        with mb.Network([2, 64, 2], seed=0) as net:\n"
        "            net.train(Xm, ym, epochs=1, batch_size=600, threads=2)\n"
        "    Xs, ys = mb.shuffle(X, y, 5, epoch=3)\n"
        "    perm = mb.permutation(len(X), 5, 3)\n"
        "    assert np.array_equal(Xs, X[perm]) and np.array_equal(ys, y[perm])\n"
        "print('ok')\n"
    )
    # (the package as this process imported it: from the source tree or installed)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(mb.__file__)))
    path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, PYTHONPATH=path)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_shuffle_is_the_training_order():
    # shuffled row k of epoch e is the k-th example training with `seed` visits in epoch e
    perm = mb.permutation(100, 77, 4)
    Xs = mb.shuffle(np.arange(100), seed=77, epoch=4)
    assert np.array_equal(Xs, perm)


def test_shuffle_errors():
    with pytest.raises(ValueError):
        mb.shuffle(np.zeros((3, 2)), np.zeros(4), 0)
    with pytest.raises(ValueError):
        mb.shuffle(np.float32(3.0), None, 0)
    with pytest.raises(ValueError):
        mb.shuffle(np.zeros((3, 2)), None, -1)
    with pytest.raises(TypeError):
        mb.shuffle(np.zeros((3, 2)), None, 1.5)
    with pytest.raises(ValueError):
        mb.shuffle(np.zeros((3, 2)), None, 0, rng="torch")
    with pytest.raises(ValueError):
        mb.shuffle(np.zeros((3, 2)), None, 2**64)
    e = mb.shuffle(np.zeros((0, 2)), np.zeros(0), 0)
    assert e[0].shape == (0, 2)


# ---------------------------------------------------------------------------------------
# rng="numpy": the course's np.random.seed(seed); np.random.permutation(m)
# ---------------------------------------------------------------------------------------


def _numpy_legacy_order(m, seed):
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        return np.random.permutation(m)
    finally:
        np.random.set_state(state)


@pytest.mark.parametrize("m", [1, 2, 3, 10, 64, 148, 209, 1000, 4096])
def test_numpy_rng_reproduces_np_random_permutation(m):
    for seed in list(range(12)) + [42, 1234, 2**31 - 1, 2**32 - 1]:
        expected = _numpy_legacy_order(m, seed)
        assert np.array_equal(mb.permutation(m, seed, rng="numpy"), expected), (m, seed)
        X = np.arange(m * 2).reshape(m, 2)
        Xs, ys = mb.shuffle(X, np.arange(m), seed, rng="numpy")
        assert np.array_equal(ys, expected) and np.array_equal(Xs, X[expected])


def test_numpy_rng_does_not_touch_global_state():
    np.random.seed(5)
    a = np.random.rand()
    np.random.seed(5)
    mb.permutation(100, 3, rng="numpy")
    assert np.random.rand() == a


def test_numpy_rng_limits():
    with pytest.raises(ValueError):
        mb.permutation(10, 2**32, rng="numpy")
    with pytest.raises(ValueError):
        mb.permutation(10, 1, epoch=1, rng="numpy")
    assert not np.array_equal(mb.permutation(1000, 1, rng="numpy"), mb.permutation(1000, 1))


def _course_random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """The deeplearning.ai notebook function (columns are examples)."""
    np.random.seed(seed)
    m = X.shape[1]
    mini_batches = []
    permutation = list(np.random.permutation(m))
    shuffled_X = X[:, permutation]
    shuffled_Y = Y[:, permutation].reshape((1, m))
    num_complete_minibatches = m // mini_batch_size
    for k in range(num_complete_minibatches):
        mini_batches.append((shuffled_X[:, k * mini_batch_size:(k + 1) * mini_batch_size],
                             shuffled_Y[:, k * mini_batch_size:(k + 1) * mini_batch_size]))
    if m % mini_batch_size != 0:
        mini_batches.append((shuffled_X[:, num_complete_minibatches * mini_batch_size:],
                             shuffled_Y[:, num_complete_minibatches * mini_batch_size:]))
    return mini_batches


@pytest.mark.parametrize("m,b,seed", [(148, 64, 0), (300, 64, 10), (1000, 128, 3), (64, 64, 1), (5, 2, 7)])
def test_mini_batches_reproduce_the_course_notebook(m, b, seed):
    rs = np.random.RandomState(100 + m)
    X = rs.randn(m, 12)
    y = rs.randint(0, 2, size=m)
    state = np.random.get_state()
    try:
        expected = _course_random_mini_batches(X.T, y.reshape(1, -1), b, seed)
    finally:
        np.random.set_state(state)
    got = list(mb.mini_batches(X, y, b, seed, rng="numpy"))
    assert len(got) == len(expected)
    for (xb, yb), (ex, ey) in zip(got, expected):
        assert np.array_equal(xb, ex.T) and np.array_equal(yb, ey.ravel())


# ---------------------------------------------------------------------------------------
# partition and mini_batches
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("m,b", [(1, 1), (10, 3), (10, 10), (10, 1), (4000, 64), (129, 128), (7, 2)])
def test_partition(m, b):
    keep = mb.partition(m, b)
    assert len(keep) == -(-m // b)
    assert [s.start for s in keep] == list(range(0, m, b))
    assert sum(s.stop - s.start for s in keep) == m
    assert all(s.stop - s.start == b for s in keep[:-1])
    drop = mb.partition(m, b, drop_last=True)
    assert len(drop) == m // b
    assert all(s.stop - s.start == b for s in drop)
    assert drop == keep[: m // b]


@pytest.mark.parametrize("m,b", [(0, 1), (5, 0), (5, 6), (-1, 1), (5, -1)])
def test_partition_bad(m, b):
    with pytest.raises(ValueError):
        mb.partition(m, b)


def test_mini_batches_are_views_and_cover_the_epoch():
    X = np.arange(300, dtype=np.float32).reshape(100, 3)
    y = np.arange(100)
    batches = list(mb.mini_batches(X, y, 32, seed=4, epoch=1))
    assert [len(b[0]) for b in batches] == [32, 32, 32, 4]
    Xs, ys = mb.shuffle(X, y, 4, epoch=1)
    assert np.array_equal(np.concatenate([b[0] for b in batches]), Xs)
    assert np.array_equal(np.concatenate([b[1] for b in batches]), ys)
    # one shuffled copy, every batch a view of it
    base = batches[0][0].base
    assert base is not None and all(b[0].base is base for b in batches)
    # without shuffling: views of the caller's arrays
    plain = list(mb.mini_batches(X, y, 32, shuffle=False))
    assert all(np.shares_memory(b[0], X) and np.shares_memory(b[1], y) for b in plain)
    assert np.array_equal(plain[1][0], X[32:64])
    # drop_last, and X only
    assert [len(b) for b in mb.mini_batches(X, None, 32, seed=4, drop_last=True)] == [32, 32, 32]
    # one batch of all rows (batch gradient descent): stored order, X itself, like mb_train
    (only,) = list(mb.mini_batches(X, y, 100, seed=4))
    assert np.shares_memory(only[0], X) and np.array_equal(only[0], X)
    # ... except for the course's generator, which always shuffles
    (course,) = list(mb.mini_batches(X, y, 100, seed=4, rng="numpy"))
    assert np.array_equal(course[1], mb.permutation(100, 4, rng="numpy"))


def test_mini_batches_errors_are_raised_at_call_time():
    with pytest.raises(ValueError):
        mb.mini_batches(np.zeros((10, 2)), np.zeros(9), 4)
    with pytest.raises(ValueError):
        mb.mini_batches(np.zeros((10, 2)), np.zeros(10), 11)
    with pytest.raises(ValueError):
        mb.mini_batches(np.zeros((10, 2)), np.zeros(10), 0)
