"""Phone numbers in E.164 through `phonenumbers` (issue 21): the local forms shoppers type
are read as Indonesian numbers; anything that is not a valid number is a clear 400."""

import importlib

import pytest
from django.apps import apps

from accounts.phones import PHONE_MESSAGE, phone_normalize
from accounts.tests.factories import UserFactory
from conftest import bearer_client

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0812-3456-789", "+628123456789"),
        ("08123456789", "+628123456789"),
        ("628123456789", "+628123456789"),
        ("62 812-3456-7890", "+6281234567890"),
        ("+62 812 3456 789", "+628123456789"),
        ("+6281234567890", "+6281234567890"),
        ("021 555 1234", "+62215551234"),  # a Jakarta landline
        ("+1 202 555 0143", "+12025550143"),  # a foreign number with its country code
    ],
)
def test_the_profile_stores_what_shoppers_type_in_e164(typed, stored):
    user = UserFactory()
    response = bearer_client(user).patch(ME, {"phone": typed})
    assert (response.status_code, response.json()["phone"]) == (200, stored)
    user.refresh_from_db()
    assert user.phone == stored


@pytest.mark.parametrize(
    "typed",
    [
        "0811",  # too short for any number
        "0000 1111 2222",  # digits, but no such prefix
        "0812 3456 7890 1234",  # too long
        "+999 812 3456 789",  # no such country
        "0800-FLOWERS",  # letters the parser would read as digits
    ],
)
def test_a_phone_that_is_no_number_is_a_clear_400_and_changes_nothing(typed):
    user = UserFactory()
    response = bearer_client(user).patch(ME, {"phone": typed, "name": "Changed"})
    assert (response.status_code, response.json()) == (400, {"phone": [PHONE_MESSAGE]})
    user.refresh_from_db()
    assert (user.phone, user.name) == ("+6281200000000", user.name)
    assert user.name != "Changed"


def test_an_empty_phone_clears_it():
    user = UserFactory()
    assert bearer_client(user).patch(ME, {"phone": ""}).json()["phone"] == ""
    user.refresh_from_db()
    assert user.phone == ""


def test_the_admin_stores_e164_too(admin_client_staff):
    user = UserFactory(name="Budi")
    response = admin_client_staff.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "email": user.email,
            "name": "Budi",
            "phone": "0812-3456-789",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.phone == "+628123456789"


def test_the_data_migration_normalises_what_parses_and_leaves_the_rest():
    """accounts/migrations/0005_phone_e164.py, run on rows written before it (bypassing
    the services, as the old code's values were)."""
    migration = importlib.import_module("accounts.migrations.0005_phone_e164")
    parseable = UserFactory(phone="0812-3456-789")
    with_plus = UserFactory(phone="+62 811 222 333")
    already = UserFactory(phone="+6281200000000")
    garbage = UserFactory(phone="12345")
    empty = UserFactory(phone="")

    migration.phones_to_e164(apps, None)

    phones = {u.pk: u.phone for u in type(parseable).objects.all()}
    assert [phones[u.pk] for u in (parseable, with_plus, already, garbage, empty)] == [
        "+628123456789",
        "+62811222333",
        "+6281200000000",
        "12345",
        "",
    ]


def test_phone_normalize_is_the_one_rule():
    assert phone_normalize("") == ""
    assert phone_normalize("0812-3456-789") == "+628123456789"
