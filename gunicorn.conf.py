"""gunicorn settings for `make serve` (and any deployment that runs gunicorn from here).

Command-line flags override these. The request limits are gunicorn's own (they are checked
before Django sees a request); they are set here explicitly so they are documented and
tested, and their refusals answer JSON like the rest of the API instead of gunicorn's HTML
page: `{"detail": "URI Too Long.", "code": "uri_too_long"}`.
"""

import json

from gunicorn import util

# Longest request line (method, path with query string, protocol), in bytes: 414 beyond.
limit_request_line = 4094
# Most header fields, and longest one, per request: 431 beyond.
limit_request_fields = 100
limit_request_field_size = 8190

timeout = 30
# SIGTERM (a deploy, a scale-down): stop accepting, let in-flight requests finish for up to
# this many seconds, then exit. The load balancer has stopped sending traffic by then
# (ready/ fails once the process stops listening).
graceful_timeout = 25


# Prometheus in multi-process mode (config/metrics.py), when PROMETHEUS_MULTIPROC_DIR is set:
# the folder starts empty with each server, and a worker that exits is marked dead so its
# live values are dropped from /metrics.
def on_starting(server) -> None:
    import os

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server, worker) -> None:
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's answer to a request it refuses before the application (limits above, a
    malformed request line): the API's `{detail, code}` body. `mesg` may quote the request,
    so it is logged by gunicorn but not sent back."""
    body = json.dumps(
        {"detail": f"{reason}.", "code": reason.lower().replace(" ", "_").replace("-", "_")}
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


# gunicorn has no setting for its error page; its workers call util.write_error for it.
util.write_error = write_json_error
