"""Bearer authentication (config.api.authentication.VersionedJWTAuthentication): revoked
access tokens are refused everywhere, and a token that is not valid is ignored on public
reads (the menu still loads) with a `Token-Ignored` header, refused everywhere else."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import services
from accounts.tests.factories import UserFactory
from accounts.tokens import access_for, refresh_issue
from catalog.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def bearer(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def expired_access(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))
    return str(token)


@pytest.fixture
def menu():
    return ProductFactory(slug="nasi-goreng", price=25_000)


def test_a_stale_token_still_reads_the_menu_as_anonymous(menu):
    """issue 18: a tab left open past its access token's life showed an empty menu (401)."""
    anonymous = APIClient().get(PRODUCTS)
    response = bearer(expired_access(UserFactory())).get(PRODUCTS)
    assert response.status_code == 200
    assert response["Token-Ignored"] == "token_not_valid"
    assert response.json() == anonymous.json()
    assert "Token-Ignored" not in anonymous


@pytest.mark.parametrize(
    "path", ["/api/v1/products/nasi-goreng/", "/api/v1/categories/", "/api/v1/products/nasi-goreng/prices/"]
)
def test_garbage_tokens_are_ignored_on_every_public_read(menu, path):
    response = bearer("not-a-jwt").get(path)
    assert (response.status_code, response["Token-Ignored"]) == (200, "token_not_valid")


def test_a_revoked_token_is_ignored_on_the_menu_and_refused_elsewhere(menu):
    user = UserFactory()
    refresh, _ = refresh_issue(user=user)
    client = bearer(access_for(refresh))
    assert client.get("/api/v1/cart/").status_code == 200
    services.token_logout(user=user, refresh=refresh)

    menu_response = client.get(PRODUCTS)
    cart = client.get("/api/v1/cart/")

    assert (menu_response.status_code, menu_response["Token-Ignored"]) == (200, "token_not_valid")
    assert (cart.status_code, cart.json()["code"]) == (401, "token_not_valid")
    assert "Token-Ignored" not in cart


def test_a_deleted_users_token_is_ignored_on_the_menu(menu):
    user = UserFactory()
    access = RefreshToken.for_user(user).access_token
    user.delete()
    response = bearer(access).get(PRODUCTS)
    assert (response.status_code, response["Token-Ignored"]) == (200, "user_not_found")


def test_a_stale_token_is_refused_on_writes_to_public_resources(menu):
    staff = UserFactory(is_staff=True)
    response = bearer(expired_access(staff)).post("/api/v1/categories/", {"name": "Sate", "slug": "sate"})
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
    assert "Token-Ignored" not in response
    response = bearer(expired_access(staff)).delete("/api/v1/products/nasi-goreng/")
    assert response.status_code == 401
    menu.refresh_from_db()
    assert menu.is_active is True


def test_a_stale_token_on_a_private_read_is_still_a_401():
    response = bearer(expired_access(UserFactory())).get("/api/v1/orders/")
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
    assert "Token-Ignored" not in response


def test_a_valid_token_is_not_ignored(menu):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="view_product", content_type__app_label="catalog")
    )
    ProductFactory(slug="hidden", is_active=False)
    response = bearer(RefreshToken.for_user(staff).access_token).get(PRODUCTS)
    assert "Token-Ignored" not in response
    assert response.json()["count"] == 2  # staff see the hidden product: they were recognised


def test_the_version_check_costs_no_query(django_assert_num_queries):
    """The user row that authentication loads carries the version: one query for /auth/me/,
    as before the check."""
    client = bearer(access_for(refresh_issue(user=UserFactory())[0]))
    with django_assert_num_queries(1):
        assert client.get("/api/v1/auth/me/").status_code == 200


def test_tokens_issued_before_versions_existed_still_work_until_a_revocation():
    user = UserFactory()
    legacy = RefreshToken.for_user(user).access_token  # no `ver` claim
    assert "ver" not in legacy
    assert bearer(legacy).get("/api/v1/auth/me/").status_code == 200
    services.access_tokens_revoke(user=user)
    assert bearer(legacy).get("/api/v1/auth/me/").status_code == 401


def test_the_schema_documents_the_header_on_public_reads_only(api_client):
    paths = api_client.get("/api/schema/?format=json").json()["paths"]
    for path in ("/api/v1/products/", "/api/v1/products/{slug}/", "/api/v1/categories/"):
        assert "Token-Ignored" in paths[path]["get"]["responses"]["200"]["headers"], path
    assert "Token-Ignored" not in paths["/api/v1/orders/"]["get"]["responses"]["200"].get("headers", {})
    assert "Token-Ignored" not in paths["/api/v1/products/"]["post"]["responses"]["201"].get("headers", {})
