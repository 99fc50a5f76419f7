"""The Celery app: background work for Foodies (README, "Background work").

Settings come from Django's (the `CELERY_` ones in config/settings.py, from the
environment); tasks are found in each app's `tasks.py`. Code never calls `.delay()`
itself: it goes through `config.tasks.enqueue`, which waits for the transaction to commit
and, without `CELERY_BROKER_URL`, runs the task in the same process instead.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("foodies", task_cls="config.tasks:FoodiesTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def broker_configured() -> bool:
    """True when tasks go to a broker and its workers; False in the embedded default."""
    return bool(app.conf.broker_url)


@signals.worker_init.connect
@signals.beat_init.connect
def _require_broker(**kwargs) -> None:
    # Without a broker Celery would quietly dial amqp://localhost and retry for ever.
    # SystemExit, because Celery logs and swallows any Exception a signal handler raises.
    if not broker_configured():
        raise SystemExit(
            "CELERY_BROKER_URL is not set: a worker or beat needs a broker, e.g. "
            "CELERY_BROKER_URL=redis://127.0.0.1:6379/0. Without one, the app runs its tasks "
            "itself after each commit and nothing else needs to run."
        )


_task_log_context: dict[str, tuple] = {}


@signals.task_prerun.connect
def _task_log_context_set(task_id=None, task=None, **kwargs) -> None:
    # The id of the request that enqueued the task (config.tasks.enqueue sends it as a
    # message header) goes into this task's log lines (config/logs.py).
    from config.logs import CELERY_HEADER, task_started

    request_id = getattr(task.request, CELERY_HEADER, None) or (task.request.headers or {}).get(CELERY_HEADER)
    _task_log_context[task_id] = task_started(task.name, task_id, request_id)


@signals.task_postrun.connect
def _task_log_context_reset(task_id=None, task=None, state=None, **kwargs) -> None:
    from config.logs import task_finished

    tokens = _task_log_context.pop(task_id, None)
    if tokens is not None:
        task_finished(task.name, state, tokens)


# Task runs for /metrics (config/metrics.py). A worker's prefork children each write their
# own values; a child that exits is marked dead so its live values are dropped.
@signals.task_success.connect
def _count_success(sender=None, **kwargs) -> None:
    from config import metrics

    metrics.task_run(sender.name, "success")


@signals.task_failure.connect
def _count_failure(sender=None, **kwargs) -> None:
    from config import metrics

    metrics.task_run(sender.name, "failure")


@signals.task_retry.connect
def _count_retry(sender=None, **kwargs) -> None:
    from config import metrics

    metrics.task_run(sender.name, "retry")


@signals.worker_process_shutdown.connect
def _mark_child_dead(pid=None, **kwargs) -> None:
    from config import metrics

    metrics.mark_process_dead(pid or os.getpid())
