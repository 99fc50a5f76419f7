"""Vouchers over HTTP: applying one to the cart (each refusal with its reason, nothing
changed), the discount through checkout, a use per order given back on cancel and expiry
but not on refund, and staff's vouchers/ API."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.roles import MANAGER
from accounts.tests.factories import UserFactory
from catalog.models import Product
from catalog.tests.factories import CategoryFactory, ProductFactory
from orders import services
from orders.models import AppliedVoucher, Order, OrderStatus, Voucher, VoucherUse
from orders.shop_settings import shop_settings_update
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db

CART, ITEMS, VOUCHER, ORDERS = (
    "/api/v1/cart/",
    "/api/v1/cart/items/",
    "/api/v1/cart/voucher/",
    "/api/v1/orders/",
)


@pytest.fixture
def nasi(db):
    return ProductFactory(slug="nasi", price=25_000, stock=10, category=CategoryFactory(slug="rice"))


@pytest.fixture
def in_cart(auth_client, nasi):
    auth_client.post(ITEMS, {"product": "nasi", "quantity": 2}, format="json")
    return auth_client


def voucher(**fields) -> Voucher:
    return Voucher.objects.create(**{"code": "HEMAT10", "kind": "percent", "value": 10, **fields})


def test_apply_shows_the_discount_and_checkout_takes_one_use(in_cart, user):
    shop_settings_update(service_charge_bp=500, tax_rate_bp=1_000)
    hemat = voucher(max_discount=4_000, usage_limit=5)

    cart = in_cart.post(VOUCHER, {"code": "hemat10"}, format="json")
    placed = in_cart.post(ORDERS, {}, format="json")

    assert cart.status_code == 200
    body = cart.json()
    # 10% of 50.000 is 5.000, capped at 4.000; service and PB1 on the 46.000 paid for.
    assert (body["voucher"], body["subtotal"], body["discount"], body["tax"], body["total"]) == (
        {"code": "HEMAT10", "problem": None},
        50_000,
        4_000,
        4_830,
        53_130,
    )
    assert placed.status_code == 201, placed.content
    assert (placed.json()["voucher"], placed.json()["discount"], placed.json()["total"]) == (
        "HEMAT10",
        4_000,
        53_130,
    )
    order = Order.objects.get()
    use = VoucherUse.objects.get()
    assert (use.voucher_id, use.order_id, use.user_id, use.amount, use.released_at) == (
        hemat.pk,
        order.pk,
        user.pk,
        4_000,
        None,
    )
    assert Voucher.objects.get().used == 1
    assert not AppliedVoucher.objects.exists()  # a voucher goes with the order it was used on
    assert in_cart.get(CART).json()["voucher"] is None


NOW = timezone.now()


@pytest.mark.parametrize(
    ("code", "fields", "reason"),
    [
        ("NOPE", {}, "unknown"),
        ("HEMAT10", {"active": False}, "unknown"),
        ("HEMAT10", {"ends_at": NOW - timedelta(minutes=1)}, "expired"),
        ("HEMAT10", {"starts_at": NOW + timedelta(days=1)}, "not_started"),
        ("HEMAT10", {"min_subtotal": 50_001}, "min_subtotal"),
        ("HEMAT10", {"usage_limit": 0}, "used_up"),
    ],
)
def test_a_voucher_that_does_not_apply_is_a_400_with_its_reason(in_cart, code, fields, reason):
    voucher(**fields)

    response = in_cart.post(VOUCHER, {"code": code}, format="json")

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["reason"]) == ("voucher_invalid", reason)
    assert not AppliedVoucher.objects.exists()


def test_not_eligible_outside_its_categories_and_after_a_first_order(in_cart, user, nasi):
    drinks = voucher(code="MINUM", kind="fixed", value=2_000)
    drinks.categories.add(CategoryFactory(slug="drinks"))
    first = voucher(code="PERTAMA", first_order_only=True)
    assert in_cart.post(VOUCHER, {"code": "minum"}, format="json").json()["reason"] == "not_eligible"
    assert in_cart.post(VOUCHER, {"code": "pertama"}, format="json").status_code == 200

    in_cart.delete(VOUCHER)
    place_order(user=user, items=[(nasi, 1)])  # an earlier order, still pending
    in_cart.post(ITEMS, {"product": "nasi", "quantity": 1}, format="json")

    assert in_cart.post(VOUCHER, {"code": "pertama"}, format="json").json()["reason"] == "not_eligible"
    assert first.used == 0


def test_per_customer_limit(in_cart, user, nasi, settings):
    settings.MAX_UNPAID_ORDERS = 5
    voucher(per_customer_limit=1)
    in_cart.post(VOUCHER, {"code": "HEMAT10"}, format="json")
    assert in_cart.post(ORDERS, {}, format="json").status_code == 201
    in_cart.post(ITEMS, {"product": "nasi", "quantity": 1}, format="json")

    response = in_cart.post(VOUCHER, {"code": "HEMAT10"}, format="json")

    assert response.json()["reason"] == "used_up"


def test_used_up_between_apply_and_checkout_is_a_409_and_nothing_changes(in_cart, nasi):
    hemat = voucher(usage_limit=1)
    in_cart.post(VOUCHER, {"code": "HEMAT10"}, format="json")
    Voucher.objects.filter(pk=hemat.pk).update(used=1)  # someone else took the last use

    cart = in_cart.get(CART).json()
    response = in_cart.post(ORDERS, {}, format="json")

    assert (cart["voucher"], cart["discount"]) == ({"code": "HEMAT10", "problem": "used_up"}, 0)
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["reason"]) == ("voucher_unavailable", "used_up")
    assert not Order.objects.exists()
    assert not VoucherUse.objects.exists()
    assert Product.objects.get(pk=nasi.pk).stock == 10
    assert len(in_cart.get(CART).json()["items"]) == 1
    assert AppliedVoucher.objects.exists()  # the shopper decides: remove it or apply another


def test_cancel_and_expiry_give_the_use_back_a_refund_does_not(user, nasi, settings):
    settings.MAX_UNPAID_ORDERS = 5
    hemat = voucher(usage_limit=3)

    def order_with_voucher() -> Order:
        AppliedVoucher.objects.create(user=user, voucher=hemat)
        return place_order(user=user, items=[(nasi, 1)])

    cancelled, expired, refunded = order_with_voucher(), order_with_voucher(), order_with_voucher()
    assert Voucher.objects.get().used == 3
    staff = services.Actor.of(UserFactory(is_staff=True, is_superuser=True))

    services.order_cancel(order=cancelled, actor=staff)
    Order.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert services.order_expire(order_id=expired.pk)
    Order.objects.filter(pk=refunded.pk).update(status=OrderStatus.PAID)
    with transaction.atomic():  # the state change every refund path makes (payments.settlement)
        services.order_transition(
            order=services.order_lock(order_id=refunded.pk), to_status=OrderStatus.REFUNDED, actor=staff
        )

    assert Voucher.objects.get().used == 1
    released = dict(VoucherUse.objects.values_list("order_id", "released_at"))
    assert released[refunded.pk] is None
    assert released[cancelled.pk] is not None
    assert released[expired.pk] is not None
    assert VoucherUse.objects.count() == 3  # every use stays a row


def test_staff_create_and_change_a_voucher(api_client):
    manager = UserFactory(is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    api_client.force_authenticate(manager)
    CategoryFactory(slug="drinks")

    made = api_client.post(
        "/api/v1/vouchers/",
        {
            "code": "minum-segar",
            "kind": "fixed",
            "value": 3_000,
            "categories": ["drinks"],
            "starts_at": "2030-01-01T00:00:00+07:00",
            "ends_at": "2030-02-01T00:00:00+07:00",
        },
        format="json",
    )
    too_much = api_client.post(
        "/api/v1/vouchers/", {"code": "X", "kind": "percent", "value": 101}, format="json"
    )
    dup = api_client.post(
        "/api/v1/vouchers/", {"code": "Minum-Segar", "kind": "fixed", "value": 1}, format="json"
    )
    changed = api_client.patch(f"/api/v1/vouchers/{made.json()['id']}/", {"usage_limit": 10}, format="json")

    assert made.status_code == 201, made.content
    assert (made.json()["code"], made.json()["categories"], made.json()["used"]) == (
        "MINUM-SEGAR",
        ["drinks"],
        0,
    )
    assert Voucher.objects.get().starts_at == datetime(2029, 12, 31, 17, tzinfo=UTC)
    assert (too_much.status_code, "value" in too_much.json()) == (400, True)
    assert (dup.status_code, "code" in dup.json()) == (400, True)
    assert (changed.status_code, changed.json()["usage_limit"]) == (200, 10)
    assert Voucher.objects.count() == 1


def test_the_admin_makes_vouchers_upper_case_and_the_order_page_shows_the_charges(admin_client, user, nasi):
    saved = admin_client.post(
        "/admin/orders/voucher/add/",
        {
            "code": "diskon5",
            "kind": "fixed",
            "value": 5_000,
            "min_subtotal": 0,
            "active": "on",
            "uses-TOTAL_FORMS": 0,  # the inline of uses (read-only)
            "uses-INITIAL_FORMS": 0,
        },
    )
    assert saved.status_code == 302
    assert list(Voucher.objects.values_list("code", "used")) == [("DISKON5", 0)]

    shop_settings_update(service_charge_bp=500, tax_rate_bp=1_000)
    AppliedVoucher.objects.create(user=user, voucher=Voucher.objects.get())
    order = place_order(user=user, items=[(nasi, 2)])
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/")

    assert page.status_code == 200
    assert "Discount -Rp 5.000; Service charge 5% Rp 2.250; PB1 10% Rp 4.725" in page.content.decode()
    assert admin_client.get(f"/admin/orders/voucher/{Voucher.objects.get().pk}/change/").status_code == 200


def test_a_late_payment_takes_the_released_use_again_or_says_it_could_not(user, nasi, settings):
    settings.MAX_UNPAID_ORDERS = 5
    hemat = voucher(usage_limit=1)
    AppliedVoucher.objects.create(user=user, voucher=hemat)
    late = place_order(user=user, items=[(nasi, 1)])
    services.order_cancel(order=late, actor=services.Actor.of(user))
    assert Voucher.objects.get().used == 0

    with transaction.atomic():  # paid after all (payments.settlement moves it so)
        event = services.order_transition(
            order=services.order_lock(order_id=late.pk), to_status=OrderStatus.PAID, actor=services.SYSTEM
        )

    assert (Voucher.objects.get().used, VoucherUse.objects.get().released_at) == (1, None)
    assert "voucher_use_not_retaken" not in event.data

    # Another order's use taken by someone else meanwhile: the payment still stands.
    sisa = voucher(code="SISA", usage_limit=1)
    AppliedVoucher.objects.create(user=user, voucher=sisa)
    other = place_order(user=user, items=[(nasi, 1)])
    services.order_cancel(order=other, actor=services.Actor.of(user))
    Voucher.objects.filter(pk=sisa.pk).update(used=1)
    with transaction.atomic():
        event = services.order_transition(
            order=services.order_lock(order_id=other.pk), to_status=OrderStatus.PAID, actor=services.SYSTEM
        )
    assert event.data["voucher_use_not_retaken"] == "SISA"
    assert Voucher.objects.get(pk=sisa.pk).used == 1
    assert VoucherUse.objects.get(order=other).released_at is not None
