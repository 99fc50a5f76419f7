"""Request ids and JSON logs: follow one request across the web process and the worker.

- `RequestIdMiddleware` takes the request id from `X-Request-ID` (when it is a sane token:
  letters, digits, `.`, `_`, `:`, `-`, at most 128) or makes one, keeps it in a context
  variable for the request's log lines and returns it in the response's `X-Request-ID`.
- `config.tasks.enqueue` captures it when a task is enqueued and sends it as the message
  header `request_id`; the worker's `task_prerun` handler (config/celery.py) puts it back
  in the context, so a task's log lines carry the id of the request that enqueued it. An
  in-process task (no broker) runs inside the request and has it anyway.
- `RequestIdFilter` adds `request_id` (and `task_id` in a worker) to every record;
  `JsonFormatter` writes one JSON object per line (LOG_FORMAT=json).
"""

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

REQUEST_ID_HEADER = "X-Request-ID"
CELERY_HEADER = "request_id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
task_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def request_id_from(value: str | None) -> str:
    """The client's id if it is a sane token, else a fresh one."""
    if value and _VALID.match(value):
        return value
    return uuid.uuid4().hex


request_logger = logging.getLogger("foodies.request")


class RequestIdMiddleware:
    """Outermost: every log line of the request, and the response, carry its id; one line
    per request (`foodies.request`, INFO) says what it was, how it ended and how long it took."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            request_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        finally:
            request_id_var.reset(token)
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        record.task_id = task_id_var.get() or "-"
        return True


# LogRecord attributes that are not "extra" fields.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id,
    task_id, the exception's traceback if any, and whatever `extra=` fields were given."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "task_id": getattr(record, "task_id", None) or task_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


task_logger = logging.getLogger("foodies.task")


def task_started(task_name: str, task_id: str | None, request_id: str | None) -> tuple:
    """Called by the worker before a task runs: its log lines get these ids."""
    tokens = (request_id_var.set(request_id), task_id_var.set(task_id), time.perf_counter())
    task_logger.info("Task %s started", task_name, extra={"task": task_name})
    return tokens


def task_finished(task_name: str, state: str | None, tokens: tuple) -> None:
    request_token, task_token, started = tokens
    task_logger.info(
        "Task %s finished: %s",
        task_name,
        state,
        extra={
            "task": task_name,
            "state": state,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    request_id_var.reset(request_token)
    task_id_var.reset(task_token)
