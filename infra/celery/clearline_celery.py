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

``clearline_topology.json`` beside this file is written by ``npm run topology:export``
from the code that declares the queues, so the two never disagree; copy both files.
"""

import json
import pathlib

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
