"""OpenAPI schema plumbing (drf-spectacular): the error answers every operation really gives,
documented once as shared components and attached per operation from what the view is
(its authentication, permissions, throttles, body, parameters), so views stay light.

`FoodiesAutoSchema` is DEFAULT_SCHEMA_CLASS. A view documents only what is special to it
(a 409 or 422 with `OpenApiResponse(description=...)`; the Error body is filled in)."""

import re
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, is_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework_simplejwt.views import TokenViewBase

from config.api.authentication import StaffSessionAuthentication
from config.api.filters import RepeatableCSVWidget
from config.api.parsers import JSONParser
from config.api.schema_compat import document_conditional_get, integer_path_ids

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Text input never contains U+0000 (config.api.parsers, config.middleware refuse it): said so on
# every string a client sends that has no stricter pattern of its own.
NO_NUL_PATTERN = r"^[^\x00]*$"


class ErrorSerializer(serializers.Serializer):
    """Every error that is not about individual fields; some carry more keys (for example
    `products` with insufficient_stock)."""

    detail = serializers.CharField(help_text="What went wrong, for people.")
    code = serializers.CharField(help_text="What went wrong, for programs: not_found, parse_error, ...")


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


ERROR = _ref("schemas", "Error")
FIELD_ERRORS = _ref("schemas", "FieldErrors")
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": (
        "Validation errors by input field: a list of messages, or for nested input the same "
        "shape nested (a list with one entry per item, or an object keyed by item index)."
    ),
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
            {"type": "object"},
        ]
    },
    "example": {"quantity": ["Ensure this value is less than or equal to 50."]},
}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


# Status -> (component name, response object). Each is defined once under
# components/responses and referenced by the operations that can give it.
ERROR_RESPONSES: dict[str, tuple[str, dict]] = {
    "400": (
        "BadRequest",
        {
            "description": (
                "Invalid input: field errors (`{field: [messages]}`), or `{detail, code}` for a body "
                "that is not acceptable JSON (`parse_error`: malformed, nested more than "
                f"{JSONParser.max_depth} levels, or containing U+0000), a query string with U+0000, "
                "or a domain rule."
            ),
            "content": _json({"anyOf": [FIELD_ERRORS, ERROR]}),
        },
    ),
    "401": (
        "Unauthorized",
        {
            "description": "No credentials where they are needed, or a token that is invalid or expired "
            "(`token_not_valid`).",
            "content": _json({"anyOf": [_ref("schemas", "TokenNotValidError"), ERROR]}),
        },
    ),
    "403": (
        "Forbidden",
        {
            "description": (
                "Authenticated but not allowed: a staff power whose Django permission the caller lacks "
                '(README "Staff roles"), or a staff session without its CSRF token.'
            ),
            "content": _json(ERROR),
        },
    ),
    "404": (
        "NotFound",
        {
            "description": "No such object (or not yours), or a page number or cursor that is not one.",
            "content": _json(_ref("schemas", "NotFoundError")),
        },
    ),
    "413": (
        "PayloadTooLarge",
        {
            "description": (
                f"The request body is larger than the server accepts "
                f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes, DATA_UPLOAD_MAX_MEMORY_SIZE)."
            ),
            "content": _json(ERROR),
        },
    ),
    "414": (
        "UriTooLong",
        {
            "description": (
                "The request line (method, path and query string) is longer than the server accepts "
                "(gunicorn's limit_request_line, gunicorn.conf.py); answered before the application."
            ),
            "content": _json(ERROR),
        },
    ),
    "415": (
        "UnsupportedMediaType",
        {
            "description": "The body is not `application/json`.",
            "content": _json(ERROR),
        },
    ),
    "429": (
        "TooManyRequests",
        {
            "description": "Throttled: too many attempts.",
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer"},
                }
            },
            "content": _json(ERROR),
        },
    ),
}


class FoodiesAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None:
            self._register_error_components()
            operation["responses"] = self._with_error_responses(operation)
            for parameter in operation.get("parameters", []):
                _refuse_nul(parameter.get("schema", {}))
                _refuse_nul(parameter.get("schema", {}).get("items", {}))
                if parameter.get("explode") is False and self._repeatable(parameter["name"]):
                    parameter["explode"] = True  # what generated clients send for an array
            integer_path_ids(operation)
            if self.method == "GET":
                handler = getattr(self.view, getattr(self.view, "action", None) or "get", None)
                document_conditional_get(operation, public_cache=getattr(handler, "cache_public", False))
            if not self.view.get_authenticators():
                operation["security"] = []  # takes no credentials at all
        return operation

    def _repeatable(self, name: str) -> bool:
        """A filter that reads repeated values as well as comma-separated ones."""
        filterset = getattr(self.view, "filterset_class", None)
        field = filterset.base_filters.get(name) if filterset else None
        widget = field.extra.get("widget") if field else None
        return isinstance(widget, type) and issubclass(widget, RepeatableCSVWidget)

    # --- who may call --------------------------------------------------------------------

    def get_auth(self):
        """Per operation: `{}` (no credentials) is listed whenever the view's permissions let an
        anonymous caller through, whatever the permission classes are called."""
        auths = super().get_auth()
        if {} not in auths and self._allows(AnonymousUser()):
            auths.append({})
        return auths

    def _allows(self, user) -> bool:
        django_request = HttpRequest()
        django_request.method = self.method
        request = Request(django_request)
        request.user = user
        return all(
            permission.has_permission(request, self.view) for permission in self.view.get_permissions()
        )

    # --- response bodies -----------------------------------------------------------------

    def _map_basic_serializer(self, serializer, direction):
        """A response has every field of its serializer (null where there is no value), so
        each is required there: clients need no `!`. A serializer whose answers leave some
        out names them in `response_optional`."""
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response" and schema.get("properties"):
            optional = set(getattr(serializer, "response_optional", ()))
            schema["required"] = sorted(name for name in schema["properties"] if name not in optional)
        return schema

    # --- request bodies ------------------------------------------------------------------

    def get_request_serializer(self):
        # DELETE bodies are documented only when @extend_schema(request=...) names one
        # (that decorator answers before this method); otherwise there is none.
        if self.method == "DELETE":
            return None
        return super().get_request_serializer()

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        serializer = self.get_request_serializer()
        if serializer is None:
            return None
        schema, required = self._get_request_for_media_type(serializer, direction)
        body = {"content": {media_type: {"schema": schema} for media_type in self.map_parsers()}}
        if required:
            body["required"] = True
        return body

    def _get_request_for_media_type(self, serializer, direction="request"):
        # drf-spectacular documents every PATCH body as partial, as DRF's UpdateModelMixin
        # validates it. A serializer marked `patch_in_full` is validated whole by its view.
        if (
            self.method == "PATCH"
            and is_serializer(serializer)
            and getattr(serializer, "patch_in_full", False)
        ):
            component = self.resolve_serializer(serializer, direction)
            return component.ref, bool(component.schema.get("required"))
        return super()._get_request_for_media_type(serializer, direction)

    # --- error answers -------------------------------------------------------------------

    def _register_error_components(self) -> None:
        error = self.resolve_serializer(ErrorSerializer, "response")
        assert error.name == "Error"
        self.registry.register_on_missing(
            ResolvedComponent("FieldErrors", ResolvedComponent.SCHEMA, FIELD_ERRORS_SCHEMA, "FieldErrors")
        )
        for name, response in ERROR_RESPONSES.values():
            self.registry.register_on_missing(
                ResolvedComponent(name, ResolvedComponent.RESPONSE, response, name)
            )

    def _error_statuses(self, operation: dict) -> set[str]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        authenticators = self.view.get_authenticators()
        statuses = set()
        if has_body or any(p["in"] == "query" for p in parameters):
            statuses.add("400")
        if has_body:
            statuses |= {"413", "415"}
        if any(p["in"] in ("query", "path") for p in parameters):
            statuses.add("414")  # a long enough value makes the request line too long
        # Any presented token is checked (a bad one is a 401 even where none is needed);
        # the token views check credentials themselves.
        if authenticators or isinstance(self.view, TokenViewBase):
            statuses.add("401")
        shopper = SimpleNamespace(
            is_authenticated=True, is_staff=False, is_superuser=False, is_active=True, pk=0
        )
        staff_session = self.method in UNSAFE_METHODS and any(
            isinstance(a, StaffSessionAuthentication) for a in authenticators
        )
        if staff_session or not self._allows(shopper):
            statuses.add("403")
        if any(p["in"] == "path" for p in parameters) or any(p["name"] == "page" for p in parameters):
            statuses.add("404")
        if self.view.get_throttles():
            statuses.add("429")
        return statuses

    def _with_error_responses(self, operation: dict) -> dict:
        responses = dict(operation["responses"])
        for status in self._error_statuses(operation):
            responses.setdefault(status, _ref("responses", ERROR_RESPONSES[status][0]))
        for status, response in responses.items():
            # A view's own 4xx described in words (a 409) gets the body of its status.
            if status.startswith("4") and "$ref" not in response and "content" not in response:
                shared = ERROR_RESPONSES.get(status)
                response["content"] = shared[1]["content"] if shared else _json(ERROR)
        return dict(sorted(responses.items()))


