"""Dish options: groups shared by dishes, and their options."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from catalog import options
from catalog.admin.common import (
    SaveRefused,
    TextLabelsMixin,
    adopt,
    refusal,
    run_with_refusals,
    with_refusals,
)
from catalog.exceptions import StockWouldGoNegative
from catalog.models import Option, OptionGroup
from catalog.stock import MAX_STOCK, option_stock_adjust

# --- dish options ---------------------------------------------------------------------------


class OptionForm(forms.ModelForm):
    """An option row. Its stock is set once, when it is added (empty: unlimited); after that
    it moves only by an adjustment (written to the stock ledger), never by overwrite."""

    adjust_stock = forms.IntegerField(
        required=False, min_value=-MAX_STOCK, max_value=MAX_STOCK, label="Adjust stock by"
    )

    class Meta:
        model = Option
        fields = ["name_ind", "name_en", "slug", "price_delta", "is_active", "position", "stock"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["stock"].disabled = True
            self.fields["stock"].help_text = "Use 'adjust stock by' to change it."


class OptionInline(TextLabelsMixin, admin.TabularInline):
    model = Option
    form = OptionForm
    extra = 1
    can_delete = False  # carts and orders refer to options: deactivate instead
    prepopulated_fields = {"slug": ("name_ind",)}

    def get_formset(self, request: HttpRequest, obj: OptionGroup | None = None, **kwargs):
        return super().get_formset(request, obj, form=with_refusals(request, self.form), **kwargs)


@admin.register(OptionGroup)
class OptionGroupAdmin(TextLabelsMixin, admin.ModelAdmin):
    """Choice groups shared by dishes ("Spice level", "Extras"); attach them on a product's
    page. Every write goes through `catalog.options` and option stock through the ledger."""

    list_display = ["name", "min_choices", "max_choices", "position", "option_count", "dish_count"]
    search_fields = ["name_ind", "name_en", "options__name_ind", "options__name_en"]
    fields = ["name_ind", "name_en", "min_choices", "max_choices", "position"]
    inlines = [OptionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OptionGroup]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_options=Count("options", distinct=True), n_dishes=Count("products", distinct=True))
        )

    @admin.display(description=_("options"), ordering="n_options")
    def option_count(self, group: OptionGroup) -> int:
        return group.n_options

    @admin.display(description=_("dishes"), ordering="n_dishes")
    def dish_count(self, group: OptionGroup) -> int:
        return group.n_dishes

    def has_delete_permission(self, request: HttpRequest, obj: OptionGroup | None = None) -> bool:
        return False

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        return run_with_refusals(request, super().changeform_view, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: OptionGroup, form: forms.ModelForm, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in self.fields}
        fields["name"], fields["name_en"] = fields.pop("name_ind"), fields["name_en"] or ""
        if change:
            options.option_group_update(group=obj, **fields)
        else:
            adopt(obj, options.option_group_create(**fields))

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not Option:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # writes nothing; records what changed for the history log
        for row in formset.forms:
            if not row.has_changed() or not row.cleaned_data:
                continue
            data = row.cleaned_data
            if row.instance.pk is None:
                created = options.option_create(
                    group=form.instance,
                    user=request.user,
                    name=data["name_ind"],
                    name_en=data.get("name_en") or "",
                    **{k: data.get(k) for k in ("slug", "price_delta", "is_active", "position", "stock")},
                )
                adopt(row.instance, created)
                continue
            changed = {k: data[k] for k in options.OPTION_FIELDS if k in row.changed_data}
            options.option_update(option=row.instance, **changed)
            if data.get("adjust_stock"):
                try:
                    option_stock_adjust(
                        option=row.instance,
                        delta=data["adjust_stock"],
                        user=request.user,
                        note="Set in the admin",
                    )
                except (StockWouldGoNegative, ValidationError) as error:
                    # The whole save is undone and the row shows why (as on the product page).
                    errors = refusal(error, form=row, name=row.instance.name, seen_stock=None)
                    raise SaveRefused({row.instance.pk: errors}) from error
