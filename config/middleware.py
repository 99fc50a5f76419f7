"""Request plumbing that holds for every view: what no view should ever see, and the promise
that nothing under /api/ answers with an HTML page."""

from urllib.parse import unquote

from rest_framework.response import Response as DRFResponse

from config.api.exceptions import api_error_response, handler400, handler404, is_api

# Headers that still mean something on the JSON body that replaces an HTML error page.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiJsonErrorsMiddleware:
    """Outermost: an error response under /api/ that is not already JSON becomes the JSON
    error for its status. It catches what Django renders itself, around and outside DRF:
    the DEBUG technical 404/500 pages, a bad Host header, a CSRF failure. DRF's own
    responses are left alone (staff get the browsable API's error pages, field errors in
    them). With DEBUG on the traceback is still logged by `django.request`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api(request)
            and not isinstance(response, DRFResponse)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replacement = api_error_response(response.status_code)
            for header in KEPT_HEADERS:
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response


class RejectNulMiddleware:
    """A NUL character in the path or the query string is never a real resource or filter,
    and PostgreSQL text cannot hold it (a lookup with one was a DataError, a 500). A path
    with one is a 404, a query string a 400, before any view or database sees it; under
    /api/ both are JSON. Request bodies get the same rule in `config.api.parsers.JSONParser`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return api_error_response(404) if is_api(request) else handler404(request)
        if "\x00" in unquote(request.META.get("QUERY_STRING", ""), errors="replace"):
            if is_api(request):
                return api_error_response(400, "The query string may not contain the NUL character.")
            return handler400(request)
        return self.get_response(request)


class TokenIgnoredHeaderMiddleware:
    """Says on the answer that the request's Bearer token was ignored (a public read with a
    token that is not valid: config.api.authentication.VersionedJWTAuthentication)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        reason = getattr(request, "token_ignored", None)
        if reason:
            response["Token-Ignored"] = reason
        return response
