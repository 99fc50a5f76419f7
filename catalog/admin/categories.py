"""Categories, as staff run them: every write through `catalog.services`."""

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from catalog import services
from catalog.admin.common import (
    TextLabelsMixin,
    adopt,
    changed_fields,
)
from catalog.models import Category

# --- categories -------------------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(TextLabelsMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "position", "is_active"]
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active"]
    ordering = ["position", "name_ind"]
    prepopulated_fields = {"slug": ("name_ind",)}
    search_fields = ["name_ind", "name_en"]
    fields = ["name_ind", "name_en", "slug", "position", "is_active", "serving_windows"]

    def has_delete_permission(self, request: HttpRequest, obj: Category | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Category, form: forms.ModelForm, change: bool) -> None:
        if change:
            services.category_update(category=obj, **changed_fields(form))
        else:
            created = services.category_create(
                name=obj.name_ind,
                name_en=obj.name_en or "",
                slug=obj.slug,
                position=obj.position,
                is_active=obj.is_active,
            )
            if obj.serving_windows:
                services.category_update(category=created, serving_windows=obj.serving_windows)
            adopt(obj, created)
