"""Predicting from .npy files and the external shuffle, against references.

Predictions from files (``Network.predict(Dataset)``, ``Network.predict_to_file``, the
estimators' ``predict``/``predict_proba``/``score`` on a ``Dataset``) equal the in-memory ones
bit for bit, read back with numpy. ``shuffle_files`` writes the order ``mb_shuffle_npy``'s
contract states, recomputed here in plain Python from the generator's reference
(``reference_rng``), keeps pairs and dtypes, and is deterministic in the seed. Bad input
raises and leaves no file behind. (The bounded-memory proof is
``Tests/python/test_outofcore_memory_limit.py``.)
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import minibatch_gd as mb
from reference_rng import Xoshiro256ss, permutation

DEFAULT_BUDGET_MIN = 4 << 20  # the library's default budget is at least this


def bucket_count(m: int, row_bytes: int, budget: int) -> int | None:
    """K as the header defines it: the fewest k with ceil(m/k) * row_bytes + 16 k <= budget."""
    for k in range(1, m + 1):
        if 16 * k > budget:
            return None
        if -(-m // k) * row_bytes + 16 * k <= budget:
            return k
    return None


def shuffle_order(m: int, seed: int, k: int) -> list[int]:
    """mb_shuffle_npy's order as the header states it (input row of each output row)."""
    if k == 1:
        return permutation(m, seed, 0)
    g = Xoshiro256ss(seed, 0)
    left = [(b + 1) * m // k - b * m // k for b in range(k)]
    buckets: list[list[int]] = [[] for _ in range(k)]
    for i in range(m):
        j = g.below(m - i)
        b = 0
        while j >= left[b]:
            j -= left[b]
            b += 1
        left[b] -= 1
        buckets[b].append(i)
    order: list[int] = []
    for rows in buckets:
        for i in range(len(rows) - 1, 0, -1):
            j = g.below(i + 1)
            rows[i], rows[j] = rows[j], rows[i]
        order += rows
    return order


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.fixture
def files(tmp_path):
    """X (m, 6) float32 and integer labels, m not a multiple of 16 (nor of 256)."""
    m, n = 3001, 6
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((m, n)) * 2).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64) + (x[:, 3] > 1)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", labels)
    return tmp_path, x, labels


# -- predictions --------------------------------------------------------------------------------

