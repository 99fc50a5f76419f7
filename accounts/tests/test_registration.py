"""Registration without account enumeration, throttled per client address; names and
phones as one line of plain text (issue 24, items 5 and 7)."""

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import User
from accounts.tests.factories import UserFactory
from conftest import bearer_client

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
ME = "/api/v1/auth/me/"
NEW_PASSWORD = "a-long-Passphrase-9"


def register(client, email, name="Ani", password=NEW_PASSWORD, **extra):
    return client.post(REGISTER, {"email": email, "password": password, "name": name}, **extra)


# --- a taken address is answered exactly as a free one ----------------------------------


def test_a_taken_address_gets_the_answer_of_a_free_one_changes_nothing_and_tells_the_owner(
    api_client, django_capture_on_commit_callbacks
):
    """Issue 24 item 5: `POST /api/v1/auth/register/ {"email": "<registered>", ...}` answered
    400 {"email": ["An account with this email already exists."]}: anyone could tell who
    has an account. Now the status and body are those of a new account, built from the
    request alone; the owner gets an e-mail."""
    owner = UserFactory(email="siti@example.com", name="Siti Rahma")
    password_before = owner.password

    with django_capture_on_commit_callbacks(execute=True):
        fresh = register(api_client, "Ani@Example.com", name="Ani")
        taken = register(api_client, "SITI@example.com", name="Ani")

    assert (fresh.status_code, taken.status_code) == (201, 201)
    assert fresh.json() == {"email": "ani@example.com", "name": "Ani"}
    assert taken.json() == {"email": "siti@example.com", "name": "Ani"}
    assert fresh.headers.get("Content-Type") == taken.headers.get("Content-Type")
    # Nothing about the owner's account changed; no second account.
    assert User.objects.filter(email="siti@example.com").count() == 1
    owner.refresh_from_db()
    assert (owner.name, owner.password) == ("Siti Rahma", password_before)
    # The new account gets its verification link; the owner of the taken address a notice.
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["ani@example.com"], "Foodies: confirm your e-mail address"),
        (["siti@example.com"], "Foodies: someone tried to register with your e-mail address"),
    ]
    notice = mail.outbox[1]
    assert notice.to == ["siti@example.com"]
    assert notice.subject == "Foodies: someone tried to register with your e-mail address"
    assert "Hello Siti Rahma," in notice.body
    assert "nothing was changed" in notice.body


def test_the_owner_is_told_at_most_once_an_hour(api_client, django_capture_on_commit_callbacks):
    UserFactory(email="siti@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert register(api_client, "siti@example.com").status_code == 201
    assert [m.to for m in mail.outbox] == [["siti@example.com"]]


def test_a_taken_address_still_gets_the_password_rules_of_a_free_one(api_client):
    """A weak password is a 400 whether or not the address is taken: the rules run first."""
    UserFactory(email="siti@example.com")
    taken = register(api_client, "siti@example.com", password="12345678")
    fresh = register(api_client, "ani@example.com", password="12345678")
    assert (taken.status_code, fresh.status_code) == (400, 400)
    assert taken.json() == fresh.json()
    assert mail.outbox == []


def test_a_taken_address_costs_a_password_hash_like_a_free_one(api_client, monkeypatch):
    """No timing difference to read the answer from: both answers hash the password once."""
    calls = []
    real = services.make_password
    monkeypatch.setattr(services, "make_password", lambda password: calls.append("taken") or real(password))
    UserFactory(email="siti@example.com")
    register(api_client, "siti@example.com")
    assert calls == ["taken"]


def test_the_notice_for_a_deleted_account_is_not_sent():
    assert services.registration_notice_send(user_id=987654) is False
    assert mail.outbox == []


# --- throttle per client address --------------------------------------------------------


def test_registration_is_throttled_per_client_address(api_client):
    """Issue 24 item 5: 40 accounts in 10 s from one address. THROTTLE_REGISTER (10/hour)."""
    allowed = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["register"].split("/")[0])
    for n in range(allowed):
        assert register(api_client, f"bot{n}@example.com").status_code == 201
    refused = register(api_client, "one-more@example.com")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert not User.objects.filter(email="one-more@example.com").exists()
    assert User.objects.count() == allowed
    # Another address is not affected.
    other = register(api_client, "elsewhere@example.com", REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 201


def test_refused_input_does_not_cost_registration_budget(api_client):
    allowed = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["register"].split("/")[0])
    for _ in range(allowed + 2):
        assert register(api_client, "ani@example.com", password="123").status_code == 400
    assert register(api_client, "ani@example.com").status_code == 201


