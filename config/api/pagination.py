from django.core.paginator import EmptyPage, Page, Paginator
from django.utils.functional import cached_property
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.utils.urls import remove_query_param, replace_query_param

from config.api.fields import parse_query_int


class KnownCountPaginator(Paginator):
    """A paginator that takes the count from `object_list.known_count` when the caller has
    it (a cached count for the same filters at the same catalog version), sparing a COUNT."""

    @cached_property
    def count(self) -> int:
        known = getattr(self.object_list, "known_count", None)
        return known if known is not None else super().count


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M`, both in ASCII digits. A page size outside 1..100 is a 400, not
    silently clamped; a page that is not a whole number from 1 is a 404. A page past the
    last is an empty page (200, `results: []`, `previous` the last page): a list that
    shrank while a client paged through it, or an infinite scroll that asked once too
    often, is not an error. `next` and `previous` are absolute URLs."""

    page_size_query_param = "page_size"
    max_page_size = 100
    django_paginator_class = KnownCountPaginator

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = parse_query_int(raw)
        if size is None or not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return size

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        paginator = self.django_paginator_class(queryset, page_size)
        number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(number)
        except EmptyPage as exc:
            if number < 1:
                raise NotFound(self.invalid_page_message) from exc
            self.page = Page([], number, paginator)
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page)

    def get_previous_link(self):
        if not self.page.has_previous():
            return None
        # Past the last page, the one before is the last page, not number - 1.
        previous = min(self.page.number - 1, self.page.paginator.num_pages)
        url = self.request.build_absolute_uri()
        if previous == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, previous)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        number = parse_query_int(raw)
        if number is None:
            raise NotFound(self.invalid_page_message)
        return number

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    "A page number from 1. Past the last page: 200 with empty `results` and "
                    "`previous` naming the last page."
                )
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters
