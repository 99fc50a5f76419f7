from datetime import timedelta

import factory
from django.utils import timezone

from catalog import options
from catalog.i18n import of_record
from catalog.models import BundleItem, Category, Product, ProductPrice
from catalog.services import prices_refresh
from catalog.stock import stock_initial


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    position = factory.Sequence(lambda n: n)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # `name` is the Indonesian text (of record), as in `catalog.services`, whatever the
        # active language (a bare `name=` would go to the active language's column).
        return super()._create(model_class, *args, **of_record(kwargs))


class ProductFactory(factory.django.DjangoModelFactory):
    """A single product for sale: active, in stock, with a current price (version 1) of
    10,000. `price=N` sets the amount; `price=False` makes an unpriced product."""

    class Meta:
        model = Product
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Product {n:04d}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    category = factory.SubFactory(CategoryFactory)
    kind = Product.Kind.SINGLE
    stock = 10

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Stock goes through the stock module, so the ledger sums to it from the start.
        stock = kwargs.pop("stock", 0)
        # `name`/`description` are the Indonesian text (of record), as in `catalog.services`.
        product = super()._create(model_class, *args, stock=0, **of_record(kwargs))
        stock_initial(product=product, quantity=stock)
        return product

    @factory.post_generation
    def price(obj, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        amount = 10_000 if extracted is None else extracted
        ProductPrice.objects.create(
            product=obj, version=1, amount=amount, valid_from=timezone.now() - timedelta(days=1)
        )
        prices_refresh(product_ids=[obj.pk])
        obj.refresh_from_db(fields=["current_price", "current_price_version", "price_changes_at"])


class BundleFactory(ProductFactory):
    """A bundle of the given components: `components=[(product, quantity), ...]`."""

    kind = Product.Kind.BUNDLE
    stock = 0
    name = factory.Sequence(lambda n: f"Bundle {n:04d}")
    slug = factory.Sequence(lambda n: f"bundle-{n}")

    @factory.post_generation
    def components(obj, create, extracted, **kwargs):
        if create and extracted:
            BundleItem.objects.bulk_create(
                [BundleItem(bundle=obj, component=component, quantity=qty) for component, qty in extracted]
            )


class ProductPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductPrice
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory, price=False)
    version = factory.Sequence(lambda n: n + 1)
    amount = 10_000
    valid_from = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def _current(obj, create, extracted, **kwargs):
        if create:
            prices_refresh(product_ids=[obj.product_id])


def dish_with_options(slug: str) -> Product:
    """A dish at 20,000 with one option group "Level <slug>" (1-2 choices): Mild (+0) and
    Satay (+4,000)."""
    group = options.option_group_create(name=f"Level {slug}", min_choices=1, max_choices=2, position=1)
    options.option_create(group=group, name="Mild", slug=f"{slug}-mild", price_delta=0)
    options.option_create(group=group, name="Satay", slug=f"{slug}-satay", price_delta=4_000)
    product = ProductFactory(slug=slug, price=20_000, stock=50)
    options.product_set_option_groups(product=product, groups=[group])
    return product
