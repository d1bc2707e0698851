"""CPython's multiprocessing primitives, the twins of bench/node/primitives.mjs.

usage: primitives.py CASE N   (CASE: value_lock, queue_rtt, queue_stream, pipe_rtt, pipe_stream, process)
Prints one JSON line: the case, n, and the measured ms (from the start signal to the last join).
"""
import json
import multiprocessing as mp
import sys
import time


def inc_locked(v, start, n):
    start.wait()
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def echo_queue(inq, outq, n):
    for _ in range(n):
        outq.put(inq.get())


def fill_queue(q, start, n):
    start.wait()
    for i in range(n):
        q.put(i)


def echo_pipe(conn, n):
    for _ in range(n):
        conn.send(conn.recv())


def fill_pipe(conn, start, n):
    start.wait()
    for i in range(n):
        conn.send(i)


def noop():
    pass


def main():
    case, n = sys.argv[1], int(sys.argv[2])
    ctx = mp.get_context()  # the platform default (fork on Linux), as a user gets it
    out = {"case": case, "lib": "cpython", "n": n, "start_method": ctx.get_start_method()}
    if case == "value_lock":
        v, start = ctx.Value("i", 0), ctx.Event()
        ps = [ctx.Process(target=inc_locked, args=(v, start, n)) for _ in range(2)]
        for p in ps:
            p.start()
        t0 = time.perf_counter()
        start.set()
        for p in ps:
            p.join()
        out["ms"] = (time.perf_counter() - t0) * 1000
        out["ops"] = 2 * n
        assert v.value == 2 * n, v.value
    elif case in ("queue_rtt", "pipe_rtt"):
        if case == "queue_rtt":
            a, b = ctx.Queue(), ctx.Queue()
            p = ctx.Process(target=echo_queue, args=(a, b, n))
            send, recv = a.put, b.get
        else:
            mine, theirs = ctx.Pipe()
            p = ctx.Process(target=echo_pipe, args=(theirs, n))
            send, recv = mine.send, mine.recv
        p.start()
        send(-1)
        recv()  # the child is up and echoing
        t0 = time.perf_counter()
        for i in range(n - 1):
            send(i)
            recv()
        out["ms"] = (time.perf_counter() - t0) * 1000
        out["ops"] = n - 1
        p.join()
    elif case in ("queue_stream", "pipe_stream"):
        start = ctx.Event()
        if case == "queue_stream":
            q = ctx.Queue()
            p = ctx.Process(target=fill_queue, args=(q, start, n))
            recv = q.get
        else:
            mine, theirs = ctx.Pipe(duplex=False)
            p = ctx.Process(target=fill_pipe, args=(theirs, start, n))
            recv = mine.recv
        p.start()
        t0 = time.perf_counter()
        start.set()
        for i in range(n):
            assert recv() == i
        out["ms"] = (time.perf_counter() - t0) * 1000
        out["ops"] = n
        p.join()
    elif case == "process":
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            p = ctx.Process(target=noop)
            p.start()
            p.join()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        out["ms"] = times[len(times) // 2]
        out["ops"] = 1
    else:
        sys.exit(f"unknown case {case}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
