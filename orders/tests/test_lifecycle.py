from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import PASSWORD, UserFactory
from catalog.exceptions import InsufficientStock
from catalog.models import Product
from catalog.tests.factories import BundleFactory, ProductFactory
from conftest import bearer_client
from invoices.models import CreditNote, Invoice
from invoices.services import credit_note_issue
from invoices.tests.factories import pay
from orders import services
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderEvent, OrderStatus
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db
S = OrderStatus
ORDERS = "/api/v1/orders/"


def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def force_status(order: Order, *path: str) -> Order:
    """Walk an order along allowed transitions (as the gateway and kitchen would)."""
    for to_status in path:
        with transaction.atomic():
            locked = services.order_lock(order_id=order.pk)
            services.order_transition(order=locked, to_status=to_status, actor=services.GATEWAY)
    order.refresh_from_db()
    return order


@pytest.fixture
def product():
    return ProductFactory(slug="nasi", stock=10)


@pytest.fixture
def order(user, product):
    return place_order(user=user, items=[(product, 3)])


# --- the transition table ---------------------------------------------------------------

ALLOWED = {
    (S.PENDING_PAYMENT, S.PAID),
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PENDING_PAYMENT, S.EXPIRED),
    (S.PAID, S.PREPARING),
    (S.PAID, S.REFUNDED),
    (S.PREPARING, S.READY),
    (S.PREPARING, S.REFUNDED),
    (S.READY, S.COMPLETED),
    (S.READY, S.REFUNDED),
    (S.COMPLETED, S.REFUNDED),  # a refund, void or chargeback after pickup (DESIGN.md §4)
    (S.EXPIRED, S.PAID),
    (S.CANCELLED, S.PAID),
    # A reversal (issue 17): the paying attempt was reversed, the kitchen stops; back where
    # it was when the gateway settles again, or cancelled by staff.
    (S.PAID, S.PAYMENT_REVERSED),
    (S.PREPARING, S.PAYMENT_REVERSED),
    (S.READY, S.PAYMENT_REVERSED),
    (S.PAYMENT_REVERSED, S.PAID),
    (S.PAYMENT_REVERSED, S.PREPARING),
    (S.PAYMENT_REVERSED, S.READY),
    (S.PAYMENT_REVERSED, S.CANCELLED),
}


