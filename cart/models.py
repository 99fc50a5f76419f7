from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Cart(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart", verbose_name=_("user")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return f"Cart of {self.user}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items", verbose_name=_("cart"))
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="+", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    options = models.ManyToManyField(
        "catalog.Option", blank=True, related_name="+", verbose_name=_("options")
    )
    # The chosen options' ids, sorted ("3,7"): the same dish with the same choice and note
    # is one line, with another choice or note another line.
    options_key = models.CharField(max_length=200, blank=True, default="", verbose_name=_("options key"))
    note = models.CharField(max_length=140, blank=True, default="", verbose_name=_("note"))
    added_at = models.DateTimeField(auto_now_add=True, verbose_name=_("added at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "product", "options_key", "note"], name="cart_item_one_line_per_choice"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="cart_item_quantity_positive"),
        ]
        verbose_name = _("cart item")
        verbose_name_plural = _("cart items")

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product}"
