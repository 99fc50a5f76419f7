"""Password reset (issue 21): the same 202 for any address, the lookup and the e-mail in a
background task, throttled per client and per address; a single-use, time-limited link
(Django's PasswordResetTokenGenerator) that ends every session."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import password_reset
from accounts.exceptions import PasswordResetTokenInvalid
from accounts.links import password_reset_tokens, uid_encode
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from conftest import bearer_client

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/auth/me/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
VERIFY = "/api/v1/auth/email/verify/"
NEW = "a-new-Passphrase-42"
ACCEPTED = {"detail": "If an account has this e-mail address, a link to reset its password is on its way."}


def link_of(message) -> dict[str, str]:
    """The frontend link in a mail body, checked against PUBLIC_BASE_URL, as {uid, token};
    the pair printed below it must be the same."""
    body = message.get_content() if hasattr(message, "get_content") else message.body
    (link,) = re.findall(r"^(https?://\S+)", body, flags=re.MULTILINE)
    parts = urlsplit(link)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}" == settings.PUBLIC_BASE_URL
    assert f"uid: {query['uid']}" in body
    assert f"token: {query['token']}" in body
    return {"path": parts.path, **query}


# --- the whole story, through a real SMTP server ----------------------------------------


def test_a_new_shopper_resets_a_forgotten_password_from_the_email(transactional_db, smtp_inbox):
    """Issue 21's "done when": registered, logged in on two devices, forgot the password;
    the link in the e-mail (read from a real SMTP server) sets a new one; the old sessions
    die, the link works once. An unknown address gets the same 202 and no mail. Real
    commits (transactional_db), so the background tasks run as they do without a broker."""
    client = APIClient()
    email = "ani@example.com"
    assert client.post(REGISTER, {"email": email, "password": PASSWORD, "name": "Ani"}).status_code == 201
    welcome = smtp_inbox.to(email)
    assert [m["Subject"] for m in welcome] == ["Foodies: confirm your e-mail address"]
    phone_session = client.post(TOKEN, {"email": email, "password": PASSWORD}).json()
    laptop_session = client.post(TOKEN, {"email": email, "password": PASSWORD}).json()

    reset = client.post(RESET, {"email": "ANI@example.com"})
    unknown = client.post(RESET, {"email": "nobody@example.com"})

    assert (reset.status_code, reset.json()) == (202, ACCEPTED)
    assert (unknown.status_code, unknown.content) == (202, reset.content)
    assert [rcpt for rcpt, _ in smtp_inbox.messages] == [[email], [email]]  # nothing to nobody@
    message = smtp_inbox.to(email)[1]
    assert message["Subject"] == "Foodies: reset your password"
    assert message["To"] == email
    link = link_of(message)
    assert link["path"] == "/reset-password"

    done = client.post(CONFIRM, {"uid": link["uid"], "token": link["token"], "new_password": NEW})
    assert (done.status_code, done.content) == (204, b"")

    # Every session is over: refresh tokens refused, access tokens too.
    for session in (phone_session, laptop_session):
        assert client.post(REFRESH, {"refresh": session["refresh"]}).status_code == 401
        assert client.get(ME, HTTP_AUTHORIZATION=f"Bearer {session['access']}").status_code == 401
    # The link works once.
    again = client.post(
        CONFIRM, {"uid": link["uid"], "token": link["token"], "new_password": "other-Passphrase-77"}
    )
    assert again.status_code == 400
    assert again.json()["code"] == "password_reset_token_invalid"
    # The new password is the password; the old one is not.
    assert client.post(TOKEN, {"email": email, "password": PASSWORD}).status_code == 401
    fresh = client.post(TOKEN, {"email": email, "password": NEW})
    assert fresh.status_code == 200
    me = client.get(ME, HTTP_AUTHORIZATION=f"Bearer {fresh.json()['access']}").json()
    # The link came by e-mail, so the address is proven too.
    assert me["email_verified"] is True
    assert len(smtp_inbox.messages) == 2


# --- the request: no account enumeration -------------------------------------------------


def test_the_request_answers_the_same_for_every_address(api_client, django_capture_on_commit_callbacks):
    UserFactory(email="siti@example.com")
    UserFactory(email="off@example.com", is_active=False)
    answers = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for email in ("siti@example.com", "nobody@example.com", "off@example.com"):
            response = api_client.post(RESET, {"email": email})
            answers.append((response.status_code, response.json(), response.headers.get("Content-Type")))
    assert answers == [(202, ACCEPTED, "application/json")] * 3
    # Every answer started the same background work; only the active account got mail.
    assert len(callbacks) == 3
    assert [m.to for m in mail.outbox] == [["siti@example.com"]]


def test_the_answer_speaks_the_callers_language(api_client):
    """The 202's detail is a message like any other: Indonesian for `Accept-Language: id`,
    the same words whether or not the address has an account."""
    UserFactory(email="siti@example.com")
    for email in ("siti@example.com", "nobody@example.com"):
        response = api_client.post(RESET, {"email": email}, HTTP_ACCEPT_LANGUAGE="id")
        assert response.status_code == 202
        assert response.headers["Content-Language"] == "id"
        assert response.json() == {
            "detail": "Jika ada akun dengan alamat e-mail ini, tautan untuk mengatur ulang kata sandinya sedang dikirim."
        }


def test_the_request_does_no_lookup_in_the_request(api_client, django_assert_num_queries):
    """The lookup is the task's (after commit): the request itself reads no account."""
    UserFactory(email="siti@example.com")
    for email in ("siti@example.com", "nobody@example.com"):
        with django_assert_num_queries(0):
            assert api_client.post(RESET, {"email": email}).status_code == 202


