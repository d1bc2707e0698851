"""Pool start-up: construct -> first result from every worker -> teardown.

usage: startup.py [fork|spawn|forkserver]   (default fork, CPython's default on Linux)
Prints one JSON line with its own perf_counter timings (ms).
"""
import sys
from multiprocessing import get_context

from common import WORKERS, emit, init_barrier, ms, now, rendezvous


def main():
    method = sys.argv[1] if len(sys.argv) > 1 else "fork"
    ctx = get_context(method)
    t0 = now()
    pool = ctx.Pool(WORKERS, initializer=init_barrier, initargs=(ctx.Barrier(WORKERS),))
    t1 = now()
    pids = pool.map(rendezvous, range(WORKERS), chunksize=1)
    t2 = now()
    pool.terminate()
    pool.join()
    t3 = now()
    if len(set(pids)) != WORKERS:
        raise SystemExit(f"expected {WORKERS} workers, got {pids}")
    emit({
        "case": "startup", "method": method,
        "construct_ms": ms(t0, t1), "first_ms": ms(t1, t2), "teardown_ms": ms(t2, t3), "total_ms": ms(t0, t3),
    })


if __name__ == "__main__":
    main()
