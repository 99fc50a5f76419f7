from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import check_email, check_name, check_phone


def _one_field(check, field: str, value: str) -> str:
    """A service check (which reports `{field: [...]}`) as a form field's clean."""
    try:
        return check(value)
    except ValidationError as exc:
        raise forms.ValidationError(exc.message_dict[field]) from exc


class EmailNormalizingMixin:
    """Normalize (and re-validate) the email before the unique check, so `Alice@X.com` is a
    clear form error when `alice@x.com` exists instead of a database error. Name and phone
    follow the same rules as in the API (one line of plain text)."""

    def clean_name(self) -> str:
        return _one_field(check_name, "name", self.cleaned_data.get("name") or "")

    def clean_phone(self) -> str:
        return _one_field(check_phone, "phone", self.cleaned_data.get("phone") or "")

    def clean_email(self) -> str:
        email = check_email(email=self.cleaned_data["email"])
        clash = User.objects.filter(email=email)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("An account with this email already exists."))
        return email


class UserCreationForm(EmailNormalizingMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class UserEditForm(EmailNormalizingMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "name", "phone", "email_verified", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", ("email_verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "name", "phone"]
    readonly_fields = ["date_joined", "last_login", "email_verified_at"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("name", "phone")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined", "email_verified_at")}),
    )

    def save_model(self, request, obj: User, form, change: bool) -> None:
        # A new address is not verified by the old one's link: its owner verifies it anew.
        if change and "email" in form.changed_data:
            obj.email_verified_at = None
        super().save_model(request, obj, form, change)

    @admin.display(boolean=True, description="e-mail verified", ordering="email_verified_at")
    def email_verified(self, user: User) -> bool:
        return user.email_verified

    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "name", "usable_password", "password1", "password2")},
        ),
    )
