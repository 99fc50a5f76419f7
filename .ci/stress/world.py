"""The stress run's data, made in the harness process (Django set up on the scratch
database) through the project's own services, and the few things the harness does
in-process while the servers run: acting as the mock gateway's shopper whose notification
is lost, and reading the notification the mock gateway sends, to deliver copies of it.

Shoppers come from bench/fixtures.py (bulk users with access tokens); the menu, the stock,
the opening hours and the pickup slots from catalog/ and orders/ services, so the ledger and
the slot counters start out right.
"""

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time as clock
from datetime import timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from bench.fixtures import Shopper, shoppers_create
from catalog.models import Product
from catalog.services import category_create, product_create
from catalog.stock import stock_adjust
from orders.models import PickupSlot
from orders.pickup import services as pickup
from payments.exceptions import MockTransactionClosed
from payments.gateways.base import REFUNDABLE_PAYMENT_TYPES
from payments.gateways.mock import PAYMENT_TYPES, MockGateway, mock_transaction_complete, notification_for
from payments.models import MockTransaction

# Singles hold stock; the bundle takes one of each of the first two.
SINGLES = [
    ("STR-RICE", "Stress Nasi Goreng", 25_000),
    ("STR-NOOD", "Stress Mie Ayam", 18_000),
    ("STR-SATE", "Stress Sate Ayam", 30_000),
    ("STR-TEAA", "Stress Es Teh", 6_000),
]
BUNDLE = ("STR-PAKT", "Stress Paket Hemat", 40_000, [("STR-RICE", 1), ("STR-TEAA", 1)])
PICKUP_SLOTS = 3  # slots the pickup shoppers share
PICKUP_SLOTS_AHEAD = timedelta(hours=2)  # far enough that no slot begins during a run

# What a shopper does with a placed order. After paying, some orders lose their money again,
# as Midtrans's status cycle allows: a card capture voided before settlement (the bank or
# staff in the dashboard: `capture` -> `cancel`), a settled card charged back by the card
# holder's bank (`settlement` -> `chargeback`, or `partial_chargeback` of a quarter), or staff refunding all or part through
# `POST orders/{number}/refund/` while other staff move the order into the kitchen.
PAY, PAY_LOST, CANCEL, LEAVE = "pay", "pay_lost", "cancel", "leave"
VOID, CHARGEBACK, REFUND, REFUND_PART = "void", "chargeback", "refund", "refund_part"
CHARGEBACK_PART = "chargeback_part"
ACTIONS = [
    (PAY, 0.32),
    (PAY_LOST, 0.10),
    (CANCEL, 0.08),
    (LEAVE, 0.06),
    (VOID, 0.08),
    (CHARGEBACK, 0.08),
    (CHARGEBACK_PART, 0.08),
    (REFUND, 0.10),
    (REFUND_PART, 0.10),
]
CARD = "credit_card"
# Only a card is captured (so voided) and charged back.
CARD_ONLY = frozenset({VOID, CHARGEBACK, CHARGEBACK_PART})


@dataclass(frozen=True)
class Menu:
    slugs: dict[str, str]  # sku -> slug
    demand_of: dict[str, dict[str, int]]  # sku -> {single sku: units per one}


@dataclass
class Plan:
    """One shopper's visit, drawn before the wave starts."""

    shopper: Shopper
    lines: list[tuple[str, int]]  # (product slug, quantity)
    slot_id: int | None
    slot_date: str | None
    action: str
    payment_type: str
    double_submit: bool  # send the checkout twice at once, same Idempotency-Key
    demand: Counter = field(default_factory=Counter)  # single sku -> units


def menu_create() -> Menu:
    """Four singles and a bundle, priced, with no stock yet (each wave adds its own)."""
    category = category_create(name="Stress", slug="stress")
    by_sku = {}
    for sku, name, price in SINGLES:
        by_sku[sku] = product_create(name=name, sku=sku, category=category, price=price)
    sku, name, price, components = BUNDLE
    by_sku[sku] = product_create(
        name=name,
        sku=sku,
        category=category,
        kind=Product.Kind.BUNDLE,
        price=price,
        components=[(by_sku[component], quantity) for component, quantity in components],
    )
    demand_of = {single: {single: 1} for single, _name, _price in SINGLES}
    demand_of[sku] = dict(components)
    return Menu(slugs={sku: product.slug for sku, product in by_sku.items()}, demand_of=demand_of)


def hours_and_slots_create(*, capacities: list[int]) -> list[PickupSlot]:
    """Open all day, every day (no shopper is refused as `shop_closed`), and a few slots two
    hours ahead with the given small capacities (the others keep the default; nobody books
    them)."""
    for weekday in range(7):
        pickup.weekly_hours_add(weekday=weekday, opens_at=clock(0), closes_at=clock(0))
    now = timezone.now()
    pickup.pickup_slots_materialise(now=now)
    chosen = list(
        PickupSlot.objects.filter(start__gte=now + PICKUP_SLOTS_AHEAD).order_by("start")[:PICKUP_SLOTS]
    )
    return [
        pickup.pickup_slot_set_capacity(slot_id=slot.pk, capacity=capacity)
        for slot, capacity in zip(chosen, capacities, strict=True)
    ]


def shoppers_make(*, count: int) -> list[Shopper]:
    return shoppers_create(label="stress", count=count)


