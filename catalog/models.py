from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from catalog.mealtimes import serving_windows_clean


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0, help_text=gettext_lazy("Lower comes first."))
    is_active = models.BooleanField(default=True)
    serving_windows = models.JSONField(
        default=list,
        blank=True,
        validators=[serving_windows_clean],
        help_text='When its dishes are served (catalog/mealtimes.py), e.g. [{"days": [0, 1, 2, 3, 4], '
        '"from": "06:00", "until": "10:30"}]; empty: whenever the shop is open.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # By the text of record (`name_ind`, catalog/translation.py): one order for every language.
        ordering = ["position", "name_ind"]
        verbose_name = gettext_lazy("category")
        verbose_name_plural = gettext_lazy("categories")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", "Single"
        BUNDLE = "bundle", "Bundle"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    sku = models.CharField("SKU", max_length=64, unique=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    image = models.ImageField(upload_to="products/", blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    is_active = models.BooleanField(default=True)
    stock = models.PositiveIntegerField(
        default=0,
        help_text=gettext_lazy("Units on hand. A bundle has none of its own: it uses its components'."),
    )
    # The price in force, copied from `ProductPrice` by `catalog.services` in the transaction
    # that adds a version, and switched when a scheduled one comes into force (at
    # `price_changes_at`). Reads never build a price subquery.
    current_price = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    current_price_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    price_changes_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=gettext_lazy("When the next scheduled price comes into force."),
    )
    option_groups = models.ManyToManyField(
        "OptionGroup",
        blank=True,
        related_name="products",
        help_text=gettext_lazy("Choices a shopper makes for this dish."),
    )
    # Kept by `catalog.services` with `option_groups`, so a page of dishes without choices
    # costs no query for them.
    has_options = models.BooleanField(default=False, editable=False)
    # Shown to shoppers: active, in an active category, with a price in force. Kept by
    # `catalog.services` (`products_relist`) whenever one of those changes, so the menu's
    # count and pages read one partial index instead of joining every row to its category.
    listed = models.BooleanField(default=False, editable=False)
    # Off for dishes cooked to order: sellable while active, with no stock count and no
    # ledger rows (catalog.stock skips them). A bundle follows its components.
    track_stock = models.BooleanField(
        "counts stock",
        default=True,
        help_text=gettext_lazy("Off for dishes made to order: sold while on the menu, no stock count kept."),
    )
    # Low stock (catalog/low_stock.py): staff are told once when the stock falls to this or
    # below; `low_stock_alerted` is set then and cleared when the stock is back above it.
    low_stock_threshold = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Tell staff when the stock falls to this or below; empty: never."),
    )
    low_stock_alerted = models.BooleanField(default=False, editable=False)
    # Sold out for now (staff, `products/{slug}/sold-out/`): back by itself at this time.
    sold_out_until = models.DateTimeField(
        null=True, blank=True, help_text=gettext_lazy("Sold out until then; it comes back by itself.")
    )
    serving_windows = models.JSONField(
        default=list,
        blank=True,
        validators=[serving_windows_clean],
        help_text=gettext_lazy(
            "When it is served (replaces its category's windows); empty: as its category."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # By the Indonesian name (the text of record) in every language: `name` in an order_by
        # would be rewritten to the active language's column, where an empty English name
        # sorts first (catalog/selectors.py, `menu_products`).
        ordering = ["name_ind", "id"]
        verbose_name = gettext_lazy("product")
        verbose_name_plural = gettext_lazy("products")
        permissions = [("set_sold_out", "Can mark a dish sold out for a while")]
        indexes = [
            models.Index(fields=["name_ind", "id"], name="product_name_order"),
            models.Index(fields=["current_price", "id"], name="product_price_order"),
            models.Index(
                fields=["name_ind", "id"], name="product_listed_name", condition=models.Q(listed=True)
            ),
            models.Index(
                fields=["current_price", "id"], name="product_listed_price", condition=models.Q(listed=True)
            ),
            models.Index(fields=["category", "is_active"], name="product_category_active"),
            models.Index(
                fields=["price_changes_at"],
                name="product_price_changes_at",
                condition=models.Q(price_changes_at__isnull=False),
            ),
            # The next sold-out end (catalog/version.py), found on every catalog write.
            models.Index(
                fields=["sold_out_until"],
                name="product_sold_out_until",
                condition=models.Q(sold_out_until__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="product_stock_not_negative"),
            models.CheckConstraint(
                condition=models.Q(kind="single") | models.Q(stock=0), name="product_bundle_has_no_own_stock"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["single", "bundle"]), name="product_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_bundle(self) -> bool:
        return self.kind == self.Kind.BUNDLE

    def clean(self) -> None:
        super().clean()
        if self.is_bundle and self.stock:
            raise ValidationError(
                {"stock": _("A bundle has no stock of its own; set its components' stock.")}
            )


class BundleItem(models.Model):
    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="bundle_items")
    component = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="in_bundles")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["id"]
        verbose_name = gettext_lazy("bundle item")
        verbose_name_plural = gettext_lazy("bundle items")
        constraints = [
            models.UniqueConstraint(fields=["bundle", "component"], name="bundle_item_unique_component"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="bundle_item_quantity_positive"),
            models.CheckConstraint(
                condition=~models.Q(bundle=models.F("component")), name="bundle_item_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.component}"

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.bundle_id and self.bundle.kind != Product.Kind.BUNDLE:
            errors["bundle"] = "Only a bundle can have components."
        if self.component_id:
            if self.component_id == self.bundle_id:
                errors["component"] = "A bundle cannot contain itself."
            elif self.component.kind != Product.Kind.SINGLE:
                errors["component"] = "A bundle cannot contain another bundle; pick single products."
        if errors:
            raise ValidationError(errors)


class ProductPrice(models.Model):
    """One version of a product's price. Append-only: a change is a new version."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    version = models.PositiveIntegerField(editable=False)
    amount = models.PositiveBigIntegerField(
        help_text=gettext_lazy("Whole rupiah."),
        validators=[MinValueValidator(1, "A price must be above zero.")],
    )
    valid_from = models.DateTimeField(
        default=timezone.now,
        help_text=gettext_lazy("From when this price applies; a future time schedules a change."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product_id", "-version"]
        verbose_name = gettext_lazy("product price")
        verbose_name_plural = gettext_lazy("product prices")
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="product_price_unique_version"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="product_price_amount_positive"),
            models.CheckConstraint(condition=models.Q(version__gt=0), name="product_price_version_positive"),
        ]
        indexes = [models.Index(fields=["product", "valid_from"], name="product_price_lookup")]

    def __str__(self) -> str:
        return f"{self.product} v{self.version}: {self.amount}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Prices are append-only: add a new version instead of editing one.")
        super().save(*args, **kwargs)


class OptionGroup(models.Model):
    """A choice a shopper makes for a dish: "Spice level" (exactly one) or "Extras" (up to
    three). Shared by every product it is attached to."""

    name = models.CharField(max_length=100)
    min_choices = models.PositiveSmallIntegerField(
        default=0, help_text=gettext_lazy("0 makes the group optional.")
    )
    max_choices = models.PositiveSmallIntegerField(default=1)
    position = models.PositiveIntegerField(default=0, help_text=gettext_lazy("Lower comes first."))

    class Meta:
        ordering = ["position", "name_ind", "id"]
        verbose_name = gettext_lazy("option group")
        verbose_name_plural = gettext_lazy("option groups")
        constraints = [
            models.CheckConstraint(condition=models.Q(max_choices__gte=1), name="option_group_max_positive"),
            models.CheckConstraint(
                condition=models.Q(max_choices__gte=models.F("min_choices")), name="option_group_min_le_max"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def rule_text(self) -> str:
        if self.min_choices == self.max_choices:
            return gettext("choose %(count)d") % {"count": self.min_choices}
        if self.min_choices == 0:
            return gettext("choose up to %(most)d") % {"most": self.max_choices}
        return gettext("choose %(least)d to %(most)d") % {"least": self.min_choices, "most": self.max_choices}


class Option(models.Model):
    group = models.ForeignKey(OptionGroup, on_delete=models.CASCADE, related_name="options")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=120, unique=True)
    price_delta = models.PositiveBigIntegerField(
        default=0, help_text=gettext_lazy("Whole rupiah added to the dish's price.")
    )
    is_active = models.BooleanField(default=True)
    stock = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Units on hand for a limited option; empty means unlimited."),
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = gettext_lazy("option")
        verbose_name_plural = gettext_lazy("options")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock__isnull=True) | models.Q(stock__gte=0),
                name="option_stock_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group.name}: {self.name}" if self.group_id else self.name


class StockReason(models.TextChoices):
    INITIAL = "initial", "Initial stock"
    SALE = "sale", "Sale"
    RELEASE_CANCEL = "release_cancel", "Released: order cancelled"
    RELEASE_EXPIRE = "release_expire", "Released: order expired"
    RETAKE_LATE_PAYMENT = "retake_late_payment", "Taken again: late payment"
    ADJUSTMENT = "adjustment", "Staff adjustment"
    RESET = "reset", "Data reset"


class StockMovement(models.Model):
    """One change of a product's stock. Append-only: for every product, stock equals the
    sum of its movements. Written only by `catalog.stock`, in the transaction that moves the
    stock."""

    Reason = StockReason

    # A product is never deleted by the shop's own flows (it is deactivated); should one be
    # deleted by hand, its ledger goes with it and every remaining product still balances.
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="stock_movements"
    )
    # Or a limited option (an extra topping): its stock moves with the dish's.
    option = models.ForeignKey(
        Option, on_delete=models.CASCADE, null=True, blank=True, related_name="stock_movements"
    )
    quantity = models.IntegerField(help_text=gettext_lazy("Signed: units added (+) or taken (-)."))
    stock_after = models.PositiveIntegerField(
        help_text=gettext_lazy("The product's stock right after this change.")
    )
    reason = models.CharField(max_length=30, choices=StockReason.choices)
    # The order behind a sale or release. Catalog code never reads orders; the reference is
    # for the audit trail, and the number outlives a deleted order.
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="stock_movements"
    )
    order_number = models.CharField(max_length=40, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = gettext_lazy("stock movement")
        verbose_name_plural = gettext_lazy("stock movements")
        constraints = [
            models.CheckConstraint(condition=~models.Q(quantity=0), name="stock_movement_not_zero"),
            models.CheckConstraint(
                condition=models.Q(product__isnull=False, option__isnull=True)
                | models.Q(product__isnull=True, option__isnull=False),
                name="stock_movement_one_subject",
            ),
            models.CheckConstraint(
                condition=models.Q(reason__in=StockReason.values), name="stock_movement_reason_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "-id"], name="stock_movement_product"),
            models.Index(fields=["option", "-id"], name="stock_movement_option"),
        ]

    def __str__(self) -> str:
        subject = f"option {self.option_id}" if self.option_id else self.product_id
        return f"{subject}: {self.quantity:+d} ({self.reason})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("The stock ledger is append-only.")
        super().save(*args, **kwargs)


class CatalogVersion(models.Model):
    """One row (id 1), owned by `catalog.version`: the number every menu write moves on, and
    when the menu next changes by time passing alone (a scheduled price, a sold-out end)."""

    version = models.BigIntegerField()
    next_change_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="catalog_version_one_row")]

    def __str__(self) -> str:
        return f"catalog version {self.version}"