def test_transition_table_is_exactly_the_design():
    table = {(a, b) for a, targets in services.TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


DISALLOWED = sorted({(a, b) for a in S.values for b in S.values} - ALLOWED)


@pytest.mark.parametrize(("from_status", "to_status"), DISALLOWED)
def test_every_disallowed_transition_is_refused_and_changes_nothing(order, product, from_status, to_status):
    Order.objects.filter(pk=order.pk).update(status=from_status)
    events = OrderEvent.objects.count()
    stock = stock_of(product)
    with pytest.raises(InvalidTransition), transaction.atomic():
        services.order_transition(
            order=services.order_lock(order_id=order.pk), to_status=to_status, actor=services.SYSTEM
        )
    order.refresh_from_db()
    assert order.status == from_status
    assert (OrderEvent.objects.count(), stock_of(product)) == (events, stock)


@pytest.mark.parametrize(("from_status", "to_status"), sorted(ALLOWED))
def test_every_allowed_transition_moves_status_stock_and_writes_one_event(
    order, product, from_status, to_status
):
    # Put the order in `from_status` with the stock it would then hold: none once released.
    if from_status in (S.CANCELLED, S.EXPIRED):
        force_status(order, from_status)
    else:
        Order.objects.filter(pk=order.pk).update(status=from_status)
    events = OrderEvent.objects.filter(order=order).count()

    with transaction.atomic():
        services.order_transition(
            order=services.order_lock(order_id=order.pk), to_status=to_status, actor=services.SYSTEM
        )

    order.refresh_from_db()
    assert order.status == to_status
    # The order holds 3 of the 10 units unless it ends cancelled or expired (a late payment
    # out of those takes them again).
    assert stock_of(product) == (10 if to_status in (S.CANCELLED, S.EXPIRED) else 7)
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert OrderEvent.objects.filter(order=order).count() == events + 1
    assert (event.from_status, event.to_status, event.actor) == (from_status, to_status, "system")
    if to_status == S.PAID:
        assert order.paid_at is not None


def test_transition_writes_an_event_with_the_actor(order, staff_user):
    force_status(order, S.PAID)
    services.order_set_status(
        order=order, to_status=S.PREPARING, actor=services.Actor.of(staff_user), note="go"
    )
    event = order.events.last()
    assert (event.type, event.from_status, event.to_status, event.actor, event.actor_user, event.data) == (
        "status_changed",
        "paid",
        "preparing",
        "staff",
        staff_user,
        {"note": "go"},
    )
    order.refresh_from_db()
    assert order.paid_at is not None


# --- cancel -----------------------------------------------------------------------------


def test_owner_cancels_and_stock_comes_back_once(auth_client, order, product):
    assert stock_of(product) == 7
    response = auth_client.post(f"{ORDERS}{order.number}/cancel/", {"reason": "changed my mind"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["cancelled_at"] is not None
    assert body["events"][-1] == {
        "type": "status_changed",
        "from_status": "pending_payment",
        "to_status": "cancelled",
        "actor": "user",
        "data": {"reason": "changed my mind"},
        "created_at": body["events"][-1]["created_at"],
    }
    assert stock_of(product) == 10

    again = auth_client.post(f"{ORDERS}{order.number}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert stock_of(product) == 10


def test_cancel_releases_bundle_components(user, auth_client):
    rice, tea = ProductFactory(stock=10), ProductFactory(stock=10)
    combo = BundleFactory(components=[(rice, 2), (tea, 1)])
    order = place_order(user=user, items=[(combo, 2), (rice, 1)])
    assert (stock_of(rice), stock_of(tea)) == (5, 8)
    assert auth_client.post(f"{ORDERS}{order.number}/cancel/").status_code == 200
    assert (stock_of(rice), stock_of(tea)) == (10, 10)


def test_someone_elses_order_is_404_for_cancel_and_read(order, product):
    stranger = bearer_client(UserFactory())
    assert stranger.post(f"{ORDERS}{order.number}/cancel/").status_code == 404
    assert stranger.get(f"{ORDERS}{order.number}/").status_code == 404
    order.refresh_from_db()
    assert (order.status, stock_of(product)) == ("pending_payment", 7)


def test_staff_can_cancel_any_pending_order(staff_client, order, product):
    response = staff_client.post(f"{ORDERS}{order.number}/cancel/")
    assert response.status_code == 200
    assert response.json()["events"][-1]["actor"] == "staff"
    assert stock_of(product) == 10


def test_paid_order_cannot_be_cancelled_by_the_shopper(auth_client, order, product):
    force_status(order, S.PAID)
    response = auth_client.post(f"{ORDERS}{order.number}/cancel/")
    assert response.status_code == 409
    order.refresh_from_db()
    assert (order.status, stock_of(product)) == ("paid", 7)


# --- kitchen flow -----------------------------------------------------------------------


def test_staff_run_the_kitchen_flow(staff_client, order):
    force_status(order, S.PAID)
    for target in ("preparing", "ready", "completed"):
        response = staff_client.post(f"{ORDERS}{order.number}/status/", {"status": target})
        assert response.status_code == 200, response.content
        assert response.json()["status"] == target
    assert [e.to_status for e in order.events.all()] == [
        "pending_payment",
        "paid",
        "preparing",
        "ready",
        "completed",
    ]


def test_staff_record_a_refund_without_touching_stock(staff_client, order, product):
    force_status(order, S.PAID, S.PREPARING)
    response = staff_client.post(f"{ORDERS}{order.number}/status/", {"status": "refunded", "note": "burnt"})
    assert response.status_code == 200
    assert response.json()["status"] == "refunded"
    assert stock_of(product) == 7


def test_staff_refund_via_status_issues_a_credit_note_for_the_full_amount(staff_client, order, product):
    """DESIGN §3/§4: every refund issues its credit note. Before the fix the staff's offline
    refund only moved the order:

        POST /api/v1/orders/{number}/status/ {"status": "refunded", "note": "burnt"}
        -> 200, order refunded, invoice still "issued", no CreditNote."""
    invoice = pay(order)
    force_status(order, S.PREPARING)
    response = staff_client.post(f"{ORDERS}{order.number}/status/", {"status": "refunded", "note": "burnt"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"

    [note] = CreditNote.objects.filter(invoice=invoice)
    assert (note.amount, note.refund_reference, note.snapshot["full_refund"]) == (
        order.total,
        f"offline:{order.number}",
        True,
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CREDITED
    refunded = order.events.get(to_status=S.REFUNDED)
    assert (refunded.actor, refunded.data) == ("staff", {"note": "burnt"})
    assert order.events.filter(type=OrderEvent.Type.CREDIT_NOTE_ISSUED).count() == 1
    assert stock_of(product) == 7


def test_staff_refund_credits_what_a_partial_refund_left(staff_client, order):
    invoice = pay(order)
    credit_note_issue(invoice=invoice, amount=1_000, refund_reference="gateway:1000")
    response = staff_client.post(f"{ORDERS}{order.number}/status/", {"status": "refunded"})
    assert response.status_code == 200, response.content
    assert list(invoice.credit_notes.order_by("id").values_list("amount", flat=True)) == [
        1_000,
        order.total - 1_000,
    ]


def test_staff_refund_of_an_unpaid_order_is_refused_and_issues_nothing(staff_client, order, product):
    response = staff_client.post(f"{ORDERS}{order.number}/status/", {"status": "refunded"})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    order.refresh_from_db()
    assert (order.status, stock_of(product), CreditNote.objects.count()) == (S.PENDING_PAYMENT, 7, 0)


def test_order_set_status_cannot_refund_around_the_credit_note(order, staff_user):
    """orders cannot issue credit notes (it imports no invoices): a refund is recorded only
    through payments.settlement.order_refund_record."""
    invoice = pay(order)
    with pytest.raises(InvalidTransition):
        services.order_set_status(order=order, to_status=S.REFUNDED, actor=services.Actor.of(staff_user))
    order.refresh_from_db()
    assert (order.status, invoice.credit_notes.count()) == (S.PAID, 0)


@pytest.mark.parametrize(
    ("path", "target"),
    [((), "preparing"), ((), "completed"), ((S.PAID,), "ready"), ((S.PAID, S.PREPARING), "cancelled")],
)
def test_kitchen_flow_refuses_skipping_steps(staff_client, order, product, path, target):
    force_status(order, *path)
    status_before = order.status
    response = staff_client.post(f"{ORDERS}{order.number}/status/", {"status": target})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    order.refresh_from_db()
    assert (order.status, stock_of(product)) == (status_before, 7)


@pytest.mark.parametrize("target", ["paid", "expired", "pending_payment", "bogus", ""])
def test_staff_cannot_set_paid_or_expired_by_hand(staff_client, order, target):
    response = staff_client.post(f"{ORDERS}{order.number}/status/", {"status": target})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == "pending_payment"


def test_shoppers_cannot_use_the_kitchen_endpoint(auth_client, order):
    force_status(order, S.PAID)
    assert auth_client.post(f"{ORDERS}{order.number}/status/", {"status": "preparing"}).status_code == 403
    order.refresh_from_db()
    assert order.status == "paid"


def test_staff_cancel_via_status_releases_stock(staff_client, order, product):
    response = staff_client.post(f"{ORDERS}{order.number}/status/", {"status": "cancelled"})
    assert response.status_code == 200
    assert stock_of(product) == 10


# --- expiry -----------------------------------------------------------------------------


def test_expire_orders_expires_only_due_pending_orders(settings, user, product):
    settings.MAX_UNPAID_ORDERS = 3  # three pending at once, one then marked paid
    due = place_order(user=user, items=[(product, 2)])
    not_yet = place_order(user=user, items=[(product, 1)])
    paid = force_status(place_order(user=user, items=[(product, 1)]), S.PAID)
    Order.objects.filter(pk__in=[due.pk, paid.pk]).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert stock_of(product) == 6

    out = StringIO()
    call_command("expire_orders", stdout=out)

    assert out.getvalue().strip() == "Expired 1 order(s)."
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {due.pk: "expired", not_yet.pk: "pending_payment", paid.pk: "paid"}
    assert stock_of(product) == 8
    event = due.events.last()
    assert (event.from_status, event.to_status, event.actor) == ("pending_payment", "expired", "system")

    call_command("expire_orders", stdout=StringIO())
    assert stock_of(product) == 8


def test_expire_does_nothing_before_the_time(order, product):
    assert services.order_expire(order_id=order.pk) is False
    order.refresh_from_db()
    assert (order.status, stock_of(product)) == ("pending_payment", 7)


def test_cancel_after_expiry_is_refused_and_stock_is_released_once(auth_client, order, product):
    assert services.order_expire(order_id=order.pk, now=order.expires_at) is True
    assert auth_client.post(f"{ORDERS}{order.number}/cancel/").status_code == 409
    assert stock_of(product) == 10


# --- late payment -----------------------------------------------------------------------


def test_late_payment_retakes_stock(order, product):
    services.order_expire(order_id=order.pk, now=order.expires_at)
    assert stock_of(product) == 10
    force_status(order, S.PAID)
    assert (order.status, stock_of(product)) == ("paid", 7)


def test_late_payment_without_stock_changes_nothing(order, product):
    services.order_expire(order_id=order.pk, now=order.expires_at)
    Product.objects.filter(pk=product.pk).update(stock=2)
    with pytest.raises(InsufficientStock), transaction.atomic():
        services.order_transition(
            order=services.order_lock(order_id=order.pk), to_status=S.PAID, actor=services.GATEWAY
        )
    order.refresh_from_db()
    assert (order.status, order.paid_at, stock_of(product)) == ("expired", None, 2)


def test_late_payment_shortfall_leaves_the_callers_transaction_usable(user):
    rice, tea = ProductFactory(stock=5), ProductFactory(stock=5)
    order = place_order(user=user, items=[(rice, 2), (tea, 2)])
    services.order_expire(order_id=order.pk, now=order.expires_at)
    Product.objects.filter(pk=tea.pk).update(stock=1)
    with transaction.atomic():
        locked = services.order_lock(order_id=order.pk)
        with pytest.raises(InsufficientStock):
            services.order_transition(order=locked, to_status=S.PAID, actor=services.GATEWAY)
        # The payments code goes on to flag the payment in this same transaction.
        assert Order.objects.get(pk=order.pk).status == "expired"
    assert (stock_of(rice), stock_of(tea)) == (5, 1)


# --- reading orders ---------------------------------------------------------------------


def test_order_list_is_own_orders_newest_first(auth_client, user, product):
    first = place_order(user=user, items=[(product, 1)])
    second = place_order(user=user, items=[(product, 1)])
    place_order(user=UserFactory(), items=[(product, 1)])
    Order.objects.filter(pk=first.pk).update(placed_at=timezone.now() - timedelta(hours=1))
    body = auth_client.get(ORDERS).json()
    assert body["count"] == 2
    assert [o["number"] for o in body["results"]] == [second.number, first.number]


def test_order_list_filters_by_status(auth_client, user, product):
    a = place_order(user=user, items=[(product, 1)])
    b = place_order(user=user, items=[(product, 1)])
    services.order_cancel(order=b, actor=services.Actor.of(user))
    assert [o["number"] for o in auth_client.get(f"{ORDERS}?status=cancelled").json()["results"]] == [
        b.number
    ]
    assert [o["number"] for o in auth_client.get(f"{ORDERS}?status=pending_payment").json()["results"]] == [
        a.number
    ]
    bad = auth_client.get(f"{ORDERS}?status=lost")
    assert bad.status_code == 400
    assert list(bad.json()) == ["status"]


def test_staff_see_every_order(staff_client, product):
    for _ in range(3):
        place_order(user=UserFactory(), items=[(product, 1)])
    assert staff_client.get(ORDERS).json()["count"] == 3


def test_order_detail(auth_client, order):
    response = auth_client.get(f"{ORDERS}{order.number}/")
    assert response.status_code == 200
    assert response.json()["number"] == order.number
    assert auth_client.get(f"{ORDERS}FD-000000-NOPE0000/").status_code == 404
    assert auth_client.get(f"{ORDERS}{'X' * 60}/").status_code == 404


def test_orders_query_budget(settings, auth_client, user, django_assert_max_num_queries):
    settings.MAX_UNPAID_ORDERS = 12  # one shopper's twelve orders on one page
    products = ProductFactory.create_batch(6, stock=100)
    bundle = BundleFactory(components=[(products[0], 1), (products[1], 2)])
    orders = [place_order(user=user, items=[(p, 1) for p in products] + [(bundle, 1)]) for _ in range(12)]
    for o in orders[:4]:
        services.order_cancel(order=o, actor=services.Actor.of(user))
    # user, count, orders, then lines, events and payment attempts prefetched
    with django_assert_max_num_queries(6):
        page = auth_client.get(f"{ORDERS}?page_size=20")
    assert len(page.json()["results"]) == 12
    assert all(len(o["lines"]) == 7 for o in page.json()["results"])
    with django_assert_max_num_queries(6):
        detail = auth_client.get(f"{ORDERS}{orders[0].number}/")
    assert len(detail.json()["events"]) == 2


# --- account deletion -------------------------------------------------------------------


def test_deleting_the_account_keeps_orders_with_their_snapshot(user, product):
    order = place_order(user=user, items=[(product, 2)])
    client = bearer_client(user)
    email, name = user.email, user.name
    assert client.delete("/api/v1/auth/me/", {"password": PASSWORD}).status_code == 204
    order.refresh_from_db()
    assert order.user is None
    assert (order.customer_email, order.customer_name, order.total) == (email, name, 20_000)
    assert order.lines.count() == 1
    assert order.events.get().actor_user is None
    # The order still expires and gives its stock back without its user.
    assert services.order_expire(order_id=order.pk, now=order.expires_at) is True
    assert stock_of(product) == 10