def plans_draw(
    *,
    rng: random.Random,
    shoppers: list[Shopper],
    menu: Menu,
    slots: list[PickupSlot],
    pickup_share: float,
    double_submit_share: float,
) -> list[Plan]:
    plans = []
    skus = list(menu.slugs)
    actions, weights = zip(*ACTIONS, strict=True)
    for shopper in shoppers:
        chosen = rng.sample(skus, rng.randint(1, 3))
        lines = [(sku, rng.randint(1, 2)) for sku in chosen]
        slot = rng.choice(slots) if rng.random() < pickup_share else None
        plan = Plan(
            shopper=shopper,
            lines=[(menu.slugs[sku], quantity) for sku, quantity in lines],
            slot_id=slot.pk if slot else None,
            slot_date=timezone.localtime(slot.start).date().isoformat() if slot else None,
            action=(action := rng.choices(actions, weights)[0]),
            payment_type=CARD if action in CARD_ONLY else rng.choice(PAYMENT_TYPES),
            double_submit=rng.random() < double_submit_share,
        )
        for sku, quantity in lines:
            for single, units in menu.demand_of[sku].items():
                plan.demand[single] += units * quantity
        plans.append(plan)
    return plans


def stock_provide(*, plans: list[Plan], share: float, note: str) -> dict[str, int]:
    """Add `share` of what the wave's shoppers would take of each single (a recorded
    adjustment, so the ledger stays whole): stock that covers only some of them."""
    wanted: Counter = Counter()
    for plan in plans:
        wanted.update(plan.demand)
    added = {}
    for product in Product.objects.filter(sku__in=[sku for sku, _n, _p in SINGLES]).order_by("pk"):
        delta = int(wanted[product.sku] * share)
        if delta:
            stock_adjust(product=product, delta=delta, user=None, note=note)
        added[product.sku] = delta
    return added


# --- in-process while the servers run (harness threads) ---------------------------------------


def with_db(work: Callable[[], Any], *, attempts: int = 4) -> Any:
    """Run `work` on this thread's own connection and close it afterwards. A connection the
    fault killed (pg_terminate_backend) is dropped and the work tried again."""
    for attempt in range(attempts):
        try:
            return work()
        except (OperationalError, InterfaceError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
        finally:
            connection.close()
    raise AssertionError("unreachable")


def pay_without_notification(*, token: str, payment_type: str) -> str:
    """The shopper pays on the mock gateway's page, and the notification never reaches the
    shop (Midtrans's is lost): the gateway's record says settled, the shop knows nothing.
    Reconciliation must find it. Returns what the gateway records."""

    def work() -> str:
        try:
            answer = mock_transaction_complete(
                token=token, transaction_status="settlement", payment_type=payment_type
            )
        except MockTransactionClosed as closed:  # a retry after a lost commit: it did apply
            return str(closed.detail)
        return answer["transaction_status"]

    return with_db(work)


def notification_body(*, token: str) -> dict[str, Any] | None:
    """What the mock gateway notifies for the transaction as it is now (the function its
    payment page sends through the webhook); None while nobody has paid it."""

    def work() -> dict[str, Any] | None:
        with transaction.atomic():
            tx = MockTransaction.objects.filter(token=token).first()
        if tx is None or not tx.payment_type:
            return None
        return notification_for(tx)

    return with_db(work)


def gateway_refundable(payment_type: str) -> bool:
    """Whether Midtrans refunds this payment type (else staff refund offline)."""
    return payment_type in REFUNDABLE_PAYMENT_TYPES


def staff_make() -> Shopper:
    """One member of staff (superuser: refunds and kitchen moves) with an access token."""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User

    user = User.objects.create(email="stress-staff@bench.example.com", name="Stress staff", is_staff=True)
    user.is_superuser = True
    user.set_unusable_password()
    user.save()
    return Shopper(user_id=user.pk, email=user.email, token=str(AccessToken.for_user(user)))


def gateway_void(*, gateway_order_id: str) -> dict[str, Any] | None:
    """The capture voided on Midtrans's side (staff in the dashboard, or the bank) through
    the mock's Cancel (Midtrans allows it for `capture`); returns the `cancel` notification
    Midtrans then sends, or None when the gateway refused (no longer a capture)."""
    from payments.gateways import GatewayError

    def work() -> dict[str, Any] | None:
        try:
            MockGateway().cancel(gateway_order_id=gateway_order_id)
        except GatewayError:
            return None
        return notification_for(MockTransaction.objects.get(gateway_order_id=gateway_order_id))

    return with_db(work)


def gateway_move(
    *, gateway_order_id: str, from_statuses: tuple[str, ...], to: str, chargeback_amount: int = 0
) -> dict[str, Any] | None:
    """What happens on Midtrans's side with no merchant call (its "Transaction Status
    Cycle"): the bank settles a card capture (`capture` -> `settlement`), or the card
    holder's bank charges a settled payment back (`settlement` -> `chargeback`, or
    `partial_chargeback` of `chargeback_amount`, which the mock's answers name). Moves the
    mock's transaction only from `from_statuses` and returns the notification Midtrans
    sends for it, or None when the transaction was elsewhere (voided, refunded)."""

    def work() -> dict[str, Any] | None:
        with transaction.atomic():
            tx = MockTransaction.objects.select_for_update().get(gateway_order_id=gateway_order_id)
            if tx.transaction_status not in from_statuses:
                return None
            tx.transaction_status, tx.updated_at = to, timezone.now()
            tx.chargeback_amount = chargeback_amount
            tx.save(update_fields=["transaction_status", "updated_at", "chargeback_amount"])
        return notification_for(tx)

    return with_db(work)
