"""How code starts background work: `enqueue`, the one way in, and `FoodiesTask`, the base
of every task.

A task is thin: it calls one service, and that service is safe to run twice and at the
same time (Celery delivers at least once, beat may overlap a slow run), because it
re-reads its rows under the same locks as every other write.

    from config.tasks import enqueue
    from invoices.tasks import send_receipt

    with transaction.atomic():
        ...                            # the state change
        enqueue(send_receipt, order.pk)  # runs only if, and after, this commits

With `CELERY_BROKER_URL` the task is published to the broker after the commit and a worker
runs it, retrying as the task says. Without one (the default of `make run` and of the
tests) the same task body runs in this process right after the commit, once: there is
nothing to wait between retries, and the periodic jobs and their cron commands pick up
whatever it left undone. Either way an exception never reaches the code that committed:
it is logged with the task's context.

Adding a task: put it in the app's `tasks.py` as a `@shared_task` that calls one service
(ids as arguments, never model instances). If it calls the network, let Celery retry the
network's error type only, e.g.

    @shared_task(autoretry_for=(PaymentGatewayError,), retry_backoff=True,
                 retry_backoff_max=300, max_retries=5)

and give it a base whose `failure_context` names what it was about (orders.tasks.OrderTask
logs the order number). A periodic one also gets an entry in `_periodic` in settings, with
its interval from the environment.
"""

import logging
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction
from kombu.utils.json import dumps

logger = logging.getLogger("foodies.tasks")


class FoodiesTask(Task):
    """Base of every task (`Celery(task_cls=...)`). A task that gives up is logged with
    what it was about; subclasses say what that is in `failure_context`."""

    def failure_context(self, args: tuple, kwargs: dict) -> str:
        """Words that name what the call was about, e.g. "order FD-261121-7K3QX9AB"."""
        return ""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Called by the worker when the task fails for good (not on each retry).
        task_failure_log(self, args=tuple(args), kwargs=dict(kwargs), exc=exc, retries=self.request.retries)


def task_failure_log(
    task: Task, *, args: tuple, kwargs: dict, exc: BaseException, retries: int | None
) -> None:
    """Log a task that gave up, naming what it was about (its order number, say).
    `retries` None: it ran in-process (no broker), where nothing retries it."""
    try:
        about = task.failure_context(args, kwargs) if isinstance(task, FoodiesTask) else ""
    except Exception:  # the context is a courtesy; the failure itself must be logged
        logger.exception("Could not describe the failed call of %s", task.name)
        about = ""
    how = "in-process, not retried" if retries is None else f"after {retries} retries"
    logger.error(
        "Task %s failed%s (%s; args=%r kwargs=%r): %r",
        task.name,
        f" on {about}" if about else "",
        how,
        args,
        kwargs,
        exc,
        exc_info=(type(exc), exc, exc.__traceback__),
    )


def enqueue(task: Task, *args: Any, **kwargs: Any) -> None:
    """Run `task(*args, **kwargs)` once the current transaction commits (at once outside
    one; never if it rolls back): on a worker when a broker is configured, else in this
    process. Arguments must be JSON (ids, not model instances); checked here, so the
    embedded default fails the same way a broker would. Never raises after the commit."""
    from config.logs import current_request_id

    dumps([args, kwargs])  # TypeError now, not later on a worker
    # The request's id goes with the task (a message header), into the worker's log lines.
    transaction.on_commit(partial(_dispatch, task, args, kwargs, request_id=current_request_id()))


def _dispatch(task: Task, args: tuple, kwargs: dict, request_id: str | None = None) -> None:
    from config.celery import broker_configured
    from config.logs import CELERY_HEADER

    if broker_configured():
        try:
            task.apply_async(args=args, kwargs=kwargs, headers={CELERY_HEADER: request_id})
        except Exception:
            # The broker is unreachable. The change is committed; the periodic jobs catch up
            # on what this task would have done (see each task's docstring).
            logger.exception(
                "Could not publish %s (args=%r kwargs=%r) to the broker", task.name, args, kwargs
            )
        return
    from config import metrics

    try:
        # Calling the task runs its body here, the same code a worker runs; its retry
        # options do not apply (Celery re-raises the error instead of scheduling a retry).
        task(*args, **kwargs)
    except Exception as exc:
        metrics.task_run(task.name, "failure")
        task_failure_log(task, args=args, kwargs=kwargs, exc=exc, retries=None)
    else:
        metrics.task_run(task.name, "success")