@pytest.mark.parametrize("m", [1, 255, 256, 257, 3001])
@pytest.mark.parametrize("budget", [None, 50_000])
def test_network_predicts_a_dataset_as_memory(tmp_path, m, budget):
    x = np.random.default_rng(m).standard_normal((m, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.zeros(m, np.uint8))
    net = mb.Network([6, 32, 3], hidden_activation="relu", loss="cross_entropy", seed=2)
    # 50,000 bytes: the activations of 256 rows and chunks of 256 rows (the exact shuffle's
    # 12 bytes per row of the reader come on top).
    with mb.Dataset(tmp_path / "x.npy", tmp_path / "y.npy",
                    memory_budget=None if budget is None else budget + 12 * m) as ds:
        assert same_bits(net.predict(ds), net.predict(x))
        assert same_bits(net.predict_classes(ds), net.predict_classes(x))


def test_predict_to_file_is_numpy_readable_and_equal(files):
    d, x, _ = files
    net = mb.Network([6, 16, 8, 3], hidden_activation="tanh", loss="cross_entropy", seed=7)
    for budget in (0, 4 * (16 + 8 + 3) * 256 + 256 * 36, 1 << 40):  # default, 256-row chunks, no limit
        net.predict_to_file(d / "x.npy", d / "p.npy", memory_budget=budget)
        assert same_bits(np.load(d / "p.npy"), net.predict(x))
        net.predict_to_file(os.fspath(d / "x.npy"), os.fspath(d / "c.npy"), classes=True, memory_budget=budget)
        assert same_bits(np.load(d / "c.npy"), net.predict_classes(x))
    regression = mb.Network([6, 2], loss="mse", seed=1)
    regression.predict_to_file(d / "x.npy", d / "r.npy")
    assert same_bits(np.load(d / "r.npy"), regression.predict(x))
    assert sorted(os.listdir(d)) == ["c.npy", "p.npy", "r.npy", "x.npy", "y.npy"]


def test_predict_to_file_errors_leave_nothing(files):
    d, x, _ = files
    net = mb.Network([6, 4, 3], seed=1)
    before = sorted(os.listdir(d))
    with pytest.raises(mb.MinibatchIOError):
        net.predict_to_file(d / "missing.npy", d / "p.npy")
    with pytest.raises(mb.InvalidArgumentError, match="out_path"):
        net.predict_to_file(d / "x.npy", d / "x.npy")
    with pytest.raises(mb.InvalidArgumentError, match="memory_budget"):
        net.predict_to_file(d / "x.npy", d / "p.npy", memory_budget=1000)
    with pytest.raises(mb.InvalidArgumentError, match="float32"):
        net.predict_to_file(d / "y.npy", d / "p.npy")
    with pytest.raises(mb.InvalidArgumentError, match="classes"):
        mb.Network([6, 2], loss="mse").predict_to_file(d / "x.npy", d / "p.npy", classes=True)
    with pytest.raises(mb.MinibatchIOError):
        net.predict_to_file(d / "x.npy", d / "no" / "such" / "p.npy")
    bad = x.copy()
    bad[2000, 5] = np.inf
    np.save(d / "bad.npy", bad)
    with pytest.raises(mb.InvalidArgumentError, match="row 2000, column 5"):
        net.predict_to_file(d / "bad.npy", d / "p.npy", memory_budget=100_000)
    os.remove(d / "bad.npy")
    assert sorted(os.listdir(d)) == before
    with mb.Dataset(d / "x.npy", d / "y.npy") as ds, pytest.raises(ValueError, match="features"):
        mb.Network([5, 2]).predict(ds)


# -- the estimators on a Dataset --------------------------------------------------------------

def test_classifier_predicts_and_scores_a_dataset_as_memory(files):
    d, x, labels = files
    clf = mb.MLPClassifier((12,), max_iter=3, random_state=0).fit(x, labels)
    with mb.Dataset(d / "x.npy", d / "y.npy", memory_budget=1 << 20) as ds:
        assert np.array_equal(clf.predict_proba(ds), clf.predict_proba(x))
        assert same_bits(clf.predict_proba(ds), clf.predict_proba(x))
        assert np.array_equal(clf.predict(ds), clf.predict(x))
        assert clf.score(ds) == clf.score(x, labels)
        w = np.random.default_rng(1).random(len(x))
        assert clf.score(ds, sample_weight=w) == pytest.approx(clf.score(x, labels, sample_weight=w), rel=1e-12)
        with pytest.raises(ValueError, match="y must be None"):
            clf.score(ds, labels)
    # Two classes: one sigmoid output.
    binary = mb.MLPClassifier((5,), max_iter=2, random_state=1).fit(x, labels > 0)
    np.save(d / "b.npy", labels > 0)
    with mb.Dataset(d / "x.npy", d / "b.npy") as ds:
        assert same_bits(binary.predict_proba(ds), binary.predict_proba(x))
        assert binary.score(ds) == binary.score(x, labels > 0)


def test_regressor_predicts_and_scores_a_dataset_as_memory(files):
    d, x, _ = files
    targets = np.stack([x[:, 0] - x[:, 1], x[:, 2] * 0.5], axis=1).astype(np.float32)
    np.save(d / "t.npy", targets)
    np.save(d / "t1.npy", targets[:, 0])
    for y, path in ((targets, "t.npy"), (targets[:, 0], "t1.npy")):
        reg = mb.MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(x, y)
        with mb.Dataset(d / "x.npy", d / path) as ds:
            assert same_bits(reg.predict(ds), reg.predict(x))
            assert reg.score(ds) == pytest.approx(reg.score(x, y), rel=1e-12, abs=1e-12)
            w = np.linspace(0.5, 2.0, len(x))
            assert reg.score(ds, sample_weight=w) == pytest.approx(reg.score(x, y, sample_weight=w), rel=1e-12, abs=1e-12)


def test_estimator_checks_a_datasets_width(files):
    d, x, labels = files
    clf = mb.MLPClassifier((4,), max_iter=1, random_state=0).fit(x[:, :5], labels)
    with mb.Dataset(d / "x.npy", d / "y.npy") as ds, pytest.raises(ValueError, match="features"):
        clf.predict(ds)


# -- the external shuffle -------------------------------------------------------------------------

@pytest.mark.parametrize("budget", [0, 1 << 40, 40_000, 8_000, 2_200, 1_500])
def test_shuffle_files_follows_the_stated_order(tmp_path, budget):
    m = 1500
    x = np.random.default_rng(0).standard_normal((m, 4)).astype(np.float32)
    y = np.arange(m, dtype=np.int32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    mb.shuffle_files(tmp_path / "x.npy", tmp_path / "y.npy", tmp_path / "xs.npy", tmp_path / "ys.npy",
                     seed=11, memory_budget=budget)
    xs, ys = np.load(tmp_path / "xs.npy"), np.load(tmp_path / "ys.npy")
    # A permutation of the rows, pairs kept (y is each row's index).
    assert np.array_equal(np.sort(ys), y) and np.array_equal(xs, x[ys])
    k = bucket_count(m, 16 + 4, budget or DEFAULT_BUDGET_MIN)
    assert np.array_equal(ys, shuffle_order(m, 11, k))
    if k == 1:  # the in-memory shuffle's order
        xm, ym = mb.shuffle(x, y, seed=11)
        assert same_bits(xs, xm) and same_bits(ys, ym)
    assert sorted(os.listdir(tmp_path)) == ["x.npy", "xs.npy", "y.npy", "ys.npy"]


def test_the_budgets_above_give_several_bucket_counts():
    budgets = (1 << 40, 40_000, 8_000, 2_200, 1_500)
    assert [bucket_count(1500, 20, b) for b in budgets] == [1, 1, 4, 16, 30]
    # Pass 1 reads half the largest bucket's rows at a time and buffers the rest: with 16
    # buckets of at most 94 rows, 2 rows per bucket; with 30 of at most 50, none (each row
    # is written alone).
    assert [(c - c // 2) // k for k, c in ((16, 94), (30, 50))] == [2, 0]


def test_shuffle_files_is_deterministic_and_depends_on_the_seed(tmp_path):
    m = 999
    x = np.arange(m * 3, dtype=np.float32).reshape(m, 3)
    np.save(tmp_path / "x.npy", x)
    runs = []
    for seed in (4, 4, 5):
        mb.shuffle_files(tmp_path / "x.npy", None, tmp_path / "xs.npy", None, seed=seed, memory_budget=3000)
        runs.append(np.load(tmp_path / "xs.npy"))
    assert same_bits(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])
    k = bucket_count(m, 12, 3000)
    assert k > 1
    assert np.array_equal(runs[0], x[shuffle_order(m, 4, k)])


@pytest.mark.parametrize("x_dtype,y_dtype,y_shape", [
    (np.float32, np.bool_, ()), (np.uint8, np.int16, ()), (np.int64, np.float32, (3,)),
    (np.float32, np.uint64, ()), (np.int8, np.float32, ()),
])
@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_shuffle_files_keeps_dtypes_and_shapes(tmp_path, x_dtype, y_dtype, y_shape, version):
    m = 700
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((m, 5)) * 50).astype(x_dtype)
    y = (rng.standard_normal((m,) + y_shape) * 50).astype(y_dtype)
    for name, a in (("x.npy", x), ("y.npy", y)):
        with open(tmp_path / name, "wb") as f:
            np.lib.format.write_array(f, a, version=version)
    row_bytes = x[0].nbytes + y[0].nbytes
    budget = 10 * row_bytes * 16  # several buckets
    mb.shuffle_files(tmp_path / "x.npy", tmp_path / "y.npy", tmp_path / "xs.npy", tmp_path / "ys.npy",
                     seed=2, memory_budget=budget)
    order = shuffle_order(m, 2, bucket_count(m, row_bytes, budget))
    assert same_bits(np.load(tmp_path / "xs.npy"), x[order])
    assert same_bits(np.load(tmp_path / "ys.npy"), y[order])


def test_shuffle_files_errors_leave_nothing(tmp_path):
    m = 100
    np.save(tmp_path / "x.npy", np.zeros((m, 4), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(m, np.int32))
    np.save(tmp_path / "y99.npy", np.zeros(99, np.int32))
    before = sorted(os.listdir(tmp_path))
    x, y, xo, yo = (tmp_path / n for n in ("x.npy", "y.npy", "xo.npy", "yo.npy"))
    with pytest.raises(mb.MinibatchIOError):
        mb.shuffle_files(tmp_path / "missing.npy", y, xo, yo)
    with pytest.raises(ValueError, match="y_out"):
        mb.shuffle_files(x, y, xo, None)
    with pytest.raises(mb.InvalidArgumentError, match="x_out"):
        mb.shuffle_files(x, y, x, yo)
    with pytest.raises(mb.InvalidArgumentError, match="y_out"):
        mb.shuffle_files(x, y, xo, os.path.join(tmp_path, ".", "y.npy"))
    with pytest.raises(mb.InvalidArgumentError, match="rows"):
        mb.shuffle_files(x, tmp_path / "y99.npy", xo, yo)
    with pytest.raises(mb.InvalidArgumentError, match="memory_budget"):
        mb.shuffle_files(x, y, xo, yo, memory_budget=100)
    with pytest.raises(mb.MinibatchIOError, match="temp_dir"):
        mb.shuffle_files(x, y, xo, yo, memory_budget=1000, temp_dir=tmp_path / "nowhere")
    with pytest.raises(mb.MinibatchIOError):
        mb.shuffle_files(x, y, tmp_path / "no" / "xo.npy", yo)
    with open(tmp_path / "bad.npy", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'")
    with pytest.raises(mb.FormatError):
        mb.shuffle_files(tmp_path / "bad.npy", None, xo, None)
    os.remove(tmp_path / "bad.npy")
    with pytest.raises(ValueError):
        mb.shuffle_files(x, y, xo, yo, memory_budget=-1)
    assert sorted(os.listdir(tmp_path)) == before
    # With a temp_dir, the buckets' file is gone when the call returns.
    mb.shuffle_files(x, y, xo, yo, memory_budget=1000, temp_dir=tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(before + ["xo.npy", "yo.npy"])
