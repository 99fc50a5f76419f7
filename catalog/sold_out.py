"""A dish sold out for a while: staff mark it (`POST products/{slug}/sold-out/`, the admin)
until a time, and it comes back by itself then; `DELETE` ends it early. The sellability
rule reads `sold_out_until` (reason `sold_out`); this module is its only writer.

Coming back by itself writes nothing, but a cached menu answer (catalog/api/caching.py,
keyed by the catalog version) must not outlive the mark: every menu read first checks the
next end (cached like the next price switch) and moves the version on once it has passed.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from catalog.version import catalog_changed, catalog_changed_now
from config.errors import Invalid

NEXT_END_KEY = "catalog:sold-out:next-end"
NEXT_END_CHECK_SECONDS = 60  # how long "no end is due" is believed without looking again
MAX_DAYS = 30


def end_of_day(now: datetime) -> datetime:
    """The next midnight in the shop's time zone."""
    today = timezone.localdate(now)
    return timezone.make_aware(datetime.combine(today + timedelta(days=1), datetime.min.time()))


def _forget_next_end() -> None:
    transaction.on_commit(lambda: cache.delete(NEXT_END_KEY))


@transaction.atomic
def product_sold_out_set(*, product: Product, until: datetime | None = None) -> Product:
    """Mark `product` sold out until `until` (default: the end of the shop's day); a new mark
    replaces one running. Invalid unless `until` is ahead and at most MAX_DAYS away."""
    now = timezone.now()
    until = until or end_of_day(now)
    if until <= now:
        raise Invalid(_("A sold-out mark must end in the future."), field="until")
    if until > now + timedelta(days=MAX_DAYS):
        raise Invalid(
            _("A sold-out mark ends within %(days)d days; deactivate the dish instead.") % {"days": MAX_DAYS},
            field="until",
        )
    Product.objects.filter(pk=product.pk).update(sold_out_until=until, updated_at=now)
    product.sold_out_until = until
    catalog_changed()
    _forget_next_end()
    return product


@transaction.atomic
def product_sold_out_end(*, product: Product) -> Product:
    """The dish is back now (nothing to end is not an error)."""
    if Product.objects.filter(pk=product.pk, sold_out_until__isnull=False).update(
        sold_out_until=None, updated_at=timezone.now()
    ):
        catalog_changed()
        _forget_next_end()
    product.sold_out_until = None
    return product


def sold_out_ends_ensure(*, now: datetime | None = None) -> None:
    """Before a menu read: once a sold-out mark has ended, move the catalog version on, so no
    menu answer cached while the dish was sold out is served after. Costs no query while
    no end is due (the next end is cached)."""
    if not settings.CATALOG_CACHE:  # no menu answer is cached
        return
    now = now or timezone.now()
    next_end = cache.get(NEXT_END_KEY)
    if next_end is None:
        found = Product.objects.filter(sold_out_until__gt=now).aggregate(at=Min("sold_out_until"))["at"]
        next_end = found.timestamp() if found else float("inf")
        cache.set(NEXT_END_KEY, next_end, timeout=NEXT_END_CHECK_SECONDS)
    if next_end <= now.timestamp():
        cache.delete(NEXT_END_KEY)
        catalog_changed_now()
