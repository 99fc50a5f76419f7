"""One limiter of password guesses for the API's and the admin's login, password change and
account deletion (issue 24, item 4): per account and per client address, in the shared
cache, with a lockout that ends by itself and lets no right password in meanwhile."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core.checks import Warning
from django.utils import timezone

from accounts import login_limits
from accounts.checks import check_throttles_are_shared
from accounts.exceptions import LoginLocked
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from conftest import bearer_client

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/auth/me/"
PASSWORD_URL = "/api/v1/auth/password/"
ADMIN_LOGIN = "/admin/login/"
LOCKED_FORM_ERROR = "Too many failed attempts."


def login(client, email, password=PASSWORD, **extra):
    return client.post(TOKEN, {"email": email, "password": password}, **extra)


def admin_login(client, email, password=PASSWORD):
    return client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"})


def admin_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def assert_locked(response) -> None:
    assert response.status_code == 429
    assert response.json()["code"] == "login_locked"
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= settings.LOGIN_LOCKOUT_SECONDS


@pytest.fixture
def now():
    """A clock the test moves; the cache's expiry (locmem reads time.time()) follows it."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


# --- the API's login ------------------------------------------------------------------


def test_api_login_locks_the_account_and_a_right_password_does_not_get_in(api_client, user, now):
    """Issue 24 item 4: wrong passwords were limited only by a per-process rate; the right
    one got in after 30 wrong ones."""
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        assert login(api_client, user.email, "wrong-password").status_code == 401
    locked = login(api_client, user.email)  # the right password
    assert_locked(locked)
    assert "access" not in locked.json()
    user.refresh_from_db()
    assert user.last_login is None  # never logged in
    # From another address too: the account is locked, not the client.
    assert_locked(login(api_client, user.email.upper(), REMOTE_ADDR="10.1.2.3"))

    now.shift(dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS - 1))
    assert_locked(login(api_client, user.email))
    now.shift(dt.timedelta(seconds=2))  # the lock has ended by itself
    response = login(api_client, user.email)
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh", "access_expires_in", "refresh_expires_in"}


def test_retry_after_counts_down(api_client, user, now):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        login(api_client, user.email, "wrong-password")
    assert int(login(api_client, user.email)["Retry-After"]) == settings.LOGIN_LOCKOUT_SECONDS
    now.shift(dt.timedelta(seconds=100))
    assert int(login(api_client, user.email)["Retry-After"]) == settings.LOGIN_LOCKOUT_SECONDS - 100


def test_failures_outside_the_window_do_not_add_up(api_client, user, now):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        assert login(api_client, user.email, "wrong-password").status_code == 401
    now.shift(dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 1))
    assert login(api_client, user.email, "wrong-password").status_code == 401
    assert login(api_client, user.email).status_code == 200


def test_a_right_password_clears_the_accounts_count(api_client, user):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        assert login(api_client, user.email, "wrong-password").status_code == 401
    assert login(api_client, user.email).status_code == 200
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        assert login(api_client, user.email, "wrong-password").status_code == 401
    assert login(api_client, user.email).status_code == 200


def test_an_unknown_address_is_locked_like_a_registered_one(api_client, user):
    """The answers do not tell which e-mail addresses have an account."""
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        assert login(api_client, "nobody@example.com", "wrong-password").status_code == 401
    assert_locked(login(api_client, "nobody@example.com", "anything"))
    assert login(api_client, user.email).status_code == 200  # another account is not touched