def test_an_account_without_a_usable_password_gets_no_link():
    user = UserFactory(email="sso@example.com")
    user.set_unusable_password()
    user.save()
    assert password_reset.password_reset_send(email="sso@example.com") is False
    assert mail.outbox == []


@pytest.mark.parametrize("body", [{}, {"email": "not-an-address"}, {"email": ["a@b.c"]}, {"email": ""}])
def test_a_malformed_request_is_400_and_sends_nothing(api_client, body):
    response = api_client.post(RESET, body)
    assert response.status_code == 400
    assert set(response.json()) == {"email"}
    assert mail.outbox == []


# --- throttles ------------------------------------------------------------------------


def rate(scope: str) -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")[0])


def test_requests_are_throttled_per_address_from_any_client(api_client, django_capture_on_commit_callbacks):
    UserFactory(email="siti@example.com")
    allowed = rate("password_reset_email")
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(allowed):
            response = api_client.post(RESET, {"email": "Siti@Example.com"}, REMOTE_ADDR=f"10.0.0.{n + 1}")
            assert response.status_code == 202
    refused = api_client.post(RESET, {"email": "siti@example.com"}, REMOTE_ADDR="10.0.1.1")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert len(mail.outbox) == allowed
    # An address without an account is throttled alike (the 429 says nothing either).
    for _ in range(allowed):
        assert api_client.post(RESET, {"email": "nobody@example.com"}).status_code == 202
    assert api_client.post(RESET, {"email": "nobody@example.com"}).status_code == 429
    # Another address is not affected.
    assert api_client.post(RESET, {"email": "else@example.com"}, REMOTE_ADDR="10.0.2.1").status_code == 202


def test_requests_are_throttled_per_client(api_client):
    allowed = rate("password_reset")
    for n in range(allowed):
        assert api_client.post(RESET, {"email": f"n{n}@example.com"}).status_code == 202
    refused = api_client.post(RESET, {"email": "one-more@example.com"})
    assert refused.status_code == 429
    assert (
        api_client.post(RESET, {"email": "one-more@example.com"}, REMOTE_ADDR="10.9.8.7").status_code == 202
    )


def test_malformed_requests_cost_no_budget(api_client):
    for _ in range(rate("password_reset") + 2):
        assert api_client.post(RESET, {"email": "nope"}).status_code == 400
    assert api_client.post(RESET, {"email": "ani@example.com"}).status_code == 202


# --- the confirmation ----------------------------------------------------------------


def pair(user: User) -> dict[str, str]:
    return {"uid": uid_encode(user), "token": password_reset_tokens.make_token(user)}


def test_a_weak_password_is_refused_and_the_link_stays_good(api_client):
    user = UserFactory()
    link = pair(user)
    weak = api_client.post(CONFIRM, {**link, "new_password": "12345678"})
    assert weak.status_code == 400
    assert set(weak.json()) == {"new_password"}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert api_client.post(CONFIRM, {**link, "new_password": NEW}).status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW)


