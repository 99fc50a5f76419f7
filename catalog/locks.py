from django.db.models import QuerySet

from catalog.models import Product


def products_lock(*, products: QuerySet[Product]) -> list[int]:
    """Row-lock products in primary-key order, the order checkout takes stock in, so a write
    to many products at once cannot deadlock with a checkout. Call inside a transaction."""
    return list(products.order_by("pk").select_for_update().values_list("pk", flat=True))
