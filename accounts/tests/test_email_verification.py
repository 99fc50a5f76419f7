"""E-mail verification (issue 21): new accounts are mailed a link; auth/email/verify/
records it; a resend is throttled; checkout asks for it only with REQUIRE_VERIFIED_EMAIL."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.links import email_verification_tokens, password_reset_tokens, uid_encode
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_password_reset import link_of
from catalog.tests.factories import ProductFactory
from conftest import bearer_client
from orders.models import Order

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/auth/me/"
VERIFY = "/api/v1/auth/email/verify/"
RESEND = "/api/v1/auth/email/verify/resend/"
ORDERS = "/api/v1/orders/"
INVALID = {
    "detail": "This verification link is invalid or expired: ask for a new one.",
    "code": "email_verification_token_invalid",
}


def pair(user: User) -> dict[str, str]:
    return {"uid": uid_encode(user), "token": email_verification_tokens.make_token(user)}


def test_a_new_account_verifies_its_address_from_the_email(transactional_db, smtp_inbox):
    """Through a real SMTP server and real commits: register, open the link (no login
    needed), and auth/me/ says so. Opening it again is harmless."""
    client = APIClient()
    response = client.post(REGISTER, {"email": "Ani@Example.com", "password": PASSWORD, "name": "Ani"})
    assert response.status_code == 201
    (message,) = smtp_inbox.to("ani@example.com")
    assert message["Subject"] == "Foodies: confirm your e-mail address"
    assert "Hello Ani," in message.get_content()
    link = link_of(message)
    assert link["path"] == "/verify-email"
    access = client.post(TOKEN, {"email": "ani@example.com", "password": PASSWORD}).json()["access"]
    assert client.get(ME, HTTP_AUTHORIZATION=f"Bearer {access}").json()["email_verified"] is False

    before = timezone.now()
    done = client.post(VERIFY, {"uid": link["uid"], "token": link["token"]})
    assert (done.status_code, done.content) == (204, b"")
    assert client.get(ME, HTTP_AUTHORIZATION=f"Bearer {access}").json()["email_verified"] is True
    verified_at = User.objects.get(email="ani@example.com").email_verified_at
    assert verified_at >= before

    assert client.post(VERIFY, {"uid": link["uid"], "token": link["token"]}).status_code == 204
    assert User.objects.get(email="ani@example.com").email_verified_at == verified_at


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda user, other: {**pair(user), "uid": uid_encode(other)}, id="another-account"),
        pytest.param(
            lambda user, other: {"uid": uid_encode(user), "token": password_reset_tokens.make_token(user)},
            id="a-password-reset-token",
        ),
        pytest.param(lambda user, other: {**pair(user), "token": "1-2"}, id="forged"),
        pytest.param(lambda user, other: {**pair(user), "uid": "%%%"}, id="bad-uid"),
    ],
)
def test_a_bad_link_is_a_clear_400_and_verifies_nothing(api_client, make):
    user, other = UserFactory(), UserFactory()
    response = api_client.post(VERIFY, make(user, other))
    assert (response.status_code, response.json()) == (400, INVALID)
    assert User.objects.filter(email_verified_at__isnull=False).count() == 0


def test_a_link_sent_to_an_earlier_address_does_not_verify_the_current_one(api_client):
    user = UserFactory(email="old@example.com")
    link = pair(user)
    User.objects.filter(pk=user.pk).update(email="new@example.com")
    assert api_client.post(VERIFY, link).status_code == 400
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_the_link_expires_after_email_verification_timeout(api_client):
    user = UserFactory()
    with time_machine.travel(timezone.now() - timedelta(seconds=settings.EMAIL_VERIFICATION_TIMEOUT + 5)):
        link = pair(user)
    assert api_client.post(VERIFY, link).json() == INVALID
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_the_link_is_good_for_longer_than_a_reset_link(api_client):
    """Its own timeout (3 days by default), not PASSWORD_RESET_TIMEOUT (1 hour)."""
    assert settings.EMAIL_VERIFICATION_TIMEOUT > settings.PASSWORD_RESET_TIMEOUT
    user = UserFactory()
    with time_machine.travel(timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)):
        link = pair(user)
    assert api_client.post(VERIFY, link).status_code == 204


# --- resend -----------------------------------------------------------------------------


def test_resend_mails_a_new_link_and_is_throttled_per_account(django_capture_on_commit_callbacks):
    user = UserFactory(email="ani@example.com")
    client = bearer_client(user)
    allowed = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["email_verify_resend"].split("/")[0])
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(allowed):
            response = client.post(RESEND)
            assert (response.status_code, response.json()) == (
                202,
                {"detail": "A new verification link is on its way to your e-mail address."},
            )
        refused = client.post(RESEND)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert [m.to for m in mail.outbox] == [["ani@example.com"]] * allowed
    link = link_of(mail.outbox[-1])
    assert APIClient().post(VERIFY, {"uid": link["uid"], "token": link["token"]}).status_code == 204
    # Another account has its own budget.
    assert bearer_client(UserFactory()).post(RESEND).status_code == 202


def test_resend_for_a_verified_address_is_409_and_costs_nothing():
    user = UserFactory(email_verified_at=timezone.now())
    client = bearer_client(user)
    for _ in range(5):
        response = client.post(RESEND)
        assert (response.status_code, response.json()["code"]) == (409, "email_already_verified")
    assert mail.outbox == []


def test_resend_needs_a_user(api_client):
    assert api_client.post(RESEND).status_code == 401


# --- checkout ---------------------------------------------------------------------------


def test_checkout_with_require_verified_email_refuses_an_unverified_address(settings):
    settings.REQUIRE_VERIFIED_EMAIL = True
    user = UserFactory()
    client = bearer_client(user)
    product = ProductFactory(slug="nasi", stock=5)
    assert client.post("/api/v1/cart/items/", {"product": "nasi", "quantity": 2}).status_code == 201

    refused = client.post(ORDERS, {})
    assert refused.status_code == 403
    assert refused.json()["code"] == "email_not_verified"
    assert Order.objects.count() == 0
    product.refresh_from_db()
    assert product.stock == 5
    assert client.get("/api/v1/cart/").json()["item_count"] == 2

    User.objects.filter(pk=user.pk).update(email_verified_at=timezone.now())
    assert client.post(ORDERS, {}).status_code == 201


def test_checkout_without_the_setting_does_not_ask(settings):
    assert settings.REQUIRE_VERIFIED_EMAIL is False  # the default: the walkthrough stays one step
    client = bearer_client(UserFactory())
    ProductFactory(slug="nasi", stock=5)
    client.post("/api/v1/cart/items/", {"product": "nasi", "quantity": 1})
    assert client.post(ORDERS, {}).status_code == 201


def test_staff_see_who_verified_in_the_admin(admin_client_staff):
    UserFactory(email="yes@example.com", email_verified_at=timezone.now())
    UserFactory(email="no@example.com")
    unverified = admin_client_staff.get("/admin/accounts/user/?email_verified_at__isempty=1")
    assert unverified.status_code == 200
    page = unverified.content.decode()
    assert "no@example.com" in page
    assert "yes@example.com" not in page


def admin_change(client, user, **fields):
    data = {
        "email": user.email,
        "name": user.name,
        "phone": user.phone,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
        **fields,
    }
    return client.post(f"/admin/accounts/user/{user.pk}/change/", data)


def test_a_new_address_set_in_the_admin_is_not_verified(admin_client_staff):
    user = UserFactory(email="old@example.com", email_verified_at=timezone.now())
    assert admin_change(admin_client_staff, user, email="new@example.com").status_code == 302
    user.refresh_from_db()
    assert (user.email, user.email_verified_at) == ("new@example.com", None)


def test_other_admin_changes_keep_the_verification(admin_client_staff):
    verified_at = timezone.now()
    user = UserFactory(email="same@example.com", email_verified_at=verified_at)
    assert admin_change(admin_client_staff, user, name="Renamed").status_code == 302
    user.refresh_from_db()
    assert (user.name, user.email_verified_at) == ("Renamed", verified_at)