def test_the_link_expires_after_password_reset_timeout(api_client):
    user = UserFactory()
    with time_machine.travel(timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 5)):
        link = pair(user)
    response = api_client.post(CONFIRM, {**link, "new_password": NEW})
    assert (response.status_code, response.json()["code"]) == (400, "password_reset_token_invalid")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p, other: {**p, "uid": uid_encode(other)}, id="another-account"),
        pytest.param(
            lambda p, other: {**p, "token": p["token"][:-1] + ("1" if p["token"][-1] == "0" else "0")},
            id="altered-token",
        ),
        pytest.param(lambda p, other: {**p, "uid": "!!!"}, id="not-base64"),
        pytest.param(lambda p, other: {**p, "uid": "YWJj"}, id="not-a-number"),
        pytest.param(lambda p, other: {**p, "uid": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5"}, id="past-bigint"),
        pytest.param(lambda p, other: {**p, "token": "no-dash-here-x"}, id="malformed-token"),
    ],
)
def test_a_bad_link_is_a_clear_400_and_changes_nothing(api_client, tamper):
    user, other = UserFactory(), UserFactory()
    session = bearer_client(user)
    body = {**tamper(pair(user), other), "new_password": NEW}
    response = api_client.post(CONFIRM, body)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "This password reset link is invalid, expired or already used: ask for a new one.",
        "code": "password_reset_token_invalid",
    }
    for account in (user, other):
        account.refresh_from_db()
        assert account.check_password(PASSWORD)
    assert session.get(ME).status_code == 200


def test_an_inactive_account_cannot_be_reset(api_client):
    user = UserFactory()
    link = pair(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert api_client.post(CONFIRM, {**link, "new_password": NEW}).status_code == 400


def test_a_link_of_an_old_password_dies_with_a_password_change(api_client):
    """The token covers the password hash: changing it any way ends older links."""
    user = UserFactory()
    link = pair(user)
    bearer_client(user).post("/api/v1/auth/password/", {"old_password": PASSWORD, "new_password": NEW})
    response = api_client.post(CONFIRM, {**link, "new_password": "third-Passphrase-3"})
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(NEW)


@pytest.mark.parametrize("body", [{}, {"uid": "x", "token": "y"}, {"uid": 1, "token": 2, "new_password": 3}])
def test_a_malformed_confirmation_is_400(api_client, body):
    response = api_client.post(CONFIRM, body)
    assert response.status_code == 400


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_link_used_at_once_sets_one_password():
    """Two clicks (or a replayed request) at the same moment: the account row lock makes the
    second wait, then find the password changed, which the token covers; one password wins."""
    from conftest import run_at_once

    user = UserFactory()
    link = pair(user)
    passwords = [f"racing-Passphrase-{n}" for n in range(4)]

    def confirm(new: str):
        def attempt():
            try:
                password_reset.password_reset_confirm(**link, new_password=new)
            except PasswordResetTokenInvalid:
                return "refused"
            return new

        return attempt

    results = run_at_once([confirm(p) for p in passwords])
    winners = [r for r in results if r != "refused"]
    assert len(winners) == 1, results
    assert results.count("refused") == 3
    user.refresh_from_db()
    assert user.check_password(winners[0])
    assert user.token_version == 1  # one reset, one version step


def test_a_reset_ends_the_accounts_login_lock(api_client):
    """Locked out by wrong guesses (their own or someone's), the owner resets from the e-mail
    and logs in with the new password at once, not LOGIN_LOCKOUT_SECONDS later."""
    user = UserFactory(email="siti@example.com")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        api_client.post(TOKEN, {"email": user.email, "password": "wrong"}, REMOTE_ADDR="10.6.6.6")
    assert api_client.post(TOKEN, {"email": user.email, "password": PASSWORD}).status_code == 429

    assert api_client.post(CONFIRM, {**pair(user), "new_password": NEW}).status_code == 204

    assert api_client.post(TOKEN, {"email": user.email, "password": NEW}).status_code == 200


def test_a_refused_reset_leaves_the_lock(api_client):
    user = UserFactory(email="siti@example.com")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        api_client.post(TOKEN, {"email": user.email, "password": "wrong"})
    assert api_client.post(CONFIRM, {**pair(user), "new_password": "1234"}).status_code == 400
    assert api_client.post(TOKEN, {"email": user.email, "password": PASSWORD}).status_code == 429
