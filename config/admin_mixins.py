"""Shared admin building blocks."""

import re

from django.db import transaction
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


# A changelist's list edit posts each row's primary key as `form-<n>-id`.
_POSTED_ROW_ID = re.compile(r"form-\d+-id")


def posted_row_ids(request: HttpRequest) -> list[int]:
    """The primary keys a changelist's list edit posted; anything but a plain id is left out
    (the formset reports it)."""
    return sorted(
        {
            int(value)
            for key, value in request.POST.items()
            if _POSTED_ROW_ID.fullmatch(key) and value.isascii() and value.isdigit() and len(value) < 19
        }
    )


class LockPostedRowsMixin:
    """For a ModelAdmin with `list_editable`. A list edit checks and saves its rows one by
    one, in display order; this locks every posted row first, in primary-key order (the
    order checkout takes its locks in), inside the transaction that saves them: editing
    several rows cannot deadlock a checkout, and what a row was checked against holds until
    it is saved. Override `lock_rows` where the domain has its own lock helper."""

    def lock_rows(self, ids: list[int]) -> None:
        rows = self.model._default_manager.filter(pk__in=ids).order_by("pk").select_for_update()
        list(rows.values_list("pk", flat=True))

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        if request.method == "POST" and "_save" in request.POST and self.list_editable:
            with transaction.atomic():
                self.lock_rows(posted_row_ids(request))
                return super().changelist_view(request, extra_context)
        return super().changelist_view(request, extra_context)
