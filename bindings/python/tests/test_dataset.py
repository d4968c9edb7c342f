"""Datasets in .npy files (mb_dataset_*, mb_train_dataset, mb_evaluate_dataset)."""

from __future__ import annotations

import numpy as np
import pytest

import minibatch_gd as mb
import reference_rng as ref


def _save(path, arr, version=None):
    if version is None:
        np.save(path, arr)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, arr, version=version)
    return path


@pytest.fixture
def moons_files(tmp_path):
    X, y = mb.make_moons(1000, 0.2, seed=1)
    return X, y, _save(tmp_path / "X.npy", X), _save(tmp_path / "y.npy", y.astype(np.int8))


def test_open_and_describe(moons_files):
    X, y, xp, yp = moons_files
    with mb.Dataset(xp, yp) as ds:
        assert ds.m == len(ds) == 1000 and ds.n_features == 2 and ds.y_columns == 1
        assert ds.y_type == mb.Targets.CLASS_INDEX and ds.npy_versions == (1, 1)
        assert "m=1000" in repr(ds)
    assert ds.closed and repr(ds) == "Dataset(closed)"
    with pytest.raises(ValueError, match="closed"):
        ds.m


@pytest.mark.parametrize("label_dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                                         np.int64, np.uint64, np.bool_])
@pytest.mark.parametrize("batch_size", [32, 1000, "auto"])
@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_exact_shuffle_equals_in_memory_training(tmp_path, label_dtype, batch_size, version):
    X, y = mb.make_moons(1000, 0.2, seed=1)
    xp = _save(tmp_path / "X.npy", X, version)
    yp = _save(tmp_path / "y.npy", y.astype(label_dtype), version)
    with mb.Dataset(xp, yp) as ds, mb.Network([2, 8, 2], seed=1) as a, mb.Network([2, 8, 2], seed=1) as b:
        ha = a.train(X, y, epochs=3, batch_size=batch_size, learning_rate=0.1, seed=5)
        hb = b.train_dataset(ds, epochs=2, batch_size=batch_size, learning_rate=0.1, seed=5)
        b.train(ds, epochs=1, batch_size=batch_size, learning_rate=0.1, seed=5, history=hb)
        assert a.get_parameters().tobytes() == b.get_parameters().tobytes()
        assert ha.batch_costs.tobytes() == hb.batch_costs.tobytes()
        assert ha.epoch_costs.tobytes() == hb.epoch_costs.tobytes()
        assert a.evaluate(X, y) == b.evaluate_dataset(ds)


def test_float_targets_and_npy_versions(tmp_path):
    rs = np.random.RandomState(0)
    X = rs.randn(300, 3).astype(np.float32)
    Y = rs.randn(300, 2).astype(np.float32)
    for version in [(1, 0), (2, 0), (3, 0)]:
        xp = _save(tmp_path / f"X{version[0]}.npy", X, version)
        yp = _save(tmp_path / f"Y{version[0]}.npy", Y, version)
        with mb.Dataset(xp, yp) as ds:
            assert ds.npy_versions == (version[0], version[0])
            assert ds.y_type == mb.Targets.FLOAT32 and ds.y_columns == 2
            with mb.Network([3, 4, 2], loss="mse", seed=2) as a, mb.Network([3, 4, 2], loss="mse", seed=2) as b:
                a.train(X, Y, epochs=2, batch_size=16, seed=1)
                b.train_dataset(ds, epochs=2, batch_size=16, seed=1)
                assert a.get_parameters().tobytes() == b.get_parameters().tobytes()
    # 1-D float targets for one output
    xp = _save(tmp_path / "X.npy", X)
    yp = _save(tmp_path / "y1.npy", Y[:, 0].copy())
    with mb.Dataset(xp, yp) as ds, mb.Network([3, 1], loss="mse") as a, mb.Network([3, 1], loss="mse") as b:
        assert ds.y_columns == 1 and ds.y_type == mb.Targets.FLOAT32
        a.train(X, Y[:, 0], epochs=1, batch_size=7, seed=3)
        b.train(ds, epochs=1, batch_size=7, seed=3)
        assert a.get_parameters().tobytes() == b.get_parameters().tobytes()


def _block_order(m, n_features, block_bytes, seed, epoch, pool_blocks):
    """The header's block shuffle: blocks of min(block_bytes / (4 n_features), ceil(m / 1024))
    rows, Fisher-Yates over them with stream (seed, epoch), then groups of the shuffled
    blocks (the first F = min(P, max(1, B // 8)), then P = `pool_blocks` each), each group's
    rows shuffled with the same stream."""
    rows = max(1, min(block_bytes // (4 * n_features), -(-m // 1024)))
    n_blocks = -(-m // rows)
    g = ref.Xoshiro256ss(seed, epoch)
    blocks = list(range(n_blocks))
    for i in range(n_blocks - 1, 0, -1):
        j = g.below(i + 1)
        blocks[i], blocks[j] = blocks[j], blocks[i]
    first = min(pool_blocks, max(1, n_blocks // 8))
    starts = [0] + list(range(first, n_blocks, pool_blocks))
    order = []
    for p, end in zip(starts, starts[1:] + [n_blocks]):
        pool = [r for b in blocks[p:end] for r in range(b * rows, min(m, (b + 1) * rows))]
        for i in range(len(pool) - 1, 0, -1):
            j = g.below(i + 1)
            pool[i], pool[j] = pool[j], pool[i]
        order += pool
    return n_blocks, order


@pytest.mark.parametrize("memory_budget,block_bytes,m", [
    (1 << 24, 160, 2000), (1 << 24, 8, 2000), (12000, 160, 2000), (20000, 160, 2000), (1 << 24, 160, 20000),
    (60000, 160, 20000)])
def test_block_shuffle_follows_the_header(tmp_path, memory_budget, block_bytes, m):
    nf = 4
    rs = np.random.RandomState(0)
    X = rs.randn(m, nf).astype(np.float32)
    y = (rs.rand(m) > 0.5).astype(np.int32)
    xp, yp = _save(tmp_path / "X.npy", X), _save(tmp_path / "y.npy", y)
    with mb.Dataset(xp, yp, shuffle="block", block_bytes=block_bytes, memory_budget=memory_budget) as ds, \
            mb.Network([nf, 4, 2], seed=3) as net:
        net.train_dataset(ds, epochs=2, batch_size=10, learning_rate=0.1, seed=7)
        got = net.get_parameters()
    n_blocks = _block_order(m, nf, block_bytes, 7, 0, 1)[0]
    # the pools take the budget: two pools of P blocks of r rows (X, y and 16 bytes a row)
    # beside three batches of read-ahead and 8 bytes a block; each at most half the blocks
    rows = max(1, min(block_bytes // (4 * nf), -(-m // 1024)))
    slots = 3 * 10 * (4 * (nf + 1) + 16)
    fits = (memory_budget - slots - 8 * n_blocks) // (2 * rows * (4 * nf + 4 + 16))
    pool_blocks = max(1, min(-(-n_blocks // 2), fits))

    def reproduces(pool_blocks):
        o0 = _block_order(m, nf, block_bytes, 7, 0, pool_blocks)[1]
        o1 = _block_order(m, nf, block_bytes, 7, 1, pool_blocks)[1]
        assert sorted(o0) == list(range(m))  # every row exactly once
        with mb.Network([nf, 4, 2], seed=3) as ref_net:
            ref_net.train(X[o0], y[o0], epochs=1, batch_size=10, learning_rate=0.1, shuffle=False)
            ref_net.train(X[o1], y[o1], epochs=1, batch_size=10, learning_rate=0.1, shuffle=False)
            return ref_net.get_parameters().tobytes() == got.tobytes()

    assert reproduces(pool_blocks), f"block-shuffled training does not follow the header's order (P = {pool_blocks})"
    assert not reproduces(pool_blocks - 1 if pool_blocks > 1 else 2)  # the pool size shows in the order


def test_bad_values_in_files_stop_before_the_bad_batch(tmp_path):
    X, y = mb.make_moons(400, 0.2, seed=1)
    seed, b = 5, 20
    perm = mb.permutation(400, seed, 0)
    bad_row = int(perm[7 * b + 3])  # in batch 7 of epoch 0
    Xn = X.copy()
    Xn[bad_row, 1] = np.nan
    xp, yp = _save(tmp_path / "X.npy", Xn), _save(tmp_path / "y.npy", y)
    with mb.Dataset(xp, yp) as ds, mb.Network([2, 6, 2], seed=2) as net, mb.History() as h:
        with pytest.raises(mb.InvalidArgumentError):
            net.train_dataset(ds, epochs=2, batch_size=b, learning_rate=0.1, seed=seed, history=h)
        assert net.epochs_trained == 0
        assert len(h.batch_costs) == 7 and len(h.epoch_costs) == 0
        trained = net.get_parameters()
    with mb.Network([2, 6, 2], seed=2) as mine:  # the 7 good batches by hand
        for k, (Xb, yb) in enumerate(mb.mini_batches(X, y, b, seed)):
            if k == 7:
                break
            _, g = mine.gradient(Xb, yb)
            mine.set_parameters(mine.get_parameters() - np.float32(0.1) * g)
        np.testing.assert_allclose(trained, mine.get_parameters(), rtol=1e-5, atol=1e-6)
    # a label out of range
    y_bad = y.astype(np.int64)
    y_bad[bad_row] = 5
    yp2 = _save(tmp_path / "y_bad.npy", y_bad)
    with mb.Dataset(_save(tmp_path / "X_ok.npy", X), yp2) as ds, \
            mb.Network([2, 6, 2], seed=2) as net:
        with pytest.raises(mb.InvalidArgumentError):
            net.train_dataset(ds, epochs=1, batch_size=b, seed=seed)
        assert np.isfinite(net.get_parameters()).all()


def test_open_errors(tmp_path):
    X, y = mb.make_moons(50, 0.2, seed=1)
    xp, yp = _save(tmp_path / "X.npy", X), _save(tmp_path / "y.npy", y)
    with pytest.raises(mb.MinibatchIOError):
        mb.Dataset(tmp_path / "missing.npy", yp)
    with pytest.raises(mb.MinibatchIOError):
        mb.Dataset(xp, tmp_path / "missing.npy")
    (tmp_path / "junk.npy").write_bytes(b"definitely not numpy" * 10)
    with pytest.raises(mb.FormatError):
        mb.Dataset(tmp_path / "junk.npy", yp)
    raw = xp.read_bytes()
    (tmp_path / "short.npy").write_bytes(raw[: len(raw) - 40])
    with pytest.raises(mb.FormatError):
        mb.Dataset(tmp_path / "short.npy", yp)
    (tmp_path / "hdr.npy").write_bytes(raw[:20])
    with pytest.raises(mb.FormatError):
        mb.Dataset(tmp_path / "hdr.npy", yp)
    with pytest.raises(mb.InvalidArgumentError, match="f8|float64"):
        mb.Dataset(_save(tmp_path / "X64.npy", X.astype(np.float64)), yp)
    with pytest.raises(mb.InvalidArgumentError):
        mb.Dataset(_save(tmp_path / "XF.npy", np.asfortranarray(np.hstack([X, X]))), yp)
    with pytest.raises(mb.InvalidArgumentError):
        mb.Dataset(_save(tmp_path / "X3.npy", X.reshape(50, 2, 1)), yp)
    with pytest.raises(mb.InvalidArgumentError):
        mb.Dataset(xp, _save(tmp_path / "y49.npy", y[:49]))
    with pytest.raises(mb.InvalidArgumentError):
        mb.Dataset(xp, _save(tmp_path / "ystr.npy", np.array(["a"] * 50)))
    with pytest.raises(ValueError):
        mb.Dataset(xp, yp, shuffle="random")
    with pytest.raises(ValueError):
        mb.Dataset(xp, yp, block_bytes=0)


def test_shape_checks_before_c(moons_files):
    X, y, xp, yp = moons_files
    with mb.Dataset(xp, yp) as ds, mb.Network([3, 2]) as net:
        with pytest.raises(ValueError, match="2 features"):
            net.train_dataset(ds, epochs=1)
        with pytest.raises(ValueError, match="2 features"):
            net.evaluate_dataset(ds)
        with pytest.raises(TypeError):
            net.train_dataset(X, epochs=1)
    with mb.Dataset(xp, yp) as ds, mb.Network([2, 2]) as net:
        with pytest.raises(ValueError, match="y must be None"):
            net.train(ds, y, epochs=1)
        with pytest.raises(ValueError):
            net.train_dataset(ds, batch_size=1001)


def test_memory_budget_too_small_for_training(moons_files):
    X, y, xp, yp = moons_files
    # Opens (the permutation and targets, 12,000 bytes, and one row of read-ahead fit), but
    # three batches of 256 rows of read-ahead do not.
    with mb.Dataset(xp, yp, memory_budget=12_100) as ds, mb.Network([2, 2]) as net:
        with pytest.raises(mb.InvalidArgumentError, match="memory_budget"):
            net.train_dataset(ds, epochs=1, batch_size=256)
        assert net.epochs_trained == 0


def test_open_refuses_a_dataset_that_cannot_fit(moons_files):
    X, y, xp, yp = moons_files
    # the exact shuffle holds 8 + 4 bytes per row: 12,000 bytes for 1000 rows > 100
    with pytest.raises(mb.InvalidArgumentError):
        mb.Dataset(xp, yp, memory_budget=100)


def test_several_trainings_share_a_dataset(moons_files):
    import threading

    X, y, xp, yp = moons_files
    results = {}
    with mb.Dataset(xp, yp) as ds:
        def work(i):
            with mb.Network([2, 8, 2], seed=1) as net:
                net.train_dataset(ds, epochs=2, batch_size=50, seed=5)
                results[i] = net.get_parameters()

        ts = [threading.Thread(target=work, args=(i,)) for i in range(3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert len(results) == 3
    assert all(np.array_equal(results[0], r) for r in results.values())


def test_closed_from_its_own_trainings_callback(moons_files):
    """Closing the dataset from a progress callback of a training that reads it (as the
    training set or as the validation set) returns at once, and the training ends normally
    with the same weights (the library keeps the dataset until the call returns): close
    waited for that training, which waited for the callback, for ever. A training on
    another thread is still waited for."""
    import faulthandler

    # Should close wait for its own training again, the test process ends here (with every
    # thread's stack) instead of hanging the suite.
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        _close_from_callbacks(moons_files)
    finally:
        faulthandler.cancel_dump_traceback_later()


def _close_from_callbacks(moons_files):
    import threading

    X, y, xp, yp = moons_files
    with mb.Network([2, 8, 2], seed=1) as net:
        net.train_dataset(mb.Dataset(xp, yp), epochs=3, batch_size=50, seed=5)
        expected = net.get_parameters()
    for as_validation in (False, True):
        ds = mb.Dataset(xp, yp)
        closed = []

        def close_it(progress, ds=ds):
            if not closed:
                ds.close()
                closed.append(progress.epochs_trained)

        with mb.Network([2, 8, 2], seed=1) as net:
            if as_validation:
                net.train(X, y, epochs=3, batch_size=50, seed=5, validation=ds, callback=close_it)
            else:
                net.train_dataset(ds, epochs=3, batch_size=50, seed=5, callback=close_it)
            assert closed == [1] and ds.closed and net.epochs_trained == 3
            if not as_validation:
                assert np.array_equal(net.get_parameters(), expected)
    # another thread's training is waited for
    ds = mb.Dataset(xp, yp)
    started, epochs = threading.Event(), []

    def train():
        def on_epoch(p):
            epochs.append(p.epoch)
            started.set()

        with mb.Network([2, 8, 2], seed=1) as other:
            other.train_dataset(ds, epochs=40, batch_size=50, seed=5, callback=on_epoch)

    t = threading.Thread(target=train)
    t.start()
    assert started.wait(60)
    ds.close()
    # close returned after the training: every epoch's callback had run (the time the thread
    # noted after its call returned could come after close's own, a race of the test)
    assert len(epochs) == 40
    t.join()


def test_estimators_fit_a_dataset_as_they_fit_arrays(tmp_path):
    """fit(Dataset) (exact shuffle) gives the estimator fit(X, y) gives, without loading X."""
    rs = np.random.RandomState(3)
    X = rs.randn(900, 5).astype(np.float32)
    labels = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5).astype(np.int64)  # 0, 1, 2
    xp, yp = _save(tmp_path / "X.npy", X), _save(tmp_path / "y.npy", labels.astype(np.uint8))
    kwargs = dict(hidden_layer_sizes=(8,), learning_rate_init=0.1, batch_size=64, max_iter=3, random_state=4)
    with mb.Dataset(xp, yp) as ds:
        from_file = mb.MLPClassifier(**kwargs).fit(ds)
    from_memory = mb.MLPClassifier(**kwargs).fit(X, labels)
    assert from_file.classes_.tolist() == [0, 1, 2] and from_file.n_features_in_ == 5
    assert np.array_equal(from_file.batch_costs_, from_memory.batch_costs_)
    assert np.array_equal(from_file.predict_proba(X), from_memory.predict_proba(X))

    targets = np.stack([X[:, 0] - X[:, 2], X[:, 3]], axis=1).astype(np.float32)
    tp = _save(tmp_path / "t.npy", targets)
    with mb.Dataset(xp, tp) as ds:
        reg_file = mb.MLPRegressor(**kwargs).fit(ds)
    reg_memory = mb.MLPRegressor(**kwargs).fit(X, targets)
    assert np.array_equal(reg_file.predict(X), reg_memory.predict(X))

    counts = np.abs(np.round(targets * 3)).astype(np.float32)  # Poisson: counts >= 0
    cp = _save(tmp_path / "counts.npy", counts)
    with mb.Dataset(xp, cp) as ds:
        pois_file = mb.MLPRegressor(loss="poisson", **kwargs).fit(ds)
        assert pois_file.score(ds) == pytest.approx(pois_file.score(X, counts), abs=1e-9)
    pois_memory = mb.MLPRegressor(loss="poisson", **kwargs).fit(X, counts)
    assert np.array_equal(pois_file.batch_costs_, pois_memory.batch_costs_)
    assert np.array_equal(pois_file.predict(X), pois_memory.predict(X))
    negative = _save(tmp_path / "negative.npy", -counts - 1)
    with mb.Dataset(xp, negative) as ds, pytest.raises(mb.InvalidArgumentError, match="is negative"):
        mb.MLPRegressor(loss="poisson", **kwargs).fit(ds)


def test_estimators_refuse_datasets_they_cannot_use(tmp_path):
    X = np.random.RandomState(0).randn(50, 3).astype(np.float32)
    xp = _save(tmp_path / "X.npy", X)
    gaps = _save(tmp_path / "gaps.npy", np.where(np.arange(50) % 2 == 0, 3, 7).astype(np.int32))
    floats = _save(tmp_path / "f.npy", X[:, 0].copy())
    ints = _save(tmp_path / "i.npy", (np.arange(50) % 2).astype(np.int32))
    with mb.Dataset(xp, gaps) as ds, pytest.raises(ValueError, match="0, 1, ..., k-1"):
        mb.MLPClassifier(max_iter=1).fit(ds)
    with mb.Dataset(xp, floats) as ds, pytest.raises(ValueError, match="integer class labels"):
        mb.MLPClassifier(max_iter=1).fit(ds)
    with mb.Dataset(xp, ints) as ds:
        with pytest.raises(ValueError, match="y must be None"):
            mb.MLPClassifier(max_iter=1).fit(ds, np.zeros(50))
        # (0.10.0: a regressor reads integer y as values, as fit(X, y) does)
        kw = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
        from_file = mb.MLPRegressor(**kw).fit(ds)
        from_memory = mb.MLPRegressor(**kw).fit(X, (np.arange(50) % 2).astype(np.int32))
        assert np.array_equal(from_file.predict(X), from_memory.predict(X))


# -- y of numpy's other dtypes (0.10.0): float64, and integers as values ----------------------

@pytest.mark.parametrize("shuffle", ["exact", "block"])
@pytest.mark.parametrize("case", ["mse_f8_1d", "mse_f8_2d", "poisson_int64", "poisson_uint16_2d", "bce_uint8_2d",
                                  "mse_bool"])
def test_float64_and_integer_y_files_train_as_their_float32(tmp_path, case, shuffle):
    """A y file of float64 (numpy's default dtype), or of integers for the regression losses
    (Poisson counts) and for binary cross-entropy with several outputs (a 0/1 matrix), trains
    exactly as the same file saved as float32 (each value rounded once, numpy's astype): the
    same weights, batch costs, validation cost and score (R^2 from the file's values), and
    evaluation; with the exact shuffle also as in-memory training on y.astype(float32). (The
    block shuffle's pools hold y as stored: the default budget does not limit them here; a
    small one would fit fewer blocks of a wider y, another order, as the header says.)"""
    rs = np.random.RandomState(7)
    X = rs.randn(600, 4).astype(np.float32)
    loss, y = {
        "mse_f8_1d": ("mse", X @ [0.3, -1.1, 2.0, 0.5] + 1e-9 * rs.randn(600)),  # float64 digits float32 lacks
        "mse_f8_2d": ("mse", np.stack([X[:, 0] * 1.7, X[:, 1] - X[:, 2]], axis=1) + 0.1 / 3),
        "poisson_int64": ("poisson", rs.poisson(np.exp(0.3 * X[:, 0])).astype(np.int64)),
        "poisson_uint16_2d": ("poisson", rs.poisson(2.0, size=(600, 2)).astype(np.uint16)),
        "bce_uint8_2d": ("binary_cross_entropy", (X[:, :3] > 0).astype(np.uint8)),
        "mse_bool": ("mse", X[:, 0] > 0),
    }[case]
    n_out = 1 if y.ndim == 1 else y.shape[1]
    xp, yp = _save(tmp_path / "X.npy", X), _save(tmp_path / "y.npy", y)
    y32 = y.astype(np.float32)
    fp = _save(tmp_path / "y32.npy", y32)
    kw = dict(epochs=3, batch_size=64, learning_rate=0.05, seed=2, threads=1)
    runs = []
    for path in (yp, fp):
        with mb.Dataset(xp, path, shuffle=shuffle) as ds, mb.Dataset(xp, path) as val, \
                mb.Network([4, 6, n_out], loss=loss, seed=1) as net:
            h = net.train(ds, validation=val, **kw)
            runs.append((net.get_parameters(), h.batch_costs, h.validation_costs, h.validation_scores,
                         net.evaluate_dataset(ds)))
    a, b = runs
    assert a[0].tobytes() == b[0].tobytes()
    for k in range(1, 4):
        assert a[k].tobytes() == b[k].tobytes(), k
    np.testing.assert_array_equal(a[4], b[4])  # (cost, accuracy: NaN for regression)
    if shuffle == "exact":
        with mb.Network([4, 6, n_out], loss=loss, seed=1) as net:
            net.train(X, y32, validation=(X, y32), **kw)
            assert net.get_parameters().tobytes() == a[0].tobytes()


def test_integer_y_files_that_cannot_train(tmp_path):
    """Integer y (m, k) with the cross-entropy is refused (labels are 1-D), and integer labels
    (m) with binary cross-entropy and several outputs (give a 0/1 matrix); an X of float64
    is still refused (X is read as float32 rows); a uint64 count above 2^63 reads as its
    float32 value."""
    rs = np.random.RandomState(0)
    X = rs.randn(40, 3).astype(np.float32)
    xp = _save(tmp_path / "X.npy", X)
    labels2d = _save(tmp_path / "l2.npy", rs.randint(0, 3, size=(40, 2)))
    with mb.Dataset(xp, labels2d) as ds, mb.Network([3, 3]) as net:
        with pytest.raises(mb.InvalidArgumentError, match="integer class labels must be 1-D"):
            net.train(ds, epochs=1)
    labels = _save(tmp_path / "l.npy", rs.randint(0, 2, size=40))
    with mb.Dataset(xp, labels) as ds, mb.Network([3, 2], loss="binary_cross_entropy") as net:
        with pytest.raises(mb.InvalidArgumentError, match="0/1 matrix"):
            net.train(ds, epochs=1)
    with pytest.raises(mb.InvalidArgumentError, match="not supported for X"):
        mb.Dataset(_save(tmp_path / "X64.npy", X.astype(np.float64)), labels)
    with mb.Dataset(xp, labels2d) as ds, pytest.raises(ValueError, match="or a 2-D y"):
        mb.MLPClassifier(max_iter=1).fit(ds)
    with mb.Dataset(xp, _save(tmp_path / "l21.npy", rs.randint(0, 2, size=(40, 1)))) as ds:
        with pytest.raises(ValueError, match="or a 2-D y"):
            mb.MLPClassifier(max_iter=1).fit(ds)
    big = np.full(40, 2**63 + 2**40, dtype=np.uint64)
    with mb.Dataset(xp, _save(tmp_path / "big.npy", big)) as ds, mb.Network([3, 1], loss="mse", seed=1) as a, \
            mb.Network([3, 1], loss="mse", seed=1) as b:
        a.train(ds, epochs=1, batch_size=40, learning_rate=1e-30, threads=1)
        b.train(X, big.astype(np.float32), epochs=1, batch_size=40, learning_rate=1e-30, threads=1)
        assert a.get_parameters().tobytes() == b.get_parameters().tobytes()


def test_page_cache_choices_train_alike(moons_files):
    # What happens to read pages does not change what is read: the same weights.
    X, y, xp, yp = moons_files
    params = []
    for page_cache in ("auto", "keep", "release"):
        with mb.Dataset(xp, yp, shuffle="block", block_bytes=800, page_cache=page_cache) as ds, \
                mb.Network([2, 8, 2], seed=4) as net:
            assert ds.page_cache == page_cache
            net.train_dataset(ds, epochs=2, batch_size=64, learning_rate=0.1, seed=3)
            params.append(net.get_parameters())
    assert params[0].tobytes() == params[1].tobytes() == params[2].tobytes()
    with pytest.raises(ValueError, match="page_cache"):
        mb.Dataset(xp, yp, page_cache="drop")


@pytest.mark.parametrize("shuffle", ["exact", "block"])
def test_x_held_in_memory_follows_the_file(tmp_path, shuffle):
    """A budget that holds X (the default here) reads X into memory once and keeps it; the
    next training must still see the file as it is now: written over in place, it is read
    again, and trains as a new dataset on the new file does. Exact: the same weights as
    in-memory training and as a budget too small to hold X (the block shuffle's order
    follows the budget, so it is compared at the same budget only)."""
    X, y = mb.make_moons(3000, 0.2, seed=2)
    xp, yp = _save(tmp_path / "X.npy", X), _save(tmp_path / "y.npy", y.astype(np.int32))

    def train(ds):
        with mb.Network([2, 8, 2], seed=1) as net:
            net.train_dataset(ds, epochs=2, batch_size=64, learning_rate=0.1, seed=4)
            return net.get_parameters().tobytes()

    def fresh():
        with mb.Dataset(xp, yp, shuffle=shuffle) as again:
            return train(again)

    with mb.Dataset(xp, yp, shuffle=shuffle) as ds:
        first = train(ds)
        assert train(ds) == first  # from the kept copy
        if shuffle == "exact":
            with mb.Network([2, 8, 2], seed=1) as net:
                net.train(X, y, epochs=2, batch_size=64, learning_rate=0.1, seed=4)
                assert net.get_parameters().tobytes() == first
            # 40,000 bytes hold the permutation, the labels and three batches (39,840), not X
            # (24,000 more): every batch is read from the file
            with mb.Dataset(xp, yp, shuffle=shuffle, memory_budget=40_000) as small:
                assert train(small) == first
        X2 = X.copy()
        X2[17] = [3.0, -3.0]
        _save(xp, X2)  # the same size, written over in place
        changed = train(ds)
        assert changed != first
        assert changed == fresh()


_SPARSE_CASES = r'''
import os, sys, numpy as np, minibatch_gd as mb
d = sys.argv[1]
def sparse(name, descr, shape):
    """A .npy file whose header promises `shape`, its data a hole (no disk space used)."""
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, str(tuple(shape)))
    hdr = hdr + " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr.encode())
        f.truncate(f.tell() + int(np.prod(shape)) * np.dtype(descr).itemsize)
    return path
big = (1 << 60) - 1
def outcome(f):
    try:
        f()
        print("ran")
    except mb.MinibatchError as e:
        print(type(e).__name__, "|", e)
x1 = sparse("x1.npy", "<f4", (1, 1))
outcome(lambda: mb.Dataset(x1, sparse("yw.npy", "<f4", (1, big))))
x = sparse("x.npy", "<f4", (big, 1))
outcome(lambda: mb.Dataset(x, sparse("y8.npy", "|i1", (big,))))
y = sparse("y.npy", "<f4", (big,))
ds = mb.Dataset(x, y, shuffle="block", memory_budget=(1 << 63) - 1)
net = mb.Network([1, 1], loss="mse")
outcome(lambda: net.evaluate_dataset(ds))
outcome(lambda: net.train(ds, epochs=1, batch_size=64))
outcome(lambda: mb.shuffle_files(x, y, os.path.join(d, "xo.npy"), os.path.join(d, "yo.npy"), seed=1,
                                 memory_budget=(1 << 63) - 1))
'''


def test_files_whose_shapes_are_valid_but_huge_give_errors_not_traps(tmp_path):
    """.npy files that hold what their headers promise, up to 2^62 bytes (sparse files on
    tmpfs): the reader's and the shuffle's sizes (rows x row bytes, the two files' sizes
    added) overflowed Int and trapped (SIGILL) in mb_dataset_open_npy, training,
    evaluation and mb_shuffle_npy. Now: y's columns are limited as X's, and the sizes
    saturate, so the budget or the memory refuses them. In a child process (a trap would
    end pytest)."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm: sparse files of 2^62 bytes need tmpfs")
    d = tempfile.mkdtemp(dir="/dev/shm", prefix="minibatch-sparse-")
    try:
        try:
            with open(os.path.join(d, "probe"), "wb") as f:
                f.truncate(1 << 62)
        except OSError as e:
            pytest.skip(f"/dev/shm does not take a sparse file of 2^62 bytes: {e}")
        script = tmp_path / "cases.py"
        script.write_text(_SPARSE_CASES)
        r = subprocess.run([sys.executable, str(script), d], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-2000:]}"
    lines = r.stdout.splitlines()
    assert len(lines) == 5, lines
    assert lines[0].startswith("InvalidArgumentError | y's columns (n_outputs) is too large"), lines[0]
    assert lines[1].startswith("InvalidArgumentError | memory_budget") and "more bytes than 64 bits count" in lines[1], lines[1]
    for line in lines[2:]:
        assert line.startswith("OutOfMemoryError | out of memory allocating"), line
