"""Clearline's task queues for a Python Celery 5 app.

Clearline's workers consume quorum queues with arguments of their own (delivery limit,
dead-lettering, overflow). A Celery client that routes with ``queue='ledger'`` would
otherwise declare a classic queue ``ledger`` of its own and the broker would refuse it
(``PRECONDITION_FAILED``). ``configure(app)`` teaches the app those queues, declared with
exactly Clearline's arguments, and routes Clearline's tasks to them::

    from celery import Celery
    import clearline_celery

    app = Celery("billing", broker="amqp://…/clearline", backend="rpc://")
    clearline_celery.configure(app)

    app.send_task("ledger.ping", kwargs={"note": "hi"}).get(timeout=10)
    app.signature("ledger.ping", kwargs={"note": "hi"}).apply_async(queue="ledger", countdown=5)

What it sets:

- ``task_queues``: the app's own queues (its default queue when it names none) plus each of
  Clearline's work queues, bound to the ``clearline.tasks`` direct exchange by its name.
- ``task_routes``: a router in front of the app's own routes that sends a task to the
  queue Clearline routes it to (``clearline_topology.json``: explicit routes, else the
  first segment of the name, ``ledger.create_transfers`` -> ``ledger``); other tasks are
  left to the app's routes.
- A Python *worker* of this app does not consume Clearline's queues unless its ``-Q``
  names them: Celery consumes every queue in ``task_queues`` by default, and a Python
  worker must never take Clearline's tasks by accident.

Results: with ``backend="rpc://"`` Clearline's workers answer to the client's reply queue as
a Celery worker does. Chords need a backend that stores results; ``ClearlineResults``
reads them from Clearline's own PostgreSQL (``task_results``) and registers a chord there
(``task_chords``) before its members are sent, so Clearline's workers join it and send its
callback themselves (no ``celery.chord_unlock`` polling)::

    app = Celery("billing", broker=…, backend="clearline_celery:ClearlineResults+postgresql://…/clearline")

It needs ``psycopg2``. It only reads results of tasks Clearline's workers run: Python
workers keep a backend of their own.

``clearline_topology.json`` beside this file is written by ``npm run topology:export``
from the code that declares the queues, so the two never disagree; copy both files.
"""

import json
import pathlib
import threading

from celery import states
from celery.backends.base import BaseBackend
from celery.signals import celeryd_after_setup
from kombu import Exchange, Queue

TOPOLOGY = json.loads(
    pathlib.Path(__file__).with_name("clearline_topology.json").read_text(encoding="utf-8")
)

#: The exchange Clearline's producers publish tasks to (routing key = queue name).
EXCHANGE = Exchange(
    TOPOLOGY["exchange"]["name"],
    type=TOPOLOGY["exchange"]["type"],
    durable=TOPOLOGY["exchange"]["durable"],
)

#: Clearline's work queues by name, declared as Clearline declares them.
QUEUES = {
    spec["name"]: Queue(
        spec["name"],
        EXCHANGE,
        routing_key=spec["name"],
        durable=True,
        queue_arguments=dict(spec["arguments"]),
    )
    for spec in TOPOLOGY["queues"]
}

#: Tasks routed to another queue than their name's first segment.
ROUTES = dict(TOPOLOGY["routes"])


def queue_for(task_name):
    """The Clearline queue a task goes to, or None when it is not Clearline's."""
    routed = ROUTES.get(task_name)
    if routed is not None:
        return routed
    first = task_name.split(".", 1)[0]
    return first if first in QUEUES else None


def route_task(name, args, kwargs, options, task=None, **kw):
    """A Celery router (``task_routes``) for Clearline's tasks; None for any other task."""
    queue = queue_for(name)
    return {"queue": QUEUES[queue]} if queue is not None else None


def _own_queues(app):
    conf = app.conf
    if conf.task_queues:
        return list(conf.task_queues)
    default = conf.task_default_queue
    exchange = Exchange(conf.task_default_exchange or default, conf.task_default_exchange_type)
    return [Queue(default, exchange, routing_key=conf.task_default_routing_key or default)]


