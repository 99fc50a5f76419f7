"""Typed error bodies (issue 18): one OpenAPI component per error `code`, built from the
domain error classes themselves (`config.errors.DomainError` subclasses, their `code`,
`status`, `default_detail`, `body_fields` and `body_optional`), so a client can switch on
`code` and read the recovery data (`stock`, `products`, `next_slots`, ...) without casts.

- `error_catalogue()` lists every code with its statuses and classes (the README's table
  comes from it: `manage.py error_codes --markdown`).
- `domain_errors(A, B, ...)` is what a view puts in `extend_schema(responses=...)`: the
  errors it may answer, grouped by status.
- `add_error_components` (POSTPROCESSING_HOOKS) defines the components the schema refers to.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.utils import translation
from django.utils.module_loading import autodiscover_modules
from drf_spectacular.utils import OpenApiResponse

from config.errors import DomainError

SCHEMAS = "#/components/schemas/"
ERROR = {"$ref": SCHEMAS + "Error"}
FIELD_ERRORS = {"$ref": SCHEMAS + "FieldErrors"}


@dataclass(frozen=True)
class ErrorCode:
    """One `code` and every class that answers with it (a subclass may keep its base's code
    with another status: payment_gateway_error is 502 or 503)."""

    code: str
    classes: tuple[type[DomainError], ...]

    @property
    def statuses(self) -> tuple[int, ...]:
        return tuple(sorted({int(cls.status) for cls in self.classes}))

    @property
    def base(self) -> type[DomainError]:
        return self.classes[0]

    @property
    def component(self) -> str:
        name = "".join(part.title() for part in self.code.split("_"))
        return name if name.endswith("Error") else f"{name}Error"

    @property
    def ref(self) -> dict:
        return {"$ref": SCHEMAS + self.component}

    @property
    def meaning(self) -> str:
        """The default detail in English, the schema's and README's language, whatever the
        request that asked for the schema prefers (clients get it translated at run time)."""
        with translation.override("en"):
            return str(self.base.default_detail)

    @property
    def description(self) -> str:
        """The meaning, then what the class's docstring says of its body."""
        doc = inspect.getdoc(self.base) if "__doc__" in vars(self.base) and self.base.__doc__ else ""
        return " ".join(filter(None, [self.meaning, " ".join(doc.split())]))

    def schema(self) -> dict:
        fields = self.base.body_fields
        return {
            "type": "object",
            "description": self.description,
            "properties": {
                "detail": {"type": "string", "description": "What went wrong, for people."},
                "code": {"type": "string", "enum": [self.code]},
                **fields,
            },
            "required": ["detail", "code", *(name for name in fields if name not in self.base.body_optional)],
            "additionalProperties": False,
        }


def _domain_error_classes() -> list[type[DomainError]]:
    found, pending = [], list(DomainError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        # config.errors' own classes are kinds (Conflict, NotFound, ...), not answers; test
        # modules define their own.
        if cls.__module__ != DomainError.__module__ and ".tests" not in cls.__module__:
            found.append(cls)
    return found


def _by_code() -> dict[str, ErrorCode]:
    by_code: dict[str, list[type[DomainError]]] = {}
    for cls in _domain_error_classes():
        by_code.setdefault(cls.code, []).append(cls)
    # The base class first: it owns the body and the meaning.
    return {
        code: ErrorCode(code, tuple(sorted(classes, key=lambda cls: (len(cls.__mro__), cls.__qualname__))))
        for code, classes in by_code.items()
    }


def error_catalogue() -> tuple[ErrorCode, ...]:
    """Every error code the project's domain errors answer with, by status then code."""
    autodiscover_modules("exceptions")
    import_module(settings.ROOT_URLCONF)  # errors defined next to their rule (invoices.storage)
    return tuple(sorted(_by_code().values(), key=lambda entry: (entry.statuses, entry.code)))


def error_code(cls: type[DomainError]) -> ErrorCode:
    """The code of `cls` with every class that shares it. Called while views are imported, so
    it loads the apps' `exceptions` modules only (never the URLs, which import the views):
    a subclass that keeps its base's code belongs in one of those."""
    autodiscover_modules("exceptions")
    return _by_code()[cls.code]


# Statuses that DRF itself also answers, whatever the view: a 400 may be field errors or a
# malformed body (`parse_error`), a 429 a throttle (`throttled`). Their generic shapes stay
# in the union.
ALSO_GENERIC = {400: [FIELD_ERRORS], 429: []}


def error_body(entries: list[ErrorCode], status: int) -> dict:
    """The body schema for `entries` at `status`: one component each, told apart by `code`."""
    refs = [entry.ref for entry in entries]
    if status in ALSO_GENERIC:
        return {"anyOf": [*ALSO_GENERIC[status], *refs, ERROR]}
    if len(refs) == 1:
        return refs[0]
    return {
        "oneOf": refs,
        "discriminator": {"propertyName": "code", "mapping": {e.code: e.ref["$ref"] for e in entries}},
    }


def domain_errors(*classes: type[DomainError], **descriptions: str) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses={200: X, **domain_errors(SlotFull, CartEmpty)})`: each status
    the classes answer with, its body (a component per code) and a description naming the
    codes. `descriptions` adds words for a code (`slot_full="..."`)."""
    by_status: dict[int, list[ErrorCode]] = {}
    for cls in classes:
        entry = error_code(cls)
        # A class stands for its subclasses of the same code too (PaymentGatewayError: 502, 503).
        for status in {int(c.status) for c in entry.classes if issubclass(c, cls)}:
            if entry not in by_status.setdefault(status, []):
                by_status[status].append(entry)
    responses = {}
    for status, entries in sorted(by_status.items()):
        lines = [f"- `{e.code}`: {descriptions.get(e.code, e.meaning)}" for e in entries]
        if status == 400:
            lines.insert(0, "Field errors, a body that is not acceptable JSON (`parse_error`), or:\n")
        if status == 429:
            lines.insert(0, "Throttled (`throttled`), or:\n")
        responses[status] = OpenApiResponse(error_body(entries, status), description="\n".join(lines))
    return responses


def add_error_components(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS: define the component of every error code the schema refers to."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    text = repr(result)
    for entry in error_catalogue():
        if f"'{entry.ref['$ref']}'" in text:
            schemas[entry.component] = entry.schema()
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result
