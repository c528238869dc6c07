"""A plain Python Celery client for the throughput part of `npm run bench:tasks`: sends
``bench.noop`` tasks, on command, to Clearline's worker or to a Python Celery worker.

It is configured the way a team running Celery beside Clearline would configure a client:

- Celery's own queue, ``celery``, declared as Celery declares it.
- Clearline's work queue (``bench`` in the benchmark) named in ``task_queues`` with
  ``no_declare=True``: it is a quorum queue with arguments that Clearline declares
  (libs/tasks/src/topology/topology.ts), and a declaration with other arguments would be
  refused (``PRECONDITION_FAILED``). Celery publishes to a direct-exchange queue through
  the default exchange with the queue's name as routing key, which reaches it as it is.

A task is sent with ``app.send_task("bench.noop", queue=<target queue>)``, one at a time
from one thread, as an application would. The client has no result backend: it only sends,
and the benchmark sees completions in each worker's own result store.

Commands, one a line on stdin:

- ``send <n>``: sends n tasks, then prints ``sent <n> <seconds>`` (the time the sends took).

It prints ``ready`` once its connection to the broker is open, and exits at the end of
stdin. Configured by the environment: ``BENCH_CELERY_BROKER`` (the benchmark's vhost),
``BENCH_CELERY_QUEUE`` (Celery's queue), ``BENCH_CLEARLINE_QUEUE`` (Clearline's queue).

Usage: ``/usr/bin/python3 send.py --target clearline|celery``
"""

import argparse
import os
import sys
import time

from celery import Celery
from kombu import Exchange, Queue

BROKER = os.environ.get("BENCH_CELERY_BROKER", "")
CELERY_QUEUE = os.environ.get("BENCH_CELERY_QUEUE", "celery")
CLEARLINE_QUEUE = os.environ.get("BENCH_CLEARLINE_QUEUE", "bench")
# Clearline's task exchange (direct); a work queue is bound to it by its own name.
CLEARLINE_EXCHANGE = "clearline.tasks"
TASK = "bench.noop"
SEND_COUNT_MAX = 1_000_000
CONNECT_RETRIES_MAX = 3

if not BROKER:
    sys.exit("BENCH_CELERY_BROKER must be set")

app = Celery("clearline_bench_client", broker=BROKER)
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_queues=(
        Queue(CELERY_QUEUE),
        Queue(
            CLEARLINE_QUEUE,
            Exchange(CLEARLINE_EXCHANGE, "direct"),
            routing_key=CLEARLINE_QUEUE,
            no_declare=True,
        ),
    ),
    # A queue name not listed above is a mistake here, not a queue to create.
    task_create_missing_queues=False,
    broker_connection_timeout=10,
)


def send(count, queue):
    """Sends ``count`` tasks to ``queue``; returns the seconds it took."""
    started = time.perf_counter()
    for _ in range(count):
        app.send_task(TASK, queue=queue)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=("clearline", "celery"), required=True)
    options = parser.parse_args()
    queue = CLEARLINE_QUEUE if options.target == "clearline" else CELERY_QUEUE
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=CONNECT_RETRIES_MAX)
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command != "send" or not argument.isdigit():
            sys.exit(f"send.py: unknown command {line.strip()!r}")
        count = int(argument)
        if not 1 <= count <= SEND_COUNT_MAX:
            sys.exit(f"send.py: send takes 1 to {SEND_COUNT_MAX} tasks, not {count}")
        seconds = send(count, queue)
        print(f"sent {count} {seconds:.6f}", flush=True)


if __name__ == "__main__":
    main()
