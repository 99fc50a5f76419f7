"""What must hold after a wave, read from the database (and the mail folder, and the
answers the shoppers got). Each check is a row of the summary: what it is, what was found,
and whether it held.
"""

import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from client import Call, Visit
from django.db.models import Min

from catalog.models import Product, StockMovement
from invoices.models import CreditNote, Invoice, InvoiceSequence
from orders.models import (
    RECEIPT_STATUSES,
    STOCK_RELEASED_STATUSES,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PickupSlot,
)
from payments.gateways.base import REFUNDABLE_PAYMENT_TYPES
from payments.models import MONEY_HELD_STATUSES, MockTransaction, Payment

ROOT = Path(__file__).resolve().parents[2]
SETTLED_AT_GATEWAY = ("settlement", "capture")
# Orders whose money went back (in full, or taken back and on hold): they were paid once.
MONEY_BACK_STATUSES = frozenset({OrderStatus.REFUNDED, OrderStatus.PAYMENT_REVERSED})
KITCHEN_STATUSES = frozenset({OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.COMPLETED})
PS = Payment.Status
# The gateway's last word on a transaction -> the attempt's status it must have led to.
# A settled payment Midtrans cannot refund was refunded offline by staff (the gateway still
# says settlement).
AFTER_GATEWAY = {
    "capture": {PS.SETTLED},
    "settlement": {PS.SETTLED},
    "partial_refund": {PS.PARTIALLY_REFUNDED},
    "refund": {PS.REFUNDED},
    "chargeback": {PS.CHARGEBACK},
    "partial_chargeback": {PS.PARTIAL_CHARGEBACK},
}
OFFLINE_REFUNDED = {PS.PARTIALLY_REFUNDED, PS.REFUNDED}
# The receipt's subject in the order's language (config/locale: "Struk … untuk pesanan …" in id).
RECEIPT_SUBJECT = re.compile(
    r"^Subject: (?:.* receipt for order|Struk .* untuk pesanan) (\S+)\s*$", re.MULTILINE
)


@dataclass(frozen=True)
class Check:
    name: str
    found: str
    ok: bool


def stock_never_negative() -> Check:
    lowest = Product.objects.aggregate(low=Min("stock"))["low"]
    lowest_after = StockMovement.objects.aggregate(low=Min("stock_after"))["low"]
    ok = lowest is not None and lowest >= 0 and (lowest_after is None or lowest_after >= 0)
    return Check("stock never below zero", f"lowest stock {lowest}, lowest in the ledger {lowest_after}", ok)


