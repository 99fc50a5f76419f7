"""Which language a person gets: Indonesian (`id`, the shop's default) or English (`en`).

An API answer follows the request (`Accept-Language`, through Django's LocaleMiddleware);
what is sent to someone later (mail) follows their own `language` when they chose one; the
admin follows the signed-in staff member's choice. An order's documents follow the
language the order was placed in (orders snapshot it at checkout).
"""

from django.conf import settings
from django.utils import translation


def language_or_default(code: str | None) -> str:
    """`code` when it is one of LANGUAGES, else the shop's LANGUAGE_CODE."""
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def request_language() -> str:
    """The language active now (a request's, from Accept-Language), as one of LANGUAGES."""
    try:
        return translation.get_supported_language_variant(
            translation.get_language() or settings.LANGUAGE_CODE
        )
    except LookupError:
        return settings.LANGUAGE_CODE


def user_language(user) -> str:
    """The language to write to `user` in: their choice, else the shop's."""
    return language_or_default(getattr(user, "language", "") or None)


class UserLanguageMiddleware:
    """After authentication: a session-authenticated user (staff in the admin) who chose a
    language sees it, whatever the browser asks for. API callers with a bearer token are
    anonymous here, so Accept-Language decides for them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = getattr(getattr(request, "user", None), "language", "")
        if chosen and chosen in dict(settings.LANGUAGES):
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)
