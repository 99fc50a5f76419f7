"""Every rule and write of vouchers.

`voucher_check` is the one answer to "does this voucher apply to this shopper's lines now,
and why not", asked when the shopper applies a code, when the cart is shown and at
checkout. A use is taken at checkout inside order_place's transaction with a conditional
UPDATE (`used < usage_limit`), after the shopper's cart row lock, which also serialises
the per-customer count; it is given back when the order is cancelled or expires (not when
it is refunded: the discount was enjoyed). Lock order, as everywhere: cart row, products,
pickup slot, then the voucher row."""

from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from config.errors import Conflict, DomainError
from orders.models import Order, OrderStatus
from orders.totals import Line
from orders.vouchers.models import AppliedVoucher, Voucher, VoucherUse

REASONS = ("unknown", "expired", "not_started", "min_subtotal", "not_eligible", "used_up")
REASON_TEXT = {
    "unknown": _("No voucher with this code."),
    "expired": _("This voucher has expired."),
    "not_started": _("This voucher cannot be used yet."),
    "min_subtotal": _("Your order is below this voucher's minimum."),
    "not_eligible": _("This voucher does not apply to your order."),
    "used_up": _("This voucher has been used up."),
}


class VoucherInvalid(DomainError):
    """`reason`: unknown, expired, not_started, min_subtotal, not_eligible or used_up."""

    code = "voucher_invalid"
    default_detail = _("This voucher cannot be applied.")


class VoucherUnavailable(Conflict):
    """At checkout the cart's voucher no longer applies (`reason` as for voucher_invalid):
    nothing was ordered. Remove it (DELETE cart/voucher/) or apply another."""

    code = "voucher_unavailable"
    default_detail = _("The voucher on your cart can no longer be used.")


def normalise_code(code: str) -> str:
    return code.strip().upper()


def voucher_by_code(code: str) -> Voucher | None:
    return (
        Voucher.objects.prefetch_related("categories").filter(code=normalise_code(code), active=True).first()
    )


def customer_uses(*, voucher: Voucher, user: User) -> int:
    return VoucherUse.objects.filter(voucher=voucher, user=user, released_at__isnull=True).count()


def voucher_check(*, voucher: Voucher | None, user: User, lines: list[Line], now: datetime) -> str | None:
    """Why `voucher` does not apply to `user`'s `lines` now (one of REASONS), or None."""
    if voucher is None or not voucher.active:
        return "unknown"
    if voucher.starts_at and now < voucher.starts_at:
        return "not_started"
    if voucher.ends_at and now >= voucher.ends_at:
        return "expired"
    if voucher.usage_limit is not None and voucher.used >= voucher.usage_limit:
        return "used_up"
    if voucher.per_customer_limit is not None and (
        customer_uses(voucher=voucher, user=user) >= voucher.per_customer_limit
    ):
        return "used_up"
    slugs = {c.slug for c in voucher.categories.all()}
    if slugs and not any(line.category in slugs for line in lines):
        return "not_eligible"
    if voucher.first_order_only and (
        Order.objects.filter(user=user)
        .exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.EXPIRED])
        .exists()
    ):
        return "not_eligible"
    if sum(line.total for line in lines) < voucher.min_subtotal:
        return "min_subtotal"
    return None


def applied_voucher(*, user: User) -> Voucher | None:
    applied = (
        AppliedVoucher.objects.select_related("voucher")
        .prefetch_related("voucher__categories")
        .filter(user=user)
        .first()
    )
    return applied.voucher if applied else None


def cart_voucher_apply(*, user: User, code: str, lines: list[Line], now: datetime | None = None) -> Voucher:
    """Put the voucher `code` on the shopper's cart (replacing one there), if it applies to
    the cart's lines now; else VoucherInvalid with the reason and nothing changes."""
    voucher = voucher_by_code(code)
    reason = voucher_check(voucher=voucher, user=user, lines=lines, now=now or timezone.now())
    if reason is not None:
        raise VoucherInvalid(REASON_TEXT[reason], reason=reason)
    AppliedVoucher.objects.update_or_create(
        user=user, defaults={"voucher": voucher, "applied_at": timezone.now()}
    )
    return voucher


