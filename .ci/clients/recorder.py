"""The generated clients' traffic: a recording HTTP proxy in front of the app, and the
check of every recorded exchange against the schema with openapi-core.

The proxy sits between a client and gunicorn on 127.0.0.1, forwards each request as it
came (method, path, query, headers, body) and keeps the request and the answer, so what
is validated is exactly what the client sent and received, whatever the client's language.
"""

import http.client
import json
import threading
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

# Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business, not forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass
class Exchange:
    client: str
    method: str
    path: str
    query: list[tuple[str, str]]
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes

    def title(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.query)
        return f"[{self.client}] {self.method} {self.path}{'?' + query if query else ''} -> {self.status}"


@dataclass
class Recorder:
    """Forwards to `upstream` (host, port) and records; `client` labels what follows."""

    upstream: tuple[str, int]
    client: str = "-"
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> str:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one exchange per connection: no keep-alive to track

            def log_message(self, format, *args):
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(*recorder.upstream, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    answer_body = answer.read()
                    answer_headers = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
                finally:
                    upstream.close()
                self.send_response_only(answer.status, answer.reason)
                for name, value in answer_headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer_body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer_body)
                url = urlsplit(self.path)
                with recorder.lock:
                    recorder.exchanges.append(
                        Exchange(
                            client=recorder.client,
                            method=self.command,
                            path=url.path,
                            query=parse_qsl(url.query, keep_blank_values=True),
                            request_headers=headers,
                            request_body=body,
                            status=answer.status,
                            response_headers=answer_headers,
                            response_body=answer_body,
                        )
                    )

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def validate(spec: dict, exchanges: list[Exchange], *, host_url: str) -> list[str]:
    """Every answer against the schema (status documented, headers, content type, body),
    errors included; and every request that was answered with a success, since a request
    that is meant to be refused (the journeys' 400s) is not valid by definition. Returns
    one line per mismatch."""
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest, MockResponse
    from werkzeug.datastructures import MultiDict

    openapi = OpenAPI.from_dict(spec)
    problems = []
    for exchange in exchanges:
        content_type = exchange.request_headers.get("Content-Type", "application/json")
        request = MockRequest(
            host_url,
            exchange.method,
            exchange.path,
            headers=exchange.request_headers,
            data=exchange.request_body,
            content_type=content_type.split(";")[0],
        )
        # Repeated query keys stay repeated (MockRequest's dict would keep one of them).
        request.parameters.query = MultiDict(exchange.query)
        answer_type = exchange.response_headers.get("Content-Type", "")
        response = MockResponse(
            exchange.response_body,
            status_code=exchange.status,
            headers=exchange.response_headers,
            content_type=answer_type.split(";")[0],
        )
        found = list(openapi.iter_response_errors(request, response))
        if exchange.status < 400:
            found += list(openapi.iter_request_errors(request))
        for error in found:
            body = exchange.response_body[:200].decode(errors="replace")
            problems.append(f"{exchange.title()}: {_explain(error)}\n    body: {body}")
    return problems


def _explain(error: BaseException) -> str:
    """openapi-core's error in one line: its kind and, for a body or a parameter, each
    schema rule broken with where (jsonschema's errors carry the path and the message)."""
    found = []
    todo = [error.__cause__, *getattr(error, "schema_errors", ())]
    while todo:
        cause = todo.pop(0)
        if cause is None:
            continue
        if hasattr(cause, "message") and hasattr(cause, "absolute_path"):
            where = "/".join(str(part) for part in cause.absolute_path) or "(root)"
            found.append(f"{where}: {cause.message[:160]}")
            todo.extend(getattr(cause, "context", None) or ())
        else:
            todo.extend([cause.__cause__, *getattr(cause, "schema_errors", ())])
    head = type(error).__name__ if found else str(error).splitlines()[0][:200]
    return "; ".join([head, *dict.fromkeys(found)])


def dump(exchanges: list[Exchange], path) -> None:
    """The traffic as JSON lines (bodies as text, PDFs as their size), for reading a failure."""
    with open(path, "w") as out:
        for exchange in exchanges:
            record = asdict(exchange)
            for key in ("request_body", "response_body"):
                body = record[key]
                record[key] = body.decode() if body.isascii() else f"<{len(body)} bytes>"
            out.write(json.dumps(record) + "\n")


def summary(exchanges: list[Exchange]) -> str:
    by_client: dict[str, dict[int, int]] = {}
    for exchange in exchanges:
        statuses = by_client.setdefault(exchange.client, {})
        statuses[exchange.status] = statuses.get(exchange.status, 0) + 1
    return "; ".join(
        f"{client}: {sum(s.values())} answers ({json.dumps(dict(sorted(s.items())))})"
        for client, s in by_client.items()
    )
