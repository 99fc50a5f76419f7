"""Refresh-token rotation: each refresh token is exchanged at most once, and a second use of
one that was already exchanged is taken as theft (every refresh token of the user dies)."""

import threading
from collections import Counter

import pytest
from django.db import connections
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.tests.factories import PASSWORD, UserFactory

REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"


def refresh(raw: str) -> tuple[int, dict]:
    response = APIClient().post(REFRESH, {"refresh": raw})
    return response.status_code, response.json()


def live_tokens(user) -> int:
    return OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count()


@pytest.mark.django_db
def test_a_refresh_token_is_exchanged_once_and_the_new_one_works():
    user = UserFactory()
    first = str(RefreshToken.for_user(user))
    status, body = refresh(first)
    assert status == 200
    assert set(body) == {"access", "refresh"}
    assert live_tokens(user) == 1
    status, again = refresh(body["refresh"])
    assert status == 200
    assert again["refresh"] != body["refresh"]
    assert live_tokens(user) == 1


@pytest.mark.django_db
def test_reusing_a_rotated_token_revokes_every_refresh_token_of_the_user():
    user = UserFactory()
    other_device = str(RefreshToken.for_user(user))
    stolen = str(RefreshToken.for_user(user))
    _, rotated = refresh(stolen)
    bystander = UserFactory()
    bystander_token = str(RefreshToken.for_user(bystander))

    status, body = refresh(stolen)  # the thief (or the victim) comes back with the old token

    assert status == 401
    assert body["code"] == "token_not_valid"
    assert live_tokens(user) == 0
    assert refresh(rotated["refresh"])[0] == 401
    assert refresh(other_device)[0] == 401
    assert refresh(bystander_token)[0] == 200  # nobody else is touched


@pytest.mark.django_db
def test_a_logged_out_token_is_refused_without_revoking_the_other_sessions(api_client):
    user = UserFactory()
    phone = str(RefreshToken.for_user(user))
    laptop = RefreshToken.for_user(user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop.access_token}")
    assert api_client.post(LOGOUT, {"refresh": str(laptop)}).status_code == 204

    assert refresh(str(laptop))[0] == 401
    assert refresh(phone)[0] == 200  # logging out is not theft


@pytest.mark.django_db
def test_after_a_password_change_old_tokens_do_not_revoke_the_new_session(api_client):
    user = UserFactory()
    old = str(RefreshToken.for_user(user))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    response = api_client.post(
        "/api/v1/auth/password/", {"old_password": PASSWORD, "new_password": "another-Passw0rd-77"}
    )
    assert response.status_code == 200
    assert refresh(old)[0] == 401
    assert refresh(response.json()["refresh"])[0] == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw",
    ["garbage", "", "a" * 5000],
    ids=["garbage", "empty", "long"],
)
def test_bad_refresh_input_changes_nothing(raw):
    user = UserFactory()
    RefreshToken.for_user(user)
    status, _ = refresh(raw)
    assert status in (400, 401)
    assert live_tokens(user) == 1
    assert BlacklistedToken.objects.count() == 0


@pytest.mark.django_db
def test_an_access_token_is_not_a_refresh_token():
    user = UserFactory()
    status, body = refresh(str(RefreshToken.for_user(user).access_token))
    assert status == 401
    assert body["code"] == "token_not_valid"
    assert live_tokens(user) == 1


@pytest.mark.django_db
def test_a_deactivated_user_cannot_refresh():
    user = UserFactory()
    raw = str(RefreshToken.for_user(user))
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert refresh(raw)[0] == 401
    assert live_tokens(user) == 1


@pytest.mark.django_db
def test_service_returns_a_new_outstanding_token():
    user = UserFactory()
    raw = str(RefreshToken.for_user(user))
    new = services.token_refresh_rotate(refresh=raw)
    assert OutstandingToken.objects.filter(user=user, jti=new["jti"]).exists()
    with pytest.raises(services.RefreshTokenReused):
        services.token_refresh_rotate(refresh=raw)
    assert live_tokens(user) == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_let_exactly_one_through():
    user = UserFactory()
    raw = str(RefreshToken.for_user(user))
    attempts = 8
    barrier = threading.Barrier(attempts)
    results: list[object] = [None] * attempts

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = refresh(raw)
        except Exception as exc:  # collected and asserted on below
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)

    assert Counter(status for status, _ in results) == {200: 1, 401: attempts - 1}
    winner = next(body for status, body in results if status == 200)
    # One new token was issued; the losers' reuse then revoked it with every other one.
    assert OutstandingToken.objects.filter(user=user).count() == 2
    assert live_tokens(user) == 0
    assert refresh(winner["refresh"])[0] == 401
