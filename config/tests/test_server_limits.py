"""gunicorn as `make serve` runs it (gunicorn.conf.py): requests it refuses before Django
(an over-long request line, too many headers) are answered with JSON, not its HTML page."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "false", "LOG_LEVEL": "ERROR"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def raw_request(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def test_an_over_long_request_line_is_a_json_414(server):
    path = "/api/v1/products/" + "a" * 5000 + "/"
    status, headers, body = raw_request(server, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert status == 414
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"detail": "URI Too Long.", "code": "uri_too_long"}


def test_too_many_headers_is_a_json_431(server):
    headers = "".join(f"X-H{i}: v\r\n" for i in range(150))
    status, response_headers, body = raw_request(
        server, f"GET /api/v1/nope/ HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()
    )
    assert status == 431
    assert response_headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == "request_header_fields_too_large"


def test_a_malformed_request_line_is_a_json_400_that_quotes_nothing(server):
    status, headers, body = raw_request(server, b"G<script>ET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"detail": "Bad Request.", "code": "bad_request"}


def test_requests_within_the_limits_reach_the_app(server):
    path = "/api/v1/" + "a" * 3000 + "/"
    status, headers, body = raw_request(
        server, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"detail": "Not found.", "code": "not_found"}
