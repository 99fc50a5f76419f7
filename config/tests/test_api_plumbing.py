import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory

from config.api import exceptions

pytestmark = pytest.mark.django_db


def test_health_reports_ok(api_client):
    response = api_client.get("/api/v1/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_is_503_when_the_database_is_unreachable(api_client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    # The failure is injected at the driver boundary: the view's own code runs as is.
    monkeypatch.setattr(connection, "cursor", refuse)
    response = api_client.get("/api/v1/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}


def test_400_is_field_errors(api_client):
    response = api_client.post("/api/v1/auth/register/", {"email": "nope"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"email", "password"}


def test_401_has_detail_and_code(api_client):
    response = api_client.get("/api/v1/auth/me/")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_401_for_a_garbage_token(api_client):
    response = api_client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION="Bearer not.a.token")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/nope", "/api/v1/health", "/api/other"])
def test_404_under_api_is_json_never_a_redirect(api_client, path):
    response = api_client.post(path, {})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_405_has_detail_and_code(api_client):
    response = api_client.get("/api/v1/auth/register/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.', "code": "method_not_allowed"}


def test_500_under_api_is_json():
    request = RequestFactory().get("/api/v1/anything/")
    response = exceptions.handler500(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"


def test_404_outside_api_is_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_anonymous_html_request_still_gets_json(api_client):
    response = api_client.get("/api/v1/health/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_staff_session_gets_the_browsable_api(admin_client_staff):
    response = admin_client_staff.get("/api/v1/auth/me/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_shopper_session_is_not_api_auth(client, user):
    client.force_login(user)
    assert client.get("/api/v1/auth/me/").status_code == 401


def test_schema_and_docs_are_served(api_client):
    schema = api_client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["openapi"].startswith("3.")
    assert "/api/v1/auth/token/" in body["paths"]
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_admin_login_page_loads(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
