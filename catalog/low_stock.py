"""Low stock: staff are told once each time a product's stock falls to its
`low_stock_threshold` or below, and again only after it has been back above.

`catalog.stock`, the only code that moves stock, reads the threshold and the product's
`low_stock_alerted` mark back with every new stock value (`RETURNING`, no extra query) and
calls `low_stock_watch`. When the two disagree (the stock crossed the threshold one way or
the other) one conditional UPDATE flips the mark on the row the stock change has just
locked, so of any number of concurrent changes exactly one sees each crossing. A downward
crossing enqueues `catalog.tasks.notify_low_stock` for after the commit (a change rolled
back, such as a checkout short of another product, tells no one). Recipients:
STAFF_NOTIFY_EMAILS, or else the active members of the Manager group.
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import MANAGER
from catalog.models import Product
from config.tasks import enqueue

RETURNING = "stock, low_stock_threshold, low_stock_alerted"


def low_stock_watch(product_id: int, stock: int, threshold: int | None, alerted: bool) -> int:
    """After a change of `product_id`'s stock to `stock` (its row locked by it): flip the
    mark if the stock crossed the threshold, and tell staff of a downward crossing. Returns
    `stock`."""
    low = threshold is not None and stock <= threshold
    if low == alerted:
        return stock
    flipped = Product.objects.filter(pk=product_id, low_stock_alerted=alerted).update(low_stock_alerted=low)
    if flipped and low:
        from catalog.tasks import notify_low_stock  # tasks import the services: import it when used

        enqueue(notify_low_stock, product_id, stock, threshold)
    return stock


def low_stock_rearm(*, product: Product, threshold: int | None) -> None:
    """Set the threshold. A new threshold is no crossing: the mark says where the stock
    stands against it now, so the next fall to it (after being above) is what staff hear of."""
    low = (
        ExpressionWrapper(Q(stock__lte=threshold), output_field=BooleanField())
        if threshold is not None
        else False
    )
    Product.objects.filter(pk=product.pk).update(low_stock_threshold=threshold, low_stock_alerted=low)
    product.low_stock_threshold = threshold


def low_stock_recipients() -> list[str]:
    if settings.STAFF_NOTIFY_EMAILS:
        return list(settings.STAFF_NOTIFY_EMAILS)
    managers = User.objects.filter(groups__name=MANAGER, is_active=True).exclude(email="")
    return sorted(set(managers.values_list("email", flat=True)))


def low_stock_notify(*, product_id: int, stock: int, threshold: int) -> bool:
    """E-mail staff that the product fell to `stock` (at or below `threshold`); False when
    there is no one to tell or the product is gone."""
    product = Product.objects.filter(pk=product_id).first()
    recipients = low_stock_recipients()
    if product is None or not recipients:
        return False
    values = {"shop": settings.SHOP_NAME, "name": product.name, "sku": product.sku}
    values |= {"stock": stock, "threshold": threshold}
    with translation.override(settings.LANGUAGE_CODE):  # the shop's language, not a request's
        subject = _("%(shop)s: low stock of %(name)s (%(stock)s left)") % values
        body = (
            _(
                "%(name)s (SKU %(sku)s) is down to %(stock)s in stock, "
                "at or below its low-stock threshold of %(threshold)s."
            )
            % values
            + "\n\n"
            + _("You are told again only after the stock has been back above the threshold.")
            + "\n"
        )
    EmailMessage(subject=subject, body=body, to=recipients).send()
    return True