def cart_voucher_remove(*, user: User) -> None:
    AppliedVoucher.objects.filter(user=user).delete()


def voucher_take(*, order: Order, user: User, voucher: Voucher, amount: int) -> VoucherUse:
    """Take one use for `order`, inside order_place's transaction (the cart row locked).
    Used up in between: VoucherUnavailable, and the caller's transaction rolls back."""
    limited = Q(usage_limit__isnull=True) | Q(used__lt=F("usage_limit"))
    if not Voucher.objects.filter(limited, pk=voucher.pk, active=True).update(used=F("used") + 1):
        raise VoucherUnavailable(REASON_TEXT["used_up"], reason="used_up", voucher=voucher.code)
    use = VoucherUse.objects.create(
        voucher=voucher, order=order, user=user, amount=amount, created_at=order.placed_at
    )
    AppliedVoucher.objects.filter(user=user).delete()
    return use


def voucher_release(*, order: Order, now: datetime) -> None:
    """Give back the use of a cancelled or expired order (idempotent: a released use stays
    released). Called by orders.services.order_transition with the order row locked."""
    released = VoucherUse.objects.filter(order=order, released_at__isnull=True).update(released_at=now)
    if released:
        Voucher.objects.filter(uses__order=order, used__gt=0).update(used=F("used") - 1)


@transaction.atomic
def voucher_save(*, voucher: Voucher, categories: list | None = None) -> Voucher:
    """Create or change a voucher (API and admin): the code upper-cased."""
    voucher.code = normalise_code(voucher.code)
    voucher.full_clean(exclude=["categories"])
    voucher.save()
    if categories is not None:
        voucher.categories.set(categories)
    return voucher


def voucher_uses_reset_all() -> int:
    """For reset_data: forget every use (the orders they belong to are being deleted) and
    set every voucher's count back to 0. The vouchers themselves stay. Returns uses removed."""
    removed, _ = VoucherUse.objects.all().delete()
    Voucher.objects.exclude(used=0).update(used=0)
    return removed


# `seed`'s demo vouchers: 10% off (at most Rp 20.000) from Rp 50.000, 100 uses, twice per
# shopper; Rp 15.000 off a first order from Rp 30.000.
DEMO_VOUCHERS = [
    {
        "code": "HEMAT10",
        "kind": "percent",
        "value": 10,
        "max_discount": 20_000,
        "min_subtotal": 50_000,
        "usage_limit": 100,
        "per_customer_limit": 2,
    },
    {"code": "PERTAMA", "kind": "fixed", "value": 15_000, "min_subtotal": 30_000, "first_order_only": True},
]


def vouchers_seed_demo() -> int:
    """Create the demo vouchers whose codes do not exist yet. Returns how many it made."""
    made = 0
    for fields in DEMO_VOUCHERS:
        if not Voucher.objects.filter(code=fields["code"]).exists():
            voucher_save(voucher=Voucher(**fields))
            made += 1
    return made


def voucher_retake(*, order: Order) -> str | None:
    """A cancelled or expired order paid after all (a late settlement) takes its released use
    again, with the same conditional UPDATE. The payment stands either way: if the voucher
    was used up meanwhile, the use stays released and the code is returned for the audit
    trail; None otherwise."""
    use = VoucherUse.objects.select_related("voucher").filter(order=order, released_at__isnull=False).first()
    if use is None:
        return None
    limited = Q(usage_limit__isnull=True) | Q(used__lt=F("usage_limit"))
    if not Voucher.objects.filter(limited, pk=use.voucher_id).update(used=F("used") + 1):
        return use.voucher.code
    VoucherUse.objects.filter(pk=use.pk).update(released_at=None)
    return None
