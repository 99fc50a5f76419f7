"""The kitchen's admin: orders (view-only, moved by actions that call the services),
carts and idempotency keys (read-only)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import SUCCESS, WARNING
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from cart.models import Cart
from cart.services import cart_add_item
from catalog.models import Product
from catalog.tests.factories import BundleFactory, ProductFactory
from orders import idempotency, services
from orders.admin.kitchen import ADMIN_NOTE, STATUS_COLOURS
from orders.models import Order, OrderEvent, OrderStatus
from orders.tests.factories import place_order

S = OrderStatus
CHANGELIST = "/admin/orders/order/"


def change_url(order: Order) -> str:
    return f"{CHANGELIST}{order.pk}/change/"


def move_url(order: Order) -> str:
    return f"{CHANGELIST}{order.pk}/move/"


def pay(order: Order) -> Order:
    """Mark paid the way the payments code does: a transition by the gateway."""
    with transaction.atomic():
        services.order_transition(
            order=services.order_lock(order_id=order.pk), to_status=S.PAID, actor=services.GATEWAY
        )
    order.refresh_from_db()
    return order


# The staff moves that bring a paid order to each kitchen status.
KITCHEN_PATH = {S.PAID: [], S.PREPARING: [S.PREPARING], S.READY: [S.PREPARING, S.READY]}


def order_at(status: str, *, user, product: Product) -> Order:
    order = place_order(user=user, items=[(product, 1)])
    if status == S.PENDING_PAYMENT:
        return order
    pay(order)
    kitchen = services.Actor(OrderEvent.Actor.STAFF)
    for step in KITCHEN_PATH[status]:
        services.order_set_status(order=order, to_status=step, actor=kitchen)
    order.refresh_from_db()
    return order


def action_data(action: str, orders: list[Order]) -> dict:
    return {"action": action, "index": 0, "_selected_action": [order.pk for order in orders]}


def run_action(client, action: str, orders: list[Order]):
    """Post the action and follow its redirect, so the messages are the ones shown."""
    return client.post(CHANGELIST, action_data(action, orders), follow=True)


def messages_of(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in response.context["messages"]]


def statuses(*orders: Order) -> list[str]:
    return [Order.objects.get(pk=order.pk).status for order in orders]


@pytest.fixture
def rice(db) -> Product:
    return ProductFactory(name="Nasi Goreng", sku="NG-1", stock=100, price=25_000)


@pytest.fixture
def tea(db) -> Product:
    return ProductFactory(name="Es Teh", sku="ET-1", stock=100, price=5_000)


# --- changelist ---------------------------------------------------------------------------


def test_changelist_shows_number_customer_badge_rupiah_total_and_times(admin_client_staff, user, rice):
    order = pay(place_order(user=user, items=[(rice, 2)]))

    response = admin_client_staff.get(CHANGELIST)

    assert response.status_code == 200
    assert [o.pk for o in response.context["cl"].result_list] == [order.pk]
    html = response.content.decode()
    assert order.number in html
    assert f"{user.name}<br>{user.email}" in html
    assert f'<span style="background:{STATUS_COLOURS[S.PAID]};' in html
    assert ">Paid</span>" in html
    assert "Rp 50.000" in html


def test_changelist_query_count_does_not_grow_with_rows(
    settings, admin_client_staff, user, rice, django_assert_max_num_queries
):
    settings.MAX_UNPAID_ORDERS = 31  # one shopper's 31 orders fill the page
    orders = [place_order(user=user, items=[(rice, 1)]) for _ in range(31)]
    pay(orders[0])

    # session, user, 2 counts, the page, 2 for the date hierarchy: none per row.
    with django_assert_max_num_queries(7):
        response = admin_client_staff.get(CHANGELIST)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 31


def test_changelist_search_by_number_and_by_customer_email(admin_client_staff, rice):
    alice, bob = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com")
    alice_orders = [place_order(user=alice, items=[(rice, 1)]) for _ in range(2)]
    bob_order = place_order(user=bob, items=[(rice, 1)])

    by_number = admin_client_staff.get(CHANGELIST, {"q": bob_order.number})
    by_email = admin_client_staff.get(CHANGELIST, {"q": "alice@example.com"})

    assert [o.pk for o in by_number.context["cl"].result_list] == [bob_order.pk]
    assert {o.pk for o in by_email.context["cl"].result_list} == {o.pk for o in alice_orders}


def test_changelist_filters_by_status(admin_client_staff, user, rice):
    paid = pay(place_order(user=user, items=[(rice, 1)]))
    place_order(user=user, items=[(rice, 1)])

    response = admin_client_staff.get(CHANGELIST, {"status__exact": S.PAID})

    assert [o.pk for o in response.context["cl"].result_list] == [paid.pk]


def test_changelist_filters_by_placed_date(admin_client_staff, user, rice):
    long_ago = timezone.now() - timedelta(days=40)
    old = place_order(user=user, items=[(rice, 1)], now=long_ago)
    recent = place_order(user=user, items=[(rice, 1)])
    old_day = timezone.localdate(long_ago)
    # The "Past 7 days" link as the page offers it (a local midnight with its offset).
    cl = admin_client_staff.get(CHANGELIST).context["cl"]
    (date_filter,) = (f for f in cl.filter_specs if f.title == "placed at")
    choices = {choice["display"]: choice["query_string"] for choice in date_filter.choices(cl)}

    past_week = admin_client_staff.get(CHANGELIST + choices["Past 7 days"])
    on_old_day = admin_client_staff.get(
        CHANGELIST,
        {"placed_at__year": old_day.year, "placed_at__month": old_day.month, "placed_at__day": old_day.day},
    )

    assert [o.pk for o in past_week.context["cl"].result_list] == [recent.pk]
    assert [o.pk for o in on_old_day.context["cl"].result_list] == [old.pk]


# --- change page and permissions ---------------------------------------------------------


def test_change_page_is_read_only_with_lines_components_and_history(admin_client_staff, user, rice, tea):
    bundle = BundleFactory(name="Paket Hemat", price=28_000, components=[(rice, 1), (tea, 2)])
    order = pay(place_order(user=user, items=[(rice, 2), (bundle, 1)]))

    response = admin_client_staff.get(change_url(order))

    assert response.status_code == 200
    html = response.content.decode()
    for field in ["status", "total", "subtotal", "customer_email", "number", "paid_at", "_save"]:
        assert f'name="{field}"' not in html
    assert "Rp 78.000" in html  # 2 x 25.000 + 28.000
    assert "1 x Nasi Goreng (NG-1)<br>2 x Es Teh (ET-1)" in html
    assert "lines: 2<br>total: 78000" in html  # the placed event's data
    lines, payments, notifications, history = response.context["inline_admin_formsets"]
    assert (list(payments), list(notifications)) == ([], [])  # paid here without the payments flow
    assert [(f.original.product_name, f.original.quantity) for f in lines] == [
        ("Nasi Goreng", 2),
        ("Paket Hemat", 1),
    ]
    assert [(f.original.from_status, f.original.to_status) for f in history] == [
        ("", S.PENDING_PAYMENT),
        (S.PENDING_PAYMENT, S.PAID),
    ]
    for inline in (lines, payments, notifications, history):
        assert (inline.has_add_permission, inline.has_change_permission, inline.has_delete_permission) == (
            False,
            False,
            False,
        )
    # Only the move a paid order can make is offered as a button.
    assert [move for move, _ in response.context["kitchen_moves"]] == [S.PREPARING]
    assert f'action="{move_url(order)}"' in html
    assert 'name="to_status" value="preparing"' in html
    assert 'name="to_status" value="ready"' not in html


def test_change_page_cannot_be_posted_to(admin_client_staff, user, rice):
    order = place_order(user=user, items=[(rice, 1)])

    response = admin_client_staff.post(change_url(order), {"status": S.COMPLETED, "total": 1})

    assert response.status_code == 403
    order.refresh_from_db()
    assert (order.status, order.total) == (S.PENDING_PAYMENT, 25_000)


def test_orders_cannot_be_added_or_deleted(admin_client_staff, user, rice):
    order = place_order(user=user, items=[(rice, 1)])

    add = admin_client_staff.get(f"{CHANGELIST}add/")
    delete = admin_client_staff.post(f"{CHANGELIST}{order.pk}/delete/", {"post": "yes"})
    changelist = admin_client_staff.get(CHANGELIST)

    assert (add.status_code, delete.status_code) == (403, 403)
    assert Order.objects.filter(pk=order.pk).exists()
    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert actions == ["", "mark_preparing", "mark_ready", "mark_completed", "cancel_orders"]


def test_non_staff_user_cannot_reach_the_admin(client, user, rice):
    order = place_order(user=user, items=[(rice, 1)])
    client.force_login(user)

    page = client.get(CHANGELIST)
    action = client.post(CHANGELIST, action_data("cancel_orders", [order]))

    for response in (page, action):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert statuses(order) == [S.PENDING_PAYMENT]


def test_staff_with_view_permission_only_sees_orders_but_cannot_move_them(client, user, rice):
    order = pay(place_order(user=user, items=[(rice, 1)]))
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)

    changelist = client.get(CHANGELIST)
    page = client.get(change_url(order))
    move = client.post(move_url(order), {"to_status": S.PREPARING})

    assert (changelist.status_code, page.status_code, move.status_code) == (200, 200, 403)
    assert changelist.context["action_form"] is None
    assert "kitchen_moves" not in page.context
    assert statuses(order) == [S.PAID]
    assert order.events.count() == 2


# --- actions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "start", "target", "done"),
    [
        ("mark_preparing", S.PAID, S.PREPARING, "marked preparing"),
        ("mark_ready", S.PREPARING, S.READY, "marked ready"),
        ("mark_completed", S.READY, S.COMPLETED, "marked completed"),
    ],
)
def test_kitchen_action_moves_selected_eligible_orders_and_skips_the_rest(
    admin_client_staff, staff_user, user, rice, action, start, target, done
):
    first, second, unselected = (order_at(start, user=user, product=rice) for _ in range(3))
    pending = order_at(S.PENDING_PAYMENT, user=user, product=rice)
    events_before = {o.pk: o.events.count() for o in (first, second, unselected, pending)}

    response = run_action(admin_client_staff, action, [first, pending, second])

    assert response.redirect_chain == [(CHANGELIST, 302)]
    assert statuses(first, second, unselected, pending) == [target, target, start, S.PENDING_PAYMENT]
    for order in (first, second):
        event = order.events.order_by("-id").first()
        assert (event.type, event.from_status, event.to_status) == (
            OrderEvent.Type.STATUS_CHANGED,
            start,
            target,
        )
        assert (event.actor, event.actor_user, event.data) == (
            OrderEvent.Actor.STAFF,
            staff_user,
            {"note": ADMIN_NOTE},
        )
        assert order.events.count() == events_before[order.pk] + 1
    assert unselected.events.count() == events_before[unselected.pk]
    assert pending.events.count() == events_before[pending.pk]
    target_label = S(target).label.lower()
    assert messages_of(response) == [
        (SUCCESS, f"2 orders {done}."),
        (
            WARNING,
            f"1 order skipped. {pending.number}: An order that is pending payment cannot become {target_label}.",
        ),
    ]


def test_cancel_action_releases_stock_exactly_once(admin_client_staff, staff_user, user, rice, tea):
    bundle = BundleFactory(name="Paket Hemat", price=28_000, components=[(rice, 1), (tea, 2)])
    to_cancel = place_order(user=user, items=[(rice, 3), (bundle, 2)])
    paid = pay(place_order(user=user, items=[(rice, 1)]))
    assert [Product.objects.get(pk=p.pk).stock for p in (rice, tea)] == [100 - 3 - 2 - 1, 100 - 4]

    response = run_action(admin_client_staff, "cancel_orders", [to_cancel, paid])

    assert statuses(to_cancel, paid) == [S.CANCELLED, S.PAID]
    assert [Product.objects.get(pk=p.pk).stock for p in (rice, tea)] == [99, 100]
    to_cancel.refresh_from_db()
    assert to_cancel.cancelled_at is not None
    event = to_cancel.events.order_by("-id").first()
    assert (event.from_status, event.to_status, event.actor, event.actor_user) == (
        S.PENDING_PAYMENT,
        S.CANCELLED,
        OrderEvent.Actor.STAFF,
        staff_user,
    )
    assert messages_of(response) == [
        (SUCCESS, "1 order cancelled."),
        (WARNING, f"1 order skipped. {paid.number}: An order that is paid cannot become cancelled."),
    ]

    again = run_action(admin_client_staff, "cancel_orders", [to_cancel])

    assert [Product.objects.get(pk=p.pk).stock for p in (rice, tea)] == [99, 100]
    assert to_cancel.events.count() == 2
    assert messages_of(again) == [
        (
            WARNING,
            f"1 order skipped. {to_cancel.number}: An order that is cancelled cannot become cancelled.",
        )
    ]


# --- buttons on an order's page -----------------------------------------------------------


def test_change_page_button_moves_the_order(admin_client_staff, staff_user, user, rice):
    order = pay(place_order(user=user, items=[(rice, 1)]))

    response = admin_client_staff.post(move_url(order), {"to_status": S.PREPARING}, follow=True)

    assert response.redirect_chain == [(change_url(order), 302)]
    assert statuses(order) == [S.PREPARING]
    event = order.events.order_by("-id").first()
    assert (event.to_status, event.actor, event.actor_user) == (
        S.PREPARING,
        OrderEvent.Actor.STAFF,
        staff_user,
    )
    assert messages_of(response) == [(SUCCESS, "1 order marked preparing.")]


def test_change_page_button_for_an_impossible_move_warns_and_changes_nothing(admin_client_staff, user, rice):
    order = place_order(user=user, items=[(rice, 1)])

    response = admin_client_staff.post(move_url(order), {"to_status": S.READY}, follow=True)

    assert response.redirect_chain == [(change_url(order), 302)]
    assert statuses(order) == [S.PENDING_PAYMENT]
    assert order.events.count() == 1
    assert messages_of(response) == [
        (WARNING, f"1 order skipped. {order.number}: An order that is pending payment cannot become ready.")
    ]


@pytest.mark.parametrize("to_status", [S.PAID, S.REFUNDED, "", "nonsense"])
def test_change_page_button_refuses_moves_the_kitchen_does_not_make(
    admin_client_staff, user, rice, to_status
):
    order = place_order(user=user, items=[(rice, 1)])

    response = admin_client_staff.post(move_url(order), {"to_status": to_status})

    assert response.status_code == 400
    assert statuses(order) == [S.PENDING_PAYMENT]
    assert order.events.count() == 1


def test_change_page_button_needs_post_and_an_existing_order(admin_client_staff, user, rice):
    order = pay(place_order(user=user, items=[(rice, 1)]))

    get = admin_client_staff.get(move_url(order), {"to_status": S.PREPARING})
    missing = admin_client_staff.post(f"{CHANGELIST}999999/move/", {"to_status": S.PREPARING})

    assert (get.status_code, missing.status_code) == (405, 404)
    assert statuses(order) == [S.PAID]


def test_change_page_button_is_csrf_protected(staff_user, user, rice):
    order = pay(place_order(user=user, items=[(rice, 1)]))
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    response = client.post(move_url(order), {"to_status": S.PREPARING})

    assert response.status_code == 403
    assert statuses(order) == [S.PAID]


# --- carts and idempotency keys -----------------------------------------------------------


def test_cart_admin_is_read_only(admin_client_staff, user, rice, tea):
    cart_add_item(user=user, product=rice, quantity=2)
    cart_add_item(user=user, product=tea, quantity=1)
    cart = Cart.objects.get(user=user)

    changelist = admin_client_staff.get("/admin/cart/cart/")
    page = admin_client_staff.get(f"/admin/cart/cart/{cart.pk}/change/")
    add = admin_client_staff.get("/admin/cart/cart/add/")
    post = admin_client_staff.post(f"/admin/cart/cart/{cart.pk}/change/", {"items-0-quantity": 9})
    delete = admin_client_staff.post(f"/admin/cart/cart/{cart.pk}/delete/", {"post": "yes"})

    assert (changelist.status_code, page.status_code) == (200, 200)
    assert [(c.pk, c.line_count) for c in changelist.context["cl"].result_list] == [(cart.pk, 2)]
    (items,) = page.context["inline_admin_formsets"]
    assert [(f.original.product.name, f.original.quantity) for f in items] == [
        ("Nasi Goreng", 2),
        ("Es Teh", 1),
    ]
    assert 'name="items-0-quantity"' not in page.content.decode()
    assert (add.status_code, post.status_code, delete.status_code) == (403, 403, 403)
    assert [(i.product_id, i.quantity) for i in cart.items.all()] == [(rice.pk, 2), (tea.pk, 1)]


def test_idempotency_key_admin_lists_keys_read_only(admin_client_staff, user):
    record = idempotency.idempotency_claim(user=user, key="retry-42", request_hash="0" * 64)

    changelist = admin_client_staff.get("/admin/orders/idempotencykey/", {"q": "retry-42"})
    post = admin_client_staff.post(
        f"/admin/orders/idempotencykey/{record.pk}/change/", {"state": "completed"}
    )

    assert [k.pk for k in changelist.context["cl"].result_list] == [record.pk]
    assert post.status_code == 403
    record.refresh_from_db()
    assert record.state == record.State.IN_PROGRESS
