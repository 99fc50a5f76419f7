"""A dish sold out for a while: staff mark it (`POST products/{slug}/sold-out/`, the admin)
until a time, and it comes back by itself then; `DELETE` ends it early. The sellability
rule reads `sold_out_until` (reason `sold_out`); this module is its only writer.

Coming back by itself writes nothing, but a cached menu answer (catalog/api/caching.py,
keyed by the catalog version) must not outlive the mark: the version row keeps the next
end (catalog/version.py), and the menu read that finds it passed moves the version on
(`catalog.services.menu_ensure_current`).
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from catalog.version import catalog_changed
from config.errors import Invalid

MAX_DAYS = 30


def end_of_day(now: datetime) -> datetime:
    """The next midnight in the shop's time zone."""
    today = timezone.localdate(now)
    return timezone.make_aware(datetime.combine(today + timedelta(days=1), datetime.min.time()))


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
    return product


@transaction.atomic
def product_sold_out_end(*, product: Product) -> Product:
    """The dish is back now (nothing to end is not an error)."""
    if Product.objects.filter(pk=product.pk, sold_out_until__isnull=False).update(
        sold_out_until=None, updated_at=timezone.now()
    ):
        catalog_changed()
        product.sold_out_until = None
    return product
