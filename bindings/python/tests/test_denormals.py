"""Subnormal floats in training (Network.train(flush_denormals=), mb_train_options.denormals,
0.12.0): flushed to zero while the mini-batches run (the default), or kept as IEEE
arithmetic and numpy keep them. The reference is numpy's own float32 arithmetic (which keeps
subnormals): one full-batch step of linear regression from zero weights on features of
2^-130 and 2^-129 moves W by exactly those subnormal values when they are kept, and not at
all when they are flushed; the bias, whose gradient is not subnormal, moves alike. Arrays
and .npy files alike; the caller's numpy arithmetic keeps subnormals after a flushing call;
a flag that is not a bool is refused."""

from __future__ import annotations

import platform

import numpy as np
import pytest

import minibatch_gd as mb

X86_64 = platform.machine() in ("x86_64", "AMD64")
TINY = np.finfo(np.float32).tiny  # 2^-126, the smallest normal float32


def _data():
    x = np.tile(np.array([[2.0 ** -130, 2.0 ** -129]], dtype=np.float32), (8, 1))
    y = np.ones((8, 1), dtype=np.float32)
    assert np.all((x > 0) & (x < TINY))
    return x, y


def _expected(x: np.ndarray, flush: bool) -> np.ndarray:
    """W after one full-batch step of 0.5 from W = 0, b = 0 with y = 1: MSE's dZ = 2 (a - y) / m
    = -2 / m per row, so dW = -2 x_j and W = 0.5 * 2 x_j = x_j, in numpy's float32."""
    m = x.shape[0]
    dz = np.full((m, 1), np.float32(-2) / np.float32(m), dtype=np.float32)
    dw = (dz.T @ (np.zeros_like(x) if flush else x)).ravel()
    return (np.float32(0) - np.float32(0.5) * dw).astype(np.float32)


def _trained(x, y, flush, dataset=None):
    with mb.Network([2, 1], loss="mse", seed=0) as net:
        net.set_parameters(np.zeros(3, dtype=np.float32))
        kw = dict(epochs=1, batch_size=8, learning_rate=0.5, threads=1, flush_denormals=flush)
        if dataset is None:
            net.train(x, y, **kw)
        else:
            net.train(dataset, **kw)
        return net.get_parameters()


@pytest.mark.parametrize("flush", [True, False])
def test_one_step_against_numpy(flush):
    if flush and not X86_64:
        pytest.skip(f"subnormals are flushed on x86-64 only; this machine is {platform.machine()}")
    x, y = _data()
    p = _trained(x, y, flush)
    w = _expected(x, flush)
    assert np.array_equal(p[:2], w), (p[:2], w)
    if flush:
        assert np.all(p[:2] == 0)
    else:
        assert np.all((p[:2] > 0) & (p[:2] < TINY)) and p[1] == 2 * p[0]
    # the bias's gradient (-2) is not subnormal: 0.5 * 2 = 1 either way
    assert p[2] == np.float32(1)
    # the caller's arithmetic still keeps subnormals after the call
    assert np.float32(2.0 ** -130) * np.float32(1) > 0


def test_default_flushes():
    if not X86_64:
        pytest.skip(f"subnormals are flushed on x86-64 only; this machine is {platform.machine()}")
    x, y = _data()
    with mb.Network([2, 1], loss="mse", seed=0) as net:
        net.set_parameters(np.zeros(3, dtype=np.float32))
        net.train(x, y, epochs=1, batch_size=8, learning_rate=0.5, threads=1)
        assert np.all(net.get_parameters()[:2] == 0)


@pytest.mark.parametrize("flush", [True, False])
def test_npy_files(tmp_path, flush):
    if flush and not X86_64:
        pytest.skip(f"subnormals are flushed on x86-64 only; this machine is {platform.machine()}")
    x, y = _data()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    with mb.Dataset(tmp_path / "x.npy", tmp_path / "y.npy") as data:
        p = _trained(x, y, flush, dataset=data)
    assert np.array_equal(p, _trained(x, y, flush))
    assert np.array_equal(p[:2], _expected(x, flush))


def test_refused():
    x, y = _data()
    with mb.Network([2, 1], loss="mse", seed=0) as net:
        with pytest.raises(TypeError, match="flush_denormals"):
            net.train(x, y, epochs=1, flush_denormals="yes")
