"""The admin's login form, under the one limiter of password guesses (accounts.login_limits)."""

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from accounts import login_limits
from accounts.exceptions import LoginLocked


class AdminLoginForm(AdminAuthenticationForm):
    """Django's admin login form. A locked account or address is a form error and the
    password is not checked, a right one included; a wrong password is counted."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": "Too many failed attempts. Try again in %(minutes)s minute(s).",
    }

    def clean(self):
        email = self.cleaned_data.get("username")
        if not email or not self.cleaned_data.get("password"):
            return super().clean()  # nothing to check: Django's form says what is missing
        address = login_limits.client_address(self.request) if self.request else ""
        try:
            login_limits.login_check(email=email, address=address)
        except LoginLocked as exc:
            raise forms.ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"minutes": math.ceil(exc.retry_after / 60)},
            ) from exc
        try:
            return super().clean()
        finally:
            # user_cache is set exactly when the password was right (the account may still
            # be refused afterwards for not being staff: that is no guess).
            if self.user_cache is None:
                login_limits.login_failed(email=email, address=address)
            else:
                login_limits.login_succeeded(email=email)
