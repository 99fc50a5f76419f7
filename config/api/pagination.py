import base64
import binascii
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import CharField, F, Q, TextField, Value
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
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

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["count", "next", "previous", "results"]  # null when none
        return paginated

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


class PageOrCursorPagination(PageNumberPagination):
    """Page numbers, or a cursor for infinite scroll: `?cursor=start` asks for the first page
    in cursor mode, and each answer's `next`/`previous` carry the cursor of the page after or
    before it. A cursor is a position in the list's order (keyset: the ordering's values and
    the id of the last item shown), so rows added or removed meanwhile never make a page
    repeat or skip an item, and deep pages cost what the first does. The answer has the same
    shape in both modes (`count` included). A cursor that was not issued here is a 404 like
    a bad page number; `page` and `cursor` together are a 400."""

    cursor_query_param = "cursor"
    FIRST = "start"
    invalid_cursor_message = "Invalid cursor."
    # Sort values that may be NULL (a product without a price, which only staff see) sort as
    # this sentinel (numeric columns only: first ascending, last descending), so a keyset
    # comparison never meets a NULL.
    NULL_KEY = Value(-1)

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.cursor_query_param, "")
        self.cursor_mode = bool(raw)
        if not self.cursor_mode:
            return super().paginate_queryset(queryset, request, view)
        if request.query_params.get(self.page_query_param, ""):
            raise ValidationError({self.cursor_query_param: ["Give either page or cursor, not both."]})
        self.request = request
        page_size = self.get_page_size(request)
        known = getattr(queryset, "known_count", None)
        self.count = known if known is not None else queryset.count()
        keys, ordered = self._keyed(queryset)
        direction, values = self._decode(raw, keys)
        backwards = direction == "before"
        if values is not None:
            ordered = ordered.filter(self._beyond(keys, values, backwards))
        if backwards:
            ordered = ordered.order_by(*[(name if desc else f"-{name}") for name, desc, _ in keys])
        rows = list(ordered[: page_size + 1])
        more = len(rows) > page_size
        page = rows[:page_size]
        if backwards:
            page.reverse()
        self.cursor_keys = keys
        came_from_cursor = values is not None
        self.has_next = more if not backwards else came_from_cursor
        self.has_previous = came_from_cursor if not backwards else more
        self.cursor_page = page
        return page

    def _keyed(self, queryset):
        """The ordering as (annotation, descending, model field) keys ending in the id, and the
        queryset annotated and ordered by them."""
        model = queryset.model
        ordering = [o for o in queryset.query.order_by if isinstance(o, str)] or list(model._meta.ordering)
        if not any(o.lstrip("-") in ("id", "pk") for o in ordering):
            ordering.append("id")
        keys, annotations = [], {}
        for index, item in enumerate(ordering):
            name = "id" if item.lstrip("-") == "pk" else item.lstrip("-")
            field = model._meta.get_field(name)
            alias = f"_cursor_{index}"
            annotations[alias] = Coalesce(F(name), self._null_key(field)) if field.null else F(name)
            keys.append((alias, item.startswith("-"), field))
        ordered = queryset.annotate(**annotations).order_by(
            *[(f"-{alias}" if desc else alias) for alias, desc, _ in keys]
        )
        return keys, ordered

    def _null_key(self, field) -> Value:
        # Text columns that may be NULL (a language column of a menu name, catalog/i18n.py,
        # never NULL in the default language) sort a NULL as the empty text.
        return Value("") if isinstance(field, (CharField, TextField)) else self.NULL_KEY

    def _beyond(self, keys, values, backwards: bool) -> Q:
        """Rows strictly after (or before) `values` in the keys' lexicographic order."""
        condition = Q()
        for index, (alias, desc, _) in enumerate(keys):
            later = "lt" if desc != backwards else "gt"
            step = Q(**{f"{alias}__{later}": values[index]})
            for prior, value in zip(keys[:index], values[:index], strict=True):
                step &= Q(**{prior[0]: value})
            condition |= step
        return condition

    def _decode(self, raw: str, keys) -> tuple[str, list | None]:
        if raw == self.FIRST:
            return "after", None
        try:
            payload = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"==="))
            direction, values = payload["d"], payload["v"]
            if direction not in ("after", "before") or len(values) != len(keys):
                raise ValueError(direction)
            return direction, [field.to_python(v) for v, (_, _, field) in zip(values, keys, strict=True)]
        except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error, DjangoValidationError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc

    def _encode(self, item, direction: str) -> str:
        values = []
        for alias, _, _ in self.cursor_keys:
            value = getattr(item, alias)
            values.append(value.isoformat() if hasattr(value, "isoformat") else value)
        raw = json.dumps({"d": direction, "v": values}, separators=(",", ":"), default=str)
        return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")

    def _link(self, cursor: str) -> str:
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_next_link(self):
        if not getattr(self, "cursor_mode", False):
            return super().get_next_link()
        if not self.has_next or not self.cursor_page:
            return None
        return self._link(self._encode(self.cursor_page[-1], "after"))

    def get_previous_link(self):
        if not getattr(self, "cursor_mode", False):
            return super().get_previous_link()
        if not self.has_previous:
            return None
        if not self.cursor_page:  # past the end: back to the start
            return self._link(self.FIRST)
        return self._link(self._encode(self.cursor_page[0], "before"))

    def get_paginated_response(self, data):
        if not getattr(self, "cursor_mode", False):
            return super().get_paginated_response(data)
        return Response(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        parameters.append(
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": (
                    "Cursor pagination for infinite scroll: `start` for the first page, then follow "
                    "`next` (or `previous`), whose URLs carry the cursor. Not with `page`. Rows "
                    "added or removed meanwhile never make a page repeat or skip an item."
                ),
                "schema": {"type": "string", "minLength": 1, "maxLength": 2000},
            }
        )
        return parameters
