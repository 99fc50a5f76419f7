"""Issue 23: the order's JSON is built without DRF serializers (orders.api.serializers.
order_data); byte for byte what OrderSerializer gave, over a grid of orders: single lines,
bundles, options, vouchers, charges (inclusive tax, rounding), every payment state, pickup
slot or none, no ready time, in both languages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone, translation
from rest_framework.renderers import JSONRenderer

from accounts.tests.factories import UserFactory
from catalog.tests.factories import BundleFactory, ProductFactory, dish_with_options
from invoices.tests.factories import pay
from orders import selectors, services
from orders.api.order_json import order_data
from orders.api.serializers import OrderSerializer
from orders.models import AppliedVoucher, Order, Voucher
from orders.shop_settings import shop_settings_update
from orders.tests.factories import CHARGES, PickupSlotFactory, place_order
from payments.models import Payment
from payments.services.refunds import order_refund_by_status

pytestmark = pytest.mark.django_db


def both(order: Order, *, request=None) -> tuple[bytes, bytes]:
    order = selectors.order_detail(order_id=order.pk)
    old = OrderSerializer(order, context={"request": request}).data
    new = order_data(order, request=request)
    return JSONRenderer().render(old), JSONRenderer().render(new)


ORDERS = ["single", "bundle", "options", "voucher"]
PAYMENTS = ["none", "open_error", "opened", "paid", "refunded"]


def an_order(kind: str) -> Order:
    user = UserFactory()
    if kind == "single":
        return place_order(
            user=user,
            items=[(ProductFactory(price=25_000, stock=9), 3)],
            notes="no ice",
            phone="+628123456789",
        )
    if kind == "bundle":
        rice, tea = ProductFactory(price=25_000, stock=9), ProductFactory(price=5_000, stock=9)
        return place_order(user=user, items=[(BundleFactory(components=[(rice, 1), (tea, 2)]), 2)])
    if kind == "options":
        from cart.services import cart_add_item

        cart_add_item(
            user=user, product=dish_with_options("soto"), quantity=2, options=["soto-mild", "soto-satay"]
        )
        cart_add_item(user=user, product=ProductFactory(price=7_777, stock=9), quantity=1, note="pedas")
        from orders.placing import order_place

        return order_place(user=user)
    voucher = Voucher.objects.create(code="HEMAT10", kind="percent", value=10, min_subtotal=0)
    AppliedVoucher.objects.create(user=user, voucher=voucher)
    return place_order(user=user, items=[(ProductFactory(price=33_333, stock=9), 1)])


def with_payment(order: Order, state: str) -> Order:
    def attempt(**fields) -> Payment:
        return Payment.objects.create(
            order=order,
            attempt=1,
            gateway="midtrans",
            gateway_order_id=f"{order.number}-1",
            amount=order.total,
            expires_at=datetime(2030, 1, 1, 1, 2, 3, 456789, tzinfo=UTC),
            **fields,
        )

    if state == "open_error":
        attempt(open_error="gateway down")
    elif state == "opened":
        attempt(token="tok-1", redirect_url="https://app.sandbox.midtrans.com/snap/v4/redirection/tok-1")
    elif state in ("paid", "refunded"):
        pay(order)
        if state == "refunded":
            staff = UserFactory(is_staff=True, is_superuser=True)
            order_refund_by_status(order=order, actor=services.Actor.of(staff), note="gave it back")
    order.refresh_from_db()
    return order


@pytest.mark.parametrize("charges", CHARGES.values(), ids=CHARGES.keys())
@pytest.mark.parametrize("kind", ORDERS)
@pytest.mark.parametrize("payment", PAYMENTS)
def test_the_order_json_is_what_the_serializer_gave(charges, kind, payment):
    if charges:
        shop_settings_update(**charges)
    order = with_payment(an_order(kind), payment)
    request = RequestFactory().get("/api/v1/orders/")
    for language in ("en", "id"):
        with translation.override(language):
            for on in (None, request):
                old, new = both(order, request=on)
                assert old == new
    # The grid is what it says it is.
    with translation.override("id"):
        new = both(order)[1]
    assert (b'"included":' in new) == bool(charges.get("prices_include_tax"))
    if kind == "voucher":  # 33,333 less 10% plus the charges does not end in 00
        assert (b'"code":"rounding"' in new) == bool(charges.get("rounding_unit"))
    assert (b'"kind":"bundle"' in new) == (kind == "bundle")
    assert (b'"group":"Level soto"' in new) == (kind == "options")
    assert (b'"voucher":"HEMAT10"' in new) == (kind == "voucher")
    assert (b'"payment":null' in new) == (payment != "opened")
    assert (b'"payment_error":null' in new) == (payment != "open_error")
    assert (b'"invoice":null' in new) == (payment not in ("paid", "refunded"))
    assert (b'"status":"refunded"' in new) == (payment == "refunded")


def test_pickup_slot_ready_time_and_time_zones():
    order = an_order("single")
    slot = PickupSlotFactory(start=datetime(2030, 1, 1, 8, tzinfo=UTC))
    Order.objects.filter(pk=order.pk).update(pickup_slot=slot, ready_at=slot.start)
    old, new = both(order)
    assert old == new
    assert b'"pickup_slot":{"id":%d,"start":"2030-01-01T15:00:00+07:00"' % slot.id in new

    Order.objects.filter(pk=order.pk).update(pickup_slot=None, ready_at=None)
    old, new = both(order)
    assert old == new
    assert b'"pickup_slot":null,"ready_at":null' in new

    with timezone.override(UTC):  # UTC is written Z, as DRF writes it
        Order.objects.filter(pk=order.pk).update(
            ready_at=datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=1)
        )
        old, new = both(order)
    assert old == new
    assert b'"ready_at":"2030-01-01T01:00:00Z"' in new


def test_the_order_reads_answer_what_the_serializer_gives(auth_client, user):
    """GET orders/ and GET orders/{number}/ answer with order_data: the serializer's JSON,
    links (the invoice's PDF) on the request's host."""
    order = place_order(user=user, items=[(ProductFactory(price=12_345, stock=9), 2)])
    pay(order)
    listed = auth_client.get("/api/v1/orders/")
    detail = auth_client.get(f"/api/v1/orders/{order.number}/")
    request = detail.wsgi_request
    expected = OrderSerializer(selectors.order_detail(order_id=order.pk), context={"request": request}).data
    assert detail.content == JSONRenderer().render(expected)
    assert listed.json()["results"] == [detail.json()]
    assert detail.json()["invoice"]["pdf_url"].startswith("http://testserver/")