def test_taken_addresses_cost_budget_too(api_client):
    """Otherwise probing taken addresses would be free while creating accounts is not."""
    UserFactory(email="siti@example.com")
    allowed = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["register"].split("/")[0])
    for _ in range(allowed):
        assert register(api_client, "siti@example.com").status_code == 201
    assert register(api_client, "ani@example.com").status_code == 429
    assert not User.objects.filter(email="ani@example.com").exists()


# --- names and phones: one line of plain text -------------------------------------------

REFUSED_TEXT = [
    pytest.param("Ani\x07", id="BEL"),
    pytest.param("Ani \u202eeslaf", id="right-to-left-override"),
    pytest.param("Ani\u200b", id="zero-width-space"),
    pytest.param("Ani\x1b[31m", id="escape-sequence"),
]


@pytest.mark.parametrize("name", REFUSED_TEXT)
def test_registration_refuses_control_characters_in_the_name_and_creates_nothing(api_client, name):
    """Issue 24 item 7: names took BEL and U+202E, which then reached the receipt e-mail."""
    response = register(api_client, "ani@example.com", name=name)
    assert response.status_code == 400
    assert response.json() == {"name": ["Use plain text without control characters."]}
    assert User.objects.count() == 0


def test_registration_refuses_a_lone_surrogate_in_the_name(api_client):
    """JSON may carry half a UTF-16 pair ("\\ud800"), which no database encoding takes (DRF's
    text fields refuse it first; config.text refuses it too, for the admin's forms)."""
    body = '{"email": "ani@example.com", "password": "a-long-Passphrase-9", "name": "Ani\\ud800"}'
    response = api_client.post(REGISTER, body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"name"}
    assert User.objects.count() == 0


def test_registration_puts_a_name_on_one_line(api_client):
    """Issue 24 item 7: `"name": "Ani\\n\\nDear customer, your order was refunded..."` wrote
    paragraphs into the receipt e-mail. Every whitespace run is one space."""
    response = register(api_client, "ani@example.com", name="Ani\n\nDear customer,\r\n\tpay\u2028here")
    assert response.status_code == 201
    assert response.json()["name"] == "Ani Dear customer, pay here"
    assert User.objects.get().name == "Ani Dear customer, pay here"


@pytest.mark.parametrize("name", REFUSED_TEXT)
def test_profile_update_refuses_control_characters_in_the_name(name):
    user = UserFactory(name="Budi")
    client = bearer_client(user)
    response = client.patch(ME, {"name": name, "phone": "0811 222 333"})
    assert response.status_code == 400
    assert response.json() == {"name": ["Use plain text without control characters."]}
    user.refresh_from_db()
    assert (user.name, user.phone) == ("Budi", "+6281200000000")


def test_profile_update_puts_the_name_on_one_line():
    user = UserFactory(name="Budi")
    response = bearer_client(user).patch(ME, {"name": "Budi\nSantoso"})
    assert response.status_code == 200
    assert response.json()["name"] == "Budi Santoso"
    user.refresh_from_db()
    assert user.name == "Budi Santoso"


@pytest.mark.parametrize(
    "phone",
    ["0811\n222333", "0811 222\u202e333", "0811\x07222333", "\u0660\u0668\u0661\u0661222333"],
)
def test_profile_update_refuses_a_phone_that_is_not_one_line_of_digits(phone):
    user = UserFactory()
    response = bearer_client(user).patch(ME, {"phone": phone})
    assert (response.status_code, response.json()) == (400, {"phone": [services.PHONE_MESSAGE]})
    user.refresh_from_db()
    assert user.phone == "+6281200000000"


@pytest.mark.parametrize(
    ("phone", "error"),
    [
        ("0811\n222333", "+62811222333"),
        ("0811 222\u202e333", "Use plain text without control characters."),
        ("0811 222 333 ext. 5", services.PHONE_MESSAGE),
        ("\u0660\u0668\u0661\u0661222333", services.PHONE_MESSAGE),
        ("+62 811 222 333", "+62811222333"),
        ("+62  811\t222 333", "+62811222333"),
        ("", ""),
    ],
)
def test_check_phone_is_one_line_then_a_number(phone, error):
    """The service rule itself (the API's serializer trims the ends before it is reached):
    one line of plain text first, then a phone number, stored in E.164."""
    if error.startswith("+") or not error:
        assert services.check_phone(phone) == error
        return
    with pytest.raises(ValidationError) as caught:
        services.check_phone(phone)
    assert caught.value.message_dict == {"phone": [error]}


def test_the_admin_user_form_uses_the_same_rule(admin_client_staff):
    user = UserFactory(name="Budi")
    response = admin_client_staff.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "email": user.email,
            "name": "Budi\x07",
            "phone": "0811 222 333",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert "Use plain text without control characters." in response.content.decode()
    user.refresh_from_db()
    assert user.name == "Budi"
