"""Tasks and helpers shared by the Python cases. Each task mirrors one in bench/tasks.ts."""
import hashlib
import json
import os
import sys
import time

WORKERS = 2
MIB = 1 << 20


def square(x):
    return x * x


def spin(p):
    """x = (x * 31 + i) mod 2**32, p times: the same three integer ops and result as the JS spin."""
    x = 0
    for i in range(p):
        x = (x * 31 + i) & 0xFFFFFFFF
    return x


def sha(mib):
    """sha256 over mib x 1 MiB of 0x61 bytes: the same bytes and digest as the JS sha."""
    block = b"a" * MIB
    h = hashlib.sha256()
    for _ in range(mib):
        h.update(block)
    return h.hexdigest()


_barrier = None


def init_barrier(barrier):
    global _barrier
    _barrier = barrier


def rendezvous(_):
    """Returns once every worker is inside this task: every worker has started and answered."""
    _barrier.wait(timeout=10)
    return os.getpid()


def ms(t0, t1):
    return round((t1 - t0) * 1000, 3)


def emit(record):
    record["lang"] = "py"
    record["pid"] = os.getpid()
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


now = time.perf_counter