def test_a_client_address_is_locked_after_guesses_at_many_accounts(api_client, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    victim = UserFactory()
    for n in range(3):
        assert login(api_client, f"guess{n}@example.com", "wrong", REMOTE_ADDR="10.0.0.66").status_code == 401
    # Locked from that address, even for an account it never guessed at, right password or not;
    assert_locked(login(api_client, victim.email, REMOTE_ADDR="10.0.0.66"))
    # from elsewhere, the account works.
    assert login(api_client, victim.email, REMOTE_ADDR="10.0.0.7").status_code == 200


def test_a_client_sent_forwarded_for_header_does_not_escape_the_address_lock(api_client, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 2
    for n in range(2):
        login(api_client, f"guess{n}@example.com", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert_locked(login(api_client, "guess9@example.com", "wrong", HTTP_X_FORWARDED_FOR="192.0.2.99"))


# --- the admin's login form -----------------------------------------------------------


def test_admin_login_locks_after_wrong_passwords_and_refuses_the_right_one(client, staff_user, now):
    """Issue 24 item 4: /admin/login/ took 30 wrong passwords in 7.4 s, then the right one."""
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        response = admin_login(client, staff_user.email, "wrong-password")
        assert response.status_code == 200
        assert "Please enter the correct email address and password" in response.content.decode()
    response = admin_login(client, staff_user.email)  # the right password
    assert response.status_code == 200
    assert LOCKED_FORM_ERROR in response.content.decode()
    assert "Try again in 15 minute(s)." in response.content.decode()
    assert not admin_logged_in(client)

    now.shift(dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS + 1))
    response = admin_login(client, staff_user.email)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert admin_logged_in(client)


def test_the_admin_and_the_api_share_one_count(api_client, client, staff_user):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 2):
        assert login(api_client, staff_user.email, "wrong").status_code == 401
    for _ in range(2):
        assert LOCKED_FORM_ERROR not in admin_login(client, staff_user.email, "wrong").content.decode()
    assert_locked(login(api_client, staff_user.email))
    assert LOCKED_FORM_ERROR in admin_login(client, staff_user.email).content.decode()
    assert not admin_logged_in(client)


def test_admin_login_of_a_shopper_with_the_right_password_is_no_guess(client, user):
    """A right password from someone who is not staff is refused by the form, not counted."""
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT + 1):
        response = admin_login(client, user.email)
        assert response.status_code == 200
        assert LOCKED_FORM_ERROR not in response.content.decode()
    assert not admin_logged_in(client)


# --- password re-checks ---------------------------------------------------------------


def test_password_change_is_under_the_limiter(user):
    client = bearer_client(user)
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        response = client.post(
            PASSWORD_URL, {"old_password": "wrong", "new_password": "another-Passphrase-7"}
        )
        assert response.status_code == 400
    response = client.post(PASSWORD_URL, {"old_password": PASSWORD, "new_password": "another-Passphrase-7"})
    assert_locked(response)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_account_deletion_is_under_the_limiter(user):
    client = bearer_client(user)
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        assert client.delete(ME, {"password": "wrong"}).status_code == 400
    assert_locked(client.delete(ME, {"password": PASSWORD}))
    assert User.objects.filter(pk=user.pk).exists()


def test_guesses_through_password_change_lock_the_login_too(api_client, user):
    client = bearer_client(user)
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        client.post(PASSWORD_URL, {"old_password": "wrong", "new_password": "another-Passphrase-7"})
    assert_locked(login(api_client, user.email))


# --- the limiter itself ---------------------------------------------------------------


def test_login_check_raises_with_the_seconds_left(now):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        login_limits.login_failed(email="Ani@Example.com", address="")
    with pytest.raises(LoginLocked) as caught:
        login_limits.login_check(email="ani@example.com", address="10.0.0.1")
    assert caught.value.retry_after == settings.LOGIN_LOCKOUT_SECONDS
    login_limits.login_check(email="budi@example.com", address="10.0.0.1")  # not locked


def test_the_cache_holds_no_email_address():
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    store = caches["default"]
    if not isinstance(store, LocMemCache):
        pytest.skip("reads the keys of the local-memory cache the tests run with")
    login_limits.login_failed(email="ani@example.com", address="10.0.0.1")
    keys = list(store._cache)
    assert keys
    assert not any("ani" in key or "10.0.0.1" in key for key in keys)


# --- the system check -----------------------------------------------------------------


def test_system_check_warns_about_a_per_process_cache_with_debug_off(settings):
    settings.DEBUG = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    warnings = check_throttles_are_shared(None)
    assert [(type(w), w.id) for w in warnings] == [(Warning, "accounts.W001")]


def test_system_check_is_quiet_with_a_shared_cache_or_debug(settings):
    settings.DEBUG = False
    settings.CACHES = {
        "default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    assert check_throttles_are_shared(None) == []
    settings.DEBUG = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert check_throttles_are_shared(None) == []
