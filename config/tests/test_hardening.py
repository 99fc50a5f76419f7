"""Issue 24 item 11, hardening: a Content-Security-Policy on every page, no caching of the
mock payment page, the API docs only when public, the admin at a configurable path, and
staff sessions of hours, not weeks. (Chromium's side of the policy: the `page` fixture of
config/tests/browser.py fails every browser test on a CSP violation.)"""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import clear_url_caches

from payments.services.opening import payment_open

pytestmark = pytest.mark.django_db

ROOT = Path(django_settings.BASE_DIR)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


@pytest.fixture
def mock_page(settings, mock_gateway, order, client):
    payment = payment_open(order=order)
    return f"/payments/mock/{payment.token}/"


@pytest.fixture
def mock_gateway(settings):
    settings.PAYMENT_GATEWAY = "mock"
    settings.PUBLIC_BASE_URL = "http://testserver"


@pytest.fixture
def order(user):
    from catalog.tests.factories import ProductFactory
    from orders.tests.factories import place_order

    return place_order(user=user, items=[(ProductFactory(price=10_000, stock=5), 1)])


def test_every_html_page_carries_the_policy(client, mock_page, settings, staff_user):
    """Before: no Content-Security-Policy header at all on
        GET /admin/login/, GET /payments/mock/<token>/, GET /payments/finish/, GET /api/docs/
    so one injected <script> anywhere would run with the staff's session."""
    settings.API_DOCS_PUBLIC = True
    staff = Client()
    staff.force_login(staff_user)
    pages = [
        (client, "/admin/login/"),
        (client, mock_page),
        (client, "/payments/finish/?order_id=X"),
        (client, "/api/docs/"),
        (staff, "/admin/"),
        (staff, "/api/v1/products/"),  # the browsable API, staff only
    ]
    for who, path in pages:
        response = who.get(path, HTTP_ACCEPT="text/html")
        assert response["Content-Type"].startswith("text/html"), path
        assert response.status_code == 200, path
        directives = policy(response)
        assert directives["default-src"] == ["'self'"], path
        assert directives["script-src"] == ["'self'"], path
        assert directives["object-src"] == ["'none'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert directives["form-action"] == ["'self'"], path
        assert "'unsafe-inline'" not in directives["style-src"], path
        # The page's inline <style> (if any) carries the nonce the header allows, and no
        # inline script is left for a policy without 'unsafe-inline' to block.
        html = response.content.decode()
        nonces = re.findall(r'<style nonce="([^"]+)">', html)
        assert html.count("<style") == len(nonces), path
        assert all(f"'nonce-{nonce}'" in directives["style-src"] for nonce in nonces), path
        assert re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html) is None, path


def test_swagger_ui_loads_its_start_script_from_its_own_url(client, settings):
    settings.API_DOCS_PUBLIC = True
    page = client.get("/api/docs/").content.decode()
    script = re.search(r'<script src="([^"]*\?script=[^"]*)"', page).group(1)
    response = client.get(script.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content


def test_the_mock_payment_page_is_never_stored(client, mock_page):
    """Before: GET /payments/mock/<token>/ had no Cache-Control, so a shared or browser
    cache could keep the page (its token pays the order) after the shopper left."""
    response = client.get(mock_page)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/api/schema/", "/api/schema/?format=json", "/api/docs/"])
def test_api_docs_are_a_404_unless_public(client, settings, path):
    """Before: in production GET /api/schema/ and GET /api/docs/ handed anyone the whole
    API (every staff operation included). Off: the JSON 404 of any unknown path."""
    settings.API_DOCS_PUBLIC = False
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}

    settings.API_DOCS_PUBLIC = True
    assert client.get(path).status_code == 200


def production_settings(**extra: str) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("API_DOCS_PUBLIC", "ADMIN_URL", "SESSION_COOKIE_AGE")
    }
    env.update({"DEBUG": "false", "SECRET_KEY": "x" * 60, "PYTHONWARNINGS": "ignore", **extra})
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.API_DOCS_PUBLIC, s.ADMIN_URL, s.SESSION_COOKIE_AGE)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_defaults_without_debug(db):
    """Docs off, the admin at admin/, sessions of 8 hours: without DEBUG and nothing set."""
    result = production_settings()
    assert result.stdout.split() == ["False", "admin/", "28800"], result.stderr
    result = production_settings(DEBUG="true")
    assert result.stdout.split()[0] == "True"
    result = production_settings(
        ADMIN_URL="/back-office-7f3", SESSION_COOKIE_AGE="3600", API_DOCS_PUBLIC="true"
    )
    assert result.stdout.split() == ["True", "back-office-7f3/", "3600"], result.stderr


def test_an_admin_url_over_another_route_is_refused(db):
    result = production_settings(ADMIN_URL="api/")
    assert result.returncode != 0
    assert "ADMIN_URL must be a path of its own" in result.stderr


@pytest.fixture
def admin_at(settings):
    """Routes rebuilt with settings.ADMIN_URL as the test sets it, and rebuilt back after."""
    import config.urls

    def route(path: str) -> None:
        settings.ADMIN_URL = path
        importlib.reload(config.urls)
        clear_url_caches()

    yield route
    settings.ADMIN_URL = "admin/"
    importlib.reload(config.urls)
    clear_url_caches()


def test_the_admin_lives_at_admin_url(client, admin_at):
    """Before: the admin was always at /admin/, the first path every scanner tries."""
    admin_at("back-office-7f3/")
    assert client.get("/back-office-7f3/login/").status_code == 200
    assert client.get("/admin/login/").status_code == 404


def test_staff_sessions_last_session_cookie_age(client, settings):
    """Before: an admin login (POST /admin/login/) set a session cookie good for two weeks
    (Django's default, 1209600 s)."""
    from accounts.tests.factories import UserFactory

    UserFactory(email="cook@example.com", password="a-long-kitchen-secret", is_staff=True)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "cook@example.com", "password": "a-long-kitchen-secret"}
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["max-age"] == 8 * 60 * 60
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
