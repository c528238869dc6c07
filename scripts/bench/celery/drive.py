"""Drives the Python Celery side of `npm run bench:tasks` against a running worker
(``clearline_bench``) and prints one JSON line:

    {"chord_n": 10000, "chord_s": 12.3, "chain_n": 1000, "chain_s": 4.5, "chain_link_ms": 4.5}

- chord: ``chord([ident.s(i) for i in range(n)])(tally.s())``, timed from the send to the
  callback's result; the result is checked (sum and count).
- chain: ``chain(inc.s(0), inc.s(), …)`` of n links, timed from the send to the last link's
  result; per-link overhead = total / links; the result (n) proves every link ran.

The driver waits for a workflow's result by reading it from Redis every 2 ms, not with
``.get()``: Celery's client follows every member of a group it sent over Redis pub/sub,
and ``.get()`` on a chord of 10,000 then drains and unsubscribes them one by one; it did
not finish within 5 minutes, on a chord the worker had finished in 15 s. Polling keeps
that client-side cost out of the figure (so it is Celery's best case), and adds at most
2 ms to a run.

Both canvases are built before the clock starts (as on the Clearline side), and both are
run once small first, to warm up the worker's pool, connections and imports. Every wait
has a deadline. The Redis keys of the run (``BENCH_CELERY_KEY_PREFIX``) are deleted at
the end, whatever happened.

Usage: ``/usr/bin/python3 drive.py --chord 10000 --chain 1000 [--timeout-s 600]``
"""

import argparse
import json
import sys
import time

from celery import chain, chord

from clearline_bench import KEY_PREFIX, app, ident, inc, tally

SCAN_PAGE_SIZE = 500
POLL_INTERVAL_S = 0.002
WARM_UP_CHORD = 200
WARM_UP_CHAIN = 20


def wait(result, timeout_s):
    """The result's value once it is stored; raises on failure or after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not result.ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"task {result.id} did not finish within {timeout_s} s")
        time.sleep(POLL_INTERVAL_S)
    if not result.successful():
        raise RuntimeError(f"task {result.id} ended {result.state}: {result.result!r}")
    return result.result


def run_chord(members, timeout_s):
    canvas = chord([ident.s(i) for i in range(members)], tally.s())
    started = time.perf_counter()
    result = wait(canvas.apply_async(), timeout_s)
    seconds = time.perf_counter() - started
    expected = {"sum": members * (members - 1) // 2, "count": members}
    if result != expected:
        raise RuntimeError(f"chord of {members}: got {result!r}, expected {expected!r}")
    return seconds


def run_chain(links, timeout_s):
    canvas = chain(inc.s(0), *(inc.s() for _ in range(links - 1)))
    started = time.perf_counter()
    result = wait(canvas.apply_async(), timeout_s)
    seconds = time.perf_counter() - started
    if result != links:
        raise RuntimeError(f"chain of {links}: got {result!r}, expected {links}")
    return seconds


def delete_keys():
    """Deletes every Redis key of this run (they all start with KEY_PREFIX)."""
    client = app.backend.client
    deleted = 0
    for_batch = []
    for key in client.scan_iter(match=KEY_PREFIX + "*", count=SCAN_PAGE_SIZE):
        for_batch.append(key)
        if len(for_batch) >= SCAN_PAGE_SIZE:
            deleted += client.unlink(*for_batch)
            for_batch = []
    if for_batch:
        deleted += client.unlink(*for_batch)
    return deleted


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chord", type=int, default=10_000, help="chord members")
    parser.add_argument("--chain", type=int, default=1_000, help="chain links")
    parser.add_argument("--timeout-s", type=float, default=600, help="deadline of each wait")
    options = parser.parse_args()
    if options.chord < 1 or options.chain < 1:
        parser.error("--chord and --chain must be at least 1")
    try:
        # The first task also proves the worker consumes.
        if wait(ident.delay(7), options.timeout_s) != 7:
            raise RuntimeError("bench.ident did not return its argument")
        run_chord(min(WARM_UP_CHORD, options.chord), options.timeout_s)
        run_chain(min(WARM_UP_CHAIN, options.chain), options.timeout_s)
        chord_s = run_chord(options.chord, options.timeout_s)
        chain_s = run_chain(options.chain, options.timeout_s)
    finally:
        deleted = delete_keys()
        sys.stderr.write(f"drive.py: deleted {deleted} Redis keys under {KEY_PREFIX}\n")
    print(
        json.dumps(
            {
                "chord_n": options.chord,
                "chord_s": round(chord_s, 3),
                "chain_n": options.chain,
                "chain_s": round(chain_s, 3),
                "chain_link_ms": round(1000 * chain_s / options.chain, 3),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
