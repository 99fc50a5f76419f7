"""Shared admin building blocks."""

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For ModelAdmins and inlines that only show rows: records written by the domain's
    services (order lines, events, carts, price history) are never added, edited or
    deleted from a form."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
