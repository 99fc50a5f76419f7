"""The one DRF exception handler: domain errors (`config.errors`) mapped to HTTP.

Services raise `DomainError` subclasses; the API answers them as
`{"detail": ..., "code": ..., **extra}` with the error's status. DRF's own errors get a
`code` next to their `detail`; field validation stays `{"field": ["..."]}`.
"""

from http import HTTPStatus

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from config.errors import DomainError


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("Bad request.")
    default_code = "bad_request"


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=int(exc.status))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        # DATA_UPLOAD_MAX_MEMORY_SIZE, met when DRF reads the body. Django would answer 400
        # (and, with DEBUG on, its HTML debug page).
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = BadRequest()
    elif isinstance(exc, DjangoValidationError):
        # A model or service rule (full_clean, password validators): 400 like a serializer.
        exc = exceptions.ValidationError(as_serializer_error(exc))
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException) and isinstance(response.data, dict):
        codes = exc.get_codes()
        if "detail" in response.data and isinstance(codes, str):
            response.data["code"] = codes
    return response


# Django-level error views: under /api/ nothing answers with an HTML page.
# `config.middleware.ApiJsonErrorsMiddleware` applies the same bodies to whatever Django
# itself renders (its DEBUG pages, a CSRF failure), so these are the one table of them.
API_ERRORS: dict[int, tuple[str, str]] = {
    400: (_("Bad request."), "bad_request"),
    403: (_("Forbidden."), "permission_denied"),
    404: (_("Not found."), "not_found"),
    405: (_("Method not allowed."), "method_not_allowed"),
    413: (RequestTooLarge.default_detail, RequestTooLarge.default_code),
    500: (_("Server error."), "server_error"),
}


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def api_error_response(status_code: int, detail: str | None = None) -> JsonResponse:
    """`{"detail", "code"}` for a bare HTTP status, in the shape DRF's errors have here."""
    try:
        default, code = API_ERRORS[status_code]
    except KeyError:
        phrase = HTTPStatus(status_code).phrase
        default, code = f"{phrase}.", phrase.lower().replace(" ", "_").replace("-", "_")
    return JsonResponse({"detail": detail or default, "code": code}, status=status_code)


@csrf_exempt  # an unknown path is a 404 for every method, not a CSRF 403
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    return api_error_response(404)


def handler400(request, exception=None):
    if is_api(request):
        return api_error_response(400)
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if is_api(request):
        return api_error_response(403)
    return defaults.permission_denied(request, exception)


def handler404(request, exception=None):
    if is_api(request):
        return api_error_response(404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if is_api(request):
        return api_error_response(500)
    return defaults.server_error(request)
