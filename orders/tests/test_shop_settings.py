"""The shop settings singleton: staff `GET/PATCH shop/settings/`, the public part in
`GET shop/`, the admin page, and a fresh database charging nothing."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import MANAGER
from accounts.tests.factories import UserFactory
from orders.shop_settings import ShopSettings, shop_settings_get

pytestmark = pytest.mark.django_db

URL = "/api/v1/shop/settings/"
DEFAULTS = {
    "service_charge_bp": 0,
    "tax_name": "PB1",
    "tax_rate_bp": 0,
    "tax_base": "subtotal_and_service",
    "prices_include_tax": False,
    "packaging_fee": 0,
    "rounding_unit": 1,
    "tax_registration_number": "",
}


@pytest.fixture
def manager_client(api_client):
    manager = UserFactory(email="manager@example.com", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    api_client.force_authenticate(manager)
    return api_client


def test_a_fresh_database_charges_nothing_and_a_read_writes_no_row(manager_client):
    body = manager_client.get(URL).json()

    assert {key: body[key] for key in DEFAULTS} == DEFAULTS
    assert not ShopSettings.objects.exists()
    assert shop_settings_get().charge_settings().as_dict()["tax_rate_bp"] == 0


def test_manager_sets_pb1_on_subtotal_and_service(manager_client, api_client):
    changes = {
        "service_charge_bp": 500,
        "tax_rate_bp": 1_000,
        "rounding_unit": 100,
        "tax_registration_number": "P.2.0001234.12.03",
    }

    response = manager_client.patch(URL, changes, format="json")

    assert response.status_code == 200
    assert {key: response.json()[key] for key in DEFAULTS} == {**DEFAULTS, **changes}
    row = ShopSettings.objects.get()
    assert (row.pk, row.service_charge_bp, row.tax_rate_bp, row.rounding_unit) == (1, 500, 1_000, 100)
    api_client.force_authenticate(None)
    public = api_client.get("/api/v1/shop/").json()["charges"]
    assert public == {**DEFAULTS, **changes}


@pytest.mark.parametrize(
    "body",
    [
        {"service_charge_bp": 10_001},
        {"tax_rate_bp": -1},
        {"tax_rate_bp": "1000"},
        {"rounding_unit": 50},
        {"tax_base": "total"},
        {"tax_name": "VAT"},
        {"prices_include_tax": "yes"},
        {"packaging_fee": 1.5},
    ],
)
def test_bad_values_are_a_400_and_change_nothing(manager_client, body):
    manager_client.patch(URL, {"service_charge_bp": 500}, format="json")

    # A good value next to the bad one is not applied either.
    response = manager_client.patch(URL, {"packaging_fee": 1_000, "tax_name": "PPN", **body}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(body) <= set(response.json())  # the field is named
    row = ShopSettings.objects.get()
    assert (row.service_charge_bp, row.tax_rate_bp, row.packaging_fee, row.tax_name) == (500, 0, 0, "PB1")


def test_the_admin_page_edits_the_one_row(admin_client):
    page = admin_client.get("/admin/orders/shopsettings/")
    assert page.status_code == 302
    assert page["Location"] == "/admin/orders/shopsettings/1/change/"
    assert admin_client.get(page["Location"]).status_code == 200

    saved = admin_client.post(
        "/admin/orders/shopsettings/1/change/",
        {
            "service_charge_bp": 500,
            "tax_name": "PBJT",
            "tax_rate_bp": 1_000,
            "tax_base": "subtotal",
            "packaging_fee": 2_000,
            "rounding_unit": 500,
            "tax_registration_number": "",
        },
    )

    assert saved.status_code == 302
    row = ShopSettings.objects.get()
    assert (row.tax_name, row.tax_base, row.packaging_fee, row.rounding_unit, row.prices_include_tax) == (
        "PBJT",
        "subtotal",
        2_000,
        500,
        False,
    )
