"""The Python Celery side of `npm run bench:tasks`: a Celery 5 app with the same tasks
as Clearline's benchmark worker (scripts/bench/lib/canvas-worker.ts).

- ``bench.ident(x)``: a chord member; returns its argument.
- ``bench.inc(x)``: a chain link; returns ``x + 1``, so the chain's result counts its links.
- ``bench.tally(results)``: the chord callback; ``{"sum": ..., "count": ...}`` of the list.
- ``bench.noop()``: the throughput task (as ``bench-worker.ts``'s); returns ``True``. Each
  one whose result is stored adds one to the Redis counter ``NOOP_DONE_KEY``, which the
  benchmark reads to know when the last of a run has completed.

Configured only by the environment (the TypeScript benchmark sets it):

- ``BENCH_CELERY_BROKER``: the benchmark's own RabbitMQ vhost (``amqp://…/<vhost>``).
- ``BENCH_CELERY_BACKEND``: the Redis result backend (``redis://host:port/db``); Celery
  refuses chords on ``rpc://``.
- ``BENCH_CELERY_KEY_PREFIX``: put before every Redis key this app writes, so runs never
  meet each other or anything else in that Redis; ``drive.py`` deletes them afterwards.
- ``BENCH_CELERY_QUEUE``: the work queue (Celery's own default name, ``celery``).

Celery runs with its defaults otherwise (JSON, prefetch multiplier 4, early acks), as a
team running Celery would have it.

Run the worker with ``/usr/bin/python3 -m celery -A clearline_bench worker`` from this
folder; it prints ``READY_LINE`` on stdout once it consumes.
"""

import os
import sys

from celery import Celery
from celery.backends.redis import RedisBackend
from celery.signals import task_success, worker_ready

KEY_PREFIX = os.environ.get("BENCH_CELERY_KEY_PREFIX", "")
QUEUE = os.environ.get("BENCH_CELERY_QUEUE", "celery")
READY_LINE = "clearline-bench-celery-worker ready"
NOOP = "bench.noop"
NOOP_DONE_KEY = KEY_PREFIX + "noop-done"
BROKER = os.environ.get("BENCH_CELERY_BROKER", "")
BACKEND = os.environ.get("BENCH_CELERY_BACKEND", "")

if not BROKER or not BACKEND or not KEY_PREFIX:
    sys.exit("BENCH_CELERY_BROKER, BENCH_CELERY_BACKEND and BENCH_CELERY_KEY_PREFIX must be set")


class PrefixedRedisBackend(RedisBackend):
    """Celery's Redis result backend with every key under ``KEY_PREFIX``.

    Celery 5.2 has no ``global_keyprefix`` yet; every key it writes (task metas, group
    metas, the chord's ``.j``/``.t``/``.s`` join keys) is built from these three prefixes.
    """

    task_keyprefix = KEY_PREFIX + "celery-task-meta-"
    group_keyprefix = KEY_PREFIX + "celery-taskset-meta-"
    chord_keyprefix = KEY_PREFIX + "chord-unlock-"


app = Celery("clearline_bench", broker=BROKER)
app.conf.update(
    # "<class>+<url>": Celery picks the backend class by name and connects it to the URL.
    result_backend=f"clearline_bench:PrefixedRedisBackend+{BACKEND}",
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_default_queue=QUEUE,
    # Whatever the driver leaves behind expires on its own within the hour.
    result_expires=3600,
    broker_connection_timeout=10,
    worker_hijack_root_logger=False,
    # Our "ready" line goes to the real stdout, not through Celery's logger.
    worker_redirect_stdouts=False,
)


@app.task(name="bench.ident")
def ident(x):
    return x


@app.task(name="bench.inc")
def inc(x):
    return x + 1


@app.task(name="bench.tally")
def tally(results):
    return {"sum": sum(results), "count": len(results)}


@app.task(name=NOOP)
def noop():
    return True


@task_success.connect
def _count_noop(sender=None, **_):
    """Counts a ``bench.noop`` whose result is stored.

    Celery's tracer stores the result (``mark_as_done``) before it sends ``task_success``,
    so the counter says how many results are in Redis: the same completion the benchmark
    waits for on Clearline's side (the task's SUCCESS row committed). It runs in the pool
    process that ran the task, through the backend's own Redis client.
    """
    if sender is not None and sender.name == NOOP:
        sender.backend.client.incr(NOOP_DONE_KEY)


@worker_ready.connect
def _ready(**_):
    # The TypeScript side waits for this line (the worker logs at WARNING, so its own
    # "ready." line, an INFO, never shows).
    sys.stdout.write(READY_LINE + "\n")
    sys.stdout.flush()
