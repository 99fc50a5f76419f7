"""The product list's "new price" column asks catalog.add_productprice, like the product
page's price inline and `POST products/{slug}/prices/` (README "Staff roles"): an editor
holding only change_product changed prices through it."""

import pytest
from django.contrib.auth.models import Permission

from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from catalog.tests.test_admin import PRODUCTS, form_values, prices_of, row_prefix

pytestmark = pytest.mark.django_db


def test_an_editor_without_the_price_permission_has_no_price_column_and_cannot_post_one(client):
    rice = ProductFactory(name="Rice", sku="RICE-1", stock=7)
    editor = UserFactory(is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_product", "change_product"]))
    client.force_login(editor)

    values = form_values(client, PRODUCTS, "changelist-form")
    prefix = row_prefix(values, rice.pk)
    assert f"{prefix}-new_price" not in values
    values[f"{prefix}-stock"] = "9"
    crafted = client.post(PRODUCTS, {**values, f"{prefix}-new_price": "1", "_save": "Save"})
    stock_only = client.post(PRODUCTS, {**values, "_save": "Save"})

    assert crafted.status_code == 403
    assert stock_only.status_code == 302
    rice.refresh_from_db()
    assert (rice.stock, rice.current_price) == (9, 10_000)
    assert [(version, amount) for version, amount, _ in prices_of(rice)] == [(1, 10_000)]
