"""What the catalog admin's modules share, chiefly the bridge from a service's refusal to
the form that asked for it.

Django's admin validates the forms, then saves inside one transaction. A rule that depends
on the database (the stock is no longer what the page showed, it would go below zero) is
the service's to decide at the moment it writes, so the form cannot check it beforehand
without a racy read of its own. Instead the save raises `SaveRefused`, which ends the
admin's transaction (nothing of the save is kept), and the view is run again on the same
POST with the refusal handed to the form class, which shows it as field errors: the page
comes back as for any invalid form.
"""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from catalog.exceptions import StockChanged, StockWouldGoNegative
from config.errors import DomainError
from config.money import rupiah

# Service error keys that a form names differently.
FIELD_ALIASES = {"delta": "adjust_stock", "amount": "new_price"}

STOCK_CHANGED = (
    "The stock of {name} changed from {seen} to {now} since the page was loaded; "
    "check the new value and save again."
)

_REFUSED = "_catalog_save_refused"


class SaveRefused(Exception):
    """A service refused a save: `errors` by object pk (None: the object being added), each
    {form field or None: [messages]}."""

    def __init__(self, errors: dict[int | None, dict[str | None, list[str]]]) -> None:
        super().__init__(errors)
        self.errors = errors


def refusal(
    error: ValidationError | DomainError, *, form: forms.BaseForm, name: str, seen_stock: int | None
) -> dict[str | None, list[str]]:
    """A service's error as the form's field errors."""
    if isinstance(error, StockChanged):
        now = error.extra["stock"]
        return {"stock": [STOCK_CHANGED.format(name=name, seen=seen_stock, now=now)]}
    if isinstance(error, StockWouldGoNegative):
        field = "adjust_stock" if "adjust_stock" in form.fields else "stock"
        return {field: [str(error.detail)]}
    if isinstance(error, DomainError):
        return {None: [str(error.detail)]}
    if not hasattr(error, "error_dict"):
        return {None: error.messages}
    errors: dict[str | None, list[str]] = {}
    for key, messages in error.message_dict.items():
        field = FIELD_ALIASES.get(key, key)
        errors.setdefault(field if field in form.fields else None, []).extend(messages)
    return errors


def run_with_refusals(request: HttpRequest, view, *args):
    """Run an admin view; if its save was refused, run it again to show the refusal."""
    try:
        return view(request, *args)
    except SaveRefused as refused:  # the admin's transaction is undone by now
        setattr(request, _REFUSED, refused.errors)
        return view(request, *args)


def with_refusals(request: HttpRequest, form_class: type[forms.BaseForm]) -> type[forms.BaseForm]:
    """`form_class`, made to show the refusals of the save being retried, if any."""
    errors = getattr(request, _REFUSED, None)
    if not errors:
        return form_class
    return type(form_class.__name__, (RefusalsMixin, form_class), {"refusals": errors})


class RefusalsMixin:
    refusals: dict[int | None, dict[str | None, list[str]]] = {}

    def clean(self):
        data = super().clean()
        for field, messages in self.refusals.get(self.instance.pk, {}).items():
            for message in messages:
                self.add_error(None if field == NON_FIELD_ERRORS else field, message)
        return data


def rupiah_or_none(amount: int | None) -> str | None:
    return None if amount is None else rupiah(amount)


def adopt(instance: Model, created: Model) -> None:
    """Make the admin's unsaved form instance stand for the row a service created, so the
    admin's log entry, message and redirect refer to that row."""
    instance.pk = created.pk
    instance.refresh_from_db()


def changed_fields(form: forms.ModelForm) -> dict[str, object]:
    # The form has already put its cleaned values on the instance, converted for the model
    # (a cleared image is "", not the form's False), so they are read back from there; but a
    # language column cleared in the admin's own language is held back from the instance by
    # modeltranslation until the model's clean, so those come from the form.
    model_fields = {field.name for field in form.instance._meta.fields}
    return {
        name: form.cleaned_data[name] if name in TEXT_LABELS else getattr(form.instance, name)
        for name in form.changed_data
        if name in model_fields
    }


# The menu's per-language columns (catalog/i18n.py) as staff see them.
TEXT_LABELS = {
    "name_ind": gettext_lazy("Name (Indonesian)"),
    "name_en": gettext_lazy("Name (English)"),
    "description_ind": gettext_lazy("Description (Indonesian)"),
    "description_en": gettext_lazy("Description (English)"),
}
TEXT_HELP = {
    "name_en": gettext_lazy("Empty: English readers see the Indonesian name."),
    "description_en": gettext_lazy("Empty: English readers see the Indonesian description."),
}


class TextLabelsMixin:
    """Labels the per-language columns of a model admin's or inline's form."""

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in TEXT_LABELS:
            field.label = TEXT_LABELS[db_field.name]
            field.help_text = TEXT_HELP.get(db_field.name, "")
        return field
