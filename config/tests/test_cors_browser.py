"""CORS in a real browser: a page on another origin fetches the API with a Bearer token (a
request that needs a preflight). From an allowed origin Chromium lets the page read the
answer and its exposed headers; from any other origin it refuses, as a browser must.

The page comes from a second, static HTTP server on 127.0.0.1 (another origin than the
live server's `http://localhost:port`); a page served by Playwright's router would count
as a public address, which Chromium's local network access rules stop before CORS is
even asked."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


FETCH = """async ([api, token]) => {
  try {
    const response = await fetch(api + "/api/v1/orders/", {
      headers: {"Authorization": "Bearer " + token, "Idempotency-Key": "k1"},
    });
    return {status: response.status, count: (await response.json()).count,
            etag: response.headers.get("ETag")};
  } catch (error) {
    return {error: String(error)};
  }
}"""


class AppPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>app</title><h1>app</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def app_origin() -> Iterator[str]:
    """The origin of a web app: http://127.0.0.1:<free port>."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), AppPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_allowed_origin_reads_an_authenticated_answer(page, live_server, settings, app_origin):
    settings.CORS_ALLOWED_ORIGINS = [app_origin]
    token = str(RefreshToken.for_user(UserFactory()).access_token)
    page.goto(f"{app_origin}/")

    result = page.evaluate(FETCH, [live_server.url, token])

    assert (result["status"], result["count"]) == (200, 0)
    assert result["etag"].strip("W/").startswith('"')  # an exposed header the app can read


def test_another_origin_is_refused_by_the_browser(page, live_server, settings, app_origin):
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:3000"]
    token = str(RefreshToken.for_user(UserFactory()).access_token)
    page.goto(f"{app_origin}/")
    refusals = []
    page.on("console", lambda message: refusals.append(message.text))

    result = page.evaluate(FETCH, [live_server.url, token])

    assert result == {"error": "TypeError: Failed to fetch"}
    assert any(
        "blocked by CORS policy" in text and "Access-Control-Allow-Origin" in text for text in refusals
    )
