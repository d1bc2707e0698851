"""pool.map(square, range(N)) on CPython's multiprocessing.Pool.

usage: square.py N [default|CHUNKSIZE] [warm] [twice]
  warm: the timed map starts after every worker has answered once (rendezvous on a Barrier).
  twice: map a second time on the same pool (map2_ms), as bench/node/square.mjs does.
Prints one JSON line with its own perf_counter timings (ms).
"""
import sys
from multiprocessing import Barrier, Pool

from common import WORKERS, emit, init_barrier, ms, now, rendezvous, square


def main():
    n = int(sys.argv[1])
    chunk = sys.argv[2] if len(sys.argv) > 2 else "default"
    warm = "warm" in sys.argv[3:]
    twice = "twice" in sys.argv[3:]
    chunksize = None if chunk == "default" else int(chunk)
    t0 = now()
    if warm:
        pool = Pool(WORKERS, initializer=init_barrier, initargs=(Barrier(WORKERS),))
    else:
        pool = Pool(WORKERS)
    t1 = now()
    if warm:
        pool.map(rendezvous, range(WORKERS), chunksize=1)
    t2 = now()
    out = pool.map(square, range(n), chunksize)
    t3 = now()
    map2 = None
    if twice:
        again = pool.map(square, range(n), chunksize)
        map2 = ms(t3, now())
        if len(again) != n:
            raise SystemExit(f"wrong second result: {len(again)} items")
    t3b = now()
    pool.terminate()
    pool.join()
    t4 = now()
    if len(out) != n or (n > 0 and out[-1] != (n - 1) ** 2):
        raise SystemExit(f"wrong result: {len(out)} items, last {out[-1] if out else None}")
    record = {
        "case": "square", "n": n, "chunksize": chunk, "warm": warm,
        "construct_ms": ms(t0, t1), "ready_ms": ms(t1, t2), "map_ms": ms(t2, t3),
        "teardown_ms": ms(t3b, t4), "total_ms": round(ms(t0, t4) - (map2 or 0), 3),
        "items_per_s": round(n / (t3 - t2)),
    }
    if twice:
        record["map2_ms"] = map2
        record["items_per_s2"] = round(n / (map2 / 1000))
    emit(record)


if __name__ == "__main__":
    main()
