from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from conftest import bearer_client

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
PASSWORD_URL = "/api/v1/auth/password/"


def login(client, email, password=PASSWORD):
    return client.post(TOKEN, {"email": email, "password": password})


# --- registration ---------------------------------------------------------------------


def test_register_creates_a_shopper_and_returns_its_public_fields(api_client):
    response = api_client.post(
        REGISTER, {"email": "Alice@Example.COM", "password": "a-long-Passphrase-9", "name": "Alice"}
    )
    assert response.status_code == 201
    user = User.objects.get()
    assert response.json() == {"email": "alice@example.com", "name": "Alice"}
    assert (user.email, user.name) == ("alice@example.com", "Alice")
    assert user.check_password("a-long-Passphrase-9")
    assert not user.is_staff
    assert not user.is_superuser


def test_register_cannot_make_staff(api_client):
    response = api_client.post(
        REGISTER,
        {
            "email": "eve@example.com",
            "password": "a-long-Passphrase-9",
            "is_staff": True,
            "is_superuser": True,
        },
    )
    assert response.status_code == 201
    user = User.objects.get(email="eve@example.com")
    assert (user.is_staff, user.is_superuser) == (False, False)


def test_register_rejects_weak_password_with_field_error_and_creates_nothing(api_client):
    response = api_client.post(REGISTER, {"email": "bob@example.com", "password": "12345678"})
    assert response.status_code == 400
    assert set(response.json()) == {"password"}
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "not-an-email", "password": "a-long-Passphrase-9"}, {"email": "x@example.com"}, []],
)
def test_register_bad_input_is_400(api_client, body):
    response = api_client.post(REGISTER, body, format="json")
    assert response.status_code == 400
    assert User.objects.count() == 0


def test_database_refuses_mixed_case_email_even_past_the_model():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="Mixed@Example.com")])


# --- login, refresh, logout ------------------------------------------------------------


def test_login_is_case_insensitive_and_returns_a_token_pair(api_client):
    UserFactory(email="alice@example.com")
    response = login(api_client, "Alice@EXAMPLE.com")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "access_expires_in", "refresh_expires_in"}
    assert body["access_expires_in"] in (15 * 60, 15 * 60 - 1)  # a second may pass in between
    assert body["refresh_expires_in"] in (7 * 24 * 3600, 7 * 24 * 3600 - 1)
    me = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert me.json()["email"] == "alice@example.com"


def test_login_with_wrong_password_is_401(api_client, user):
    response = login(api_client, user.email, "wrong-password")
    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_login_is_throttled_per_client_with_retry_after(api_client, user):
    # Attempts at several accounts: the limiter's per-account lock (accounts.login_limits)
    # would stop guesses at one account first.
    allowed = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    for n in range(allowed):
        assert login(api_client, f"nobody{n}@example.com", "wrong-password").status_code == 401
    response = login(api_client, user.email)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_refresh_rotates_and_the_old_refresh_token_is_dead(api_client, user, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    pair = login(api_client, user.email).json()
    rotated = api_client.post(REFRESH, {"refresh": pair["refresh"]})
    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh", "access_expires_in", "refresh_expires_in"}
    assert rotated.json()["refresh"] != pair["refresh"]
    assert api_client.post(REFRESH, {"refresh": rotated.json()["refresh"]}).status_code == 200
    time_machine.shift(timedelta(seconds=11))  # past the grace window for a second tab
    again = api_client.post(REFRESH, {"refresh": pair["refresh"]})
    assert again.status_code == 401
    assert again.json()["code"] == "token_not_valid"


def test_logout_blacklists_the_refresh_token(api_client, user):
    pair = login(api_client, user.email).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api_client.post(LOGOUT, {"refresh": pair["refresh"]}).status_code == 204
    assert api_client.post(REFRESH, {"refresh": pair["refresh"]}).status_code == 401
    # The access token ended with the logout.
    assert api_client.post(LOGOUT, {"refresh": pair["refresh"]}).status_code == 401


def test_logout_refuses_someone_elses_token(auth_client):
    other = UserFactory()
    their_refresh = str(RefreshToken.for_user(other))
    response = auth_client.post(LOGOUT, {"refresh": their_refresh})
    assert response.status_code == 400
    assert auth_client.post(REFRESH, {"refresh": their_refresh}).status_code == 200


@pytest.mark.parametrize("body", [{}, {"refresh": "garbage"}])
def test_logout_bad_input_is_400(auth_client, body):
    assert auth_client.post(LOGOUT, body).status_code == 400


def test_logout_needs_a_user(api_client):
    assert api_client.post(LOGOUT, {"refresh": "x"}).status_code == 401


# --- profile ---------------------------------------------------------------------------


def test_me_shows_the_profile(auth_client, user):
    response = auth_client.get(ME)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": user.id,
        "email": user.email,
        "email_verified": False,
        "name": user.name,
        "phone": "+6281200000000",
        "language": "",
        "date_joined": body["date_joined"],
    }
    # ISO 8601 in the shop's time zone, with its offset.
    assert datetime.fromisoformat(body["date_joined"]) == user.date_joined
    assert body["date_joined"].endswith("+07:00")


