from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer


class StaffBrowsableNegotiation(DefaultContentNegotiation):
    """JSON for everyone; the browsable HTML API only for staff logged in to the admin.

    Negotiation runs before DRF authenticates, so this looks at the session user that
    Django's AuthenticationMiddleware attached to the underlying request. A client that
    accepts only HTML still gets JSON rather than a 406: the API speaks one language."""

    def select_renderer(self, request, renderers, format_suffix=None):
        user = getattr(request._request, "user", None)
        if not (user is not None and user.is_authenticated and user.is_staff):
            renderers = [r for r in renderers if not isinstance(r, BrowsableAPIRenderer)]
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type
