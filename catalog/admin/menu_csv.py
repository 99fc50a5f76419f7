"""The menu CSV in the admin (catalog/menu_csv.py): an export of the whole menu (a link on the
product list) or of the selected products (an action), and an import in two steps: the
uploaded file is checked and shown as a dry run, and only "Apply" changes anything. The
file goes back with the confirmation and is checked again, on the rows as they are then.

Export needs catalog.view_product; import catalog.change_product, a price change also
catalog.add_productprice, and a new product (unknown SKU, "create") catalog.add_product."""

import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.menu_csv import menu_export, menu_import
from catalog.models import Product

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text=gettext_lazy("A CSV file as the export writes it (UTF-8), keyed by SKU.")
    )
    create = forms.BooleanField(required=False, label=gettext_lazy("Create products for unknown SKUs"))

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is over %(size)s MB.") % {"size": MAX_UPLOAD_BYTES // 1024 // 1024}
            )
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(
                _("The file is not UTF-8 text; save it from the spreadsheet as CSV UTF-8.")
            ) from exc


class ConfirmForm(forms.Form):
    text = forms.CharField(widget=forms.HiddenInput, strip=False, max_length=MAX_UPLOAD_BYTES)
    create = forms.BooleanField(required=False, widget=forms.HiddenInput)


def csv_download(products: QuerySet[Product] | None) -> HttpResponse:
    out = io.StringIO()
    menu_export(out, products)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"menu-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class MenuCsvAdminMixin:
    """For ProductAdmin: the export link and action, and the import page."""

    change_list_template = "admin/catalog/product/change_list.html"

    def get_urls(self):
        export = self.admin_site.admin_view(self.menu_export_view)
        upload = self.admin_site.admin_view(self.menu_import_view)
        return [
            path("menu-csv/export/", export, name="catalog_product_menu_export"),
            path("menu-csv/import/", upload, name="catalog_product_menu_import"),
            *super().get_urls(),
        ]

    @admin.action(description=gettext_lazy("Export selected as menu CSV"), permissions=["view"])
    def export_menu_csv(self, request: HttpRequest, queryset: QuerySet[Product]) -> HttpResponse:
        return csv_download(queryset)

    def menu_export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return csv_download(None)

    def menu_import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        user = request.user
        may_create = user.has_perm("catalog.add_product")
        may_price = user.has_perm("catalog.add_productprice")
        result, confirm, upload = None, None, UploadForm()
        if request.method == "POST" and "apply" in request.POST:
            posted = ConfirmForm(request.POST)
            if not posted.is_valid():
                return HttpResponse(_("The confirmation was altered or incomplete."), status=400)
            create = posted.cleaned_data["create"]
            if create and not may_create:
                raise PermissionDenied
            result = menu_import(posted.cleaned_data["text"], create=create, user=user, may_price=may_price)
            if result.applied:
                summary = result.report()[-1]
                self.message_user(
                    request, _("Menu CSV imported: %(summary)s") % {"summary": summary}, messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:catalog_product_changelist"))
        elif request.method == "POST":
            upload = UploadForm(request.POST, request.FILES)
            if upload.is_valid():
                create = upload.cleaned_data["create"]
                if create and not may_create:
                    raise PermissionDenied
                text = upload.cleaned_data["file"]
                result = menu_import(text, create=create, dry_run=True, may_price=may_price)
                if not result.errors and result.changed:
                    confirm = ConfirmForm(initial={"text": text, "create": create})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import menu CSV"),
            "opts": self.model._meta,
            "upload": upload,
            "may_create": may_create,
            "result": result,
            "lines": result.report() if result else [],
            "confirm": confirm,
        }
        return TemplateResponse(request, "admin/catalog/product/menu_import.html", context)
