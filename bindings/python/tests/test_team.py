"""The training team's threads are kept between calls (Team.swift: `borrow`, `giveBack`),
and a process forked after a call makes its own instead of waiting for threads it does not
have. Each test runs in a fresh interpreter, so that no other training shares the kept team."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from conftest import PKG_ROOT

# Shared by the scripts: a model large enough for two threads to split each batch.
PRELUDE = """
import os, sys
import numpy as np
import minibatch_gd as mb

rng = np.random.default_rng(0)
X = rng.random((512, 20), dtype=np.float32)
y = rng.integers(0, 3, 512).astype(np.int32)

def train(threads):
    net = mb.Network([20, 64, 3], seed=1)
    # batches of 128: 3 shards (a shard needs 32,768 + 3 x 1,539 of rows x 1,559 of work)
    net.train(X, y, epochs=2, batch_size=128, learning_rate=0.1, threads=threads, seed=3)
    return net.get_parameters()

def tasks():
    return set(os.listdir("/proc/self/task"))
"""


def _run(script: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(PKG_ROOT))
    return subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(script)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_team_is_kept_between_calls():
    # The calls run on a thread of their own: on the main thread the binding starts a Ctrl-C
    # watcher thread per call, whose OS thread may still be listed just after it is joined.
    r = _run("""
        import threading
        def calls():
            first = train(2)
            after_first = tasks()
            again = train(2)
            after_again = tasks()
            # The second call borrowed the kept member: no thread made, none ended.
            print("same threads", after_again == after_first)
            print("same weights", np.array_equal(first, again))
            train(3)
            after_three = tasks()
            # A team of another size is made, and the kept one ended: two new threads, one gone.
            print("three", len(after_three - after_again), len(after_again - after_three))
        t = threading.Thread(target=calls)
        t.start()
        t.join()
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:3] == ["same threads True", "same weights True", "three 2 1"], r.stdout


def test_a_forked_child_makes_its_own_team():
    # Before the team was kept, nothing of it outlived a call. Now the kept team's member
    # exists only in the parent: the child must not borrow it (its run would wait forever
    # for a thread that is not there; the timeout above fails the test then).
    r = _run("""
        before = train(2)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            ok = np.array_equal(train(2), before) and np.array_equal(train(2), before)
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
        os.close(write)
        child = os.read(read, 1)
        _, status = os.waitpid(pid, 0)
        print("child", child.decode(), os.waitstatus_to_exitcode(status))
        print("parent", np.array_equal(train(2), before))
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["child 1 0", "parent True"], r.stdout + r.stderr
