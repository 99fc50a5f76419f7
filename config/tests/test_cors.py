"""CORS (django-cors-headers): a web app on an allowed origin may call the API from a
browser, with the headers it needs; any other origin gets no CORS grant, so the browser
refuses it the answer. A real browser does the same in test_cors_browser.py."""

import pytest
from django.test import Client

APP = "http://localhost:3000"
OTHER = "http://evil.example"


@pytest.fixture(autouse=True)
def allowed_origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]


def preflight(path: str, origin: str, headers: str = "authorization, idempotency-key, content-type"):
    return Client().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


@pytest.mark.django_db
def test_a_preflight_from_an_allowed_origin_succeeds_without_credentials():
    response = preflight(
        "/api/v1/orders/", APP, "authorization, idempotency-key, if-none-match, content-type"
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "idempotency-key", "if-none-match", "content-type"} <= allowed
    assert response["Access-Control-Max-Age"] == "600"
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.django_db
def test_a_preflight_from_another_origin_gets_no_grant():
    response = preflight("/api/v1/orders/", OTHER)
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Headers" not in response


@pytest.mark.django_db
def test_a_preflight_with_no_origin_setting_grants_nothing(settings):
    settings.CORS_ALLOWED_ORIGINS = []
    assert "Access-Control-Allow-Origin" not in preflight("/api/v1/orders/", APP)


@pytest.mark.django_db
def test_answers_to_an_allowed_origin_expose_the_headers_a_client_reads(auth_client):
    response = auth_client.get("/api/v1/orders/", HTTP_ORIGIN=APP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {
        "ETag",
        "Idempotent-Replayed",
        "Retry-After",
        "Content-Language",
        "Token-Ignored",
        "X-Shop-Paused-Until",
    }
    assert "origin" in response["Vary"].lower()


@pytest.mark.django_db
def test_error_answers_carry_the_grant_too(api_client):
    """A 401 or a 404 the app must read (to refresh its token, to show "not found") is
    readable by the app only with the grant; the JSON error pages keep it."""
    assert api_client.get("/api/v1/orders/", HTTP_ORIGIN=APP)["Access-Control-Allow-Origin"] == APP
    response = api_client.get("/api/v1/no-such-thing/", HTTP_ORIGIN=APP)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response["Access-Control-Allow-Origin"] == APP


@pytest.mark.django_db
def test_pages_outside_the_api_get_no_grant():
    # The admin and the mock payment page are same-origin only.
    response = Client().get("/admin/login/", HTTP_ORIGIN=APP)
    assert "Access-Control-Allow-Origin" not in response
