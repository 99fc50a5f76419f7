from django.contrib import admin

from config.admin_mixins import ReadOnlyAdminMixin
from orders.models import IdempotencyKey


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Checkout's Idempotency-Key records, to look into a disputed double submit; purged by
    `purge_idempotency_keys` once they age out."""

    list_display = ["key", "user", "state", "order", "response_status", "created_at"]
    list_filter = ["state"]
    list_select_related = ["user", "order"]
    search_fields = ["key", "user__email", "order__number"]
