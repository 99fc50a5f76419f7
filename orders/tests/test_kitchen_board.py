"""The kitchen board and the admin dashboard."""

import pytest
from django.db import transaction
from django.urls import reverse

from accounts.tests.factories import UserFactory
from cart.services import cart_add_item
from catalog import options as option_services
from catalog.tests.factories import ProductFactory
from orders import services
from orders.models import OrderStatus
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

BOARD = reverse("admin:orders_order_kitchen")


def paid(order):
    with transaction.atomic():
        services.order_transition(
            order=services.order_lock(order_id=order.pk), to_status=OrderStatus.PAID, actor=services.GATEWAY
        )
    order.refresh_from_db()
    return order


@pytest.fixture
def dish():
    product = ProductFactory(name="Nasi Goreng", slug="nasi-goreng", stock=20)
    group = option_services.option_group_create(name="Spice level", min_choices=1, max_choices=1)
    option_services.option_create(group=group, name="Pedas level 3", slug="level-3", price_delta=2_000)
    option_services.product_set_option_groups(product=product, groups=[group])
    return product


def test_board_shows_paid_orders_with_options_and_notes_and_moves_them(admin_client_staff, user, dish):
    order = paid(_order_with_choice(user, dish))
    pending = place_order(user=UserFactory(), items=[(ProductFactory(name="Teh"), 1)])

    page = admin_client_staff.get(BOARD)

    assert page.status_code == 200
    html = page.content.decode()
    assert order.number in html
    assert pending.number not in html
    assert "Spice level: <strong>Pedas level 3</strong>" in html
    assert "Note: tanpa bawang" in html
    assert 'http-equiv="refresh"' in html

    move = reverse("admin:orders_order_move", args=[order.pk])
    response = admin_client_staff.post(move, {"to_status": "preparing", "next": "kitchen"})
    assert response.status_code == 302
    assert response["Location"] == BOARD
    order.refresh_from_db()
    assert order.status == OrderStatus.PREPARING
    assert order.events.latest("id").actor_user.is_staff


def _order_with_choice(user, dish):
    cart_add_item(user=user, product=dish, quantity=2, options=["level-3"], note="tanpa bawang")
    return services.order_place(user=user)


def test_board_and_dashboard_need_staff(client, user):
    client.force_login(user)
    assert client.get(BOARD).status_code == 302  # to the admin login
    assert client.get(reverse("admin:index")).status_code == 302


def test_dashboard_counts_today(admin_client_staff, user, dish):
    paid(_order_with_choice(user, dish))
    ProductFactory(name="Gone", stock=0)
    html = admin_client_staff.get(reverse("admin:index")).content.decode()
    assert "Orders placed today" in html
    assert (
        'Waiting (paid or preparing)</a></th>\n        <td class="dashboard-count" style="text-align: right; font-weight: bold">1</td>'
        in html
    )
    assert "Sold out or unavailable" in html
