"""How soon pool.imap(square, range(N)) yields its first result on CPython's warm Pool.

usage: imap.py N ROUNDS
  As bench/node/imap.mjs: each round starts one imap on the same warm pool, times its first result
  (first_ms) and reads the rest (all_ms); the first round is reported apart (first_ms_cold).
Prints one JSON line with its own perf_counter timings (ms).
"""
import statistics
import sys
from multiprocessing import Barrier, Pool

from common import WORKERS, emit, init_barrier, ms, now, rendezvous, square


def main():
    n = int(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    pool = Pool(WORKERS, initializer=init_barrier, initargs=(Barrier(WORKERS),))
    pool.map(rendezvous, range(WORKERS), chunksize=1)
    first, all_ = [], []
    for _ in range(rounds):
        t0 = now()
        it = pool.imap(square, range(n))
        head = next(it)
        t1 = now()
        rest = list(it)
        t2 = now()
        if head != 0 or len(rest) != n - 1 or rest[-1] != (n - 1) ** 2:
            raise SystemExit(f"wrong result: {len(rest) + 1} items")
        first.append(ms(t0, t1))
        all_.append(ms(t0, t2))
    pool.terminate()
    pool.join()
    later = sorted(first[1:])
    emit({
        "case": "imap", "n": n, "rounds": rounds,
        "first_ms_cold": first[0],
        "first_ms_median": later[len(later) // 2],
        "first_ms_max": later[-1],
        "all_ms_median": statistics.median_low(all_[1:]),
    })


if __name__ == "__main__":
    main()
