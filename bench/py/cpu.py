"""CPU-bound work: 64 items, serially in one process or on a Pool of 2.

usage: cpu.py serial|pool int P|sha R
  int P: each item is spin(P), P iterations of three integer ops.
  sha R: each item is sha256 over R x 1 MiB.
pool: construct, wait until every worker has answered (ready), map (the work alone), terminate.
Prints one JSON line with its own perf_counter timings (ms).
"""
import sys
from multiprocessing import Barrier, Pool

from common import WORKERS, emit, init_barrier, ms, now, rendezvous, sha, spin

ITEMS = 64


def main():
    mode, work, param = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fn = {"int": spin, "sha": sha}[work]
    items = [param] * ITEMS
    t0 = now()
    if mode == "serial":
        t1 = tr = now()  # nothing to construct
        out = [fn(x) for x in items]
        t2 = t3 = now()
    elif mode == "pool":
        pool = Pool(WORKERS, initializer=init_barrier, initargs=(Barrier(WORKERS),))
        t1 = now()
        pool.map(rendezvous, range(WORKERS), chunksize=1)
        tr = now()
        out = pool.map(fn, items)
        t2 = now()
        pool.terminate()
        pool.join()
        t3 = now()
    else:
        raise SystemExit(f"unknown mode {mode}")
    if len(out) != ITEMS or len(set(out)) != 1:
        raise SystemExit("wrong result")
    emit({
        "case": "cpu", "mode": mode, "work": work, "param": param, "result": out[0],
        "construct_ms": ms(t0, t1), "ready_ms": ms(t1, tr), "map_ms": ms(tr, t2),
        "teardown_ms": ms(t2, t3), "total_ms": ms(t0, t3),
    })


if __name__ == "__main__":
    main()