def test_me_patch_changes_name_and_phone_only(auth_client, user):
    response = auth_client.patch(
        ME, {"name": "New Name", "phone": "+62 811-222-333", "email": "hacker@example.com", "is_staff": True}
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.name, user.phone, user.is_staff) == ("New Name", "+62811222333", False)
    assert response.json()["phone"] == "+62811222333"
    assert user.email != "hacker@example.com"
    assert response.json()["email"] == user.email


def test_me_patch_sets_the_language_and_refuses_an_unknown_one(auth_client, user):
    response = auth_client.patch(ME, {"language": "id"})
    assert response.status_code == 200
    assert response.json()["language"] == "id"
    user.refresh_from_db()
    assert user.language == "id"

    response = auth_client.patch(ME, {"language": "fr"})
    assert response.status_code == 400
    assert set(response.json()) == {"language"}
    user.refresh_from_db()
    assert user.language == "id"


def test_me_patch_rejects_a_bad_phone(auth_client, user):
    response = auth_client.patch(ME, {"phone": "call me maybe"})
    assert response.status_code == 400
    assert set(response.json()) == {"phone"}
    user.refresh_from_db()
    assert user.phone == "+6281200000000"


# --- password change -------------------------------------------------------------------


def test_password_change_requires_the_old_password(auth_client, user):
    response = auth_client.post(
        PASSWORD_URL, {"old_password": "nope", "new_password": "another-Passphrase-7"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"old_password"}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_validates_the_new_password(auth_client, user):
    response = auth_client.post(PASSWORD_URL, {"old_password": PASSWORD, "new_password": "123"})
    assert response.status_code == 400
    assert set(response.json()) == {"new_password"}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_logs_out_other_sessions_and_returns_a_fresh_pair(api_client, user):
    old_pair = login(api_client, user.email).json()
    client = bearer_client(user)
    response = client.post(PASSWORD_URL, {"old_password": PASSWORD, "new_password": "another-Passphrase-7"})
    assert response.status_code == 200
    assert api_client.post(REFRESH, {"refresh": old_pair["refresh"]}).status_code == 401
    assert api_client.post(REFRESH, {"refresh": response.json()["refresh"]}).status_code == 200
    assert login(api_client, user.email).status_code == 401
    assert login(api_client, user.email, "another-Passphrase-7").status_code == 200


# --- account deletion ------------------------------------------------------------------


def test_delete_account_requires_the_password(auth_client, user):
    response = auth_client.delete(ME, {"password": "wrong"})
    assert response.status_code == 400
    assert set(response.json()) == {"password"}
    assert User.objects.filter(pk=user.pk).exists()
    assert auth_client.delete(ME, {}).status_code == 400
    assert User.objects.filter(pk=user.pk).exists()


def test_delete_account_kills_tokens_and_frees_the_email(api_client, user):
    pair = login(api_client, user.email).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api_client.delete(ME, {"password": PASSWORD}).status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()

    assert api_client.get(ME).status_code == 401
    api_client.credentials()
    assert api_client.post(REFRESH, {"refresh": pair["refresh"]}).status_code == 401
    again = api_client.post(REGISTER, {"email": user.email.upper(), "password": "a-long-Passphrase-9"})
    assert again.status_code == 201
    assert User.objects.get(email=user.email).pk != user.pk


# --- createsuperuser -------------------------------------------------------------------


def test_createsuperuser_noinput_from_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Boss@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "boss-Passphrase-1")
    call_command("createsuperuser", "--noinput", verbosity=0)
    boss = User.objects.get()
    assert (boss.email, boss.is_staff, boss.is_superuser) == ("boss@example.com", True, True)
    assert boss.check_password("boss-Passphrase-1")
