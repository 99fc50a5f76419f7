"""Domain errors: what a rule says when it refuses, with no knowledge of HTTP frameworks.

Services, models and tasks raise these; the API layer (`config.api.exceptions`) answers
them as `{"detail": ..., "code": ..., **extra}` with the error's `status`. The status is
part of the verdict (a conflict with the current state is 409 wherever it is met), so it
lives here as a plain `http.HTTPStatus`; nothing here imports DRF or Django's HTTP layer.

    class StockChanged(Conflict):
        code = "stock_changed"
        default_detail = _("The stock changed since it was read; nothing was changed.")

    raise StockChanged(stock=product.stock)   # extra keys travel in the body

`body_fields` says which extra keys a subclass sends, each as a JSON Schema (OpenAPI 3.0)
fragment, so clients can read them to recover; `body_optional` names those not always
sent. The API schema (`config.api.error_schema`) and the README's table of error codes
(`manage.py error_codes`) are generated from these classes.
"""

from http import HTTPStatus
from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule refused. `code` is stable for clients; `detail` is for people."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    code: str = "error"
    default_detail: str = _("The request cannot be carried out.")
    body_fields: ClassVar[dict[str, dict]] = {}
    body_optional: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        # In the language active where it is raised (a request's, from Accept-Language):
        # `default_detail`s are lazy translations (gettext_lazy), made text here once.
        self.detail = str(detail or self.default_detail)
        self.extra = extra
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.extra}


class Invalid(DomainError):
    """The input breaks a rule of the domain. With `field`, the body is the validation
    shape `{field: [detail]}` that serializer errors have, so clients read both alike."""

    code = "invalid"
    default_detail = _("The input is not valid.")

    def __init__(self, detail: str | None = None, *, field: str | None = None, **extra: Any) -> None:
        self.field = field
        super().__init__(detail, **extra)

    def as_dict(self) -> dict[str, Any]:
        if self.field is None:
            return super().as_dict()
        return {self.field: [self.detail]}


class NotFound(DomainError):
    """No such thing, or not one the caller may know of (another user's: never a 403)."""

    status = HTTPStatus.NOT_FOUND
    code = "not_found"
    default_detail = _("Not found.")


class Conflict(DomainError):
    """The request is fine but the current state refuses it; retrying as-is will not help."""

    status = HTTPStatus.CONFLICT
    code = "conflict"
    default_detail = _("The request conflicts with the current state.")