def audit_passes(env: dict[str, str], command: str, name: str) -> Check:
    """A `manage.py` audit (`stock_audit`, `catalog_audit`), as an operator would run it:
    exit 0."""
    result = subprocess.run(
        [sys.executable, "manage.py", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    said = (result.stdout.strip().splitlines() or [result.stderr.strip()[-200:]])[-1]
    return Check(f"{name} ({command})", f"exit {result.returncode}: {said}", result.returncode == 0)


def stock_taken_by_orders() -> Check:
    """For every order and product: the ledger's net movement for the order equals the
    order's demand while it holds its stock, and nothing once it was released."""
    net: dict[tuple[int, int], int] = Counter()
    for order_id, product_id, quantity in StockMovement.objects.filter(order__isnull=False).values_list(
        "order_id", "product_id", "quantity"
    ):
        net[order_id, product_id] -= quantity
    statuses = dict(Order.objects.values_list("pk", "status"))
    expected: dict[tuple[int, int], int] = Counter()
    for line in OrderLine.objects.all():
        if statuses[line.order_id] not in STOCK_RELEASED_STATUSES:
            for product_id, units in line.stock_demand().items():
                expected[line.order_id, product_id] += units
    wrong = sorted(key for key in net.keys() | expected.keys() if net.get(key, 0) != expected.get(key, 0))
    held = sum(expected.values())
    return Check(
        "orders placed == stock taken",
        f"{held} units held by {len({o for o, _p in expected})} orders; {len(wrong)} order/product pairs off"
        + (f", e.g. {wrong[:3]}" if wrong else ""),
        not wrong,
    )


def slots_match_orders() -> Check:
    holding = Counter(
        Order.objects.filter(pickup_slot__isnull=False)
        .exclude(status__in=STOCK_RELEASED_STATUSES)
        .values_list("pickup_slot_id", flat=True)
    )
    wrong, booked = [], 0
    for slot in PickupSlot.objects.filter(taken__gt=0) | PickupSlot.objects.filter(pk__in=list(holding)):
        booked += slot.taken
        if slot.taken != holding.get(slot.pk, 0) or slot.taken > slot.capacity:
            wrong.append((slot.pk, slot.taken, holding.get(slot.pk, 0), slot.capacity))
    return Check(
        "slot taken == pickup orders holding it",
        f"{booked} places booked in {len(holding)} slots; off: {wrong[:3] or 'none'}",
        not wrong,
    )


def one_order_per_checkout(visits: list[Visit]) -> Check:
    """Every shopper checked out once (some twice at the same moment, with one key)."""
    shoppers = {visit.user_id for visit in visits}
    per_user = Counter(Order.objects.filter(user_id__in=shoppers).values_list("user_id", flat=True))
    doubled = {user: n for user, n in per_user.items() if n > 1}
    placed = sum(1 for visit in visits if visit.checkout_status == 201)
    return Check(
        "one order per checkout (double submits)",
        f"{sum(per_user.values())} orders for {len(shoppers)} shoppers, {placed} answered 201; "
        f"{len(doubled)} shoppers with two",
        not doubled and placed == sum(per_user.values()),
    )


def paid_orders_documents(mail_dir: Path) -> tuple[Check, Check, Check]:
    """Each paid order has exactly one invoice and one receipt (sent, recorded, and one
    e-mail in the mail folder); no unpaid order has an invoice; numbers are consecutive."""
    paid = dict(Order.objects.filter(status__in=RECEIPT_STATUSES).values_list("number", "pk"))
    # A refunded (or reversed) order was paid first: it keeps its invoice, and its receipt
    # if that went out before the money went back.
    paid_once = set(Order.objects.filter(status__in=MONEY_BACK_STATUSES).values_list("number", flat=True))
    invoiced = Counter(Invoice.objects.values_list("order__number", flat=True))
    invoice_wrong = sorted(n for n in paid.keys() | paid_once if invoiced.get(n) != 1) + sorted(
        n for n in invoiced if n not in paid and n not in paid_once
    )
    # The receipt renders a paid order's invoice when its render task was lost (the broker
    # down); a refunded order gets no receipt, so its invoice may wait for its first
    # download (invoices/tasks.py): counted, not failed.
    unrendered = Invoice.objects.filter(pdf="", order__status__in=RECEIPT_STATUSES).count()
    on_download = Invoice.objects.filter(pdf="", order__status__in=MONEY_BACK_STATUSES).count()
    invoices = Check(
        "each paid order: one invoice (PDF stored)",
        f"{len(paid)} paid orders and {len(paid_once)} refunded, {sum(invoiced.values())} invoices, "
        f"{unrendered} without PDF ({on_download} of refunded orders left to their first download); "
        f"off: {invoice_wrong[:3] or 'none'}",
        not invoice_wrong and unrendered == 0,
    )
    mailed = Counter()
    for path in mail_dir.glob("*"):
        mailed.update(RECEIPT_SUBJECT.findall(path.read_text(errors="replace")))
    unsent = list(
        Order.objects.filter(status__in=RECEIPT_STATUSES, receipt_sent_at__isnull=True).values_list(
            "number", flat=True
        )
    )
    receipt_wrong = (
        sorted(n for n in paid if mailed.get(n) != 1)
        + sorted(n for n in paid_once if mailed.get(n, 0) > 1)
        + sorted(n for n in mailed if n not in paid and n not in paid_once)
    )
    receipts = Check(
        "each paid order: one receipt e-mail",
        f"{sum(mailed.values())} receipts mailed, {len(unsent)} paid orders not marked sent; "
        f"off: {receipt_wrong[:3] or 'none'}",
        not receipt_wrong and not unsent,
    )
    rows = list(Invoice.objects.order_by("year", "serial").values_list("year", "serial", "number"))
    by_year = defaultdict(list)
    for year, serial, _number in rows:
        by_year[year].append(serial)
    sequences = dict(InvoiceSequence.objects.filter(kind="invoice").values_list("year", "last_number"))
    gaps = {
        year: serials
        for year, serials in by_year.items()
        if serials != list(range(1, len(serials) + 1)) or sequences.get(year) != len(serials)
    }
    numbering = Check(
        "invoice numbers consecutive",
        f"{len(rows)} invoices, {rows[0][2] if rows else '-'} .. {rows[-1][2] if rows else '-'}; "
        f"gaps or repeats in {sorted(gaps) or 'no year'}",
        not gaps,
    )
    return invoices, receipts, numbering


def settled_payments_paid() -> Check:
    """Every payment the gateway settled ends up paying its order (or, when the order could
    no longer be paid, flagged for a refund); what the gateway later gave back (refund,
    chargeback) is on the attempt; nothing the gateway did not settle paid an order."""
    at_gateway = {
        tx.gateway_order_id: tx
        for tx in MockTransaction.objects.filter(transaction_status__in=list(AFTER_GATEWAY))
    }
    payments = {p.gateway_order_id: p for p in Payment.objects.select_related("order")}
    wrong = []
    for gateway_order_id, tx in at_gateway.items():
        payment = payments.get(gateway_order_id)
        allowed = set(AFTER_GATEWAY[tx.transaction_status])
        if tx.transaction_status in SETTLED_AT_GATEWAY and tx.payment_type not in REFUNDABLE_PAYMENT_TYPES:
            allowed |= OFFLINE_REFUNDED
        if payment is None or payment.status not in allowed:
            wrong.append((gateway_order_id, tx.transaction_status, payment.status if payment else "missing"))
        elif payment.needs_refund:
            continue
        elif payment.status in MONEY_HELD_STATUSES and payment.order.status not in RECEIPT_STATUSES:
            wrong.append((gateway_order_id, f"order {payment.order.status}"))
        elif payment.status not in MONEY_HELD_STATUSES and payment.order.status != OrderStatus.REFUNDED:
            wrong.append((gateway_order_id, payment.status, f"order {payment.order.status}"))
    held_at_gateway = {
        g
        for g, tx in at_gateway.items()
        if tx.transaction_status in (*SETTLED_AT_GATEWAY, "partial_refund", "partial_chargeback")
    }
    paying = [
        p for p in payments.values() if p.counts_for_order and p.gateway_order_id not in held_at_gateway
    ]
    flagged = sum(1 for p in payments.values() if p.needs_refund)
    by_status = Counter(tx.transaction_status for tx in at_gateway.values())
    return Check(
        "every settled payment ends up paid",
        f"at the gateway {dict(sorted(by_status.items()))}, {flagged} flagged for refund; "
        f"off: {(wrong + [(p.gateway_order_id, 'not settled') for p in paying])[:3] or 'none'}",
        not wrong and not paying,
    )


def credit_notes_match_money_back() -> Check:
    """Per order: its credit notes add up to what was refunded and charged back on its
    attempts (the gateway's voids and refunds, staff's offline refunds, the card holder's
    bank's chargebacks); per invoice they never exceed its total."""
    credited: Counter = Counter()
    for order_id, amount in CreditNote.objects.values_list("invoice__order_id", "amount"):
        credited[order_id] += amount
    given_back: Counter = Counter()
    for order_id, refunded, charged_back in Payment.objects.values_list(
        "order_id", "refunded_amount", "chargeback_amount"
    ):
        given_back[order_id] += refunded + charged_back
    off = sorted(
        (o, credited.get(o, 0), given_back.get(o, 0))
        for o in credited.keys() | given_back.keys()
        if credited.get(o, 0) != given_back.get(o, 0)
    )
    totals = dict(Invoice.objects.values_list("order_id", "total"))
    over = sorted((o, amount, totals.get(o)) for o, amount in credited.items() if amount > totals.get(o, 0))
    notes = CreditNote.objects.count()
    return Check(
        "credit notes == refunded + charged back",
        f"{notes} credit notes for {len(credited)} orders, {sum(credited.values())} IDR; "
        f"off: {off[:3] or 'none'}; above the invoice total: {over[:3] or 'none'}",
        not off and not over,
    )


def refunded_not_in_kitchen() -> Check:
    """No order whose money went back is in the kitchen: a refunded (or reversed) order has
    no move into preparing/ready/completed after the event that took its money back."""
    back_at: dict[int, int] = {}
    kitchen_at: dict[int, int] = {}
    events = OrderEvent.objects.filter(type=OrderEvent.Type.STATUS_CHANGED).values_list(
        "order_id", "pk", "to_status"
    )
    for order_id, pk, to_status in events.order_by("pk"):
        if to_status in MONEY_BACK_STATUSES:
            back_at[order_id] = pk
        elif to_status in KITCHEN_STATUSES:
            kitchen_at[order_id] = pk
    now_back = set(Order.objects.filter(status__in=MONEY_BACK_STATUSES).values_list("pk", flat=True))
    wrong = sorted(o for o in now_back if o not in back_at or kitchen_at.get(o, 0) > back_at[o])
    cooked = sum(1 for o in now_back if o in kitchen_at)
    return Check(
        "no refunded order in the kitchen",
        f"{len(now_back)} orders refunded or on hold ({cooked} had been in the kitchen before); "
        f"moved into the kitchen after: {wrong[:3] or 'none'}",
        not wrong,
    )


def nothing_half_done() -> Check:
    """No Idempotency-Key left in progress (every client got its answer), no paid order
    without its paying attempt, no order paid twice: a paid order (or one in the kitchen)
    has exactly one attempt holding its money (settled, partly refunded or partly charged
    back, not flagged)."""
    stuck = IdempotencyKey.objects.filter(state=IdempotencyKey.State.IN_PROGRESS).count()
    paid_ids = set(Order.objects.filter(status__in=RECEIPT_STATUSES).values_list("pk", flat=True))
    paying = Counter(
        p.order_id for p in Payment.objects.filter(status__in=MONEY_HELD_STATUSES, needs_refund=False)
    )
    without = sorted(paid_ids - set(paying))
    twice = sorted(order for order, n in paying.items() if n > 1)
    opening = Payment.objects.filter(token="", open_error="", status=Payment.Status.PENDING).count()
    return Check(
        "nothing half-done",
        f"{stuck} keys in progress, {len(without)} paid orders without a paying attempt, "
        f"{len(twice)} paid twice, {opening} attempts never opened",
        not stuck and not without and not twice,
    )


def no_server_errors(calls: list[Call], *, excused: list[tuple[str, float, float]], grace: float) -> Check:
    """No 5xx, and every answer JSON. A 5xx of a request that was in flight during an
    `excused` fault (or within `grace` seconds after it) is the fault's, reported but
    allowed; any other fails the run."""
    faults = excused
    errors = [c for c in calls if c.status is not None and c.status >= 500]
    not_json = [c for c in calls if c.status is not None and not c.json_body]

    def during_fault(call: Call) -> bool:
        return any(call.started <= end + grace and call.ended >= start for _name, start, end in faults)

    excused_calls = [c for c in errors if during_fault(c)]
    unexcused = [c for c in errors if not during_fault(c)]
    no_answer = sum(1 for c in calls if c.status is None)
    statuses = Counter(c.status for c in unexcused)
    found = f"{len(calls)} answers: {len(unexcused)} 5xx"
    if unexcused:
        found += f" {dict(statuses)} e.g. {unexcused[0].op} on {unexcused[0].instance}"
    if faults:
        found += f"; {len(excused_calls)} 5xx in flight when the database dropped them"
    if no_answer:
        found += f"; {no_answer} without an answer (retried)"
    if not_json:
        found += f"; {len(not_json)} not JSON ({not_json[0].op} {not_json[0].status})"
    return Check("no 5xx, every answer JSON", found, not unexcused and not not_json)


def all_checks(
    *, env: dict[str, str], mail_dir: Path, visits: list[Visit], calls: list[Call], excused, grace: float
) -> list[Check]:
    invoices, receipts, numbering = paid_orders_documents(mail_dir)
    return [
        stock_never_negative(),
        audit_passes(env, "stock_audit", "stock == ledger"),
        audit_passes(env, "catalog_audit", "maintained catalog columns == their sources"),
        stock_taken_by_orders(),
        slots_match_orders(),
        one_order_per_checkout(visits),
        invoices,
        receipts,
        numbering,
        settled_payments_paid(),
        credit_notes_match_money_back(),
        refunded_not_in_kitchen(),
        nothing_half_done(),
        no_server_errors(calls, excused=excused, grace=grace),
    ]