def _refuse_nul(schema: dict) -> None:
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & schema.keys():
        schema["pattern"] = NO_NUL_PATTERN


def refuse_nul_in_request_bodies(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS: every string in a request body (the components they use,
    followed through $ref, nested objects, arrays and oneOf) gets NO_NUL_PATTERN unless it
    has a pattern, enum or format of its own. Run after the components are final, so a
    field's own validators (and drf-spectacular's blank-string alternative) come first."""
    schemas = result.get("components", {}).get("schemas", {})
    pending = [
        content["schema"]
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "requestBody" in operation
        for content in operation["requestBody"]["content"].values()
    ]
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen and name in schemas:
                seen.add(name)
                pending.append(schemas[name])
            continue
        _refuse_nul(node)
        pending.extend(node.get("properties", {}).values())
        pending.extend(node.get(key) for key in ("items", "additionalProperties"))
        for key in ("oneOf", "anyOf", "allOf"):
            pending.extend(node.get(key, []))
    return result


# The literal "" (not any string of length 0: generators would widen an enum to `string`).
EMPTY_QUERY_VALUE = {"type": "string", "enum": [""]}
# The pagination reads its parameters strictly: an empty `page` is a 404, an empty
# `page_size` a 400 (config/pagination.py), as their schemas say.
STRICT_QUERY_PARAMETERS = frozenset({"page", "page_size"})


def empty_query_values_mean_absent(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS: a query parameter given empty (`?status=`, `?date=`) is read as
    absent by every filter (django-filter) and the views that take query input, so each such
    parameter's schema also admits the empty string (not the pagination's: see
    STRICT_QUERY_PARAMETERS). Without it an enum, a number or `format: date` says "" is
    invalid, and the API accepts it (the fuzzer found it)."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema")
                if parameter.get("in") != "query" or not schema or _admits_empty(schema):
                    continue
                if parameter.get("name") in STRICT_QUERY_PARAMETERS:
                    continue
                if schema.get("type") == "array":
                    # An array's items admit "" instead: validators and generators read a
                    # repeated parameter only as a plain array (`?ordering=`: no ordering).
                    items = schema.get("items", {})
                    if "enum" in items and "" not in items["enum"]:
                        items["enum"] = [*items["enum"], ""]
                    continue
                if schema.get("type") == "string" and "enum" in schema:
                    schema["enum"] = [*schema["enum"], ""]  # stays an enum: `"paid" | ""`
                    continue
                parameter["schema"] = {"anyOf": [schema, dict(EMPTY_QUERY_VALUE)]}
    return result


def _admits_empty(schema: dict) -> bool:
    if schema.get("type") != "string" or {"enum", "format"} & schema.keys() or schema.get("minLength", 0):
        return False
    pattern = schema.get("pattern")
    return pattern is None or re.search(pattern, "") is not None
