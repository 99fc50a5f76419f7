"""Refresh-token rotation: each refresh token is exchanged at most once; presented again
within the grace window (two tabs) it gets the same new pair, later it is taken as theft
(every token of the user dies, access tokens included)."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import RefreshTokenRotation
from accounts.tests.factories import PASSWORD, UserFactory

REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
GRACE = timedelta(seconds=10)


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
    assert set(body) == {"access", "refresh", "access_expires_in", "refresh_expires_in"}
    assert (body["access_expires_in"], body["refresh_expires_in"]) == (15 * 60, 7 * 24 * 3600)
    assert live_tokens(user) == 1
    status, again = refresh(body["refresh"])
    assert status == 200
    assert again["refresh"] != body["refresh"]
    assert live_tokens(user) == 1


@pytest.mark.django_db
def test_reusing_a_rotated_token_after_the_grace_window_revokes_every_token_of_the_user(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    user = UserFactory()
    other_device = str(RefreshToken.for_user(user))
    stolen = str(RefreshToken.for_user(user))
    _, rotated = refresh(stolen)
    bystander = UserFactory()
    bystander_token = str(RefreshToken.for_user(bystander))
    time_machine.shift(GRACE + timedelta(seconds=1))

    status, body = refresh(stolen)  # the thief (or the victim) comes back with the old token

    assert status == 401
    assert body["code"] == "token_not_valid"
    assert live_tokens(user) == 0
    assert refresh(rotated["refresh"])[0] == 401
    assert refresh(other_device)[0] == 401
    # The access token the rotation gave out stops working too.
    response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {rotated['access']}")
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
    assert refresh(bystander_token)[0] == 200  # nobody else is touched


@pytest.mark.django_db
def test_a_second_refresh_within_the_grace_window_gets_the_same_pair(time_machine):
    """Two tabs refresh with the same token a moment apart (issue 18: the second one used
    to log out every session)."""
    time_machine.move_to(timezone.now(), tick=False)
    user = UserFactory()
    shared = str(RefreshToken.for_user(user))
    first_status, first = refresh(shared)
    time_machine.shift(GRACE - timedelta(seconds=1))

    second_status, second = refresh(shared)

    assert (first_status, second_status) == (200, 200)
    assert (second["access"], second["refresh"]) == (first["access"], first["refresh"])
    assert second["access_expires_in"] == first["access_expires_in"] - 9  # same expiry, 9 s later
    assert OutstandingToken.objects.filter(user=user).count() == 2  # one new token, not two
    assert live_tokens(user) == 1
    response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {second['access']}")
    assert response.status_code == 200
    assert refresh(second["refresh"])[0] == 200  # and the family goes on


@pytest.mark.django_db
def test_within_the_grace_window_a_logged_out_successor_is_not_handed_out_again(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    user = UserFactory()
    shared = str(RefreshToken.for_user(user))
    _, first = refresh(shared)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {first['access']}")
    assert client.post(LOGOUT, {"refresh": first["refresh"]}).status_code == 204

    status, body = refresh(shared)

    assert (status, body["code"]) == (401, "token_not_valid")
    assert BlacklistedToken.objects.filter(token__user=user).count() == 2  # nothing more revoked


@pytest.mark.django_db
def test_a_logged_out_token_is_refused_without_revoking_the_other_sessions(api_client):
    user = UserFactory()
    phone = str(RefreshToken.for_user(user))
    laptop = RefreshToken.for_user(user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop.access_token}")
    assert api_client.post(LOGOUT, {"refresh": str(laptop)}).status_code == 204

    assert refresh(str(laptop))[0] == 401
    status, body = refresh(phone)  # logging out is not theft: the phone gets a working pair
    assert status == 200
    assert APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {body['access']}").status_code == 200


@pytest.mark.django_db
def test_an_access_token_is_refused_right_after_logout(api_client):
    """Logout used to end only the refresh token: the access token worked on for up to 15
    minutes (issue 18)."""
    user = UserFactory()
    laptop = RefreshToken.for_user(user)
    phone_access = str(RefreshToken.for_user(user).access_token)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop.access_token}")
    assert api_client.get(ME).status_code == 200
    assert api_client.post(LOGOUT, {"refresh": str(laptop)}).status_code == 204

    response = api_client.get(ME)
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
    other = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {phone_access}")
    assert other.status_code == 401  # every access token of the account (the phone refreshes)


@pytest.mark.django_db
def test_after_a_password_change_old_tokens_do_not_revoke_the_new_session(api_client):
    user = UserFactory()
    old = str(RefreshToken.for_user(user))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    response = api_client.post(
        "/api/v1/auth/password/", {"old_password": PASSWORD, "new_password": "another-Passw0rd-77"}
    )
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh", "access_expires_in", "refresh_expires_in"}
    assert api_client.get(ME).status_code == 401  # the access token used for the change is over
    fresh = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert fresh.status_code == 200
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
    assert new["ver"] == 0
    assert str(services.token_refresh_rotate(refresh=raw)) == str(new)  # within the window
    RefreshTokenRotation.objects.update(rotated_at=timezone.now() - GRACE - timedelta(seconds=1))
    with pytest.raises(services.RefreshTokenReused):
        services.token_refresh_rotate(refresh=raw)
    assert live_tokens(user) == 0
    user.refresh_from_db()
    assert user.token_version == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_all_get_the_one_new_pair():
    """Tabs refreshing at once: the token is exchanged once (one new token), and every
    request gets that pair; nothing is revoked."""
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

    assert Counter(status for status, _ in results) == {200: attempts}
    assert len({(body["access"], body["refresh"]) for _, body in results}) == 1
    assert OutstandingToken.objects.filter(user=user).count() == 2
    assert live_tokens(user) == 1
    assert refresh(results[0][1]["refresh"])[0] == 200
