"""The staff roles (accounts/roles.py, made by orders/migrations/0007_staff_groups.py) and the
admin asking the same permissions as the API (orders/permissions.py)."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from accounts.roles import KITCHEN, MANAGER, SHOP_APPS, staff_groups_ensure
from accounts.tests.factories import UserFactory
from catalog.tests.factories import ProductFactory
from orders.models import Order, OrderStatus
from orders.tests.factories import place_order
from orders.tests.test_admin import CHANGELIST, action_data, change_url, move_url, pay
from payments.models import Payment
from payments.services.opening import payment_open

pytestmark = pytest.mark.django_db

S = OrderStatus


def perms_of(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


def member_of(group_name: str, email: str):
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def order(user):
    return place_order(user=user, items=[(ProductFactory(stock=5), 1)])


def test_kitchen_sees_orders_and_moves_them_through_the_kitchen_only():
    assert perms_of(KITCHEN) == {
        "orders.view_order",
        "orders.change_order",
        "orders.view_kitchenstate",
        "orders.change_kitchenstate",  # busy mode: pause, resume, delay
        "catalog.set_sold_out",  # a dish run out of, for a while
    }


def test_manager_holds_every_permission_of_the_shops_apps_and_no_user_admin():
    """Fails when a model is added to one of the shop's apps without a migration running
    staff_groups_ensure again (Django adds the new permissions, not the group's share)."""
    every = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(content_type__app_label__in=SHOP_APPS).select_related(
            "content_type"
        )
    }
    expected = every | {"accounts.view_user"}
    assert {"orders.cancel_order", "orders.refund_order", "catalog.add_productprice"} <= every
    assert {m._meta.app_label for m in apps.get_models()} >= set(SHOP_APPS)
    assert perms_of(MANAGER) == expected


def test_making_the_groups_again_changes_nothing_and_keeps_what_an_operator_added():
    extra = Permission.objects.get(codename="view_product")
    Group.objects.get(name=KITCHEN).permissions.add(extra)
    before = {name: perms_of(name) for name in (KITCHEN, MANAGER)}

    staff_groups_ensure()

    assert {name: perms_of(name) for name in (KITCHEN, MANAGER)} == before
    assert Group.objects.filter(name__in=[KITCHEN, MANAGER]).count() == 2
    assert "catalog.view_product" in before[KITCHEN]


def test_kitchen_uses_the_board_and_moves_a_paid_order_but_cannot_cancel(client, user, order):
    other = place_order(user=user, items=[(ProductFactory(stock=5), 1)])
    pay(order)
    client.force_login(member_of(KITCHEN, "cook@example.com"))

    board = client.get(f"{CHANGELIST}kitchen/")
    page = client.get(change_url(order))
    moved = client.post(move_url(order), {"to_status": S.PREPARING})
    cancel_button = client.post(move_url(other), {"to_status": S.CANCELLED})
    changelist = client.get(CHANGELIST)
    cancel_action = client.post(CHANGELIST, action_data("cancel_orders", [other]), follow=True)

    assert (board.status_code, page.status_code, moved.status_code) == (200, 200, 302)
    assert [move for move, _ in page.context["kitchen_moves"]] == [S.PREPARING]
    assert cancel_button.status_code == 403
    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert "mark_preparing" in actions
    assert "cancel_orders" not in actions
    assert cancel_action.status_code == 200
    assert Order.objects.get(pk=order.pk).status == S.PREPARING
    assert Order.objects.get(pk=other.pk).status == S.PENDING_PAYMENT


def test_a_manager_cancels_from_the_admin(client, order):
    client.force_login(member_of(MANAGER, "boss@example.com"))

    page = client.get(change_url(order))
    cancelled = client.post(move_url(order), {"to_status": S.CANCELLED})

    assert [move for move, _ in page.context["kitchen_moves"]] == [S.CANCELLED]
    assert cancelled.status_code == 302
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED


def test_refunding_a_payment_in_the_admin_needs_the_refund_permission(client, settings, order):
    settings.PAYMENT_GATEWAY = "mock"
    settings.PUBLIC_BASE_URL = "http://testserver"
    payment = payment_open(order=order)
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_payment", "change_payment"]))
    client.force_login(clerk)

    changelist = client.get("/admin/payments/payment/")

    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert "check_status" in actions
    assert "refund" not in actions
    clerk.user_permissions.add(Permission.objects.get(codename="refund_order"))
    changelist = client.get("/admin/payments/payment/")
    assert "refund" in [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert Payment.objects.get(pk=payment.pk).status == payment.status
