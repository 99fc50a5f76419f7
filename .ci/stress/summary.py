"""After each wave of the stress run (`run.py`): wait for the background work to catch
up, print the wave's report, and sum up the exceptions the servers logged."""

import re
import time
from collections import Counter

from cluster import AppInstance, CeleryProcess


def settle(*, timeout: float) -> float:
    """Wait until the background work has caught up: no attempt pending that the gateway
    settled (beat's reconciliation), every paid order's receipt sent and every invoice
    rendered (of orders still paid). Returns the seconds waited (the checks then say what is still missing)."""
    from django.db import connections

    from invoices.models import Invoice
    from orders.models import RECEIPT_STATUSES, Order
    from payments.models import MockTransaction, Payment

    began = time.monotonic()
    while time.monotonic() - began < timeout:
        settled = MockTransaction.objects.filter(transaction_status__in=("settlement", "capture")).values(
            "gateway_order_id"
        )
        behind = (
            Payment.objects.filter(status=Payment.Status.PENDING, gateway_order_id__in=settled).count()
            + Order.objects.filter(status__in=RECEIPT_STATUSES, receipt_sent_at__isnull=True).count()
            # A refunded order gets no receipt, so nothing sweeps its invoice: one whose
            # render task was lost (broker down) is rendered on its first download.
            + Invoice.objects.filter(pdf="", order__status__in=RECEIPT_STATUSES).count()
        )
        connections.close_all()
        if not behind:
            break
        time.sleep(1)
    return time.monotonic() - began


def wave_report(*, wave, visits, calls, checks, seconds, settle_seconds, faults, healing) -> str:
    outcomes = Counter()
    for visit in visits:
        if visit.checkout_status == 201:
            outcomes[visit.action] += 1
        else:
            outcomes[f"checkout {visit.checkout_status} {visit.checkout_code}".strip()] += 1
    money_back = Counter(
        f"{visit.action}: {visit.action_result}"
        for visit in visits
        if visit.checkout_status == 201
        and visit.action in ("void", "chargeback", "chargeback_part", "refund", "refund_part")
    )
    notified = Counter()
    for visit in visits:
        notified.update(visit.notifications)
    ops = Counter(call.op for call in calls)
    latency = sorted(call.ended - call.started for call in calls if call.op == "checkout" and call.status)
    p = (lambda q: latency[min(len(latency) - 1, int(q * len(latency)))] * 1000) if latency else (lambda q: 0)
    gave_up = [text for visit in visits for text in visit.gave_up]
    lines = [
        f"\n== wave {wave}{' (faults)' if faults else ''}: {len(visits)} shoppers in {seconds:.1f}s, "
        f"{len(calls)} requests ({len(calls) / max(seconds, 0.001):.0f}/s); background work caught up in "
        f"{settle_seconds:.1f}s",
        "  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        "  money back (gateway answer, then what followed): "
        + "; ".join(f"{k} x{v}" for k, v in sorted(money_back.items())),
        "  requests: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())),
        "  duplicate notifications answered: "
        + ", ".join(f"{k} x{v}" for k, v in sorted(notified.items(), key=str)),
        f"  checkout latency p50 {p(0.5):.0f} ms, p95 {p(0.95):.0f} ms, max {p(1.0):.0f} ms",
    ]
    if faults:
        lines += [f"  {entry}" for entry in faults.log]
        if healing:
            lines.append(f"  reconcile_payments --min-age 0: {healing}")
    if gave_up:
        lines.append(f"  clients that gave up: {len(gave_up)}, e.g. {gave_up[:3]}")
    width = max(len(check.name) for check in checks)
    lines.append(f"  {'':4}  {'invariant':{width}}  found")
    for check in checks:
        lines.append(f"  {'ok' if check.ok else 'FAIL':4}  {check.name:{width}}  {check.found}")
    return "\n".join(lines)


EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|DoesNotExist))\b", re.MULTILINE)


def server_errors(instances: list[AppInstance], celery: list[CeleryProcess]) -> str:
    """What the servers logged as exceptions: the last line of each traceback, by type."""
    parts = []
    for name, log in [(i.name, i.log) for i in instances] + [(c.name, c.log) for c in celery]:
        try:
            text = log.read_text(errors="replace")
        except OSError:
            continue
        kinds = Counter(EXCEPTION_LINE.findall(text))
        shown = ", ".join(f"{kind.rsplit('.', 1)[-1]} x{n}" for kind, n in kinds.most_common(4))
        parts.append(f"{name}: {text.count('Traceback')} tracebacks" + (f" ({shown})" if shown else ""))
    return "server logs: " + "; ".join(parts)