def configure(app):
    """Routes Clearline's tasks from ``app`` to Clearline's queues (see the module's notes)."""
    own = _own_queues(app)
    names = {queue.name for queue in own}
    app.conf.task_queues = own + [q for name, q in QUEUES.items() if name not in names]
    routes = app.conf.task_routes
    if routes is None:
        routes = ()
    elif isinstance(routes, (dict, str)) or callable(routes):
        routes = (routes,)
    app.conf.task_routes = (route_task,) + tuple(routes)

    @celeryd_after_setup.connect(weak=False)
    def _leave_clearline_queues(sender, instance, **kwargs):
        if instance.app is not app:
            return
        queues = app.amqp.queues
        # No -Q: Celery would consume every queue it knows. Leave Clearline's alone.
        if queues.consume_from is queues:
            queues.deselect([name for name in QUEUES if name not in names])

    return app


#: How Clearline names the module of its errors: a Python client rebuilds an exception
#: class of the error's type name (``type(e).__name__ == "InsufficientFundsError"``).
ERROR_MODULE = "clearline"
CELERY_EXCEPTIONS = {"TaskRevokedError", "TimeLimitExceeded", "Retry", "Reject"}


class ClearlineResults(BaseBackend):
    """A Celery result backend on Clearline's PostgreSQL: reads ``task_results``, and
    registers chords in ``task_chords`` for Clearline's workers to join."""

    #: Celery's chord support: members are counted by Clearline's workers, not polled.
    supports_native_join = False

    def __init__(self, app, url=None, **kwargs):
        super().__init__(app, **kwargs)
        if not url:
            raise ValueError("ClearlineResults needs a postgresql:// URL")
        self.url = url
        self._local = threading.local()

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            import psycopg2  # imported here: only apps that use this backend need it

            connection = psycopg2.connect(self.url, connect_timeout=10)
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 10000")
            self._local.connection = connection
        return connection

    def _get_task_meta_for(self, task_id):
        with self._connection().cursor() as cursor:
            cursor.execute(
                "SELECT state, result, error_type, error_message, traceback, date_done"
                " FROM task_results WHERE id = %s",
                (task_id,),
            )
            row = cursor.fetchone()
        if row is None:
            return {"task_id": task_id, "status": states.PENDING, "result": None}
        state, result, error_type, error_message, traceback, date_done = row
        if state == states.REVOKED:
            error_type = "TaskRevokedError"
        if state in states.EXCEPTION_STATES:
            module = "celery.exceptions" if error_type in CELERY_EXCEPTIONS else ERROR_MODULE
            result = {
                "exc_type": error_type or "Error",
                "exc_message": [error_message or ""],
                "exc_module": module,
            }
        return self.meta_from_decoded(
            {
                "task_id": task_id,
                "status": state,
                "result": result,
                "traceback": traceback,
                "date_done": date_done,
                "children": [],
            }
        )

    def apply_chord(self, header_result_args, body, **kwargs):
        """Registers the chord before its members are sent (Clearline's producers do the same)."""
        group_id, results = header_result_args[0], header_result_args[1]
        if not results:
            return
        root_id = body.options.get("root_id") or group_id
        with self._connection().cursor() as cursor:
            cursor.execute(
                "INSERT INTO task_chords (id, size, callback, root_id)"
                " VALUES (%s, %s, %s::jsonb, %s) ON CONFLICT (id) DO NOTHING",
                (group_id, len(results), json.dumps(dict(body)), root_id),
            )

    def _store_result(self, task_id, result, state, traceback=None, request=None, **kwargs):
        raise NotImplementedError(
            "ClearlineResults reads the results of Clearline's workers; a Python worker keeps its own backend"
        )

    def _save_group(self, group_id, result):
        return result

    def _restore_group(self, group_id):
        return None

    def _forget(self, task_id):
        pass
