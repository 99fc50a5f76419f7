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
