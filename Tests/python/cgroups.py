"""Memory cgroups (v1) for the bounded-memory proofs: a fresh group with a limit, a program
run inside it, and the group's OOM-kill count. Tests skip, saying why, where groups cannot
be made (no v1 memory controller, not root)."""

import contextlib
import os
import pathlib
import re
import subprocess

import pytest

CGROUPS = pathlib.Path("/sys/fs/cgroup/memory")


@contextlib.contextmanager
def memory_group(name, limit):
    """A fresh memory cgroup `name`-<pid> limited to `limit` bytes (swap included where the
    kernel counts it), removed afterwards."""
    if not (CGROUPS / "memory.limit_in_bytes").exists():
        pytest.skip(f"cgroup v1 memory controller not mounted at {CGROUPS}: bounded memory cannot be proven here")
    if os.geteuid() != 0:
        pytest.skip("creating a cgroup needs root: bounded memory cannot be proven here")
    group = CGROUPS / f"{name}-{os.getpid()}"
    try:
        group.mkdir()
    except OSError as error:
        pytest.skip(f"cannot create a memory cgroup ({error}): bounded memory cannot be proven here")
    try:
        (group / "memory.limit_in_bytes").write_text(str(limit))
        if (group / "memory.memsw.limit_in_bytes").exists():
            (group / "memory.memsw.limit_in_bytes").write_text(str(limit))
        (group / "memory.swappiness").write_text("0")
        yield group
    finally:
        group.rmdir()


def run_limited(group, argv):
    """Runs argv as a member of `group` (the shell joins it, then execs the program)."""
    script = f'echo $$ > {group}/cgroup.procs && exec "$@"'
    return subprocess.run(["sh", "-c", script, "sh", *map(str, argv)], capture_output=True, text=True, timeout=900)


def oom_kills(group):
    match = re.search(r"oom_kill (\d+)", (group / "memory.oom_control").read_text())
    return int(match.group(1)) if match else 0


def write_and_drop(*paths):
    """Flushes files to disk and drops them from the page cache, so that a limited process
    must read them itself."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
