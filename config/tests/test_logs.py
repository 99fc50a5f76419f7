"""Request ids (X-Request-ID in and out), JSON log lines, and Sentry off without a DSN."""

import io
import json
import logging
import os
import subprocess
import sys

import pytest

from config.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """The `foodies.request` lines as LOG_FORMAT=json writes them."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("foodies.request")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_a_sane_client_request_id_is_kept_and_returned(api_client, json_log):
    response = api_client.get("/api/v1/health/", HTTP_X_REQUEST_ID="lb-7f3a:01")
    assert response["X-Request-ID"] == "lb-7f3a:01"
    [line] = json_log()
    assert {k: line[k] for k in ("level", "logger", "message", "request_id", "method", "path", "status")} == {
        "level": "INFO",
        "logger": "foodies.request",
        "message": "GET /api/v1/health/ 200",
        "request_id": "lb-7f3a:01",
        "method": "GET",
        "path": "/api/v1/health/",
        "status": 200,
    }
    assert isinstance(line["duration_ms"], float)


@pytest.mark.parametrize("sent", [None, "", "has space", "x" * 129, "semi;colon", "ünï"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_fresh_one(api_client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    first = api_client.get("/api/v1/health/", **headers)["X-Request-ID"]
    second = api_client.get("/api/v1/health/", **headers)["X-Request-ID"]
    assert len(first) == 32
    assert first != second
    assert first != sent


def test_error_responses_carry_the_request_id_too(api_client):
    response = api_client.get("/api/v1/nope/", HTTP_X_REQUEST_ID="req-404")
    assert (response.status_code, response["X-Request-ID"]) == (404, "req-404")


def test_a_log_line_outside_any_request_has_no_request_id_and_exceptions_are_one_line():
    record = logging.LogRecord("foodies.x", logging.ERROR, __file__, 1, "boom %s", ("now",), None)
    try:
        raise ValueError("bad")
    except ValueError:
        record.exc_info = sys.exc_info()
    RequestIdFilter().filter(record)
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert (line["message"], line["request_id"], line["task_id"]) == ("boom now", "-", "-")
    assert "ValueError: bad" in line["exception"]


def settings_in_subprocess(env: dict[str, str], code: str) -> str:
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=full,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_sentry_stays_off_without_a_dsn_and_is_on_with_one():
    code = "import sentry_sdk; print(sentry_sdk.get_client().is_active())"
    assert settings_in_subprocess({"SENTRY_DSN": ""}, code) == "False"
    code += "; print(sentry_sdk.get_client().options['data_collection']['user_info'])"
    assert settings_in_subprocess({"SENTRY_DSN": "https://public@127.0.0.1:9/1"}, code) == "True\nFalse"


def test_log_format_json_makes_the_console_handler_json():
    code = "import logging; print(type(logging.getLogger().handlers[0].formatter).__name__)"
    assert settings_in_subprocess({"LOG_FORMAT": "json"}, code) == "JsonFormatter"
    assert settings_in_subprocess({"LOG_FORMAT": "text"}, code) == "Formatter"
